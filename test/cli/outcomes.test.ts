// The CLI on throwaway projects: outcomes, exit codes, fixtures and their teardown order, as a user sees them.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { cleanupProjects, makeProject, run, summaryLine } from './project.js';

after(cleanupProjects);

const INI = `[pytest]\nmarkers =\n    gpu: needs a device\n    slow: takes long\n`;

describe('outcomes and exit codes', () => {
  const dir = makeProject({
    'pytest.ini': INI,
    'test_outcomes.ts': `
import assert from 'node:assert/strict';
import { mark, skip, xfail, fail } from '@runner';
export class TestOutcomes {
  test_pass() {}
  test_fail() { assert.equal(1 + 1, 3); }
  @mark.skip({ reason: 'not today' })
  test_skip_marker() {}
  test_skip_call() { skip('skipped inside'); }
  @mark.skipif(true, { reason: 'condition holds' })
  test_skipif() {}
  @mark.skipif(false, { reason: 'never' })
  test_skipif_false() {}
  @mark.xfail({ reason: 'known bug' })
  test_xfail() { throw new Error('still broken'); }
  @mark.xfail({ reason: 'fixed already' })
  test_xpass() {}
  @mark.xfail({ reason: 'must fail', strict: true })
  test_xpass_strict() {}
  test_xfail_call() { xfail('not yet'); }
  test_fail_call() { fail('explicit'); }
  async test_async_pass() { await new Promise((r) => setTimeout(r, 1)); }
}
`,
  });

  test('every outcome is counted as pytest counts it, and a failure gives exit 1', () => {
    const r = run(dir, ['-rA']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(summaryLine(r.stdout), /=+ 3 failed, 3 passed, 3 skipped, 2 xfailed, 1 xpassed in [\d.]+s =+$/);
    assert.match(r.stdout, /FAILED test_outcomes\.ts::TestOutcomes::test_fail - AssertionError/);
    assert.match(r.stdout, /FAILED test_outcomes\.ts::TestOutcomes::test_xpass_strict/);
    assert.match(r.stdout, /\[XPASS\(strict\)\] must fail/);
    assert.match(r.stdout, /FAILED test_outcomes\.ts::TestOutcomes::test_fail_call - Failed: explicit/);
    assert.match(r.stdout, /XFAIL test_outcomes\.ts::TestOutcomes::test_xfail - known bug/);
  });

  test('-k selects by name and exit 0 when all selected pass', () => {
    const r = run(dir, ['-k', 'pass and not xpass', '-q']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(summaryLine(r.stdout), /^2 passed, 10 deselected in [\d.]+s$/);
  });

  test('exit 5 when nothing is selected', () => {
    const r = run(dir, ['-k', 'nothing_matches_this']);
    assert.equal(r.code, 5);
    assert.match(summaryLine(r.stdout), /12 deselected/);
  });

  test('-x stops after the first failure', () => {
    const r = run(dir, ['-x', '-q']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /stopping after 1 failures/);
    assert.match(summaryLine(r.stdout), /^1 failed, 1 passed in/);
  });

  test('--maxfail=2 stops after the second', () => {
    const r = run(dir, ['--maxfail=2', '-q']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /stopping after 2 failures/);
  });
});

describe('fixtures', () => {
  const dir = makeProject({
    'pytest.ini': INI,
    'conftest.ts': `
import { fixture } from '@runner';
export const events: string[] = [];
(globalThis as any).events = events;
export const session_res = fixture({ scope: 'session' }, async function* () { events.push('session up'); yield 'S'; events.push('session down'); console.log(events.join(',')); });
export const module_res = fixture({ scope: 'module' }, function* ({ session_res }) { events.push('module up ' + session_res); yield 'M'; events.push('module down'); });
export const func_res = fixture(async ({ module_res, tmpPath }) => { events.push('func ' + module_res); return tmpPath; });
export const broken = fixture(function* () { yield 1; throw new Error('teardown broke'); });
`,
    'test_fx.ts': `
import assert from 'node:assert/strict';
import { fixture } from '@runner';
import { existsSync } from 'node:fs';
export class TestFx {
  @fixture({ scope: 'class' })
  *cls_res({ module_res }: any) { (globalThis as any).events.push('class up'); yield module_res + 'C'; (globalThis as any).events.push('class down'); }
  test_a({ func_res, cls_res }: any) { assert.ok(existsSync(func_res)); assert.equal(cls_res, 'MC'); }
  test_b({ cls_res, broken }: any) { assert.equal(cls_res, 'MC'); assert.equal(broken, 1); }
  test_c({ func_res }: any) { throw new Error('fails but teardown still runs'); }
}
export function test_last({ session_res, request }: any) {
  assert.equal(session_res, 'S');
  assert.equal(request.nodeid, 'test_fx.ts::test_last');
}
`,
  });

  test('scopes are shared and torn down in reverse, even after failures and teardown errors', () => {
    const r = run(dir, ['-q', '-s']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(summaryLine(r.stdout), /^1 failed, 3 passed, 1 error in/);
    assert.match(r.stdout, /ERROR at teardown of TestFx\.test_b/);
    assert.match(r.stdout, /teardown broke/);
    // The session fixture printed the order of events at its teardown.
    assert.match(
      r.stdout,
      /session up,module up S,class up,func M,func M,class down,module down,session down/,
    );
  });
});

describe('the fixture graph is checked before the first test', () => {
  test('a missing fixture names the available ones, with file and line, and nothing runs (exit 2)', () => {
    const dir = makeProject({
      'pytest.ini': INI,
      'conftest.ts': `import { fixture } from '@runner';\nexport const alpha = fixture(() => 1);\n`,
      'test_missing.ts': `export function test_ok() {}\nexport function test_missing({ nope }: any) {}\n`,
    });
    const r = run(dir, []);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /test_missing\.ts:2: fixture 'nope' not found, requested by test test_missing; available fixtures: alpha, recordProperty, recordTestsuiteProperty, request, tmpPath, tmpPathFactory/);
    assert.match(r.stdout, /Interrupted: 1 error during collection/);
    assert.doesNotMatch(r.stdout, /PASSED|passed/);
  });

  test('a cycle names its path', () => {
    const dir = makeProject({
      'pytest.ini': INI,
      'conftest.ts': `import { fixture } from '@runner';\nexport const a = fixture(({ b }) => b);\nexport const b = fixture(({ c }) => c);\nexport const c = fixture(({ a }) => a);\n`,
      'test_cycle.ts': `export function test_uses({ a }: any) {}\n`,
    });
    const r = run(dir, []);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /fixture dependency cycle: a \(conftest\.ts:2\) -> b \(conftest\.ts:3\) -> c \(conftest\.ts:4\) -> a \(conftest\.ts:2\)/);
  });
});

describe('collection errors', () => {
  test('a module with a syntax error is a collection error: exit 2', () => {
    const dir = makeProject({
      'pytest.ini': INI,
      'test_good.ts': `export function test_fine() {}\n`,
      'test_bad.ts': `export function test_broken( {\n`,
    });
    const r = run(dir, []);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /ERROR collecting test_bad\.ts/);
    assert.match(r.stdout, /Interrupted: 1 error during collection/);
    assert.match(summaryLine(r.stdout), /1 error in/);
  });
});

describe('timeouts', () => {
  test('an async test past its timeout fails alone; the run goes on', () => {
    const dir = makeProject({
      'pytest.ini': INI,
      'test_slow.ts': `
import { mark } from '@runner';
@mark.timeout(0.2)
export class TestSlow {
  async test_hangs() { await new Promise((r) => setTimeout(r, 5000).unref()); }
}
export function test_after() {}
`,
    });
    const r = run(dir, ['-q']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /Failed: Timeout \(>0\.2s\)/);
    assert.match(summaryLine(r.stdout), /^1 failed, 1 passed in/);
  });
});

describe('--lf, --ff and -p no:cacheprovider', () => {
  test('the last failures are rerun alone or first; without the cache plugin nothing is remembered', () => {
    const dir = makeProject({
      'pytest.ini': INI,
      'test_cache.ts': `export function test_a() { throw new Error('a fails'); }\nexport function test_b() {}\nexport function test_c() {}\n`,
    });
    assert.equal(run(dir, ['-q']).code, 1);
    const lf = run(dir, ['--lf']);
    assert.equal(lf.code, 1);
    assert.match(lf.stdout, /^collected 1 item\nrun-last-failure: rerun previous 1 failure$/m);
    assert.match(summaryLine(lf.stdout), /1 failed in/);
    const ff = run(dir, ['--ff', '-v']);
    assert.match(ff.stdout, /run-last-failure: rerun previous 1 failure first/);
    assert.ok(ff.stdout.indexOf('test_cache.ts::test_a FAILED') < ff.stdout.indexOf('test_cache.ts::test_b PASSED'));
    // From addopts, -p no:cacheprovider comes too late to remove --lf, which then does nothing (memory.ini's case).
    const offDir = makeProject({ 'pytest.ini': '[pytest]\naddopts = -p no:cacheprovider\n', 'test_cache.ts': `export function test_a() { throw new Error('a fails'); }\nexport function test_b() {}\n` });
    assert.equal(run(offDir, ['-q']).code, 1);
    assert.match(summaryLine(run(offDir, ['--lf', '-q']).stdout), /1 failed, 1 passed in/);
    // On the command line it blocks the plugin before its options exist: pytest's usage error.
    const blocked = run(dir, ['--lf', '-q', '-p', 'no:cacheprovider']);
    assert.equal(blocked.code, 4);
    assert.equal(blocked.stderr.trim(), 'ERROR: pytest-ts: error: unrecognized arguments: --lf');
  });
});
