// TerminalReporter against real pytest: each case replays events equivalent to a Python mirror suite
// (test/fixtures/terminal/python) and compares with what pytest 9.0.3 printed for it (expected/*.txt, made by
// capture.sh), after normalising timings, the platform line, `.py` -> `.ts` and the mirror's directory.
process.env.TZ = 'UTC'; // live-log timestamps are compared as text
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ExitCode } from '../../runner/exit-codes.js';
import type { SessionFinishInfo } from '../../runner/reports.js';
import { formatDuration, formatMarkersList, resolveColor, TerminalReporter, type TerminalOptions } from '../../runner/terminal.js';
import {
  bestRelPath,
  collectTreeLines,
  effectiveWidth,
  formatG,
  formatTrimmed,
  pluralize,
  reportCharsFor,
  runningOnCI,
  wrapText,
} from '../../runner/terminal-format.js';
import { compileLogFormat, strftime } from '../../runner/terminal-log-format.js';
import { sepLine, textWidth } from '../../runner/terminal-writer.js';
import {
  captureMirror,
  COLLECTION_OK,
  collectionErrors,
  durationsMirror,
  interruptMirror,
  LIVELOG_COLLECTION,
  LIVELOG_SESSIONFINISH,
  liveLogMirror,
  liveLogQuirksMirror,
  LOG_TIME,
  mainMirror,
  replay,
  sessionEvents,
  testEvents,
  wrapMirror,
  type Event,
  type SessionSpec,
  type TestSpec,
} from '../fixtures/terminal/scenarios.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'terminal');
// The mirror ran in /tmp/pytest-ts-mirror; ours is a directory of the same name holding the sources that warnings
// point at, so that `<Dir pytest-ts-mirror>` and source lines come out the same.
const ROOT = join(mkdtempSync(join(tmpdir(), 'pytest-ts-terminal-')), 'pytest-ts-mirror');
mkdirSync(join(ROOT, 'suites'), { recursive: true });
cpSync(join(FIXTURES, 'python', 'main', 'suites', 'test_x.py'), join(ROOT, 'suites', 'test_x.ts'));
after(() => rmSync(dirname(ROOT), { recursive: true, force: true }));

const ANSI = /\x1b\[[0-9;]*m/g;

function expected(name: string): string {
  return readFileSync(join(FIXTURES, 'expected', `${name}.txt`), 'utf8')
    .replaceAll('platform linux -- Python 3.11.7, pytest-9.0.3, pluggy-1.6.0', 'platform linux -- Node v20.20.2, pytest-ts-0.1.0')
    .replaceAll(' -- /root/.pyenv/versions/3.11.7/bin/python3', ` -- ${process.execPath}`)
    .replace(/ in \d+\.\d\ds/g, ' in 0.01s')
    .replace(/0x[0-9a-f]+/g, '0xADDR')
    .replace(/\.py\b/g, '.ts')
    .replace(/\d\d:\d\d:\d\d \[/g, '02:11:24 [')
    .replaceAll('/tmp/pytest-ts-mirror', ROOT);
}

function options(overrides: Partial<TerminalOptions> = {}): TerminalOptions {
  return {
    verbosity: 0,
    reportChars: 'fE',
    color: false,
    width: 80,
    collectOnly: false,
    noHeader: false,
    noSummary: false,
    showCapture: 'all',
    disableWarnings: false,
    consoleOutputStyle: 'progress',
    logCli: { enabled: false, format: '%(asctime)s [%(levelname)s] %(message)s', dateFormat: '%H:%M:%S' },
    rootdir: ROOT,
    ...overrides,
  };
}

function render(opts: TerminalOptions, events: Event[]): string {
  const chunks: string[] = [];
  const reporter = new TerminalReporter(opts, (text) => chunks.push(text));
  replay(reporter, events);
  return chunks.join('');
}

const FAILED_RUN: SessionSpec['finish'] = { exitCode: ExitCode.TESTS_FAILED };

function mainSession(tb: TerminalOptions['tb'] = 'auto', extra: Partial<SessionSpec> = {}): Event[] {
  return sessionEvents({ rootdir: ROOT, tests: mainMirror(ROOT, tb ?? 'auto'), finish: FAILED_RUN, ...extra });
}

function withoutTestTwo(tests: TestSpec[]): TestSpec[] {
  return tests.filter((t) => !t.nodeid.endsWith('::test_two'));
}

describe('a run with every outcome, as pytest prints it', () => {
  const cases: Array<[name: string, overrides: Partial<TerminalOptions>]> = [
    ['default', {}],
    ['v', { verbosity: 1 }],
    ['q', { verbosity: -1 }],
    ['qq', { verbosity: -2 }],
    ['vv', { verbosity: 2 }],
    ['rA', { reportChars: 'A' }],
    ['ra', { reportChars: 'a' }],
    ['rN_short', { reportChars: 'N', tb: 'short' }],
    ['tb_line', { tb: 'line' }],
    ['tb_no', { tb: 'no' }],
    ['classic', { consoleOutputStyle: 'classic' }],
    ['count', { consoleOutputStyle: 'count' }],
    ['count_v', { consoleOutputStyle: 'count', verbosity: 1 }],
    ['classic_v', { consoleOutputStyle: 'classic', verbosity: 1 }],
    ['noheader', { noHeader: true }],
    ['nosummary', { noSummary: true }],
    ['showcap_no', { showCapture: 'no' }],
    ['showcap_stdout', { showCapture: 'stdout' }],
    ['disable_warnings', { disableWarnings: true }],
  ];
  for (const [name, overrides] of cases) {
    test(name, () => {
      const opts = options(overrides);
      assert.equal(render(opts, mainSession(opts.tb)), expected(name));
    });
  }

  test('-x stops after the first failure: no final percentage, the red "stopping" rule', () => {
    const events = mainSession('auto', { stopAfter: 2, finish: { exitCode: ExitCode.TESTS_FAILED, interrupted: { kind: 'maxfail', reason: 'stopping after 1 failures' } } });
    assert.equal(render(options(), events), expected('x'));
  });

  test('deselected tests are counted in the header and the final line', () => {
    const spec = { rootdir: ROOT, tests: withoutTestTwo(mainMirror(ROOT, 'auto')), deselected: 1, finish: FAILED_RUN };
    assert.equal(render(options(), sessionEvents(spec)), expected('desel'));
    assert.equal(render(options({ verbosity: 1 }), sessionEvents(spec)), expected('desel_v'));
  });

  test('nothing collected: "collected 0 items" and "no tests ran"', () => {
    const spec = { rootdir: ROOT, tests: [], finish: { exitCode: ExitCode.NO_TESTS_COLLECTED } };
    assert.equal(render(options(), sessionEvents(spec)), expected('no_tests'));
    assert.equal(render(options({ verbosity: -1 }), sessionEvents(spec)), expected('no_tests_q'));
  });

  test('everything deselected: "12 deselected", with and without -q', () => {
    const spec = { rootdir: ROOT, tests: [], deselected: 12, finish: { exitCode: ExitCode.NO_TESTS_COLLECTED } };
    assert.equal(render(options(), sessionEvents(spec)), expected('empty'));
    assert.equal(render(options({ verbosity: -1 }), sessionEvents(spec)), expected('empty_q'));
  });
});

describe('--collect-only', () => {
  const all = (): TestSpec[] => mainMirror(ROOT, 'auto');
  const ok: SessionSpec['finish'] = { exitCode: ExitCode.OK };
  const cases: Array<[name: string, verbosity: number, spec: Omit<SessionSpec, 'rootdir'>]> = [
    ['co', 0, { tests: all(), finish: ok }],
    ['co_v', 1, { tests: all(), finish: ok }],
    ['co_q', -1, { tests: all(), finish: ok }],
    ['co_qq', -2, { tests: all(), finish: ok }],
    ['co_k', 0, { tests: withoutTestTwo(all()), deselected: 1, finish: ok }],
    ['co_k_q', -1, { tests: withoutTestTwo(all()), deselected: 1, finish: ok }],
    ['co_none', 0, { tests: [], deselected: 12, finish: { exitCode: ExitCode.NO_TESTS_COLLECTED } }],
    ['co_none_q', -1, { tests: [], deselected: 12, finish: { exitCode: ExitCode.NO_TESTS_COLLECTED } }],
    ['co_one', 0, { tests: all().filter((t) => t.nodeid.endsWith('::test_one')), finish: ok }],
    ['co_one_q', -1, { tests: all().filter((t) => t.nodeid.endsWith('::test_one')), finish: ok }],
  ];
  for (const [name, verbosity, spec] of cases) {
    test(name, () => {
      // Nothing runs in --collect-only: the session goes from collection straight to its end.
      const events = sessionEvents({ rootdir: ROOT, ...spec, finish: { ...spec.finish, interrupted: undefined } }).filter(
        ([kind]) => kind !== 'testStart' && kind !== 'report' && kind !== 'testFinish' && kind !== 'warning',
      );
      assert.equal(render(options({ verbosity, collectOnly: true }), events), expected(name));
    });
  }
});

describe('collection errors and interruptions', () => {
  const collectionSpec = (): SessionSpec => ({
    rootdir: ROOT,
    tests: COLLECTION_OK,
    collectErrors: collectionErrors(ROOT),
    finish: { exitCode: ExitCode.INTERRUPTED, interrupted: { kind: 'collection', reason: '2 errors during collection' } },
  });

  test('errors during collection stop the run with "Interrupted: 2 errors during collection"', () => {
    assert.equal(render(options({ tb: 'short' }), sessionEvents(collectionSpec())), expected('collerr'));
    assert.equal(render(options({ tb: 'short', verbosity: -1 }), sessionEvents(collectionSpec())), expected('collerr_q'));
  });

  test('--collect-only with collection errors: "2 tests collected, 2 errors"', () => {
    const events = sessionEvents(collectionSpec()).filter(([kind]) => kind !== 'testStart');
    assert.equal(render(options({ tb: 'short', collectOnly: true }), events), expected('collerr_co'));
  });

  test('KeyboardInterrupt: the banner and where it hit', () => {
    const { tests, interruptedTest } = interruptMirror();
    const finish: SessionFinishInfo['interrupted'] = { kind: 'keyboard', reason: `${ROOT}/suites/test_k.ts:3: KeyboardInterrupt` };
    const spec: SessionSpec = { rootdir: ROOT, tests, interruptedTest, collected: 4, finish: { exitCode: ExitCode.INTERRUPTED, interrupted: finish } };
    const events = sessionEvents(spec).map((event): Event =>
      event[0] === 'collectionFinish' ? ['collectionFinish', { ...event[1], items: [...event[1].items, ...['test_ki', 'test_after'].map((n) => ({ ...event[1].items[0]!, nodeid: `suites/test_k.ts::${n}` }))] }] : event,
    );
    // Our one deviation: pytest-ts has no --full-trace, so pytest's hint to use it is not printed.
    const withoutHint = (text: string) => text.replace('(to show a full traceback on KeyboardInterrupt use --full-trace)\n', '');
    assert.equal(render(options(), events), withoutHint(expected('interrupt')));
    assert.equal(render(options({ verbosity: 1 }), events), withoutHint(expected('interrupt_v')));
  });

  test('SIGTERM gets our own banner, "Terminated (SIGTERM)", and the summary before it', () => {
    const spec: SessionSpec = { rootdir: ROOT, tests: COLLECTION_OK, stopAfter: 1, finish: { exitCode: ExitCode.INTERRUPTED, interrupted: { kind: 'signal', reason: 'SIGTERM' } } };
    const out = render(options(), sessionEvents(spec));
    assert.ok(out.endsWith(`\nsuites/test_a.ts .\n\n${sepLine('!', 'Terminated (SIGTERM)', 80)}\n${sepLine('=', '1 passed in 0.01s', 80)}\n`), out);
  });
});

describe('live logs', () => {
  const logOptions = (overrides: Partial<TerminalOptions> = {}): TerminalOptions =>
    options({ logCli: { enabled: true, format: '%(asctime)s [%(levelname)s] %(message)s', dateFormat: '%H:%M:%S' }, ...overrides });
  const spec = (tests: TestSpec[], exitCode: number): SessionSpec => ({
    rootdir: ROOT,
    tests,
    collectionLogs: LIVELOG_COLLECTION,
    sessionFinishLogs: LIVELOG_SESSIONFINISH,
    finish: { exitCode },
  });

  test('records interleave with the -v lines, one section per phase', () => {
    assert.equal(render(logOptions({ tb: 'short' }), sessionEvents(spec(liveLogMirror(), ExitCode.TESTS_FAILED))), expected('livelog'));
  });

  test('live logging turns -q into -v for the run, as pytest does', () => {
    assert.equal(render(logOptions({ tb: 'no', verbosity: -1 }), sessionEvents(spec(liveLogMirror(), ExitCode.TESTS_FAILED))), expected('livelog_q'));
  });

  test("pytest's blank lines between teardown records and before sessionfinish records", () => {
    assert.equal(render(logOptions(), sessionEvents(spec(liveLogQuirksMirror(), ExitCode.OK))), expected('livelog_quirks'));
  });

  test('without log_cli, records are ignored', () => {
    const out = render(options({ verbosity: 1 }), sessionEvents(spec(liveLogMirror(), ExitCode.TESTS_FAILED)));
    assert.doesNotMatch(out, /live log|setting up/);
  });
});

describe('progress lines and sections', () => {
  test('progress wraps at the terminal width with the percentage at the edge', () => {
    const spec: SessionSpec = { rootdir: ROOT, tests: wrapMirror(), finish: { exitCode: ExitCode.OK } };
    assert.equal(render(options(), sessionEvents(spec)), expected('wrap'));
    assert.equal(render(options({ consoleOutputStyle: 'count' }), sessionEvents(spec)), expected('wrap_count'));
    assert.equal(render(options({ verbosity: -1 }), sessionEvents(spec)), expected('wrap_q'));
  });

  test('captured output per phase, teardown sections, PASSES, trimmed reasons and messages', () => {
    const spec: SessionSpec = { rootdir: ROOT, tests: captureMirror(ROOT), finish: FAILED_RUN };
    assert.equal(render(options({ verbosity: 1, reportChars: 'A', tb: 'short' }), sessionEvents(spec)), expected('capture'));
  });

  test('--durations, --durations=0 and --durations-min', () => {
    const spec: SessionSpec = { rootdir: ROOT, tests: durationsMirror(), finish: { exitCode: ExitCode.OK } };
    assert.equal(render(options({ durations: 3 }), sessionEvents(spec)), expected('durations'));
    assert.equal(render(options({ durations: 0, verbosity: -1 }), sessionEvents(spec)), expected('durations_all'));
    assert.equal(render(options({ durations: 2, durationsMin: 0.25 }), sessionEvents(spec)), expected('durations_min'));
  });

  test('-vv shows durations under 0.005 s too', () => {
    const spec: SessionSpec = { rootdir: ROOT, tests: durationsMirror(), finish: { exitCode: ExitCode.OK } };
    const out = render(options({ durations: 0, verbosity: 2 }), sessionEvents(spec));
    assert.equal(out.match(/^0\.\d\ds (setup|call|teardown) /gm)?.length, 9);
    assert.doesNotMatch(out, /hidden/);
  });

  test('-s (capture no) shows no percentages, like pytest', () => {
    const spec: SessionSpec = { rootdir: ROOT, tests: COLLECTION_OK, finish: { exitCode: ExitCode.OK } };
    const out = render(options({ capture: 'no' }), sessionEvents(spec));
    assert.match(out, /\nsuites\/test_a\.ts \.\.\n\n=+ 2 passed/);
  });
});

describe('colour', () => {
  test('on: the same text as pytest once the escapes are removed', () => {
    const out = render(options({ color: true, tb: 'short', reportChars: 'A' }), mainSession('short'));
    assert.equal(out.replace(ANSI, ''), expected('color').replace(ANSI, ''));
  });

  test('on: escapes where pytest puts them', () => {
    const out = render(options({ color: true, tb: 'short', reportChars: 'A' }), mainSession('short'));
    const red = '\x1b[31m';
    const bold = '\x1b[1m';
    assert.ok(out.startsWith(`${bold}${'='.repeat(29)} test session starts`), 'bold session rule');
    assert.ok(out.includes(`\x1b[32m.\x1b[39m${red}F\x1b[39m\x1b[33ms\x1b[39m`), 'coloured progress letters');
    assert.match(out, /\x1b\[31m {46}\[ 75%\]\x1b\[39m/, 'the percentage in the main colour');
    assert.ok(out.includes(`${red}${bold}___________________ ERROR at setup of TestA.test_setup_error`), 'red bold headers');
    assert.ok(out.includes(`${red}${bold}E   RuntimeError: setup boom`), 'red bold E lines');
    assert.ok(out.includes(`${red}${bold}suites/conftest.ts\x1b[22m\x1b[39m:4: in broken`), 'red bold traceback paths');
    assert.ok(out.includes(`\x1b[33m${'='.repeat(31)} warnings summary`), 'yellow warnings rule');
    assert.ok(out.includes(`\x1b[36m${bold}${'='.repeat(27)} short test summary info`), 'cyan summary rule');
    assert.ok(out.includes(`${red}FAILED\x1b[39m suites/test_x.ts::${bold}TestA::test_fail\x1b[22m - assert 1 == 2`), 'summary line');
    assert.ok(out.includes(`${red}= \x1b[39m${red}${bold}1 failed\x1b[22m\x1b[39m, \x1b[32m5 passed\x1b[39m`), 'final line parts');
    assert.ok(out.endsWith(`${red} in 0.01s\x1b[39m${red} =\x1b[39m\n`), 'final line ends in the main colour');
  });

  test('on: live-log level names are coloured as pytest colours them', () => {
    const out = render(
      options({ color: true, logCli: { enabled: true, format: '%(levelname)-8s %(message)s', dateFormat: '%H:%M:%S' } }),
      sessionEvents({ rootdir: ROOT, tests: liveLogMirror().slice(1, 2), finish: { exitCode: ExitCode.OK } }),
    );
    assert.ok(out.includes('\x1b[32mINFO    \x1b[39m in call'));
    assert.ok(out.includes('\x1b[31m\x1b[1mERROR   \x1b[22m\x1b[39m bad thing'));
    assert.ok(out.includes('\x1b[33mWARNING \x1b[39m tearing down'));
  });

  test('off: no escape at all, in any mode', () => {
    for (const overrides of [{}, { verbosity: 1 }, { verbosity: -1, reportChars: 'A' }, { collectOnly: true }]) {
      const out = render(options(overrides), mainSession());
      assert.doesNotMatch(out, /\x1b/);
    }
  });
});

describe('header details', () => {
  const start = (overrides: Partial<Parameters<TerminalReporter['sessionStart']>[0]> = {}): Event => [
    'sessionStart',
    { startTime: 0, rootdir: ROOT, headerLines: [], platform: 'linux', versions: { node: '20.20.2', pytestTs: '0.1.0' }, ...overrides },
  ];

  test('conftest header lines come before rootdir, testpaths after configfile, no configfile line without one', () => {
    const out = render(options(), [start({ headerLines: ['device: cpu'], testpaths: ['suites', 'more'], configfile: 'memory.ini' })]);
    assert.equal(out, `${sepLine('=', 'test session starts', 80)}\nplatform linux -- Node v20.20.2, pytest-ts-0.1.0\ndevice: cpu\nrootdir: ${ROOT}\nconfigfile: memory.ini\ntestpaths: suites, more\n`);
    assert.doesNotMatch(render(options(), [start()]), /configfile/);
  });

  test('-v adds the node executable and "collecting ... "; -q prints no header', () => {
    assert.ok(render(options({ verbosity: 1 }), [start()]).includes(`pytest-ts-0.1.0 -- ${process.execPath}\nrootdir: ${ROOT}\ncollecting ... `));
    assert.equal(render(options({ verbosity: -1 }), [start()]), '');
  });

  test('node ids are shown relative to where pytest-ts was started', () => {
    const events = sessionEvents({ rootdir: ROOT, tests: COLLECTION_OK, finish: { exitCode: ExitCode.OK } });
    const out = render(options({ invocationDir: join(ROOT, 'suites'), verbosity: 1 }), events);
    assert.match(out, /\ntest_a\.ts::test_ok PASSED/);
  });

  test('a width under 40 is taken as 80', () => {
    const out = render(options({ width: 20 }), [start()]);
    assert.ok(out.startsWith('='.repeat(29) + ' test session starts ' + '='.repeat(30) + '\n'));
  });
});

describe('details pytest gets right that the mirrors do not show', () => {
  const one = (overrides: Partial<TestSpec> = {}): TestSpec => ({ nodeid: 'suites/test_a.ts::TestB::test_x', domain: 'TestB.test_x', line: 3, setup: { outcome: 'passed' }, teardown: { outcome: 'passed' }, ...overrides });

  test('-vv names the file a test comes from when it is not the module of its node id', () => {
    const events = sessionEvents({ rootdir: ROOT, tests: [one()], finish: { exitCode: ExitCode.OK } }).map((event): Event => {
      if (event[0] === 'testStart') return ['testStart', { ...event[1], location: { ...event[1].location, relpath: 'suites/base.ts' } }];
      if (event[0] === 'report') return ['report', { ...event[1], location: { ...event[1].location, relpath: 'suites/base.ts' } }];
      return event;
    });
    const line = render(options({ verbosity: 2 }), events).split('\n').find((l) => l.startsWith('suites/'));
    assert.match(line!, /^suites\/test_a\.ts::TestB::test_x <- suites\/base\.ts PASSED +\[100%\]$/);
    assert.equal(line!.length, 79, 'the percentage ends one column before the edge');
    assert.match(render(options({ verbosity: 1 }), events), /\nsuites\/test_a\.ts::TestB::test_x PASSED/);
  });

  test('ten or more locations of one warning collapse into counts per file', () => {
    const warnings = Array.from({ length: 10 }, (_, i) => ({ message: 'old API', category: 'DeprecationWarning', nodeid: `suites/${i < 7 ? 'a' : 'b'}.ts::test_${i}` }));
    const events = sessionEvents({ rootdir: ROOT, tests: [one({ warnings: [...warnings, { message: 'no location', category: 'UserWarning' }] })], finish: { exitCode: ExitCode.OK } });
    const out = render(options(), events);
    assert.ok(out.includes('suites/a.ts: 7 warnings\nsuites/b.ts: 3 warnings\n  DeprecationWarning: old API\n\nUserWarning: no location\n\n-- Docs:'), out);
    assert.match(out, /= 1 passed, 11 warnings in 0\.01s =/);
  });

  test('on CI and at -vv the short summary keeps the whole message', () => {
    const message = 'AssertionError: ' + 'long '.repeat(30) + '\nsecond line';
    const events = sessionEvents({ rootdir: ROOT, tests: [one({ call: { outcome: 'failed', failure: { message, text: 'E   x' } } })], finish: FAILED_RUN });
    const line = (out: string) => out.split('\n').find((l) => l.startsWith('FAILED'));
    assert.equal(line(render(options(), events)), 'FAILED suites/test_a.ts::TestB::test_x - AssertionError: long long long long ...');
    assert.ok(render(options({ ci: true }), events).includes(`FAILED suites/test_a.ts::TestB::test_x - ${message}\n`));
    assert.ok(render(options({ verbosity: 2 }), events).includes(`FAILED suites/test_a.ts::TestB::test_x - ${message}\n`));
  });

  test('--tb=line prints the absolute crash line after the captured output', () => {
    const failure = { message: 'AssertionError: boom\nmore', text: 'E   AssertionError: boom\n    more', crashPath: 'suites/test_a.ts', crashLine: 7 };
    const events = sessionEvents({ rootdir: ROOT, tests: [one({ call: { outcome: 'failed', failure, out: 'printed\n' } })], finish: FAILED_RUN });
    const out = render(options({ tb: 'line' }), events);
    assert.ok(out.includes(`FAILURES ${'='.repeat(35)}\nE   AssertionError: boom\n    more\n${'-'.repeat(29)} Captured stdout call ${'-'.repeat(29)}\nprinted\n${ROOT}/suites/test_a.ts:7: AssertionError: boom\n`), out);
  });
});

describe('output buffering', () => {
  test('10,000 passing tests are written in whole lines, not one write per test', () => {
    const tests: TestSpec[] = [];
    for (let i = 0; i < 10_000; i++) tests.push({ nodeid: `suites/test_big.ts::test_${i}`, domain: `test_${i}`, line: i, setup: { outcome: 'passed' }, teardown: { outcome: 'passed' } });
    const events = sessionEvents({ rootdir: ROOT, tests, finish: { exitCode: ExitCode.OK } });
    const writes: string[] = [];
    const reporter = new TerminalReporter(options(), (text) => writes.push(text));
    const started = performance.now();
    replay(reporter, events);
    const elapsedMs = performance.now() - started;
    const lines = writes.join('').split('\n').length;
    // One write per completed line at most, plus one per 100 ms for partial lines.
    assert.ok(writes.length <= lines + Math.ceil(elapsedMs / 100) + 2, `${writes.length} writes for ${lines} lines`);
    assert.ok(writes.join('').endsWith(`[100%]\n\n${sepLine('=', '10000 passed in 0.01s', 80)}\n`));
  });

  test('with -s every event is written at once, so test output cannot overtake it', () => {
    const writes: string[] = [];
    const reporter = new TerminalReporter(options({ capture: 'no', verbosity: 1 }), (text) => writes.push(text));
    const events = sessionEvents({ rootdir: ROOT, tests: COLLECTION_OK, finish: { exitCode: ExitCode.OK } });
    const firstStart = events.findIndex(([kind]) => kind === 'testStart');
    replay(reporter, events.slice(0, firstStart + 1));
    assert.ok(writes.join('').endsWith('suites/test_a.ts::test_ok '));
  });
});

describe('formatting rules', () => {
  test('formatDuration', () => {
    const table: Array<[number, string]> = [
      [0, '0.00s'],
      [0.005, '0.01s'],
      [1.234, '1.23s'],
      [59.99, '59.99s'],
      [60, '60.00s (0:01:00)'],
      [65.43, '65.43s (0:01:05)'],
      [3600, '3600.00s (1:00:00)'],
      [90061.5, '90061.50s (1 day, 1:01:01)'],
      [2 * 86400, '172800.00s (2 days, 0:00:00)'],
    ];
    for (const [seconds, text] of table) assert.equal(formatDuration(seconds), text, String(seconds));
  });

  test('pluralize', () => {
    const table: Array<[number, string, string]> = [
      [1, 'error', '1 error'],
      [2, 'error', '2 errors'],
      [1, 'warnings', '1 warning'],
      [0, 'warnings', '0 warnings'],
      [1, 'test', '1 test'],
      [3, 'passed', '3 passed'],
    ];
    for (const [count, noun, text] of table) assert.equal(pluralize(count, noun), text);
  });

  test('formatTrimmed keeps what fits, cuts with "...", gives up below the ellipsis', () => {
    assert.equal(formatTrimmed(' - ', '', 'short', 20), ' - short');
    assert.equal(formatTrimmed(' - ', '', 'exactly10!', 13), ' - exactly10!');
    assert.equal(formatTrimmed(' - ', '', 'exactly10!!', 13), ' - exactly...');
    assert.equal(formatTrimmed(' - ', '', 'first\nsecond', 40), ' - first');
    assert.equal(formatTrimmed(' (', ')', 'abc', 6), ' (abc)');
    assert.equal(formatTrimmed(' (', ')', 'abcd', 6), ' (...)');
    assert.equal(formatTrimmed(' (', ')', 'abcd', 5), undefined);
    assert.equal(formatTrimmed(' - ', '', '日本語テキスト', 10), ' - 日本...');
    assert.equal(formatTrimmed(' - ', '', '日本語テキスト', 9), ' - 日...');
  });

  test('formatG matches Python {:g}', () => {
    const table: Array<[number, string]> = [[0.005, '0.005'], [1, '1'], [0.25, '0.25'], [0, '0'], [1e-5, '1e-05'], [1234567, '1.23457e+06'], [0.0001, '0.0001']];
    for (const [value, text] of table) assert.equal(formatG(value), text);
  });

  test('reportCharsFor follows getreportopt', () => {
    const table: Array<[string, boolean, string]> = [
      ['fE', false, 'wfE'],
      ['a', false, 'wsxXEf'],
      ['A', false, 'wPpsxXEf'],
      ['N', false, 'w'],
      ['fEN', true, ''],
      ['aN', false, 'w'],
      ['Nf', false, 'wf'],
      ['FS', false, 'wfs'],
      ['ffss', false, 'wfs'],
      ['wf', true, 'f'],
      ['fw', false, 'fw'],
    ];
    for (const [chars, disabled, result] of table) assert.equal(reportCharsFor(chars, disabled), result, chars);
  });

  test('resolveColor: --color wins, then PY_COLORS, NO_COLOR, FORCE_COLOR, then the terminal', () => {
    const table: Array<['yes' | 'no' | 'auto', NodeJS.ProcessEnv, boolean, boolean]> = [
      ['yes', { NO_COLOR: '1' }, false, true],
      ['no', { FORCE_COLOR: '1' }, true, false],
      ['auto', {}, true, true],
      ['auto', {}, false, false],
      ['auto', { TERM: 'dumb' }, true, false],
      ['auto', { NO_COLOR: '1' }, true, false],
      ['auto', { NO_COLOR: '' }, true, true],
      ['auto', { FORCE_COLOR: '1' }, false, true],
      ['auto', { FORCE_COLOR: '0' }, true, false],
      ['auto', { NO_COLOR: '1', FORCE_COLOR: '1' }, false, false],
      ['auto', { PY_COLORS: '1', NO_COLOR: '1' }, false, true],
      ['auto', { PY_COLORS: '0' }, true, false],
    ];
    for (const [option, env, tty, result] of table) assert.equal(resolveColor(option, env, tty), result, `${option} ${JSON.stringify(env)} ${tty}`);
  });

  test('runningOnCI and effectiveWidth', () => {
    assert.equal(runningOnCI({ CI: 'true' }), true);
    assert.equal(runningOnCI({ BUILD_NUMBER: '7' }), true);
    assert.equal(runningOnCI({ CI: '' }), false);
    assert.equal(effectiveWidth(120), 120);
    assert.equal(effectiveWidth(39), 80);
    assert.equal(effectiveWidth(40), 40);
    assert.equal(effectiveWidth(undefined), 80);
  });

  test('sepLine matches pytest at odd and even widths', () => {
    assert.equal(sepLine('=', 'ab', 10), '=== ab ===');
    assert.equal(sepLine('=', 'abc', 10), '== abc ===');
    assert.equal(sepLine('_ ', undefined, 9), '_ _ _ _ _');
    assert.equal(sepLine('_ ', undefined, 80), '_ '.repeat(40));
    assert.equal(sepLine('=', 'a very long title that does not fit', 20), '= a very long title that does not fit =');
  });

  test('textWidth counts wide characters twice and escapes not at all', () => {
    assert.equal(textWidth('abc'), 3);
    assert.equal(textWidth('日本'), 4);
    assert.equal(textWidth('e\u0301'), 1);
  });

  test('collect tree: nested directories, classes and parametrised ids', () => {
    const lines = collectTreeLines(['a/b/test_x.ts::TestA::TestInner::test_p[1MB]', 'a/b/test_x.ts::TestA::test_q', 'a/test_y.ts::test_r', 'test_z.ts::test_s'], '/r/proj');
    assert.deepEqual(lines, [
      '<Dir proj>',
      '  <Dir a>',
      '    <Dir b>',
      '      <Module test_x.ts>',
      '        <Class TestA>',
      '          <Class TestInner>',
      '            <Function test_p[1MB]>',
      '          <Function test_q>',
      '    <Module test_y.ts>',
      '      <Function test_r>',
      '  <Module test_z.ts>',
      '    <Function test_s>',
    ]);
  });

  test('bestRelPath', () => {
    assert.equal(bestRelPath('/a/b', '/a/b/c/d.ts'), 'c/d.ts');
    assert.equal(bestRelPath('/a/b', '/a/x.ts'), '../x.ts');
    assert.equal(bestRelPath('/a/b', '/a/b'), '.');
    assert.equal(bestRelPath('/a/b', 'rel/x.ts'), 'rel/x.ts');
  });

  test('wrapText breaks on spaces at the width and breaks long words', () => {
    assert.deepEqual(wrapText(' (one two three)', 10, 20), [' (one two', 'three)']);
    assert.deepEqual(wrapText(' (short)', 0, 80), [' (short)']);
    assert.deepEqual(wrapText(' (abcdefghij)', 15, 20), [' (abc', 'defghij)']);
  });

  test('formatMarkersList', () => {
    assert.equal(formatMarkersList([{ name: 'slow', description: '1+ hour runtime' }, { name: 'gpu', description: '' }]), '@mark.slow: 1+ hour runtime\n\n@mark.gpu:\n\n');
  });
});

describe('live log record format', () => {
  const record = { when: 'call' as const, level: 30, levelName: 'WARNING', message: 'careful', created: LOG_TIME + 123, name: 'app' };

  test('Python %-style fields with width, precision and flags', () => {
    const table: Array<[string, string]> = [
      ['%(asctime)s [%(levelname)s] %(message)s', '02:11:24 [WARNING] careful'],
      ['%(levelname)-8s %(name)s: %(message)s', 'WARNING  app: careful'],
      ['%(levelname)8s|%(levelname).4s|%(levelno)d|%(levelno)05d', ' WARNING|WARN|30|00030'],
      ['%(filename)s:%(lineno)d %(module)s', 'test_x.ts:12 test_x'],
      ['%(created)f %(msecs)03d %%', `${((LOG_TIME + 123) / 1000).toFixed(6)} 123 %`],
      ['%(name)r', "'app'"],
    ];
    for (const [format, text] of table) {
      const formatLine = compileLogFormat({ format, dateFormat: '%H:%M:%S' });
      assert.equal(formatLine({ ...record, filename: 'test_x.ts', lineno: 12 }), text, format);
    }
  });

  test('missing source information reads as Python logging has it', () => {
    const formatLine = compileLogFormat({ format: '%(filename)s:%(lineno)d %(funcName)s', dateFormat: '' });
    assert.equal(formatLine(record), '(unknown file):0 (unknown function)');
  });

  test('without a date format, asctime is Python logging\'s default', () => {
    assert.equal(compileLogFormat({ format: '%(asctime)s' })(record), '2024-01-01 02:11:24,123');
  });

  test('an unknown field is a usage error at start-up', () => {
    assert.throws(() => compileLogFormat({ format: '%(nope)s' }), { name: 'UsageError', message: /unknown field %\(nope\)s/ });
  });

  test('strftime directives', () => {
    const date = new Date(Date.UTC(2024, 1, 29, 13, 5, 9, 42));
    const table: Array<[string, string]> = [
      ['%H:%M:%S', '13:05:09'],
      ['%Y-%m-%d', '2024-02-29'],
      ['%y %j', '24 060'],
      ['%f', '042000'],
      ['%I %p', '01 PM'],
      ['%a %A %b %B', 'Thu Thursday Feb February'],
      ['%z %%', '+0000 %'],
      ['%Q', '%Q'],
    ];
    for (const [format, text] of table) assert.equal(strftime(date, format), text, format);
  });
});

test('a test event sequence has the phases pytest reports', () => {
  const events = testEvents({ nodeid: 'a.ts::t', domain: 't', line: 0, setup: { outcome: 'skipped' }, teardown: { outcome: 'passed' } });
  assert.deepEqual(events.map(([kind, payload]) => (kind === 'report' ? `report:${(payload as { phase: string }).phase}` : kind)), ['testStart', 'report:setup', 'report:teardown', 'testFinish']);
});
