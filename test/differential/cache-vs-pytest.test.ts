// --lf, --ff, --nf and --cache-clear against real pytest, over a sequence of runs that share each side's cache: the
// same project in Python and TypeScript (class tests, module-level tests, a passing file, a subdirectory), edited
// between runs the same way on both sides (a failure fixed, a file broken and mended, a test added). Each step's
// normalised stdout and exit code must agree, and so must the node ids each side has recorded as failed.
//
// What this pins down is pytest 9's cacheprovider: passing tests of a last-failed class are *deselected*; files
// without failures are skipped ("skipped N files") only once a file whose own module-level tests failed has been
// collected; last-failed paths are collected first; a module that failed to collect is replaced, once it collects
// again, by its module-level tests and its classes (pytest reports a collector after its children); "N known
// failures not in selected tests"; --nf orders new tests first, newest file first.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { BIN } from '../cli/project.js';
import { normaliseOutput } from './normalise-output.js';
import { pytestUnavailableReason } from './pytest-oracle.js';
import { DIFF_ENV as ENV, scratchDir, spawnAsync } from './side-by-side.js';
import { RUNNER_INDEX } from './ts-mirror.js';

const unavailable = pytestUnavailableReason();
if (unavailable) console.warn(`\n*** SKIPPING the cache-vs-pytest differential: ${unavailable} ***\n`);
const skip = unavailable ? `real pytest is needed as the oracle: ${unavailable}` : false;

/** One test: its name and whether it passes, as Python and as TypeScript. */
type Spec = Record<string, boolean>;

function pyModule(classes: Record<string, Spec>, functions: Spec): string {
  const lines: string[] = [];
  for (const [cls, tests] of Object.entries(classes)) {
    lines.push(`class ${cls}:`);
    for (const [name, passes] of Object.entries(tests)) lines.push(`    def ${name}(self):`, `        assert ${passes ? 'True' : 'False'}`, '');
  }
  for (const [name, passes] of Object.entries(functions)) lines.push(`def ${name}():`, `    assert ${passes ? 'True' : 'False'}`, '');
  return lines.join('\n');
}

function tsModule(classes: Record<string, Spec>, functions: Spec): string {
  const lines: string[] = [];
  const body = (passes: boolean) => (passes ? '{}' : "{ throw new Error('assert False'); }");
  for (const [cls, tests] of Object.entries(classes)) {
    lines.push(`export class ${cls} {`);
    for (const [name, passes] of Object.entries(tests)) lines.push(`  ${name}() ${body(passes)}`);
    lines.push('}', '');
  }
  for (const [name, passes] of Object.entries(functions)) lines.push(`export function ${name}() ${body(passes)}`);
  return lines.join('\n') + '\n';
}

interface ModuleSpec {
  classes?: Record<string, Spec>;
  functions?: Spec;
  /** A module that cannot be imported. */
  broken?: boolean;
}

/** The same project on both sides; `mtime` keeps --nf's newest-file-first order the same on both. */
class Twin {
  readonly py = scratchDir('cache-diff-py-');
  readonly ts = scratchDir('cache-diff-ts-');
  private clock = 1_700_000_000;

  constructor() {
    writeFileSync(join(this.py, 'pytest.ini'), '[pytest]\n');
    writeFileSync(join(this.ts, 'pytest.ini'), '[pytest]\n');
  }

  ini(text: string): void {
    writeFileSync(join(this.py, 'pytest.ini'), text);
    writeFileSync(join(this.ts, 'pytest.ini'), text);
  }

  write(name: string, spec: ModuleSpec): void {
    const py = spec.broken ? 'def broken(:\n' : pyModule(spec.classes ?? {}, spec.functions ?? {});
    const ts = spec.broken ? "import { nothing } from './no-such-module.js';\nexport function test_x() { nothing(); }\n" : tsModule(spec.classes ?? {}, spec.functions ?? {});
    this.clock += 10;
    for (const [root, ext, text] of [[this.py, 'py', py], [this.ts, 'ts', ts]] as const) {
      const path = join(root, `${name}.${ext}`);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text.replaceAll('@runner', RUNNER_INDEX));
      utimesSync(path, this.clock, this.clock);
    }
  }

  async run(args: string[]) {
    const tsArgs = args.map((a) => a.replace(/\.py\b/g, '.ts'));
    const [py, ts] = await Promise.all([
      spawnAsync('python3', ['-m', 'pytest', ...args], { cwd: this.py, env: ENV }),
      spawnAsync(process.execPath, [BIN, ...tsArgs], { cwd: this.ts, env: ENV }),
    ]);
    return { py, ts };
  }

  lastfailed(side: 'py' | 'ts'): string[] {
    const dir = side === 'py' ? this.py : this.ts;
    try {
      const ids = Object.keys(JSON.parse(readFileSync(join(dir, '.pytest_cache', 'v', 'cache', 'lastfailed'), 'utf8')) as object);
      return ids.map((id) => id.replace(/\.py\b/g, '.ts')).sort();
    } catch {
      return [];
    }
  }
}

describe('--lf, --ff, --nf and --cache-clear against real pytest', { skip }, () => {
  const twin = unavailable ? undefined : new Twin();

  /** One step: the same command on both sides, compared; later steps see the caches this one left. */
  const step = (title: string, args: string[], before?: () => void) =>
    test(`${title}: ${args.join(' ') || '(no options)'}`, async () => {
      before?.();
      const { py, ts } = await twin!.run(args);
      assert.deepEqual(normaliseOutput(ts.stdout, twin!.ts), normaliseOutput(py.stdout, twin!.py), `pytest-ts:\n${ts.stdout}${ts.stderr}\npytest:\n${py.stdout}${py.stderr}`);
      assert.equal(ts.status, py.status);
      assert.deepEqual(twin!.lastfailed('ts'), twin!.lastfailed('py'), 'the recorded last failures');
    });

  step('first run records the failures', ['-q'], () => {
    twin!.write('test_a', { classes: { TestA: { test_ok: true, test_bad: false, test_ok2: true } } });
    twin!.write('test_b', { functions: { test_fn_ok: true, test_fn_bad: false, test_fn_bad2: false } });
    twin!.write('test_c', { functions: { test_c_ok: true }, classes: { TestC: { test_c_method: true } } });
    twin!.write('sub/test_d', { functions: { test_d_ok: true } });
  });
  step('--lf deselects the passing class tests and skips the passing files', ['--lf']);
  step('--lf, verbose', ['--lf', '-v']);
  step('--lf after -k', ['--lf', '-k', 'test_a', '-v']);
  step('--lf on a subset without failures', ['--lf', 'sub', '-v']);
  step('--lf naming a last-failed file keeps its passing module-level tests', ['--lf', 'test_b.py', '-v']);
  step('--ff', ['--ff', '-v']);
  step('--lf --co', ['--lf', '--co', '-q']);
  step('--lf --co, verbose', ['--lf', '--co']);
  step('a fixed test leaves the last failures', ['--lf', '-q'], () => {
    twin!.write('test_b', { functions: { test_fn_ok: true, test_fn_bad: true, test_fn_bad2: false } });
  });
  step('a module that fails to collect', ['-q'], () => twin!.write('test_c', { broken: true }));
  step('--lf with a broken module', ['--lf', '-q']);
  step('a mended module is replaced by its module-level tests and classes', ['--lf', '-v'], () => {
    twin!.write('test_c', { functions: { test_c_ok: true, test_c_new: false }, classes: { TestC: { test_c_method: true } } });
  });
  step('--nf puts the new tests first, newest file first', ['--nf', '-v'], () => {
    twin!.write('test_e', { functions: { test_e_new: true } });
    twin!.write('sub/test_d', { functions: { test_d_ok: true, test_d_new: true } });
  });
  step('everything passes', ['-q'], () => {
    twin!.write('test_a', { classes: { TestA: { test_ok: true, test_bad: true, test_ok2: true } } });
    twin!.write('test_b', { functions: { test_fn_ok: true, test_fn_bad: true, test_fn_bad2: true } });
    twin!.write('test_c', { functions: { test_c_ok: true, test_c_new: true }, classes: { TestC: { test_c_method: true } } });
  });
  step('--lf with no failures runs everything', ['--lf', '-q']);
  step('--lf --lfnf=none with no failures deselects everything', ['--lf', '--lfnf=none']);
  step('a new failure, then --cache-clear forgets it', ['--cache-clear', '--lf', '-q'], () => {
    twin!.write('test_b', { functions: { test_fn_ok: true, test_fn_bad: false, test_fn_bad2: true } });
  });
  test('-p no:cacheprovider on the command line removes --lf: a usage error on both sides', async () => {
    const { py, ts } = await twin!.run(['--lf', '-p', 'no:cacheprovider', '-q']);
    assert.equal(py.status, 4);
    assert.equal(ts.status, 4);
    assert.match(py.stderr, /error: unrecognized arguments: --lf\n/);
    assert.match(ts.stderr, /error: unrecognized arguments: --lf\n/);
  });
  step('-p no:cacheprovider from addopts makes --lf a no-op and leaves the cache alone', ['--lf', '-q'], () => twin!.ini('[pytest]\naddopts = -p no:cacheprovider\n'));
});
