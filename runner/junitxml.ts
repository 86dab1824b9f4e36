// pytest's `--junitxml` report, byte for byte (pytest 9.1; see shared/JUNIT_FORMAT.md).
//
// Two halves: `JunitXmlReporter` turns the session's report events into testcase records, following the same rules
// as pytest's LogXML (which report opens a testcase, when captured output is attached, when a fail+teardown pair
// splits into two testcases); `renderJunitXml` is a pure function from those records to the document, serialising
// the way Python's ElementTree does. The file is written once, atomically, when the session finishes.
import { hostname as osHostname, homedir } from 'node:os';
import { statSync, closeSync, openSync, unlinkSync, constants as fsConstants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { makeDirs } from './make-dirs.js';
import type { CollectReport, Reporter, SessionFinishInfo, SessionStartInfo, TestReport } from './reports.js';
import { UsageError } from './exit-codes.js';
import { tempPathFor, writeFileAtomicSync } from './atomic-write.js';
import {
  binXmlEscape, centred, escapeAttribute, escapeText, formatSeconds, pythonIsoTimestamp, pythonStrRepr, testcaseNames,
} from './junitxml-format.js';

export {
  binXmlEscape, escapeAttribute, escapeText, formatSeconds, mangleTestAddress, pythonIsoTimestamp, pythonStrRepr,
} from './junitxml-format.js';

export interface JunitOptions {
  /** --junitxml value, resolved against cwd (`~` and `$VAR` expanded, as pytest does). */
  path: string;
  /** ini junit_suite_name, default 'pytest'. */
  suiteName: string;
  /** 'legacy' is normalised to xunit1 by the caller. */
  family: 'xunit1' | 'xunit2';
  logging: 'no' | 'log' | 'system-out' | 'system-err' | 'out-err' | 'all';
  /** junit_log_passing_tests, default true. */
  logPassingTests: boolean;
  durationReport: 'total' | 'call';
  /** --junitprefix. */
  prefix?: string;
  /** Default os.hostname(). */
  hostname?: string;
  /** Epoch milliseconds "now", for the suite's `time`; tests pass a fixed clock. Default Date.now. */
  now?: () => number;
}

export type JunitChildTag = 'failure' | 'error' | 'skipped' | 'system-out' | 'system-err';

/** One child of a `<testcase>`. Values are raw: rendering applies pytest's `#xNN` escaping where pytest does. */
export interface JunitChild {
  tag: JunitChildTag;
  /** Only `<skipped>` has one: 'pytest.skip' or 'pytest.xfail'. */
  type?: string;
  message?: string;
  /** Element text; undefined or '' gives a self-closing element, as ElementTree writes it. */
  text?: string;
}

export interface JunitTestcase {
  classname: string;
  name: string;
  /** xunit1 only: the node id's path relative to rootdir. */
  file: string;
  /** xunit1 only: 0-based line; collection reports have none. */
  line?: number;
  /** Seconds, the sum of the durations that junit_duration_report counts. */
  timeS: number;
  properties: Array<[string, string]>;
  children: JunitChild[];
}

export interface JunitDocument {
  suiteName: string;
  family: 'xunit1' | 'xunit2';
  /** Seconds from session start to writing. */
  elapsedS: number;
  /** Python isoformat() of the session start, see pythonIsoTimestamp. */
  timestamp: string;
  hostname: string;
  properties: ReadonlyArray<readonly [string, string]>;
  testcases: readonly JunitTestcase[];
}

/**
 * The traceback as pytest's `str(report.longrepr)`: the terminal's rendering opens with a blank line (the terminal
 * separates it from the section header), the report's own text does not.
 */
function longreprText(failure: { text: string } | undefined): string {
  return (failure?.text ?? '').replace(/^\n+/, '');
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering

const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>';

function renderProperties(properties: ReadonlyArray<readonly [string, string]>): string {
  let out = '<properties>';
  for (const [name, value] of properties) {
    out += `<property name="${escapeAttribute(name)}" value="${escapeAttribute(binXmlEscape(value))}" />`;
  }
  return out + '</properties>';
}

function renderChild(child: JunitChild): string {
  let out = '<' + child.tag;
  if (child.type !== undefined) out += ` type="${escapeAttribute(child.type)}"`;
  if (child.message !== undefined) out += ` message="${escapeAttribute(binXmlEscape(child.message))}"`;
  if (!child.text) return out + ' />';
  return `${out}>${escapeText(binXmlEscape(child.text))}</${child.tag}>`;
}

function renderTestcase(testcase: JunitTestcase, family: 'xunit1' | 'xunit2'): string {
  let out = `<testcase classname="${escapeAttribute(testcase.classname)}" name="${escapeAttribute(binXmlEscape(testcase.name))}"`;
  if (family === 'xunit1') {
    out += ` file="${escapeAttribute(testcase.file)}"`;
    if (testcase.line !== undefined) out += ` line="${testcase.line}"`;
  }
  out += ` time="${formatSeconds(testcase.timeS)}"`;
  if (testcase.properties.length === 0 && testcase.children.length === 0) return out + ' />';
  out += '>';
  if (testcase.properties.length > 0) out += renderProperties(testcase.properties);
  for (const child of testcase.children) out += renderChild(child);
  return out + '</testcase>';
}

/** The whole document, exactly as pytest 9.1 writes it: one line, no trailing newline. */
export function renderJunitXml(doc: JunitDocument): string {
  const counts = { error: 0, failure: 0, skipped: 0 };
  const body: string[] = [];
  if (doc.properties.length > 0) body.push(renderProperties(doc.properties));
  for (const testcase of doc.testcases) {
    for (const child of testcase.children) {
      if (child.tag === 'error' || child.tag === 'failure' || child.tag === 'skipped') counts[child.tag] += 1;
    }
    body.push(renderTestcase(testcase, doc.family));
  }
  const suiteOpen =
    `<testsuite name="${escapeAttribute(doc.suiteName)}" errors="${counts.error}" failures="${counts.failure}"` +
    ` skipped="${counts.skipped}" tests="${doc.testcases.length}" time="${formatSeconds(doc.elapsedS)}"` +
    ` timestamp="${escapeAttribute(doc.timestamp)}" hostname="${escapeAttribute(doc.hostname)}"`;
  const suite = body.length === 0 ? suiteOpen + ' />' : `${suiteOpen}>${body.join('')}</testsuite>`;
  return `${XML_DECLARATION}<testsuites name="pytest tests">${suite}</testsuites>`;
}

// ---------------------------------------------------------------------------------------------------------------
// The output path

/** pytest's expanduser(expandvars(path)), then absolute: unknown variables stay as written, as in Python. */
export function resolveJunitPath(path: string): string {
  const expanded = path
    .replace(/\$(\w+|\{[^}]*\})/g, (whole, name: string) => {
      const key = name.startsWith('{') ? name.slice(1, -1) : name;
      return process.env[key] ?? whole;
    })
    .replace(/^~(?=$|\/)/, homedir());
  return resolve(expanded);
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a parent of it is not a directory',
  // mkdir -p reports a file standing where a parent directory should be as EEXIST.
  EEXIST: 'a parent of it is not a directory',
  EISDIR: 'it is a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  ENAMETOOLONG: 'the name is too long',
};

function reasonOf(error: unknown): string {
  const err = error as NodeJS.ErrnoException;
  return (err.code && REASONS[err.code]) || err.message || String(error);
}

/**
 * Called by the CLI before any test runs: creates the report's directory and proves a file can be created in it, so
 * a bad `--junitxml` fails fast (exit 4) instead of after the whole run, as it would in pytest.
 */
export function checkJunitPath(path: string): void {
  const target = resolveJunitPath(path);
  try {
    makeDirs(dirname(target));
    if (statSync(target, { throwIfNoEntry: false })?.isDirectory()) {
      throw Object.assign(new Error('it is a directory'), { code: 'EISDIR' });
    }
    // A real probe, not access(): permission bits say nothing about read-only mounts, ACLs or root.
    const probe = tempPathFor(target);
    closeSync(openSync(probe, fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY, 0o600));
    unlinkSync(probe);
  } catch (error) {
    throw new UsageError(`--junitxml: cannot write ${target}: ${reasonOf(error)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The reporter

const SECTION_HEADERS = { log: centred(' Captured Log '), out: centred(' Captured Out '), err: centred(' Captured Err ') };

/** A user property value as text: strings as they are, JSON for plain data, String() for the rest. */
function propertyText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    try {
      const json = JSON.stringify(value);
      if (json !== undefined && (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype)) return json;
    } catch {
      // Cyclic or otherwise unserialisable: fall back to String().
    }
  }
  return String(value);
}

function propertyEntry([name, value]: [string, unknown]): [string, string] {
  return [name, propertyText(value)];
}

/** A testcase still receiving reports (pytest's node_reporters entry). */
interface OpenTestcase {
  testcase: JunitTestcase;
  /** Properties of the latest report, so an interrupted test still shows what it recorded. */
  lastUserProperties: Array<[string, unknown]>;
  /** A failed call waiting for its teardown: a failing teardown then starts a second testcase. */
  failedCall?: TestReport;
}

export class JunitXmlReporter implements Reporter {
  readonly path: string;
  private readonly options: JunitOptions;
  private startTime = Date.now();
  private readonly collectionTestcases: JunitTestcase[] = [];
  private readonly testcases: JunitTestcase[] = [];
  private readonly open = new Map<string, OpenTestcase>();

  constructor(options: JunitOptions) {
    this.options = options;
    this.path = resolveJunitPath(options.path);
  }

  sessionStart(info: SessionStartInfo): void {
    this.startTime = info.startTime;
  }

  collectReport(report: CollectReport): void {
    const { classname, name } = testcaseNames(report.nodeid, this.options.prefix);
    const testcase: JunitTestcase = {
      classname, name, file: report.nodeid.split('::')[0]!, timeS: 0, properties: [], children: [],
    };
    if (report.outcome === 'failed') {
      testcase.children.push({ tag: 'error', message: 'collection failure', text: longreprText(report.failure) });
    } else {
      const skip = report.skip ?? { path: report.nodeid, line: 0, reason: '' };
      const tuple = `(${pythonStrRepr(skip.path)}, ${skip.line}, ${pythonStrRepr('Skipped: ' + skip.reason)})`;
      testcase.children.push({ tag: 'skipped', message: 'collection skipped', text: tuple });
    }
    this.collectionTestcases.push(testcase);
  }

  report(report: TestReport): void {
    if (report.outcome === 'passed') {
      this.openFor(report);
    } else if (report.outcome === 'failed') {
      const pending = this.open.get(report.nodeid);
      if (report.phase === 'teardown' && pending?.failedCall) {
        // JUnit allows one outcome per testcase: the teardown error gets a testcase of its own.
        this.close(report.nodeid, pending.failedCall.userProperties);
      }
      const current = this.openFor(report);
      if (report.phase === 'call') {
        this.appendFailure(current, report);
        current.failedCall = report;
        if (!this.options.logPassingTests) this.appendCapturedOutput(current, report);
      } else {
        const reason = report.failure?.message ?? '';
        current.testcase.children.push({
          tag: 'error', message: `failed on ${report.phase} with "${reason}"`, text: longreprText(report.failure),
        });
      }
    } else {
      this.appendSkipped(this.openFor(report), report);
    }
    if (this.options.durationReport === 'total' || report.phase === 'call') {
      this.openFor(report).testcase.timeS += report.duration;
    }
    if (report.phase === 'teardown') {
      this.appendCapturedOutput(this.openFor(report), report);
      this.close(report.nodeid, report.userProperties);
    }
  }

  sessionFinish(info: SessionFinishInfo): void {
    const document = this.document(info);
    try {
      makeDirs(dirname(this.path));
      writeFileAtomicSync(this.path, renderJunitXml(document));
    } catch (error) {
      throw new Error(`--junitxml: cannot write ${this.path}: ${reasonOf(error)}`, { cause: error });
    }
  }

  /** The document as it would be written now (tests and tools); does not change the reporter's state. */
  document(info: Pick<SessionFinishInfo, 'suiteProperties'>): JunitDocument {
    // An interrupted run still lists every test that started, with what it had recorded so far.
    const unfinished = new Map<JunitTestcase, Array<[string, unknown]>>();
    for (const pending of this.open.values()) unfinished.set(pending.testcase, pending.lastUserProperties);
    const withProperties = (testcase: JunitTestcase): JunitTestcase => {
      const userProperties = unfinished.get(testcase);
      if (userProperties === undefined || userProperties.length === 0) return testcase;
      return { ...testcase, properties: [...testcase.properties, ...userProperties.map(propertyEntry)] };
    };
    const now = (this.options.now ?? Date.now)();
    return {
      suiteName: this.options.suiteName,
      family: this.options.family,
      elapsedS: (now - this.startTime) / 1000,
      timestamp: pythonIsoTimestamp(this.startTime),
      hostname: this.options.hostname ?? osHostname(),
      properties: info.suiteProperties,
      // Collection happens before any test runs in pytest, so its testcases lead even if ours arrive interleaved.
      testcases: [...this.collectionTestcases, ...this.testcases.map(withProperties)],
    };
  }

  private openFor(report: TestReport): OpenTestcase {
    let current = this.open.get(report.nodeid);
    if (current === undefined) {
      const { classname, name } = testcaseNames(report.nodeid, this.options.prefix);
      const testcase: JunitTestcase = {
        classname, name, file: report.location.relpath, line: report.location.line, timeS: 0, properties: [], children: [],
      };
      current = { testcase, lastUserProperties: [] };
      this.open.set(report.nodeid, current);
      this.testcases.push(testcase);
    }
    current.lastUserProperties = report.userProperties;
    return current;
  }

  private close(nodeid: string, userProperties: Array<[string, unknown]>): void {
    const current = this.open.get(nodeid);
    if (current === undefined) return;
    current.testcase.properties.push(...userProperties.map(propertyEntry));
    this.open.delete(nodeid);
  }

  private appendFailure(current: OpenTestcase, report: TestReport): void {
    if (report.wasxfail !== undefined) {
      // pytest's branch for a failed report that still carries wasxfail; its text is str(None).
      current.testcase.children.push({ tag: 'skipped', message: 'xfail-marked test passes unexpectedly', text: 'None' });
      return;
    }
    current.testcase.children.push({ tag: 'failure', message: report.failure?.message ?? '', text: longreprText(report.failure) });
  }

  private appendSkipped(current: OpenTestcase, report: TestReport): void {
    if (report.wasxfail !== undefined) {
      const reason = report.wasxfail.startsWith('reason: ') ? report.wasxfail.slice(8) : report.wasxfail;
      current.testcase.children.push({ tag: 'skipped', type: 'pytest.xfail', message: reason });
      return;
    }
    const skip = report.skip ?? { path: report.location.relpath, line: report.location.line + 1, reason: '' };
    current.testcase.children.push({
      tag: 'skipped', type: 'pytest.skip', message: skip.reason, text: `${skip.path}:${skip.line}: ${skip.reason}`,
    });
    // pytest attaches output here and again at teardown, so a skipped test shows it twice.
    this.appendCapturedOutput(current, report);
  }

  private appendCapturedOutput(current: OpenTestcase, report: TestReport): void {
    const mode = this.options.logging;
    if (mode === 'no' || (!this.options.logPassingTests && report.outcome === 'passed')) return;
    const section = (header: string, content: string): string => `${header}\n${content}\n`;
    const children = current.testcase.children;
    let pendingLog = mode === 'log' || mode === 'all' ? section(SECTION_HEADERS.log, report.capturedLog) : '';
    if (mode === 'system-out' || mode === 'out-err' || mode === 'all') {
      children.push({ tag: 'system-out', text: pendingLog + section(SECTION_HEADERS.out, report.capturedOut) });
      pendingLog = '';
    }
    if (mode === 'system-err' || mode === 'out-err' || mode === 'all') {
      children.push({ tag: 'system-err', text: section(SECTION_HEADERS.err, report.capturedErr) });
    }
    if (pendingLog) children.push({ tag: 'system-out', text: pendingLog });
  }
}
