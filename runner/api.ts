// The programmatic API for tools (validate-suite.ts, editors, CI helpers): load the configuration, collect, select
// and run, without going through a child process. Everything here uses the same code paths as the CLI.

import { loadConfig, initialPaths, type Config } from './config.js';
import { Collector, collectOptionsFrom, isClass } from './collect.js';
import { compileKeywordOption, compileMarkOption } from './expression.js';
import { matchesPrefixOrGlob } from './glob.js';
import type { Mark } from './marks.js';
import { selectItems } from './select.js';
import { main } from './cli.js';
import { conftestOptions } from './conftest-options.js';

export { loadConfig, type Config } from './config.js';
export type { Reporter, TestReport, CollectReport } from './reports.js';

export interface CollectedTest {
  nodeid: string;
  module: string;
  className?: string;
  name: string;
  /** Marker names, closest first, without duplicates. */
  markers: string[];
  marks: readonly Mark[];
  /** 1-based line of the test (its first decorator). */
  line: number;
}

export interface CollectedClass {
  module: string;
  name: string;
  /** False for a class that yields no tests (a constructor with parameters, or `static __test__ = false`). */
  collected: boolean;
}

export interface CollectionResult {
  config: Config;
  tests: CollectedTest[];
  /** Every exported class whose name matches python_classes, collected or not (a harness class is listed too). */
  classes: CollectedClass[];
  /** Modules that failed to import, with the error. */
  errors: Array<{ module: string; error: unknown }>;
  deselected: number;
}

/**
 * Collect (and optionally select) exactly as `pytest-ts <argv> --collect-only` would, from `cwd`.
 * Throws UsageError for bad arguments, paths, node ids or expressions.
 */
export async function collect(argv: readonly string[] = [], cwd = process.cwd()): Promise<CollectionResult> {
  // Two loads, as the CLI does: conftest files may declare options (`--device cuda`).
  const first = loadConfig(argv, cwd, [], { lenient: true });
  const extra = await conftestOptions(first);
  const config = extra.length > 0 || first.unknownFlags.length > 0 ? loadConfig(argv, cwd, extra) : first;
  const collector = new Collector(collectOptionsFrom(config, initialPaths(config).paths));
  const result = await collector.collect();
  const keyword = config.args.keyword === undefined ? null : compileKeywordOption(config.args.keyword);
  const markexpr = config.args.markexpr === undefined ? null : compileMarkOption(config.args.markexpr);
  const { selected, deselected } = selectItems(result.items, { deselect: config.args.deselect, keyword, markexpr });

  const classes: CollectedClass[] = [];
  const seenModules = new Set<string>();
  for (const item of result.items) {
    if (seenModules.has(item.module.nodeid)) continue;
    seenModules.add(item.module.nodeid);
    const names = Object.keys(item.module.namespace).sort(
      (a, b) => (item.module.source.exportLine(a) ?? Infinity) - (item.module.source.exportLine(b) ?? Infinity),
    );
    for (const name of names) {
      const value = item.module.namespace[name];
      if (!isClass(value) || !matchesPrefixOrGlob(name, config.ini.pythonClasses)) continue;
      classes.push({ module: item.module.nodeid, name, collected: result.items.some((i) => i.module === item.module && i.cls?.name === name) });
    }
  }
  return {
    config,
    tests: selected.map((item) => ({
      nodeid: item.nodeid,
      module: item.module.nodeid,
      className: item.cls?.name,
      name: item.name,
      markers: [...new Set(item.marks.map((m) => m.name))],
      marks: item.marks,
      line: item.location.line + 1,
    })),
    classes,
    errors: result.errors.map((e) => ({ module: e.nodeid, error: e.error })),
    deselected: deselected.length,
  };
}

/** Run pytest-ts in this process with these arguments; resolves to the exit code. */
export function run(argv: readonly string[], cwd = process.cwd()): Promise<number> {
  return main(argv, cwd);
}
