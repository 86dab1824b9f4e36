// JUnit XML writer: exact bytes for every outcome of JUNIT_FORMAT.md §4, the output sections of §5, escaping (§1, §6),
// families (§7), schema validation (§8), the interrupted-run rules, the output path checks and rendering speed.
process.env.TZ = 'UTC'; // before any Date is formatted: the timestamp is local time

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { validateXML } from 'xmllint-wasm';
import { XMLParser } from 'fast-xml-parser';
import {
  JunitXmlReporter, binXmlEscape, checkJunitPath, escapeAttribute, escapeText, formatSeconds, mangleTestAddress,
  pythonIsoTimestamp, pythonStrRepr, renderJunitXml, resolveJunitPath, type JunitOptions,
} from '../../runner/junitxml.js';
import { UsageError } from '../../runner/exit-codes.js';
import type { CollectReport, Phase, TestReport } from '../../runner/reports.js';

const START = Date.UTC(2026, 10, 28, 0, 35, 59, 666);
const HEAD = '<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">';
const SKIP_PATH = '/abs/suites/test_x.ts';

function testReport(nodeid: string, phase: Phase, outcome: TestReport['outcome'], extra: Partial<TestReport> = {}): TestReport {
  return {
    nodeid, phase, outcome, duration: 0.001, start: START, stop: START + 1,
    location: { relpath: nodeid.split('::')[0]!, line: 14, domain: nodeid.split('::').slice(1).join('.') },
    capturedOut: '', capturedErr: '', capturedLog: '', sections: [], userProperties: [], markers: [], ...extra,
  };
}
const failure = (message: string, text = `${message}\ntrace`) => ({ failure: { message, text } });
const skip = (reason: string, line = 30) => ({ skip: { reason, path: SKIP_PATH, line } });

/** Phase reports of one test: setup, call, teardown, with sensible defaults for whatever `phases` leaves out. */
function lifecycle(nodeid: string, phases: Partial<Record<Phase, Partial<TestReport> & { outcome?: TestReport['outcome'] }>>): TestReport[] {
  const out: TestReport[] = [];
  for (const phase of ['setup', 'call', 'teardown'] as const) {
    const given = phases[phase];
    if (phase === 'call' && given === undefined && phases.setup?.outcome && phases.setup.outcome !== 'passed') continue;
    out.push(testReport(nodeid, phase, given?.outcome ?? 'passed', given ?? {}));
  }
  return out;
}

type Event = TestReport | (CollectReport & { collect: true });

function options(overrides: Partial<JunitOptions> = {}): JunitOptions {
  return {
    path: join(tmpdir(), 'unused.xml'), suiteName: 'pytest', family: 'xunit2', logging: 'no', logPassingTests: true,
    durationReport: 'total', hostname: 'host', now: () => START + 1631, ...overrides,
  };
}

function run(events: Event[], overrides: Partial<JunitOptions> = {}, suiteProperties: Array<[string, string]> = []): string {
  const reporter = new JunitXmlReporter(options(overrides));
  reporter.sessionStart({ startTime: START, rootdir: '/abs', headerLines: [], platform: 'linux', versions: { node: '', pytestTs: '' } });
  for (const event of events) {
    if ('collect' in event) reporter.collectReport(event);
    else reporter.report(event);
  }
  return renderJunitXml(reporter.document({ suiteProperties }));
}

/** The testcases (and suite properties) of a document, without the fixed envelope. */
function body(xml: string): string {
  const match = /^<\?xml[^>]*\?><testsuites name="pytest tests"><testsuite [^>]*?(?: \/>|>(.*)<\/testsuite>)<\/testsuites>$/s.exec(xml);
  assert.ok(match, `not a pytest JUnit document: ${xml}`);
  return match[1] ?? '';
}

function counts(xml: string): string {
  return / (errors="\d+" failures="\d+" skipped="\d+" tests="\d+")/.exec(xml)![1]!;
}

const N = 'suites/test_x.ts::test_a';
const TC = '<testcase classname="suites.test_x" name="test_a"';

describe('outcomes (JUNIT_FORMAT.md §4), exact bytes', () => {
  const rows: Array<{ outcome: string; events: Event[]; expected: string; counts: string }> = [
    {
      outcome: 'pass',
      events: lifecycle(N, {}),
      expected: `${TC} time="0.003" />`,
      counts: 'errors="0" failures="0" skipped="0" tests="1"',
    },
    {
      outcome: 'failure in the test body: message is the crash line',
      events: lifecycle(N, { call: { outcome: 'failed', ...failure('AssertionError: x & <y> "q"\nassert 3 == 4', 'def t():\n>  assert x == 4, "q"\nE  AssertionError') } }),
      expected: `${TC} time="0.003"><failure message="AssertionError: x &amp; &lt;y&gt; &quot;q&quot;&#10;assert 3 == 4">def t():\n&gt;  assert x == 4, "q"\nE  AssertionError</failure></testcase>`,
      counts: 'errors="0" failures="1" skipped="0" tests="1"',
    },
    {
      outcome: 'setup error',
      events: lifecycle(N, { setup: { outcome: 'failed', ...failure('RuntimeError: setup boom') } }),
      expected: `${TC} time="0.002"><error message="failed on setup with &quot;RuntimeError: setup boom&quot;">RuntimeError: setup boom\ntrace</error></testcase>`,
      counts: 'errors="1" failures="0" skipped="0" tests="1"',
    },
    {
      outcome: 'teardown error after a passing call: one testcase, only the error',
      events: lifecycle(N, { teardown: { outcome: 'failed', ...failure('RuntimeError: td') } }),
      expected: `${TC} time="0.003"><error message="failed on teardown with &quot;RuntimeError: td&quot;">RuntimeError: td\ntrace</error></testcase>`,
      counts: 'errors="1" failures="0" skipped="0" tests="1"',
    },
    {
      outcome: 'failed call and failed teardown: two testcases, the teardown time in the second',
      events: lifecycle(N, {
        setup: { duration: 0.25 }, call: { outcome: 'failed', duration: 0.5, ...failure('ValueError: call') },
        teardown: { outcome: 'failed', duration: 2, ...failure('RuntimeError: td') },
      }),
      expected:
        `${TC} time="0.750"><failure message="ValueError: call">ValueError: call\ntrace</failure></testcase>` +
        `${TC} time="2.000"><error message="failed on teardown with &quot;RuntimeError: td&quot;">RuntimeError: td\ntrace</error></testcase>`,
      counts: 'errors="1" failures="1" skipped="0" tests="2"',
    },
    {
      outcome: 'skip marker (skipped in setup)',
      events: lifecycle(N, { setup: { outcome: 'skipped', ...skip('skipped by marker', 58) } }),
      expected: `${TC} time="0.002"><skipped type="pytest.skip" message="skipped by marker">${SKIP_PATH}:58: skipped by marker</skipped></testcase>`,
      counts: 'errors="0" failures="0" skipped="1" tests="1"',
    },
    {
      outcome: 'skip() in the test body',
      events: lifecycle(N, { call: { outcome: 'skipped', ...skip('no <gpu> & "cuda"', 71) } }),
      expected: `${TC} time="0.003"><skipped type="pytest.skip" message="no &lt;gpu&gt; &amp; &quot;cuda&quot;">${SKIP_PATH}:71: no &lt;gpu&gt; &amp; "cuda"</skipped></testcase>`,
      counts: 'errors="0" failures="0" skipped="1" tests="1"',
    },
    {
      outcome: 'xfail: no text',
      events: lifecycle(N, { call: { outcome: 'skipped', wasxfail: 'known bug' } }),
      expected: `${TC} time="0.003"><skipped type="pytest.xfail" message="known bug" /></testcase>`,
      counts: 'errors="0" failures="0" skipped="1" tests="1"',
    },
    {
      outcome: 'xfail without a reason, and the "reason: " prefix pytest strips',
      events: [
        ...lifecycle(N, { call: { outcome: 'skipped', wasxfail: '' } }),
        ...lifecycle('suites/test_x.ts::test_b', { call: { outcome: 'skipped', wasxfail: 'reason: flaky' } }),
      ],
      expected:
        `${TC} time="0.003"><skipped type="pytest.xfail" message="" /></testcase>` +
        '<testcase classname="suites.test_x" name="test_b" time="0.003"><skipped type="pytest.xfail" message="flaky" /></testcase>',
      counts: 'errors="0" failures="0" skipped="2" tests="2"',
    },
    {
      outcome: 'non-strict XPASS is a plain pass',
      events: lifecycle(N, { call: { outcome: 'passed', wasxfail: 'expected to fail' } }),
      expected: `${TC} time="0.003" />`,
      counts: 'errors="0" failures="0" skipped="0" tests="1"',
    },
    {
      outcome: 'strict XPASS',
      events: lifecycle(N, { call: { outcome: 'failed', ...failure('[XPASS(strict)] unexpectedly passes', '[XPASS(strict)] unexpectedly passes') } }),
      expected: `${TC} time="0.003"><failure message="[XPASS(strict)] unexpectedly passes">[XPASS(strict)] unexpectedly passes</failure></testcase>`,
      counts: 'errors="0" failures="1" skipped="0" tests="1"',
    },
    {
      outcome: 'a worker that died: an ordinary failure',
      events: lifecycle(N, { call: { outcome: 'failed', ...failure('worker crashed: SIGKILL', 'worker crashed: SIGKILL\n\x1b[31mlast output\x00') } }),
      expected: `${TC} time="0.003"><failure message="worker crashed: SIGKILL">worker crashed: SIGKILL\n#x1B[31mlast output#x00</failure></testcase>`,
      counts: 'errors="0" failures="1" skipped="0" tests="1"',
    },
    {
      outcome: 'empty failure text: self-closing element, as ElementTree writes it',
      events: lifecycle(N, { call: { outcome: 'failed', ...failure('boom', '') } }),
      expected: `${TC} time="0.003"><failure message="boom" /></testcase>`,
      counts: 'errors="0" failures="1" skipped="0" tests="1"',
    },
    {
      outcome: 'a failed report that still carries wasxfail (pytest writes str(None) as text)',
      events: lifecycle(N, { call: { outcome: 'failed', wasxfail: 'r', ...failure('x') } }),
      expected: `${TC} time="0.003"><skipped message="xfail-marked test passes unexpectedly">None</skipped></testcase>`,
      counts: 'errors="0" failures="0" skipped="1" tests="1"',
    },
    {
      outcome: 'collection error and collection skip come first, with an empty classname',
      events: [
        ...lifecycle(N, {}),
        { collect: true, nodeid: 'suites/sub/test_b.ts', outcome: 'failed', failure: { message: 'SyntaxError', text: 'SyntaxError: <bad>' } },
        { collect: true, nodeid: 'test_c.ts', outcome: 'skipped', skip: { reason: "module's skip", path: '/abs/test_c.ts', line: 3 } },
      ],
      expected:
        '<testcase classname="" name="suites.sub.test_b" time="0.000"><error message="collection failure">SyntaxError: &lt;bad&gt;</error></testcase>' +
        `<testcase classname="" name="test_c" time="0.000"><skipped message="collection skipped">('/abs/test_c.ts', 3, "Skipped: module's skip")</skipped></testcase>` +
        `${TC} time="0.003" />`,
      counts: 'errors="1" failures="0" skipped="1" tests="3"',
    },
  ];
  for (const row of rows) {
    it(row.outcome, () => {
      const xml = run(row.events);
      assert.equal(body(xml), row.expected);
      assert.equal(counts(xml), row.counts);
    });
  }
});

describe('the document envelope', () => {
  it('writes the suite attributes in pytest order, suite properties first, no newline anywhere', () => {
    const xml = run(lifecycle(N, {}), { suiteName: 'memory' }, [['device', 'cpu (budget 4096 MB)'], ['STORAGE', '<ceph & "co">\x1b']]);
    assert.equal(
      xml,
      HEAD +
        '<testsuite name="memory" errors="0" failures="0" skipped="0" tests="1" time="1.631" timestamp="2026-11-28T00:35:59.666000+00:00" hostname="host">' +
        '<properties><property name="device" value="cpu (budget 4096 MB)" /><property name="STORAGE" value="&lt;ceph &amp; &quot;co&quot;&gt;#x1B" /></properties>' +
        `${TC} time="0.003" /></testsuite></testsuites>`,
    );
  });

  it('writes an empty run as a self-closing testsuite', () => {
    assert.equal(
      run([]),
      HEAD + '<testsuite name="pytest" errors="0" failures="0" skipped="0" tests="0" time="1.631" timestamp="2026-11-28T00:35:59.666000+00:00" hostname="host" /></testsuites>',
    );
  });

  it('parses as XML with the counts a consumer reads', () => {
    const xml = run([
      ...lifecycle('a.ts::t1', {}),
      ...lifecycle('a.ts::t2', { call: { outcome: 'failed', ...failure('boom') }, teardown: { outcome: 'failed', ...failure('td') } }),
      ...lifecycle('a.ts::t3', { setup: { outcome: 'skipped', ...skip('s') } }),
    ]);
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
    const suite = parsed.testsuites.testsuite;
    assert.deepEqual([suite.tests, suite.failures, suite.errors, suite.skipped], ['4', '1', '1', '1']);
    assert.deepEqual(suite.testcase.map((tc: { name: string }) => tc.name), ['t1', 't2', 't2', 't3']);
  });
});

describe('node id -> classname and name', () => {
  const rows: Array<[string, string | undefined, string, string]> = [
    ['suites/test_oom_recovery.ts::TestOOMDetection::test_oom_detection', undefined, 'suites.test_oom_recovery.TestOOMDetection', 'test_oom_detection'],
    ['test_ref.py::test_pass', undefined, 'test_ref', 'test_pass'],
    ['test_ref.ts::TestClass::TestNested::test_nested', undefined, 'test_ref.TestClass.TestNested', 'test_nested'],
    ['test_ref.ts::test_p[colons::x]', undefined, 'test_ref', 'test_p[colons::x]'],
    ['test_ref.ts::test_p[a[b]/c.ts]', undefined, 'test_ref', 'test_p[a[b]/c.ts]'],
    ['test_ref.ts::TestClass::test_m[1-500MB]', undefined, 'test_ref.TestClass', 'test_m[1-500MB]'],
    ['sub/test_sub.ts::TestSub::test_in_subdir', 'myprefix', 'myprefix.sub.test_sub.TestSub', 'test_in_subdir'],
    ['test_x.tsx::test_a', undefined, 'test_x.tsx', 'test_a'],
    ['a.ts.d/test_y.ts::t', undefined, 'a.ts.d.test_y', 't'],
  ];
  for (const [nodeid, prefix, classname, name] of rows) {
    it(`${nodeid}${prefix ? ` with prefix ${prefix}` : ''}`, () => {
      const xml = run(lifecycle(nodeid, {}), { prefix });
      assert.equal(body(xml), `<testcase classname="${classname}" name="${name}" time="0.003" />`);
    });
  }

  it('keeps a collection error\'s module as the name and puts the prefix in the classname', () => {
    assert.deepEqual(mangleTestAddress('sub/test_b.ts'), ['sub.test_b']);
    const xml = run([{ collect: true, nodeid: 'sub/test_b.ts', outcome: 'failed', failure: { message: 'x', text: 't' } }], { prefix: 'p' });
    assert.match(body(xml), /^<testcase classname="p" name="sub.test_b" time="0.000">/);
  });
});

describe('escaping', () => {
  const escapes: Array<[string, string, string]> = [
    ['NUL and ESC', 'a\x00b\x1b[0m', 'a#x00b#x1B[0m'],
    ['C0 controls except TAB LF CR', '\x01\x08\t\n\x0b\x0c\r\x1f', '#x01#x08\t\n#x0B#x0C\r#x1F'],
    ['DEL (9.1)', 'del=\x7f', 'del=#x7F'],
    ['C1 and Latin-1 pass', '\x80\x85\x9f\xa0é', '\x80\x85\x9f\xa0é'],
    ['emoji passes (9.1)', 'x😀y\u{10FFFF}', 'x😀y\u{10FFFF}'],
    ['lone surrogates', 'a\uD800b\uDFFF', 'a#xD800b#xDFFF'],
    ['non-characters U+FFFE/U+FFFF', '\uFFFD\uFFFE\uFFFF', '\uFFFD#xFFFE#xFFFF'],
    ['private use and CJK pass', '\uE000中', '\uE000中'],
    ['nothing to do', 'plain ascii', 'plain ascii'],
  ];
  for (const [label, input, expected] of escapes) {
    it(`binXmlEscape: ${label}`, () => assert.equal(binXmlEscape(input), expected));
  }

  it('escapes quotes and whitespace in attributes but not in text; never the apostrophe', () => {
    assert.equal(escapeAttribute(`a&b<c>d"e'f\tg\nh\ri`), "a&amp;b&lt;c&gt;d&quot;e'f&#09;g&#10;h&#13;i");
    assert.equal(escapeText(`a&b<c>d"e'f\tg\nh\ri`), `a&amp;b&lt;c&gt;d"e'f\tg\nh\ri`);
  });

  it('applies #xNN to name, messages, texts and property values, but not to classname or property names', () => {
    const nodeid = 'test_\x01x.ts::test[nul\x00 tab\t😀]';
    const xml = run(lifecycle(nodeid, {
      call: { outcome: 'failed', ...failure('m\x1b', 't\x7f') },
      teardown: { userProperties: [['k\x02', 'v\x1b'], ['n', 7], ['o', { a: [1] }], ['u', undefined]] },
    }), { family: 'xunit1' });
    assert.equal(
      body(xml),
      '<testcase classname="test_\x01x" name="test[nul#x00 tab&#09;😀]" file="test_\x01x.ts" line="14" time="0.003">' +
        '<properties><property name="k\x02" value="v#x1B" /><property name="n" value="7" /><property name="o" value="{&quot;a&quot;:[1]}" /><property name="u" value="undefined" /></properties>' +
        '<failure message="m#x1B">t#x7F</failure></testcase>',
    );
  });

  it('pythonStrRepr quotes and escapes like Python repr()', () => {
    const rows: Array<[string, string]> = [
      ['plain', "'plain'"],
      ["it's", `"it's"`],
      [`it's "q"`, `'it\\'s "q"'`],
      ['tab\t\x1b\x7f\x85\xa0\u2028é中😀\uD800\\', "'tab\\t\\x1b\\x7f\\x85\\xa0\\u2028é中😀\\ud800\\\\'"],
    ];
    for (const [input, expected] of rows) assert.equal(pythonStrRepr(input), expected);
  });
});

describe('numbers and times', () => {
  it('formats seconds as Python %.3f, ties to even', () => {
    const rows: Array<[number, string]> = [
      [0, '0.000'], [0.0005, '0.001'], [0.0015, '0.002'], [0.0625, '0.062'], [0.1875, '0.188'], [0.3125, '0.312'],
      [0.4375, '0.438'], [1.5, '1.500'], [2.0625, '2.062'], [0.9995, '1.000'], [1234.5625, '1234.562'],
      [0.1 + 0.2 + 0.3, '0.600'], [1e-9, '0.000'], [59.99951, '60.000'],
    ];
    for (const [value, expected] of rows) assert.equal(formatSeconds(value), expected, String(value));
  });

  it('writes the session start as Python isoformat: microseconds, fraction dropped when zero', () => {
    const rows: Array<[number, string, string]> = [
      [START, 'UTC', '2026-11-28T00:35:59.666000+00:00'],
      [Date.UTC(2026, 0, 1), 'UTC', '2026-01-01T00:00:00+00:00'],
      [START + 0.25, 'UTC', '2026-11-28T00:35:59.666250+00:00'],
      [START, 'Asia/Kolkata', '2026-11-28T06:05:59.666000+05:30'],
      [START, 'America/St_Johns', '2026-11-27T21:05:59.666000-03:30'],
      [-1, 'UTC', '1969-12-31T23:59:59.999000+00:00'],
    ];
    try {
      for (const [epochMs, zone, expected] of rows) {
        process.env.TZ = zone;
        assert.equal(pythonIsoTimestamp(epochMs), expected, `${epochMs} in ${zone}`);
      }
    } finally {
      process.env.TZ = 'UTC';
    }
  });

  it('adds setup, call and teardown, or counts the call alone', () => {
    const events = lifecycle(N, { setup: { duration: 0.5 }, call: { duration: 1.25 }, teardown: { duration: 0.125 } });
    assert.equal(body(run(events)), `${TC} time="1.875" />`);
    assert.equal(body(run(events, { durationReport: 'call' })), `${TC} time="1.250" />`);
  });

  it('measures the suite time from session start to writing', () => {
    assert.match(run([], { now: () => START + 2_000.4 }), / time="2.000" timestamp=/);
  });
});

describe('captured output (§5)', () => {
  const H = (title: string) => `${'-'.repeat(33)} ${title} ${'-'.repeat(33)}`;
  const LOG = `${H('Captured Log')}\nWARNING  ref:x.ts:3 careful\n`;
  const OUT = `${H('Captured Out')}\nhello <out>\n`;
  const ERR = `${H('Captured Err')}\nhello err\n`;
  const captured = { capturedOut: 'hello <out>', capturedErr: 'hello err', capturedLog: 'WARNING  ref:x.ts:3 careful' };
  const passing = lifecycle(N, { setup: captured, call: captured, teardown: captured });
  const so = (text: string) => `<system-out>${text.replaceAll('<', '&lt;').replaceAll('>', '&gt;')}</system-out>`;
  const se = (text: string) => `<system-err>${text}</system-err>`;

  const modes: Array<[JunitOptions['logging'], string]> = [
    ['no', ''],
    ['log', so(LOG)],
    ['system-out', so(OUT)],
    ['system-err', se(ERR)],
    ['out-err', so(OUT) + se(ERR)],
    ['all', so(LOG + OUT) + se(ERR)],
  ];
  for (const [mode, children] of modes) {
    it(`junit_logging=${mode}`, () => {
      const expected = children ? `${TC} time="0.003">${children}</testcase>` : `${TC} time="0.003" />`;
      assert.equal(body(run(passing, { logging: mode })), expected);
    });
  }

  it('writes the section headers even when nothing was captured', () => {
    const header = H('Captured Out');
    assert.equal(header.length, 80);
    assert.equal(body(run(lifecycle(N, {}), { logging: 'system-out' })), `${TC} time="0.003"><system-out>${header}\n\n</system-out></testcase>`);
  });

  it('writes a skip\'s output twice (at the skip and at teardown) and an xfail\'s once', () => {
    const skipped = run(lifecycle(N, { call: { outcome: 'skipped', ...skip('s'), ...captured }, teardown: captured }), { logging: 'out-err' });
    assert.equal(
      body(skipped),
      `${TC} time="0.003"><skipped type="pytest.skip" message="s">${SKIP_PATH}:30: s</skipped>${so(OUT)}${se(ERR)}${so(OUT)}${se(ERR)}</testcase>`,
    );
    const xfailed = run(lifecycle(N, { call: { outcome: 'skipped', wasxfail: 'r', ...captured }, teardown: captured }), { logging: 'out-err' });
    assert.equal(body(xfailed), `${TC} time="0.003"><skipped type="pytest.xfail" message="r" />${so(OUT)}${se(ERR)}</testcase>`);
  });

  it('gives the output of a fail+teardown pair to the second testcase only', () => {
    const xml = run(lifecycle(N, {
      call: { outcome: 'failed', ...failure('f'), ...captured },
      teardown: { outcome: 'failed', ...failure('t'), ...captured },
    }), { logging: 'system-out' });
    assert.equal(
      body(xml),
      `${TC} time="0.002"><failure message="f">f\ntrace</failure></testcase>` +
        `${TC} time="0.001"><error message="failed on teardown with &quot;t&quot;">t\ntrace</error>${so(OUT)}</testcase>`,
    );
  });

  describe('junit_log_passing_tests=false', () => {
    const rows: Array<[string, TestReport[], string]> = [
      ['a pass gets no output', passing, `${TC} time="0.003" />`],
      [
        'a failure gets the output of its call, once',
        lifecycle(N, { call: { outcome: 'failed', ...failure('f'), ...captured }, teardown: captured }),
        `${TC} time="0.003"><failure message="f">f\ntrace</failure>${so(OUT)}</testcase>`,
      ],
      [
        'a setup error gets none',
        lifecycle(N, { setup: { outcome: 'failed', ...failure('s'), ...captured }, teardown: captured }),
        `${TC} time="0.002"><error message="failed on setup with &quot;s&quot;">s\ntrace</error></testcase>`,
      ],
      [
        'a skip gets it once (the passing teardown adds nothing)',
        lifecycle(N, { setup: { outcome: 'skipped', ...skip('s'), ...captured }, teardown: captured }),
        `${TC} time="0.002"><skipped type="pytest.skip" message="s">${SKIP_PATH}:30: s</skipped>${so(OUT)}</testcase>`,
      ],
    ];
    for (const [label, events, expected] of rows) {
      it(label, () => assert.equal(body(run(events, { logging: 'system-out', logPassingTests: false })), expected));
    }
  });
});

describe('families and properties', () => {
  it('adds file and 0-based line in xunit1, before time', () => {
    const xml = run([
      ...lifecycle('sub/test_s.ts::TestS::test_t', {}),
      { collect: true, nodeid: 'sub/test_b.ts', outcome: 'failed', failure: { message: 'x', text: 'E' } },
    ], { family: 'xunit1' });
    assert.equal(
      body(xml),
      '<testcase classname="" name="sub.test_b" file="sub/test_b.ts" time="0.000"><error message="collection failure">E</error></testcase>' +
        '<testcase classname="sub.test_s.TestS" name="test_t" file="sub/test_s.ts" line="14" time="0.003" />',
    );
  });

  it('writes user properties as the first child, from the teardown report', () => {
    const props: Array<[string, unknown]> = [['example_key', 1], ['special', 'a<b & "c"']];
    const xml = run(lifecycle(N, { call: { userProperties: props.slice(0, 1) }, teardown: { userProperties: props } }));
    assert.equal(
      body(xml),
      `${TC} time="0.003"><properties><property name="example_key" value="1" /><property name="special" value="a&lt;b &amp; &quot;c&quot;" /></properties></testcase>`,
    );
  });
});

describe('interrupted runs', () => {
  it('writes a test with only a setup report, named, with its setup time', () => {
    const xml = run([...lifecycle(N, {}), testReport('suites/test_x.ts::test_b', 'setup', 'passed', { duration: 0.5 })]);
    assert.equal(body(xml), `${TC} time="0.003" /><testcase classname="suites.test_x" name="test_b" time="0.500" />`);
    assert.equal(counts(xml), 'errors="0" failures="0" skipped="0" tests="2"');
  });

  it('writes a failed call whose teardown never came, with the properties it had', () => {
    const xml = run([testReport(N, 'setup', 'passed'), testReport(N, 'call', 'failed', { userProperties: [['k', 'v']], ...failure('crash') })]);
    assert.equal(body(xml), `${TC} time="0.002"><properties><property name="k" value="v" /></properties><failure message="crash">crash\ntrace</failure></testcase>`);
  });

  it('document() leaves the reporter able to go on', () => {
    const reporter = new JunitXmlReporter(options());
    reporter.report(testReport(N, 'setup', 'passed', { userProperties: [['k', 'v']] }));
    const early = renderJunitXml(reporter.document({ suiteProperties: [] }));
    reporter.report(testReport(N, 'call', 'passed', { userProperties: [['k', 'v']] }));
    reporter.report(testReport(N, 'teardown', 'passed', { userProperties: [['k', 'v']] }));
    const late = renderJunitXml(reporter.document({ suiteProperties: [] }));
    assert.equal((early.match(/<property /g) ?? []).length, 1);
    assert.equal((late.match(/<property /g) ?? []).length, 1);
    assert.match(late, / time="0.003"><properties>/);
  });
});

describe('schema (junit-10.xsd)', () => {
  const xsd = readFileSync(new URL('../fixtures/junit-10.xsd', import.meta.url), 'utf8');
  const everyOutcome: Event[] = [
    { collect: true, nodeid: 'test_broken.ts', outcome: 'failed', failure: { message: 'x', text: 'SyntaxError' } },
    { collect: true, nodeid: 'test_mod.ts', outcome: 'skipped', skip: { reason: 'r', path: '/abs/test_mod.ts', line: 2 } },
    ...lifecycle('t.ts::pass', {}),
    ...lifecycle('t.ts::fail', { call: { outcome: 'failed', ...failure('AssertionError: \x1b[31m😀\x7f') } }),
    ...lifecycle('t.ts::setup_error', { setup: { outcome: 'failed', ...failure('E') } }),
    ...lifecycle('t.ts::teardown_error', { teardown: { outcome: 'failed', ...failure('E') } }),
    ...lifecycle('t.ts::pair', { call: { outcome: 'failed', ...failure('F') }, teardown: { outcome: 'failed', ...failure('E') } }),
    ...lifecycle('t.ts::skip', { setup: { outcome: 'skipped', ...skip('s') } }),
    ...lifecycle('t.ts::skip_call', { call: { outcome: 'skipped', ...skip('s') } }),
    ...lifecycle('t.ts::xfail', { call: { outcome: 'skipped', wasxfail: 'r' } }),
    ...lifecycle('t.ts::xpass', { call: { outcome: 'passed', wasxfail: 'r' } }),
    ...lifecycle('t.ts::xpass_strict', { call: { outcome: 'failed', ...failure('[XPASS(strict)] r') } }),
    ...lifecycle('t.ts::test_p[nul\x00]', { call: { capturedOut: 'out \x00', capturedLog: 'WARNING x' } }),
  ];
  const validate = (xml: string) => validateXML({ xml: { fileName: 'report.xml', contents: xml }, schema: { fileName: 'junit-10.xsd', contents: xsd } });

  it('accepts the xunit2 document with every outcome and every logging section', async () => {
    const result = await validate(run(everyOutcome, { logging: 'all' }, [['device', 'cpu']]));
    assert.equal(result.valid, true, result.rawOutput);
  });

  it('rejects xunit1 for its file and line attributes, as it rejects pytest\'s', async () => {
    const result = await validate(run(everyOutcome, { family: 'xunit1' }));
    assert.equal(result.valid, false);
    const messages = result.errors.map((e) => e.message).join('\n');
    assert.match(messages, /attribute 'file' is not allowed/);
    assert.match(messages, /attribute 'line' is not allowed/);
  });

  it('rejects testcase properties even in xunit2, as it rejects pytest\'s', async () => {
    const result = await validate(run(lifecycle(N, { teardown: { userProperties: [['k', 1]] } })));
    assert.equal(result.valid, false);
    assert.match(result.errors.map((e) => e.message).join('\n'), /properties/);
  });
});

describe('the output file', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'junitxml-test-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('is written atomically on sessionFinish, replacing an older report and leaving no temp file', async () => {
    const dir = join(scratch, 'reports', 'nested');
    const path = join(dir, 'junit.xml');
    checkJunitPath(path); // creates the directory
    writeFileSync(path, 'old');
    const reporter = new JunitXmlReporter(options({ path }));
    reporter.sessionStart({ startTime: START, rootdir: '/', headerLines: [], platform: 'linux', versions: { node: '', pytestTs: '' } });
    for (const r of lifecycle(N, {})) reporter.report(r);
    await reporter.sessionFinish({ exitCode: 0, durationS: 1, suiteProperties: [] });
    assert.equal(readFileSync(path, 'utf8'), renderJunitXml(reporter.document({ suiteProperties: [] })));
    assert.deepEqual(readdirSync(dir), ['junit.xml']);
  });

  it('checkJunitPath fails fast with one sentence naming the path', () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, '');
    const rows: Array<[string, RegExp]> = [
      [join(file, 'junit.xml'), /^--junitxml: cannot write .*a-file\/junit\.xml: a parent of it is not a directory$/],
      [scratch, /^--junitxml: cannot write .*: it is a directory$/],
    ];
    for (const [path, message] of rows) {
      assert.throws(() => checkJunitPath(path), (error: unknown) => error instanceof UsageError && message.test(error.message));
    }
    mkdirSync(join(scratch, 'ok'));
    assert.doesNotThrow(() => checkJunitPath(join(scratch, 'ok', 'r.xml')));
    assert.deepEqual(readdirSync(join(scratch, 'ok')), [], 'the write probe is removed');
  });

  it('sessionFinish reports an unwritable path as one sentence', () => {
    const reporter = new JunitXmlReporter(options({ path: join(scratch, 'a-file', 'x.xml') }));
    assert.throws(() => reporter.sessionFinish({ exitCode: 0, durationS: 0, suiteProperties: [] }), /^Error: --junitxml: cannot write .*x\.xml: a parent of it is not a directory$/);
  });

  it('expands ~ and environment variables as pytest does, then resolves against cwd', () => {
    process.env.JUNIT_TEST_DIR = '/var/reports';
    assert.equal(resolveJunitPath('$JUNIT_TEST_DIR/a.xml'), '/var/reports/a.xml');
    assert.equal(resolveJunitPath('${JUNIT_TEST_DIR}/b.xml'), '/var/reports/b.xml');
    assert.equal(resolveJunitPath('$NO_SUCH_VARIABLE_XYZ/c.xml'), join(process.cwd(), '$NO_SUCH_VARIABLE_XYZ/c.xml'));
    assert.equal(resolveJunitPath('~/d.xml'), join(process.env.HOME ?? '', 'd.xml'));
    assert.equal(resolveJunitPath('out/e.xml'), join(process.cwd(), 'out/e.xml'));
  });
});

describe('speed', () => {
  it('collects and renders 10,000 testcases quickly', () => {
    const reports: TestReport[] = [];
    for (let i = 0; i < 10_000; i++) {
      const outcome = i % 10 === 0 ? 'failed' : 'passed';
      reports.push(...lifecycle(`suites/test_m${i % 7}.ts::TestC::test_${i}[p${i}]`, {
        call: { outcome, ...(outcome === 'failed' ? failure(`AssertionError: ${i} & <x>`, 'x\n'.repeat(20)) : {}) },
      }));
    }
    let best = Infinity;
    let xml = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const started = performance.now();
      xml = run(reports);
      best = Math.min(best, performance.now() - started);
    }
    assert.equal(counts(xml), 'errors="0" failures="1000" skipped="0" tests="10000"');
    console.log(`# 10,000 testcases: best of 3 = ${best.toFixed(1)} ms (${(xml.length / 1e6).toFixed(1)} MB)`);
    // Generous bound: the target is well under 100 ms; this only catches an accidental quadratic.
    assert.ok(best < 1000, `rendering 10,000 testcases took ${best.toFixed(0)} ms`);
  });
});
