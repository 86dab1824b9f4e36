// Reference comparison: run real pytest on a small Python suite with every outcome, record every report pytest's own
// writer saw (through a conftest hook), replay those reports into JunitXmlReporter, and compare the two files byte
// for byte. Only what must differ is normalised: the suite's timestamp and time, `.py` -> `.ts` in node ids and
// paths, and the two escaping rules pytest 9.1 changed (DEL and characters above U+FFFF) plus its `tests` count.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JunitXmlReporter, binXmlEscape, formatSeconds, pythonIsoTimestamp, type JunitOptions } from '../../runner/junitxml.js';
import type { CollectReport, TestReport } from '../../runner/reports.js';

const PYTHON = process.env.PYTHON ?? 'python3';
const pytestVersion = spawnSync(PYTHON, ['-m', 'pytest', '--version'], { encoding: 'utf8' });
const pytestMissing = pytestVersion.status !== 0 ? `pytest is not available (${PYTHON} -m pytest --version failed)` : false;
if (pytestMissing) console.warn(`\n*** SKIPPING the pytest reference comparison: ${pytestMissing} ***\n`);

const REFERENCE_SUITE: Record<string, string> = {
  'pytest.ini': '[pytest]\n',
  'conftest.py': String.raw`
import json, os

def _dump(record):
    with open(os.environ["JUNIT_DUMP"], "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")

def _failure(report):
    crash = getattr(report.longrepr, "reprcrash", None)
    return {"message": crash.message if crash is not None else str(report.longrepr), "text": str(report.longrepr)}

def _skip(longrepr):
    path, line, reason = longrepr
    return {"path": path, "line": line, "reason": reason[9:] if reason.startswith("Skipped: ") else reason}

def pytest_runtest_logreport(report):
    record = {
        "kind": "test", "nodeid": report.nodeid, "phase": report.when, "outcome": report.outcome,
        "duration": report.duration, "start": report.start, "stop": report.stop,
        "location": list(report.location), "capturedOut": report.capstdout, "capturedErr": report.capstderr,
        "capturedLog": report.caplog, "userProperties": [[n, str(v)] for n, v in report.user_properties],
    }
    if hasattr(report, "wasxfail"):
        record["wasxfail"] = report.wasxfail
    if report.failed:
        record["failure"] = _failure(report)
    elif report.skipped and not hasattr(report, "wasxfail"):
        record["skip"] = _skip(report.longrepr)
    _dump(record)

def pytest_collectreport(report):
    if report.passed:
        return
    record = {"kind": "collect", "nodeid": report.nodeid, "outcome": report.outcome}
    if report.failed:
        record["failure"] = _failure(report)
    else:
        record["skip"] = _skip(report.longrepr)
    _dump(record)
`,
  'test_ref.py': String.raw`
import logging
import sys
import pytest

log = logging.getLogger("ref")

@pytest.fixture
def broken_setup():
    raise RuntimeError("setup boom")

@pytest.fixture
def broken_teardown():
    print("teardown fixture output")
    yield
    raise RuntimeError("teardown boom")

def test_pass():
    pass

def test_fail():
    assert 1 == 2, 'x & <y> "z"'

def test_error_in_setup(broken_setup):
    pass

def test_teardown_error_after_pass(broken_teardown):
    pass

def test_fail_and_teardown_error(broken_teardown):
    print("call output")
    raise ValueError("call boom")

@pytest.mark.skip(reason="skipped by marker")
def test_skip_marker():
    pass

def test_skip_call():
    print("printed before skip")
    pytest.skip("skipped <in> call")

@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert False

@pytest.mark.xfail
def test_xfail_no_reason():
    assert False

def test_xfail_call():
    pytest.xfail("xfail in call")

@pytest.mark.xfail(reason="unexpectedly passes")
def test_xpass():
    pass

@pytest.mark.xfail(reason="unexpectedly passes, strict", strict=True)
def test_xpass_strict():
    pass

def test_output_passing():
    print("hello stdout")
    sys.stderr.write("hello\tstderr\r\n")
    log.warning("hello log warning")

def test_output_failing():
    print("out before failure")
    log.error("log before failure")
    assert False, "failed after output"

def test_control_chars():
    print("stdout ctrl \x1b[1m\x7f \U0001F600")
    raise AssertionError("ctrl: esc=\x1b[31mred\x1b[0m nul=\x00 bell=\x07 del=\x7f vt=\x0b emoji=\U0001F600 e-acute=\u00e9")

def test_worker_crash_like():
    raise RuntimeError("worker crashed: SIGKILL")

@pytest.mark.parametrize("n", [1, 2.5, "s p"])
def test_param_auto_ids(n):
    pass

@pytest.mark.parametrize("v", [1, 2, 3, 4], ids=["one", "colons::x", "lt<gt>", 'dq"sq'])
def test_param_special_ids(v):
    assert v != 2

class TestClass:
    def test_method_pass(self):
        pass

    @pytest.mark.parametrize("x", [1, 2])
    def test_method_param(self, x):
        assert x == 1

    class TestNested:
        def test_nested(self):
            pass

def test_record_property(record_property):
    record_property("example_key", 1)
    record_property("special", 'a<b & "c" \x1b\x00 \u00e9 \U0001F600')

def test_suite_property(record_testsuite_property):
    record_testsuite_property("ARCH", "x86_64")
    record_testsuite_property("STORAGE", '<ceph & "co">')
`,
  'sub/test_sub.py': String.raw`
class TestSub:
    def test_in_subdir(self):
        pass
`,
  'test_broken.py': 'raise ImportError("broken on purpose")\n',
  'test_modskip.py': 'import pytest\npytest.skip("whole module skipped at collection", allow_module_level=True)\n',
};

/** The suite properties test_suite_property records; the runner hands them to sessionFinish. */
const SUITE_PROPERTIES: Array<[string, string]> = [['ARCH', 'x86_64'], ['STORAGE', '<ceph & "co">']];

interface Variant {
  label: string;
  pytestArgs: string[];
  options: Omit<JunitOptions, 'path' | 'hostname' | 'now'>;
}

const BASE = { suiteName: 'pytest', family: 'xunit2', logging: 'no', logPassingTests: true, durationReport: 'total' } as const;
const VARIANTS: Variant[] = [
  { label: 'defaults (xunit2, no logging)', pytestArgs: [], options: { ...BASE } },
  { label: 'junit_logging=all', pytestArgs: ['-o', 'junit_logging=all'], options: { ...BASE, logging: 'all' } },
  {
    label: 'junit_logging=log, duration=call',
    pytestArgs: ['-o', 'junit_logging=log', '-o', 'junit_duration_report=call'],
    options: { ...BASE, logging: 'log', durationReport: 'call' },
  },
  { label: 'junit_logging=system-out', pytestArgs: ['-o', 'junit_logging=system-out'], options: { ...BASE, logging: 'system-out' } },
  { label: 'junit_logging=system-err', pytestArgs: ['-o', 'junit_logging=system-err'], options: { ...BASE, logging: 'system-err' } },
  {
    label: 'xunit1, prefix, out-err, no passing logs, suite name',
    pytestArgs: ['-o', 'junit_family=xunit1', '--junitprefix=myprefix', '-o', 'junit_logging=out-err',
      '-o', 'junit_log_passing_tests=false', '-o', 'junit_suite_name=memory'],
    options: { ...BASE, family: 'xunit1', prefix: 'myprefix', logging: 'out-err', logPassingTests: false, suiteName: 'memory' },
  },
  {
    label: 'junit_logging=all, no passing logs',
    pytestArgs: ['-o', 'junit_logging=all', '-o', 'junit_log_passing_tests=false'],
    options: { ...BASE, logging: 'all', logPassingTests: false },
  },
];

const PY_TO_TS = /\b(test_\w+|conftest)\.py\b/g;
const toTs = (s: string): string => s.replace(PY_TO_TS, '$1.ts');

/** Bring pytest 9.0.3's file to what 9.1 writes for the same run, and blank what legitimately differs. */
function normalisePytest(xml: string): string {
  const testcaseCount = xml.match(/<testcase /g)?.length ?? 0;
  return normaliseVolatile(
    toTs(xml)
      .replaceAll('\x7f', '#x7F') // 9.0.3 lets DEL through; 9.1 escapes it (#14483)
      .replace(/#x([0-9A-F]{5,6})/g, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16))) // 9.1 keeps astral chars
      .replace(/ tests="\d+"/, ` tests="${testcaseCount}"`), // 9.1 counts testcase elements (#3850)
  );
}

function normaliseVolatile(xml: string): string {
  return xml.replace(/ time="[\d.]+" timestamp="[^"]+"/, ' time="T" timestamp="TS"');
}

function replay(dumpJsonl: string, options: JunitOptions): string {
  const reporter = new JunitXmlReporter(options);
  reporter.sessionStart({ startTime: 0, rootdir: '/', headerLines: [], platform: 'linux', versions: { node: '', pytestTs: '' } });
  for (const line of dumpJsonl.split('\n').filter(Boolean)) {
    // Rewrite after parsing: in the JSON text a newline is `\n`, which hides the word boundary before a file name.
    const record = JSON.parse(line, (_key, value: unknown) => (typeof value === 'string' ? toTs(value) : value));
    if (record.kind === 'collect') {
      reporter.collectReport(record as CollectReport);
    } else {
      const [relpath, lineNo, domain] = record.location;
      reporter.report({ ...record, location: { relpath, line: lineNo, domain }, sections: [], markers: [] } as TestReport);
    }
  }
  reporter.sessionFinish({ exitCode: 1, durationS: 1, suiteProperties: SUITE_PROPERTIES });
  return readFileSync(options.path, 'utf8');
}

function runPytest(cwd: string, variant: number): Promise<{ xml: string; dump: string; output: string }> {
  const xmlPath = join(cwd, `out-${variant}.xml`);
  const dumpPath = join(cwd, `dump-${variant}.jsonl`);
  const args = ['-m', 'pytest', '-p', 'no:cacheprovider', '--continue-on-collection-errors', '-q',
    `--junitxml=${xmlPath}`, ...VARIANTS[variant]!.pytestArgs];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(PYTHON, args, {
      cwd, env: { ...process.env, JUNIT_DUMP: dumpPath, PYTEST_DISABLE_PLUGIN_AUTOLOAD: '1', PYTHONDONTWRITEBYTECODE: '1' },
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolvePromise({ xml: readFileSync(xmlPath, 'utf8'), dump: readFileSync(dumpPath, 'utf8'), output });
      } catch (error) {
        reject(new Error(`pytest wrote no report for variant ${variant}:\n${output}`, { cause: error }));
      }
    });
  });
}

describe('JUnit XML against real pytest', { skip: pytestMissing }, () => {
  let workdir: string;
  let runs: Array<{ xml: string; dump: string; output: string }>;

  before(async () => {
    workdir = mkdtempSync(join(tmpdir(), 'junit-pytest-ref-'));
    for (const [relpath, source] of Object.entries(REFERENCE_SUITE)) {
      mkdirSync(join(workdir, relpath, '..'), { recursive: true });
      writeFileSync(join(workdir, relpath), source.trimStart());
    }
    runs = [];
    // Two at a time: the machine has two cores and each pytest start costs a few hundred ms.
    for (let i = 0; i < VARIANTS.length; i += 2) {
      runs.push(...(await Promise.all([i, i + 1].filter((v) => v < VARIANTS.length).map((v) => runPytest(workdir, v)))));
    }
  });

  after(() => {
    if (workdir && !process.env.KEEP_JUNIT_REF) rmSync(workdir, { recursive: true, force: true });
  });

  VARIANTS.forEach((variant, index) => {
    it(`matches pytest byte for byte: ${variant.label}`, () => {
      const { xml, dump } = runs[index]!;
      const ours = replay(dump, { ...variant.options, path: join(workdir, `ours-${index}.xml`), hostname: hostnameIn(xml), now: () => 0 });
      assert.equal(normaliseVolatile(ours), normalisePytest(xml));
    });
  });

  it('the reference run really covers every outcome', () => {
    const xml = runs[1]!.xml;
    for (const needle of [
      '<failure message="AssertionError: x &amp; &lt;y&gt; &quot;z&quot;', 'failed on setup with', 'failed on teardown with',
      'type="pytest.skip"', 'type="pytest.xfail" message="known bug" />', '[XPASS(strict)] unexpectedly passes, strict',
      'message="collection failure"', 'message="collection skipped"', 'worker crashed: SIGKILL', 'name="test_param_auto_ids[s p]"',
      'name="test_param_special_ids[colons::x]"', 'classname="sub.test_sub.TestSub"', '<property name="STORAGE"',
      'nul=#x00', '#x1F600', 'Captured Log', 'Captured Err',
    ]) {
      assert.ok(xml.includes(needle), `pytest's file should contain ${needle}`);
    }
    // The pair of testcases for a failed call whose teardown also failed.
    assert.equal(xml.match(/name="test_fail_and_teardown_error"/g)?.length, 2);
    const pytest90Tests = Number(/ tests="(\d+)"/.exec(xml)![1]);
    const testcases = xml.match(/<testcase /g)!.length;
    // 9.0.3 overcounts a pass+teardown error and undercounts a fail+teardown pair: they cancel here.
    assert.equal(pytest90Tests, testcases);
  });

  it('formats timestamps as Python datetime.isoformat() does, in several time zones', () => {
    const instants = [0, 1_795_000_000_123, 1_795_000_000_000, 1_795_000_000_123.456, 1_795_826_159_666.5005,
      1_795_826_159_999.9996, 951_782_400_999, -86_400_500, -1.5];
    const zones = ['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Australia/Lord_Howe', 'Europe/Berlin'];
    const script = [
      'import json, sys, datetime',
      'for t in json.loads(sys.argv[1]):',
      '    print(datetime.datetime.fromtimestamp(t / 1000, datetime.timezone.utc).astimezone().isoformat())',
    ].join('\n');
    const savedTz = process.env.TZ;
    try {
      for (const zone of zones) {
        const python = spawnSync(PYTHON, ['-c', script, JSON.stringify(instants)], { encoding: 'utf8', env: { ...process.env, TZ: zone } });
        assert.equal(python.status, 0, python.stderr);
        process.env.TZ = zone;
        assert.deepEqual(instants.map(pythonIsoTimestamp), python.stdout.trim().split('\n'), `TZ=${zone}`);
      }
    } finally {
      if (savedTz === undefined) delete process.env.TZ;
      else process.env.TZ = savedTz;
    }
  });

  it('formats seconds as Python "%.3f" does, exact ties included', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const values = [0, 1e-9, 0.0005, 59.99951];
    for (let i = 0; i < 400; i++) values.push(i / 16, random() * 10, random() * 5000, Math.round(random() * 1e6) / 1e4);
    const python = spawnSync(PYTHON, ['-c', 'import json, sys\nfor v in json.loads(sys.stdin.read()): print("%.3f" % v)'], {
      input: JSON.stringify(values), encoding: 'utf8',
    });
    assert.equal(python.status, 0, python.stderr);
    assert.deepEqual(values.map(formatSeconds), python.stdout.trim().split('\n'));
  });

  it('escapes every BMP character as pytest does (apart from the DEL rule 9.1 changed)', () => {
    let all = '';
    // A space after each one keeps \uDBFF\uDC00 from pairing into an astral character, which 9.1 treats differently.
    for (let code = 0; code <= 0xffff; code++) all += String.fromCharCode(code) + ' ';
    const script = [
      'import json, sys',
      'from _pytest.junitxml import bin_xml_escape',
      'print(json.dumps(bin_xml_escape(json.loads(sys.stdin.read()))))',
    ].join('\n');
    const python = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(all), encoding: 'utf8' });
    assert.equal(python.status, 0, python.stderr);
    const pytest90 = JSON.parse(python.stdout) as string;
    assert.equal(binXmlEscape(all), pytest90.replace('\x7f', '#x7F'));
  });
});

function hostnameIn(xml: string): string {
  return / hostname="([^"]*)"/.exec(xml)![1]!;
}
