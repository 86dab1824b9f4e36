// Command-line options that conftest files declare (`export const options = [...]`, pytest's pytest_addoption).
// They are only known once the rootdir and the initial conftests are found, so configuration loads twice.

import { UsageError } from './exit-codes.js';
import type { OptionSpec } from './index.js';
import type { Config } from './config.js';
import type { ExtraOptionSpec } from './args.js';
import { Collector, collectOptionsFrom } from './collect.js';

export async function conftestOptions(config: Config): Promise<ExtraOptionSpec[]> {
  const collector = new Collector(collectOptionsFrom(config, config.args.paths));
  const specs: ExtraOptionSpec[] = [];
  for (const conftest of await collector.initialConftests()) {
    const declared = conftest.namespace.options;
    if (declared === undefined) continue;
    if (!Array.isArray(declared)) throw new UsageError(`${conftest.path}: 'options' must be an array of option specs`);
    for (const spec of declared as OptionSpec[]) specs.push(spec);
  }
  return specs;
}
