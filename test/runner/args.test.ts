// args.ts: argv -> Options with pytest's argparse behaviour. Every case in ARG_CASES also runs through real pytest
// (one Python process, `_prepareconfig`) when python3 with pytest is installed, and must get the same verdict,
// the same error text and the same key values.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../runner/exit-codes.js';
import { helpText, parseArgs, parseArgsLenient, type ExtraOptionSpec, type Options } from '../../runner/args.js';

const scratch = mkdtempSync(join(tmpdir(), 'args-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
writeFileSync(join(scratch, 'argfile'), '-k\nfoo bar\n\n-v\n');
writeFileSync(join(scratch, 'outer'), '-x\n@argfile\n');
writeFileSync(join(scratch, 'loop'), '@loop\n');
mkdirSync(join(scratch, 'reports'));
writeFileSync(join(scratch, 'memory.ini'), '[pytest]\n');

interface ArgCase {
  argv: string[];
  /** Fields that must match, or the exact UsageError message. */
  expect: Partial<Options> | string;
  /** false: our documented decision differs from pytest 9.0.3 on Python 3.11 (or the option is not pytest's). */
  oracle?: false;
}

const E = (detail: string): string => `pytest-ts: error: ${detail}`;

const ARG_CASES: ArgCase[] = [
  // attached and '=' values
  { argv: ['-mslow'], expect: { markexpr: 'slow' } },
  { argv: ['-m=slow'], expect: { markexpr: 'slow' } },
  { argv: ['-kOOM'], expect: { keyword: 'OOM' } },
  { argv: ['-k=OOM'], expect: { keyword: 'OOM' } },
  { argv: ['-kx=y'], expect: { keyword: 'x=y' } },
  { argv: ['-k='], expect: { keyword: '' } },
  { argv: ['-rA'], expect: { reportChars: 'A' } },
  { argv: ['-r', '-1'], expect: { reportChars: '-1' } },
  // last occurrence wins
  { argv: ['-m', 'slow', '-m', 'gpu'], expect: { markexpr: 'gpu' } },
  { argv: ['-k', 'OOM', '-k', 'Memory'], expect: { keyword: 'Memory' } },
  // values that start with '-'
  { argv: ['-k', '-gpu or cuda'], expect: { keyword: '-gpu or cuda' } },
  { argv: ['-k=-gpu'], expect: { keyword: '-gpu' } },
  { argv: ['-m=-gpu'], expect: { markexpr: '-gpu' } },
  { argv: ['-k', '-1'], expect: { keyword: '-1' } },
  { argv: ['-k', '-1', '-k', '-.5'], expect: { keyword: '-.5' } },
  { argv: ['-k', '-'], expect: { keyword: '-' } },
  { argv: ['-k', '-gpu'], expect: E('argument -k: expected one argument') },
  { argv: ['-k', '-1e3'], expect: E('argument -k: expected one argument') },
  { argv: ['-k', '--'], expect: E('argument -k: expected one argument') },
  { argv: ['-m', '--gpu'], expect: E('argument -m: expected one argument') },
  { argv: ['-k'], expect: E('argument -k: expected one argument') },
  { argv: ['-r', '-x'], expect: E('argument -r: expected one argument') },
  { argv: ['-p', '-x'], expect: E('argument -p: expected one argument') },
  { argv: ['-W'], expect: E('argument -W/--pythonwarnings: expected one argument') },
  { argv: ['--junit-xml'], expect: E('argument --junitxml/--junit-xml: expected one argument') },
  // clusters of short options
  { argv: ['-vv'], expect: { verbose: 2 } },
  { argv: ['-vx'], expect: { verbose: 1, maxfail: 1, exitfirst: true } },
  { argv: ['-vkfoo'], expect: { verbose: 1, keyword: 'foo' } },
  { argv: ['-vk', 'foo'], expect: { verbose: 1, keyword: 'foo' } },
  { argv: ['-vk'], expect: E('argument -k: expected one argument') },
  { argv: ['-kx', '-vm'], expect: E('argument -m: expected one argument') },
  { argv: ['-vZ'], expect: E("argument -v/--verbose: ignored explicit argument 'Z'") },
  { argv: ['-x=1'], expect: E("argument -x/--exitfirst: ignored explicit argument '1'") },
  { argv: ['--co=1'], expect: E("argument --collectonly/--collect-only/--co: ignored explicit argument '1'") },
  { argv: ['--lf='], expect: E("argument --lf/--last-failed: ignored explicit argument ''") },
  // verbosity arithmetic and shared destinations
  { argv: ['-q', '-q'], expect: { verbose: -2 } },
  { argv: ['-v', '-q', '-q', '-v'], expect: { verbose: 0 } },
  { argv: ['--verbosity=2', '-v'], expect: { verbose: 3 } },
  { argv: ['-v', '--verbosity=0'], expect: { verbose: 0 } },
  { argv: ['-x', '--maxfail=3'], expect: { maxfail: 3, exitfirst: false } },
  { argv: ['--maxfail=3', '-x'], expect: { maxfail: 1, exitfirst: true } },
  { argv: ['-s', '--capture=sys'], expect: { capture: 'sys' } },
  { argv: ['--capture=sys', '-s'], expect: { capture: 'no' } },
  // numbers as Python's int()/float() read them
  { argv: ['--maxfail', '0'], expect: { maxfail: 0 } },
  { argv: ['--maxfail=+3'], expect: { maxfail: 3 } },
  { argv: ['--maxfail=1_0'], expect: { maxfail: 10 } },
  { argv: ['--maxfail=abc'], expect: E("argument --maxfail: invalid int value: 'abc'") },
  { argv: ['--maxfail=3.0'], expect: E("argument --maxfail: invalid int value: '3.0'") },
  { argv: ['--maxfail='], expect: E("argument --maxfail: invalid int value: ''") },
  { argv: ['--durations=x'], expect: E("argument --durations: invalid int value: 'x'") },
  { argv: ['--durations-min=abc'], expect: E("argument --durations-min: invalid float value: 'abc'") },
  { argv: ['--verbosity=x'], expect: E("argument --verbosity: invalid int value: 'x'") },
  // choices, in pytest's order
  { argv: ['--tb=bogus'], expect: E("argument --tb: invalid choice: 'bogus' (choose from 'auto', 'long', 'short', 'no', 'line', 'native')") },
  { argv: ['--tb='], expect: E("argument --tb: invalid choice: '' (choose from 'auto', 'long', 'short', 'no', 'line', 'native')") },
  { argv: ['--color=bogus'], expect: E("argument --color: invalid choice: 'bogus' (choose from 'yes', 'no', 'auto')") },
  { argv: ['--capture=x'], expect: E("argument --capture: invalid choice: 'x' (choose from 'fd', 'sys', 'no', 'tee-sys')") },
  { argv: ['--show-capture=x'], expect: E("argument --show-capture: invalid choice: 'x' (choose from 'no', 'stdout', 'stderr', 'log', 'all')") },
  { argv: ['--lfnf=bad'], expect: E("argument --lfnf/--last-failed-no-failures: invalid choice: 'bad' (choose from 'all', 'none')") },
  { argv: ['--tb=short'], expect: { tb: 'short' } },
  // unknown options; no abbreviations; no long forms of -k/-m
  { argv: ['--keyword', 'OOM'], expect: E('unrecognized arguments: --keyword') },
  { argv: ['--markexpr=slow'], expect: E('unrecognized arguments: --markexpr=slow') },
  { argv: ['--collect-o'], expect: E('unrecognized arguments: --collect-o') },
  { argv: ['--bogus', 'a', 'b', '--other'], expect: E('unrecognized arguments: --bogus --other') },
  { argv: ['--junit_xml=x'], expect: E('unrecognized arguments: --junit_xml=x') },
  { argv: ['--bogus', '-k'], expect: E('argument -k: expected one argument') },
  // positionals, node ids
  { argv: ['a.ts::C::t', '-v', 'b.ts', '123'], expect: { paths: ['a.ts::C::t', 'b.ts', '123'], verbose: 1 } },
  { argv: ['-'], expect: { paths: ['-'] } },
  { argv: [''], expect: { paths: [''] } },
  // repeatable options
  { argv: ['--deselect=a::b', '--deselect', 'c'], expect: { deselect: ['a::b', 'c'] } },
  { argv: ['-p', 'no:cacheprovider', '-pno:foo'], expect: { plugins: ['no:cacheprovider', 'no:foo'] } },
  { argv: ['-o', 'a=b', '-o', 'c=d=e'], expect: { overrideIni: [['a', 'b'], ['c', 'd=e']] } },
  { argv: ['-W', 'error', '--pythonwarnings=ignore'], expect: { pythonWarnings: ['error', 'ignore'] } },
  { argv: ['-o', 'x'], expect: "-o/--override-ini expects option=value style (got: 'x')." },
  { argv: ['--bogus', '-o', 'x'], expect: "-o/--override-ini expects option=value style (got: 'x')." },
  { argv: ['-o', 'x', '--maxfail=y'], expect: E("argument --maxfail: invalid int value: 'y'") },
  // aliases
  { argv: ['--co'], expect: { collectOnly: true } },
  { argv: ['--collectonly'], expect: { collectOnly: true } },
  { argv: ['--junit-xml', 'out.xml', '--junit-prefix=P'], expect: { junitxml: 'out.xml', junitprefix: 'P' } },
  { argv: ['--last-failed', '--failed-first', '--new-first', '--cache-clear', '--lfnf=none'], expect: { lf: true, ff: true, nf: true, cacheClear: true, lfnf: 'none' } },
  { argv: ['--disable-pytest-warnings', '--funcargs', '--markers'], expect: { disableWarnings: true, showFixtures: true, showMarkers: true } },
  { argv: ['-c', 'memory.ini', '--rootdir=.'], expect: { configFile: 'memory.ini', rootdir: '.' } },
  { argv: ['-cmemory.ini'], expect: { configFile: 'memory.ini' } },
  { argv: ['-Vv'], expect: { version: true, verbose: 1 } },
  { argv: ['--no-header', '--no-summary', '--show-capture=no', '--continue-on-collection-errors'], expect: { noHeader: true, noSummary: true, showCapture: 'no', continueOnCollectionErrors: true } },
  { argv: ['--strict-markers', '-o', 'a=b', '--strict'], expect: { strictMarkers: true, strict: true, overrideIni: [['strict_markers', 'true'], ['a', 'b'], ['strict', 'true']] } },
  { argv: ['--log-cli-level=DEBUG', '--log-level', 'info'], expect: { logCliLevel: 'DEBUG', logLevel: 'info' } },
  { argv: ['--durations=5', '--durations-min=1e-3'], expect: { durations: 5, durationsMin: 0.001 } },
  { argv: ['-vv'], expect: { durationsMin: 0 } },
  { argv: [], expect: { durationsMin: 0.005, reportChars: 'fE', tb: 'auto', capture: 'fd', color: 'auto', maxfail: 0, verbose: 0, paths: [] } },
  // argument files
  { argv: ['@argfile'], expect: { keyword: 'foo bar', verbose: 1, paths: [''] } },
  { argv: ['@outer'], expect: { maxfail: 1, keyword: 'foo bar', verbose: 1 } },
  { argv: ['-k', '@OOM'], expect: E("[Errno 2] No such file or directory: 'OOM'") },
  { argv: ['-r', '@'], expect: E("[Errno 2] No such file or directory: ''") },
  { argv: ['@reports'], expect: E("[Errno 21] Is a directory: 'reports'") },
  { argv: ['@loop'], expect: E("argument files nest more than 20 deep at '@loop'"), oracle: false },
  // --junitxml naming a directory (pytest's own UsageError, without the argparse prefix)
  { argv: ['--junitxml', 'reports'], expect: '--junitxml must be a filename, given: reports' },
  // our decisions: `--` ends options
  { argv: ['--', '-x', 'a.ts'], expect: { paths: ['-x', 'a.ts'], maxfail: 0 }, oracle: false },
  { argv: ['-v', '--', '--', '-k'], expect: { paths: ['--', '-k'], verbose: 1 }, oracle: false },
  // options of the pytest plugins pytest-ts builds in (pytest-timeout, pytest-forked) and our --isolation
  { argv: ['--timeout=30', '--forked', '--isolation=worker'], expect: { timeout: 30, forked: true, isolation: 'worker' }, oracle: false },
  { argv: ['--timeout=x'], expect: E("argument --timeout: invalid float value: 'x'"), oracle: false },
  { argv: ['--isolation=thread'], expect: E("argument --isolation: invalid choice: 'thread' (choose from 'none', 'forked', 'worker')"), oracle: false },
];

function outcome(argv: string[]): Options | string {
  try {
    return parseArgs(argv, [], { cwd: scratch });
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
}

describe('parseArgs', () => {
  for (const c of ARG_CASES) {
    it(`${JSON.stringify(c.argv)} -> ${typeof c.expect === 'string' ? c.expect : JSON.stringify(c.expect)}`, () => {
      const got = outcome(c.argv);
      if (typeof c.expect === 'string') assert.equal(got, c.expect);
      else {
        assert.equal(typeof got, 'object', `expected success, got ${String(got)}`);
        const picked = Object.fromEntries(Object.keys(c.expect).map((key) => [key, (got as Options)[key as keyof Options]]));
        assert.deepEqual(picked, c.expect);
      }
    });
  }

  it('stops at --help in the strict parse, so later mistakes do not hide the help', () => {
    assert.equal(parseArgs(['--bogus', '-h', '--maxfail=x']).help, true);
    assert.throws(() => parseArgs(['--maxfail=x', '-h']), { message: E("argument --maxfail: invalid int value: 'x'") });
  });
});

describe('options declared by conftest files', () => {
  const extra: ExtraOptionSpec[] = [
    { flag: '--device', type: 'string', choices: ['cpu', 'cuda'], default: 'cpu', help: 'Device to run on.' },
    { flag: '--long-run', type: 'boolean', help: 'Run the slow variants.' },
    { flag: '--budget', type: 'number', help: 'Memory budget in MB.' },
  ];

  it('parses them into `extra`, with defaults', () => {
    assert.deepEqual(parseArgs([], extra).extra, { device: 'cpu', 'long-run': false, budget: undefined });
    assert.deepEqual(parseArgs(['--device', 'cuda', '--long-run', '--budget=512.5'], extra).extra, { device: 'cuda', 'long-run': true, budget: 512.5 });
    assert.deepEqual(parseArgs(['--device=cuda', 'suites/'], extra).paths, ['suites/']);
  });

  it('checks their values like built-in options', () => {
    assert.throws(() => parseArgs(['--device=tpu'], extra), { message: E("argument --device: invalid choice: 'tpu' (choose from 'cpu', 'cuda')") });
    assert.throws(() => parseArgs(['--budget', 'lots'], extra), { message: E("argument --budget: invalid float value: 'lots'") });
    assert.throws(() => parseArgs(['--long-run=yes'], extra), { message: E("argument --long-run: ignored explicit argument 'yes'") });
  });

  it('refuses one that clashes with a built-in option or is not a usable flag', () => {
    assert.throws(() => parseArgs([], [{ flag: '--tb', type: 'string', help: '' }]), { message: 'argument --tb: conflicting option string: --tb' });
    assert.throws(() => parseArgs([], [{ flag: '-d', type: 'string', help: '' }]), UsageError);
    assert.throws(() => parseArgs([], [{ flag: 'device', type: 'string', help: '' }]), UsageError);
  });

  it('the lenient parse sets unknown options aside and, like argparse, takes their value for a path', () => {
    const early = parseArgsLenient(['-c', 'memory.ini', '--device', 'cuda', '-o', 'a=b', '--rootdir=/tmp', 'suites/']);
    assert.deepEqual(early.unknownFlags, ['--device']);
    assert.deepEqual(early.options.paths, ['cuda', 'suites/']);
    assert.equal(early.options.configFile, 'memory.ini');
    assert.equal(early.options.rootdir, '/tmp');
    assert.deepEqual(early.options.overrideIni, [['a', 'b']]);
    assert.throws(() => parseArgs(['--device', 'cuda']), { message: E('unrecognized arguments: --device') });
  });

  it('the lenient parse still refuses malformed known options', () => {
    assert.throws(() => parseArgsLenient(['--device', '--maxfail=x']), { message: E("argument --maxfail: invalid int value: 'x'") });
  });
});

describe('helpText', () => {
  it('lists built-in and conftest options in argparse layout', () => {
    const text = helpText([{ flag: '--device', type: 'string', choices: ['cpu', 'cuda'], help: 'Device to run on.' }]);
    assert.ok(text.startsWith('usage: pytest-ts [options] [file_or_dir] [file_or_dir] [...]\n'));
    assert.match(text, /\n {2}-k EXPRESSION {9}Only run tests/);
    assert.match(text, /\n {2}--collect-only, --co {2}Only collect tests/);
    assert.match(text, /\nCustom options:\n {2}--device=\{cpu,cuda\} {3}Device to run on\.\n/);
    for (const line of text.split('\n')) assert.ok(line.length <= 100, `line too long: ${line}`);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The oracle: the same cases through real pytest.

const ORACLE = `
import json, os, sys
os.environ['PYTEST_DISABLE_PLUGIN_AUTOLOAD'] = '1'
os.environ.pop('PYTEST_ADDOPTS', None)
import _pytest.config as c
from _pytest.config.exceptions import UsageError
out = []
for args in json.load(sys.stdin):
    try:
        cfg = c._prepareconfig(list(args))
        o = cfg.option
        out.append({'ok': True, 'paths': o.file_or_dir, 'keyword': o.keyword, 'markexpr': o.markexpr, 'verbose': o.verbose,
                    'maxfail': o.maxfail, 'reportChars': o.reportchars, 'capture': o.capture, 'tb': o.tbstyle})
        cfg._ensure_unconfigure()
    except UsageError as e:
        lines = str(e).splitlines()
        out.append({'ok': False, 'error': next((l.split(': error: ', 1)[1] for l in lines if ': error: ' in l), lines[0]),
                    'argparse': any(': error: ' in l for l in lines)})
print(json.dumps(out))
`;

function runOracle(cases: ArgCase[]): Array<Record<string, unknown>> {
  const result = spawnSync('python3', ['-c', ORACLE], { cwd: scratch, input: JSON.stringify(cases.map((c) => c.argv)), encoding: 'utf8' });
  assert.equal(result.status, 0, `the pytest oracle failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Array<Record<string, unknown>>;
}

const probe = spawnSync('python3', ['-c', 'import pytest'], { encoding: 'utf8' });
const noPytest = probe.status === 0 ? false : 'python3 with pytest is not installed';

describe('the same verdicts as real pytest', () => {
  const cases = ARG_CASES.filter((c) => c.oracle !== false);
  it(`${cases.length} argv cases agree with pytest's argparse`, { skip: noPytest }, () => {
    assert.ok(cases.length >= 12);
    runOracle(cases).forEach((pytest, index) => {
      const c = cases[index]!;
      const ours = outcome(c.argv);
      const label = JSON.stringify(c.argv);
      if (typeof ours === 'string') {
        assert.equal(pytest.ok, false, `${label}: we refuse it (${ours}), pytest accepts it`);
        assert.equal(pytest.argparse ? `pytest-ts: error: ${pytest.error}` : pytest.error, ours, label);
        return;
      }
      assert.equal(pytest.ok, true, `${label}: we accept it, pytest says ${pytest.error}`);
      assert.deepEqual(
        [ours.paths, ours.keyword ?? '', ours.markexpr ?? '', ours.verbose, ours.maxfail, ours.reportChars, ours.capture, ours.tb],
        [pytest.paths, pytest.keyword, pytest.markexpr, pytest.verbose, pytest.maxfail, pytest.reportChars, pytest.capture, pytest.tb],
        label,
      );
    });
  });
});
