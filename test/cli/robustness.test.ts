// What an OOM suite provokes, survived: crashing workers, synchronous hangs, Ctrl-C, SIGTERM and kill -9 in the
// middle of a run. Each test runs the real binary on a throwaway project.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { validateXML } from 'xmllint-wasm';
import { cleanupProjects, makeProject, run, runUntil, summaryLine, REPO } from './project.js';

after(cleanupProjects);

const XSD = readFileSync(join(REPO, 'test', 'fixtures', 'junit-10.xsd'), 'utf8');
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' });

function testcases(xml: string): Array<Record<string, unknown>> {
  const doc = parser.parse(xml);
  const cases = doc.testsuites.testsuite.testcase ?? [];
  return Array.isArray(cases) ? cases : [cases];
}

describe('process isolation', () => {
  const dir = makeProject({
    'pytest.ini': '[pytest]\nworker_max_old_space_size = 48\n',
    'test_crashes.ts': `
import { fixture, mark } from '@runner';
let setups = 0;
export const per_worker = fixture({ scope: 'session' }, () => ++setups);
export function test_before({ per_worker }: any) { if (per_worker !== 1) throw new Error('fresh worker expected'); }
export function test_exit_zero() { process.exit(0); }
export function test_sigkill() { process.kill(process.pid, 'SIGKILL'); }
export function test_heap() { const keep: unknown[] = []; for (;;) keep.push(new Array(100_000).fill({ n: keep.length })); }
@mark.timeout(1)
export class TestSpin { test_sync_loop() { for (;;) {} } }
export function test_after({ per_worker }: any) { if (per_worker !== 1) throw new Error('session fixture set up again in the new worker'); }
`,
  });

  for (const mode of ['worker', 'forked'] as const) {
    test(`--isolation=${mode}: each crash is one failed test with its cause; the run, the summary and the JUnit file are complete`, () => {
      const r = run(dir, [`--isolation=${mode}`, '-q', '--junitxml=report.xml']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(summaryLine(r.stdout), /^4 failed, 2 passed in/);
      assert.match(r.stdout, /FAILED test_crashes\.ts::test_exit_zero - worker crashed: exit code 0/);
      assert.match(r.stdout, /FAILED test_crashes\.ts::test_sigkill - worker crashed: SIGKILL/);
      assert.match(r.stdout, /FAILED test_crashes\.ts::test_heap - worker crashed: JavaScript heap/);
      assert.match(r.stdout, /worker crashed: JavaScript heap out of memory \(SIGABRT\)/);
      assert.match(r.stdout, /FAILED test_crashes\.ts::TestSpin::test_sync_loop - Failed: Timeout \(>1\.0s\)/);
      const xml = readFileSync(join(dir, 'report.xml'), 'utf8');
      const cases = testcases(xml);
      assert.equal(cases.length, 6);
      const heap = cases.find((c) => c.name === 'test_heap') as { failure: { message: string } };
      assert.match(heap.failure.message, /JavaScript heap out of memory/);
    });
  }
});

describe('interrupts', () => {
  const project = () =>
    makeProject({
      'pytest.ini': '[pytest]\n',
      'test_long.ts': `
import { fixture } from '@runner';
import { writeFileSync } from 'node:fs';
export const resource = fixture(function* () { yield 1; writeFileSync('teardown-ran.txt', 'yes'); });
export function test_first() {}
export async function test_waits({ resource }: any) { console.log('waiting'); await new Promise((r) => setTimeout(r, 30_000)); }
export function test_never() {}
`,
    });

  test('Ctrl-C: teardowns run, KeyboardInterrupt summary, JUnit holds what finished, exit 2', async () => {
    const dir = project();
    const r = await runUntil(dir, ['-v', '-s', '--junitxml=report.xml'], /waiting/, (pid) => process.kill(pid, 'SIGINT'));
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /!+ KeyboardInterrupt !+/);
    assert.match(summaryLine(r.stdout), /1 passed/);
    assert.ok(existsSync(join(dir, 'teardown-ran.txt')), 'the fixture teardown ran');
    const names = testcases(readFileSync(join(dir, 'report.xml'), 'utf8')).map((c) => c.name);
    assert.ok(names.includes('test_first'));
    assert.ok(!names.includes('test_never'));
  });

  test('SIGTERM is handled the same way, with its own banner', async () => {
    const dir = project();
    const r = await runUntil(dir, ['-s', '--junitxml=report.xml'], /waiting/, (pid) => process.kill(pid, 'SIGTERM'));
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /Terminated \(SIGTERM\)/);
    assert.ok(existsSync(join(dir, 'report.xml')));
  });

  test('a second Ctrl-C ends at once and leaves no half-written report', async () => {
    const dir = makeProject({
      'pytest.ini': '[pytest]\n',
      'test_stuck.ts': `
import { fixture } from '@runner';
export const slow_teardown = fixture(async function* () { yield 1; console.log('tearing down'); await new Promise((r) => setTimeout(r, 30_000)); });
export async function test_waits({ slow_teardown }: any) { console.log('waiting'); await new Promise((r) => setTimeout(r, 30_000)); }
`,
    });
    let sent = 0;
    const r = await runUntil(dir, ['-s', '--junitxml=report.xml'], /waiting/, (pid) => {
      process.kill(pid, 'SIGINT');
      sent++;
      setTimeout(() => process.kill(pid, 'SIGINT'), 500);
    });
    assert.equal(sent, 1);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const leftovers = readdirSync(dir).filter((f) => f.includes('.tmp'));
    assert.deepEqual(leftovers, []);
    // Either no report or a complete one: never a torn file.
    if (existsSync(join(dir, 'report.xml'))) assert.match(readFileSync(join(dir, 'report.xml'), 'utf8'), /<\/testsuites>$/);
  });
});

describe('atomic reports', () => {
  test('kill -9 at many points of a run leaves no report, the previous complete one, or the new complete one', async () => {
    const tests = Array.from({ length: 40 }, (_, i) => `export async function test_${i}() { await new Promise((r) => setTimeout(r, 5)); }`).join('\n');
    const dir = makeProject({ 'pytest.ini': '[pytest]\n', 'test_many.ts': tests });
    const report = join(dir, 'report.xml');
    // A first complete report, so "the previous complete file" is a possible outcome.
    assert.equal(run(dir, ['-q', '--junitxml=report.xml']).code, 0);
    const previous = readFileSync(report, 'utf8');
    let sawPrevious = 0;
    let sawNew = 0;
    // Seeded delays spread the kills over start-up, the run and the report write.
    let seed = 7;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 12; round++) {
      const delay = 150 + Math.floor(next() * 900);
      await runUntil(dir, ['-q', '--junitxml=report.xml'], /./, (pid) =>
        setTimeout(() => {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // it finished first: the new complete report is the expected outcome then
          }
        }, delay),
      );
      const text = readFileSync(report, 'utf8');
      assert.match(text, /^<\?xml version="1\.0" encoding="utf-8"\?><testsuites name="pytest tests">.*<\/testsuites>$/s, `round ${round}: torn report`);
      if (text === previous) sawPrevious++;
      else sawNew++;
      assert.equal(testcases(text).length, 40);
      assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.report.xml.tmp')).length >= 0, true);
    }
    assert.equal(sawPrevious + sawNew, 12);
  });
});

describe('JUnit from a real run', () => {
  test('a suite with every outcome validates against junit-10.xsd and carries suite properties', async () => {
    const dir = makeProject({
      'pytest.ini': '[pytest]\njunit_suite_name = every-outcome\n',
      'conftest.ts': `
import { fixture } from '@runner';
export const run_info = fixture({ scope: 'session', autouse: true }, ({ recordTestsuiteProperty }: any) => { recordTestsuiteProperty('device', 'cpu <budget & "quotes">'); });
export const broken_setup = fixture(() => { throw new Error('setup boom'); });
export const broken_teardown = fixture(function* () { yield 1; throw new Error('teardown boom'); });
`,
      'test_every.ts': `
import assert from 'node:assert/strict';
import { mark, skip } from '@runner';
export class TestEvery {
  test_pass() {}
  test_fail() { throw new Error('a\\x1b[31mred'); }
  test_setup_error({ broken_setup }: any) {}
  test_teardown_error({ broken_teardown }: any) {}
  test_fail_and_teardown_error({ broken_teardown }: any) { throw new Error('call boom'); }
  @mark.skip({ reason: 'skipped by marker' })
  test_skip() {}
  test_skip_call() { skip('skipped <inside> & "quoted"'); }
  @mark.xfail({ reason: 'known bug' })
  test_xfail() { throw new Error('x'); }
  @mark.xfail({ reason: 'passes anyway' })
  test_xpass() {}
  @mark.xfail({ reason: 'strict', strict: true })
  test_xpass_strict() {}
  @mark.parametrize('size', [1, 'é 中'])
  test_param({ size }: any) {}
  test_output() { console.log('out line'); console.error('logged error'); process.stderr.write('err line\\n'); }
}
`,
    });
    const r = run(dir, ['-q', '--junitxml=out/report.xml', '-o', 'junit_logging=all']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const xml = readFileSync(join(dir, 'out', 'report.xml'), 'utf8');
    const result = await validateXML({ xml: { fileName: 'report.xml', contents: xml }, schema: { fileName: 'junit-10.xsd', contents: XSD } });
    assert.equal(result.valid, true, JSON.stringify(result.errors));
    assert.match(xml, /<testsuite name="every-outcome" errors="3" failures="3" skipped="3" tests="14" /);
    assert.match(xml, /<properties><property name="device" value="cpu &lt;budget &amp; &quot;quotes&quot;&gt;" \/><\/properties>/);
    assert.match(xml, /#x1B\[31mred/);
    assert.match(xml, /name="test_param\[\\xe9 \\u4e2d\]"/);
    assert.equal(statSync(join(dir, 'out', 'report.xml')).isFile(), true);
  });
});
