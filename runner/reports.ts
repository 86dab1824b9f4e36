// The data that flows from the run loop to the reporters. The run loop builds these and never formats them;
// the terminal and JUnit reporters turn them into text (pytest's TestReport / CollectReport, in TypeScript).

export type Phase = 'setup' | 'call' | 'teardown';
export type Outcome = 'passed' | 'failed' | 'skipped';

/** Where a test or a skip points: a path relative to the rootdir and a 0-based line (pytest's item.location). */
export interface Location {
  relpath: string;
  /** 0-based line of the test's first source line (its first decorator, as pytest counts it). */
  line: number;
  /** The dotted domain pytest shows in the short summary (`TestA.test_b`). */
  domain: string;
}

/** A failure as the reporters need it, with the traceback already rendered for the configured --tb style. */
export interface FailureRepr {
  /** The crash line: `AssertionError: expected 1 to equal 2`. May span lines. */
  message: string;
  /** The text the terminal shows under the test's header in FAILURES/ERRORS, and JUnit puts in the element. */
  text: string;
  /** Where the exception was raised, relative to rootdir, 1-based line (`suites/x.ts:12`). */
  crashPath?: string;
  crashLine?: number;
}

export interface SkipRepr {
  reason: string;
  /** Absolute path of the file holding the skip (marker or call). */
  path: string;
  /** 1-based line of the skip marker or the skip() call. */
  line: number;
  /** The terminal summary folds this skip without its line (pytest: a `skip` mark inherited from a class or module). */
  foldWithoutLine?: boolean;
}

export interface TestReport {
  nodeid: string;
  location: Location;
  phase: Phase;
  outcome: Outcome;
  /** Seconds spent in this phase. */
  duration: number;
  /** Epoch milliseconds at the start and end of the phase. */
  start: number;
  stop: number;
  /** Set when outcome is 'failed'. */
  failure?: FailureRepr;
  /** Set when outcome is 'skipped' and it was a skip (not an xfail). */
  skip?: SkipRepr;
  /**
   * pytest's `wasxfail`: present on an xfailed test (outcome 'skipped') and on a non-strict xpass (outcome 'passed').
   * The value is the reason ('' when none was given).
   */
  wasxfail?: string;
  /** Captured output of this phase and the phases before it, as pytest accumulates sections. */
  capturedOut: string;
  capturedErr: string;
  capturedLog: string;
  /**
   * The same captured output split by phase, as pytest's report sections: `['Captured stdout setup', text]`,
   * `['Captured stderr call', text]`, `['Captured log call', text]`, in order; empty sections are left out.
   */
  sections: Array<[string, string]>;
  /** Properties recorded with the recordProperty fixture (name, value), in call order. */
  userProperties: Array<[string, unknown]>;
  /** The keywords (marker names and so on) of the item, for reporters that want them. */
  markers: string[];
}

export interface CollectReport {
  /** Node id of the collector that failed: a module's relative path (`suites/test_x.ts`). */
  nodeid: string;
  outcome: 'failed' | 'skipped';
  failure?: FailureRepr;
  skip?: SkipRepr;
}

export interface ItemInfo {
  nodeid: string;
  location: Location;
  markers: string[];
}

export interface SessionStartInfo {
  /** Epoch milliseconds of the session start. */
  startTime: number;
  rootdir: string;
  /** Config file relative to rootdir, as pytest prints it in `configfile:`; undefined when there is none. */
  configfile?: string;
  testpaths?: string[];
  /** Extra lines from conftest `reportHeader` hooks. */
  headerLines: string[];
  /** The cache provider's `cachedir:` line (shown at -v, or always when cache_dir is not the default). */
  cachedir?: string;
  platform: string;
  versions: { node: string; pytestTs: string };
}

export interface CollectionFinishInfo {
  /** Items collected before selection. */
  collected: number;
  /** Items removed by --deselect, -k and -m together. */
  deselected: number;
  items: ItemInfo[];
  /** Number of collection errors. */
  errors: number;
  /** Lines shown right after the "collected N items" line (pytest_report_collectionfinish), e.g. for --lf. */
  reportLines?: string[];
  durationS: number;
}

export interface SessionFinishInfo {
  exitCode: number;
  /** Seconds since session start. */
  durationS: number;
  /** Set when the run was interrupted (KeyboardInterrupt, a signal, -x, --maxfail). */
  interrupted?: { reason: string; kind: 'keyboard' | 'signal' | 'maxfail' | 'collection' };
  /** Properties from recordTestsuiteProperty, in call order. */
  suiteProperties: Array<[string, string]>;
}

export interface WarningInfo {
  message: string;
  category: string;
  /** Where it came from, `file:line`, when known. */
  location?: string;
  nodeid?: string;
}

/** A log record (console.debug/info/warn/error inside a test, or a logger) for live logging and capture. */
export interface LogRecordInfo {
  nodeid?: string;
  /** The phase it happened in; 'collection' / 'sessionstart' / 'sessionfinish' outside tests. */
  when: Phase | 'collection' | 'sessionstart' | 'sessionfinish';
  /** Python logging levels: DEBUG 10, INFO 20, WARNING 30, ERROR 40, CRITICAL 50. */
  level: number;
  levelName: string;
  message: string;
  /** Epoch milliseconds. */
  created: number;
  /** Logger name ('console' for console.* calls). */
  name: string;
}

/** A reporter listens to the session. Every method is optional; async ones are awaited in order. */
/** --setup-show: a fixture set up or torn down, or a test about to be called (pytest's setuponly plugin). */
export type SetupShowEvent =
  | { kind: 'fixture'; action: 'SETUP' | 'TEARDOWN'; scope: 'function' | 'class' | 'module' | 'session'; name: string; uses: string[] }
  | { kind: 'call'; nodeid: string; uses: string[] };

export interface Reporter {
  sessionStart?(info: SessionStartInfo): void | Promise<void>;
  collectReport?(report: CollectReport): void | Promise<void>;
  collectionFinish?(info: CollectionFinishInfo): void | Promise<void>;
  testStart?(item: ItemInfo): void | Promise<void>;
  report?(report: TestReport): void | Promise<void>;
  testFinish?(item: ItemInfo): void | Promise<void>;
  warning?(warning: WarningInfo): void | Promise<void>;
  /** Live log records; only sent when live logging is on (log_cli) and the record passes the live level. */
  logRecord?(record: LogRecordInfo): void | Promise<void>;
  setupShow?(event: SetupShowEvent): void | Promise<void>;
  sessionFinish?(info: SessionFinishInfo): void | Promise<void>;
}
