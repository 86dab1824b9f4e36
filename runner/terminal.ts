// pytest's terminal output for pytest-ts: the session header, progress (`suites/x.ts ..F.s [ 42%]`, `-v` lines,
// `-q` letters), live logs, `--collect-only`, and the end-of-session summary (terminal-summary.ts). The state
// machine mirrors _pytest/terminal.py (currentfspath, ensure_newline, the progress edge), so that blank lines and
// line breaks fall where pytest puts them. Output is buffered: whole lines are written at once, progress letters
// every 100 ms at most.
import { resolve } from 'node:path';
import { ExitCode } from './exit-codes.js';
import type {
  CollectionFinishInfo,
  CollectReport,
  ItemInfo,
  LogRecordInfo,
  Reporter,
  SessionFinishInfo,
  SessionStartInfo,
  TestReport,
  WarningInfo,
  SetupShowEvent,
} from './reports.js';
import type { TbStyle } from './traceback.js';
import { bestRelPath, collectCountLines, collectTreeLines, effectiveWidth, formatTrimmed, reportCharsFor, wrapText } from './terminal-format.js';
import { LiveLogWriter } from './terminal-live-log.js';
import { writeStatsLine } from './terminal-stats-line.js';
import { SessionStats, SummaryWriter, type Category, type SummaryOptions, type TestEntry } from './terminal-summary.js';
import { TerminalWriter, type Colour, type Markup } from './terminal-writer.js';

export { formatDuration, formatMarkersList, resolveColor, runningOnCI, effectiveWidth } from './terminal-format.js';

export interface TerminalOptions {
  /** -v count minus -q count. */
  verbosity: number;
  /** -r (default 'fE'); `a`, `A`, `N`, `w` handled like pytest. */
  reportChars: string;
  /** Decided by the caller from --color / NO_COLOR / FORCE_COLOR / isTTY (see resolveColor). */
  color: boolean;
  /** Terminal width; under 40 means 80, as pytest. */
  width: number;
  collectOnly: boolean;
  noHeader: boolean;
  noSummary: boolean;
  showCapture: 'no' | 'stdout' | 'stderr' | 'log' | 'all';
  disableWarnings: boolean;
  /** --durations=N (0 = all); undefined = no durations section. */
  durations?: number;
  /** --durations-min; undefined = pytest's default (0.005 s, 0 at -vv) with the "Use -vv" hint. */
  durationsMin?: number;
  consoleOutputStyle: 'progress' | 'classic' | 'count';
  /** Records arrive already filtered by level. */
  logCli: { enabled: boolean; format: string; dateFormat: string };
  rootdir: string;
  /** --tb: `no` hides FAILURES and ERRORS, `line` prints one crash line per failure (default 'auto'). */
  tb?: TbStyle;
  /** --capture; with `no` (-s) pytest shows no percentages and output is written at once (default 'fd'). */
  capture?: 'fd' | 'sys' | 'no' | 'tee-sys';
  /** Where pytest-ts was started; node ids and paths are shown relative to it (default: rootdir). */
  invocationDir?: string;
  /** Running on CI (runningOnCI(env)): summary messages are not trimmed to the width. */
  ci?: boolean;
  /** --junitxml as an absolute, normalised path: the summary names the file it wrote, as pytest does. */
  junitxml?: string;
  /** --setup-show: fixture lines between the results, and (as in pytest) no progress percentages. */
  setupShow?: boolean;
}

/** After a -v word was written, pytest sets currentfspath to -2: "a line is open, but it is no path". */
const AFTER_WORD = Symbol('after-word');

export class TerminalReporter implements Reporter {
  private readonly options: TerminalOptions;
  private readonly tw: TerminalWriter;
  private readonly stats = new SessionStats();
  private readonly summary: SummaryWriter;
  private readonly summaryOptions: SummaryOptions;
  private readonly startpath: string;
  private readonly showProgress: 'progress' | 'count' | false;
  private readonly liveLog: LiveLogWriter | undefined;
  private verbosity: number;
  /** The summary lists passed tests (-rP captured output, -rp/-rA short lines). */
  private readonly keepPasses: boolean;
  private currentfspath: string | typeof AFTER_WORD | null = null;
  private readonly reported = new Set<string>();
  private testsCollected = 0;
  private numCollected = 0;
  private collectErrors = 0;
  private collectSkips = 0;
  private lastRelpath: string | undefined;
  private lastFspath = '';

  constructor(options: TerminalOptions, write: (text: string) => void) {
    this.options = options;
    this.verbosity = options.verbosity;
    const capture = options.capture ?? 'fd';
    this.tw = new TerminalWriter(write, effectiveWidth(options.width), options.color, capture === 'no');
    this.startpath = options.invocationDir ?? options.rootdir;
    // pytest shows no percentages under -s (#3038) and none in the classic style.
    this.showProgress = capture === 'no' || options.consoleOutputStyle === 'classic' || options.setupShow ? false : options.consoleOutputStyle;
    if (options.logCli.enabled) this.liveLog = new LiveLogWriter(this.tw, options.logCli);
    this.summaryOptions = {
      verbosity: options.verbosity,
      reportChars: reportCharsFor(options.reportChars, options.disableWarnings),
      tb: options.tb ?? 'auto',
      showCapture: options.showCapture,
      durations: options.durations,
      durationsMin: options.durationsMin,
      rootdir: options.rootdir,
      invocationDir: this.startpath,
      ci: options.ci ?? false,
      collectOnly: options.collectOnly,
      junitxml: options.junitxml,
    };
    this.keepPasses = /[pP]/.test(this.summaryOptions.reportChars);
    this.summary = new SummaryWriter(
      this.tw,
      this.stats,
      this.summaryOptions,
      (sepchar, title, markup) => this.writeSep(sepchar, title, markup),
      (text, markup) => this.writeLine(text, markup),
    );
  }

  // -- pytest's TerminalReporter primitives -------------------------------------------------------------------

  private ensureNewline(): void {
    if (this.currentfspath) {
      this.tw.line();
      this.currentfspath = null;
    }
  }

  private writeLine(text: string, markup?: Markup): void {
    this.ensureNewline();
    this.tw.line(text, markup);
  }

  private writeSep(sepchar: string, title?: string, markup?: Markup): void {
    this.ensureNewline();
    this.tw.sep(sepchar, title, markup);
  }

  private writeEnsurePrefix(prefix: string, extra = '', markup?: Markup): void {
    if (this.currentfspath !== prefix) {
      this.tw.line();
      this.currentfspath = prefix;
      this.tw.write(prefix);
    }
    if (extra) {
      this.tw.write(extra, markup);
      this.currentfspath = AFTER_WORD;
    }
  }

  private get isLastItem(): boolean {
    return this.reported.size === this.testsCollected;
  }

  private progressMessage(): string {
    const collected = this.testsCollected;
    if (this.showProgress === 'count') {
      if (!collected) return ` [ ${collected} / ${collected} ]`;
      return ` [${String(this.reported.size).padStart(String(collected).length)}/${collected}]`;
    }
    if (!collected) return ' [100%]';
    return ` [${String(Math.floor((this.reported.size * 100) / collected)).padStart(3)}%]`;
  }

  private writeProgressIfPastEdge(): void {
    const width = this.tw.widthOfCurrentLine;
    const length = this.showProgress === 'count' ? ` [${this.testsCollected}/${this.testsCollected}]`.length : ' [100%]'.length;
    if (width + length + 1 >= this.tw.fullwidth) {
      this.tw.write(this.progressMessage() + '\n', { colour: this.stats.mainColour(this.isLastItem) });
    }
  }

  private writeProgressFillingSpace(): void {
    const message = this.progressMessage();
    const fill = this.tw.fullwidth - this.tw.widthOfCurrentLine - 1;
    this.tw.write(message.padStart(fill), { colour: this.stats.mainColour(this.isLastItem) });
  }

  private writeFspathResult(nodeid: string, result: string, markup?: Markup): void {
    const fspath = this.fspathOf(nodeid.split('::', 1)[0]!);
    if (this.currentfspath === null || fspath !== this.currentfspath) {
      if (this.currentfspath !== null && this.showProgress) this.writeProgressFillingSpace();
      this.currentfspath = fspath;
      this.tw.line();
      this.tw.write(bestRelPath(this.startpath, fspath) + ' ');
    }
    this.tw.write(result, markup);
  }

  /** Consecutive tests share their module: resolve its path once, not once per test. */
  private fspathOf(relpath: string): string {
    if (relpath !== this.lastRelpath) {
      this.lastRelpath = relpath;
      this.lastFspath = resolve(this.options.rootdir, relpath);
    }
    return this.lastFspath;
  }

  /** The -v line's start: the node id (relative to where pytest-ts was started), and with -vv where it comes from. */
  private locationLine(nodeid: string, relpath: string): string {
    let line = this.summary.cwdRelativeNodeid(nodeid);
    if (this.verbosity >= 2 && nodeid.split('::', 1)[0] !== relpath) {
      line += ' <- ' + bestRelPath(this.startpath, resolve(this.options.rootdir, relpath));
    }
    return line + ' ';
  }

  // -- Reporter events -----------------------------------------------------------------------------------------

  sessionStart(info: SessionStartInfo): void {
    this.liveLog?.setWhen('sessionstart');
    if (this.verbosity >= 0) {
      this.writeSep('=', 'test session starts', { bold: true });
      if (!this.options.noHeader) {
        const node = info.versions.node.startsWith('v') ? info.versions.node : `v${info.versions.node}`;
        let platform = `platform ${info.platform} -- Node ${node}, pytest-ts-${info.versions.pytestTs}`;
        if (this.verbosity > 0) platform += ` -- ${process.execPath}`;
        this.writeLine(platform);
        // pytest prints the cache provider's line, then conftest report headers, then its own rootdir/configfile.
        if (info.cachedir !== undefined && (this.verbosity > 0 || info.cachedir !== '.pytest_cache')) this.writeLine(`cachedir: ${info.cachedir}`);
        for (const line of info.headerLines) this.writeLine(line);
        this.writeLine(`rootdir: ${info.rootdir}`);
        if (info.configfile !== undefined) this.writeLine(`configfile: ${info.configfile}`);
        if (info.testpaths?.length) this.writeLine(`testpaths: ${info.testpaths.join(', ')}`);
      }
    }
    // pytest_collection: without a terminal, "collecting ..." is only shown with -v.
    if (this.verbosity >= 1) this.tw.write('collecting ... ', { bold: true });
    this.tw.flushIfDue();
  }

  collectReport(report: CollectReport): void {
    if (report.outcome === 'failed') {
      this.collectErrors++;
      this.stats.error.push({ kind: 'collect', report });
    } else {
      this.collectSkips++;
      this.stats.skipped.push({ kind: 'collect', report });
    }
  }

  collectionFinish(info: CollectionFinishInfo): void {
    this.numCollected = info.collected;
    this.testsCollected = info.items.length;
    this.stats.deselected = info.deselected;
    if (this.verbosity >= 0) {
      const errors = Math.max(this.collectErrors, info.errors);
      const selected = this.numCollected - info.deselected;
      let line = `collected ${this.numCollected} item${this.numCollected === 1 ? '' : 's'}`;
      if (errors) line += ` / ${errors} error${errors === 1 ? '' : 's'}`;
      if (info.deselected) line += ` / ${info.deselected} deselected`;
      if (this.collectSkips) line += ` / ${this.collectSkips} skipped`;
      if (this.numCollected > selected) line += ` / ${selected} selected`;
      this.writeLine(line);
      // pytest_report_collectionfinish lines, e.g. "run-last-failure: rerun previous 2 failures".
      for (const extra of info.reportLines ?? []) this.writeLine(extra);
    }
    if (this.options.collectOnly) {
      if (info.items.length > 0) {
        if (this.verbosity > -1) this.tw.line('');
        this.printCollectedItems(info.items);
      }
    } else if (this.options.logCli.enabled && this.verbosity < 1) {
      // pytest's logging plugin forces -v for the run, to keep live logs from tearing the progress lines apart.
      this.verbosity = 1;
      this.summaryOptions.verbosity = 1;
    }
    this.tw.flushIfDue();
  }

  private printCollectedItems(items: ItemInfo[]): void {
    const nodeids = items.map((item) => item.nodeid);
    let lines: string[];
    if (this.verbosity < -1) lines = collectCountLines(nodeids);
    else if (this.verbosity < 0) lines = nodeids;
    else lines = collectTreeLines(nodeids, this.options.rootdir);
    for (const line of lines) this.tw.line(line);
  }

  testStart(item: ItemInfo): void {
    this.liveLog?.testStarted();
    if (this.verbosity > 0) this.writeEnsurePrefix(this.locationLine(item.nodeid, item.location.relpath));
    else if (this.verbosity >= 0) this.writeFspathResult(item.nodeid, '');
    this.tw.flushIfDue();
  }

  report(report: TestReport): void {
    const { category, letter, word } = teststatus(report);
    this.record(report, category);
    this.liveLog?.setWhen('logreport');
    if (!letter && !word) return;
    const markup: Markup = { colour: outcomeColour(report) };
    this.reported.add(report.nodeid);
    if (this.verbosity <= 0) {
      this.tw.write(letter, markup);
      if (this.showProgress && !this.isLastItem) this.writeProgressIfPastEdge();
    } else {
      this.writeEnsurePrefix(this.locationLine(report.nodeid, report.location.relpath), word, markup);
      if (report.outcome === 'skipped' || report.wasxfail !== undefined) this.writeSkipReason(report);
      if (this.showProgress) this.writeProgressFillingSpace();
    }
    this.tw.flushIfDue();
  }

  private writeSkipReason(report: TestReport): void {
    const reason = rawSkipReason(report);
    if (!reason) return;
    let formatted: string | undefined;
    if (this.verbosity < 2) {
      const available = this.tw.fullwidth - this.tw.widthOfCurrentLine - ' [100%]'.length - 1;
      formatted = formatTrimmed(' (', ')', reason, available);
    } else {
      formatted = ` (${reason})`;
    }
    if (formatted === undefined) return;
    // pytest's wrap_write: wrap at the width minus a margin of 8 for the progress column.
    const lines = wrapText(formatted, this.tw.widthOfCurrentLine, this.tw.fullwidth - 8);
    this.tw.write(lines.join('\n'));
  }

  /** File a report under its category and keep what the summaries will need. */
  private record(report: TestReport, category: Category): void {
    const entry: TestEntry = { kind: 'test', report, category };
    switch (category) {
      case 'passed':
        // 10,000 passing tests would otherwise keep 10,000 reports alive until the summary, for nothing.
        this.stats.passedCount++;
        if (this.keepPasses) this.stats.passed.push(entry);
        break;
      case 'failed': this.stats.failed.push(entry); break;
      case 'skipped': this.stats.skipped.push(entry); break;
      case 'error': this.stats.error.push(entry); break;
      case 'xfailed': this.stats.xfailed.push(entry); break;
      case 'xpassed': this.stats.xpassed.push(entry); break;
      default:
        if (report.phase === 'teardown' && report.sections.length > 0) this.stats.teardownSections.set(report.nodeid, report.sections);
    }
    if (this.options.durations !== undefined) {
      let list = this.stats.durations.get(category);
      if (!list) this.stats.durations.set(category, (list = []));
      list.push({ duration: report.duration, when: report.phase, nodeid: report.nodeid });
    }
  }

  testFinish(_item: ItemInfo): void {
    this.liveLog?.setWhen('finish');
  }

  warning(warning: WarningInfo): void {
    this.stats.warnings.push(warning);
  }

  /** pytest's setuponly plugin: each line starts with tw.line(), ending whatever the current line holds. */
  setupShow(event: SetupShowEvent): void {
    this.tw.line();
    const uses = event.uses.length > 0 ? ` (fixtures used: ${event.uses.join(', ')})` : '';
    if (event.kind === 'call') {
      this.tw.write(`${' '.repeat(8)}${event.nodeid}${uses}`);
    } else {
      // Session 0, package 2, module 4, class 6, function 8: the wider the scope, the less indented.
      const indent = { session: 0, module: 4, class: 6, function: 8 }[event.scope];
      this.tw.write(`${' '.repeat(indent)}${event.action.padEnd(8)} ${event.scope[0]!.toUpperCase()} ${event.name}${uses}`);
    }
    this.tw.flushIfDue();
  }

  logRecord(record: LogRecordInfo): void {
    if (!this.liveLog) return;
    this.liveLog.emit(record);
    this.tw.flushIfDue();
  }

  // -- the end ----------------------------------------------------------------------------------------------------

  sessionFinish(info: SessionFinishInfo): void {
    const interrupted = info.interrupted;
    // pytest writes the final percentage when the run loop ends normally; an interrupted loop leaves the line open.
    if (!interrupted && this.verbosity <= 0 && this.showProgress && this.reported.size > 0) this.writeProgressFillingSpace();
    this.liveLog?.setWhen('sessionfinish');
    this.tw.line('');
    const showsSummary = info.exitCode !== ExitCode.INTERNAL_ERROR;
    if (showsSummary && !this.options.noSummary) this.summary.writeTerminalSummary();
    if (interrupted?.kind === 'maxfail') this.writeSep('!', interrupted.reason, { colour: 'red' });
    if (interrupted && interrupted.kind !== 'maxfail') this.writeInterruption(interrupted);
    this.ensureNewline();
    writeStatsLine(this.tw, {
      stats: this.stats,
      collectOnly: this.options.collectOnly,
      verbosity: this.verbosity,
      numCollected: this.numCollected,
      isLastItem: this.isLastItem,
      durationS: info.durationS,
    });
    this.tw.flush();
  }

  private writeInterruption(interrupted: NonNullable<SessionFinishInfo['interrupted']>): void {
    if (interrupted.kind === 'collection') {
      const reason = interrupted.reason.startsWith('Interrupted: ') ? interrupted.reason : `Interrupted: ${interrupted.reason}`;
      this.writeSep('!', reason);
    } else if (interrupted.kind === 'signal') {
      // Our own wording: pytest dies on SIGTERM without a summary; pytest-ts finishes the report first.
      const reason = /^SIG[A-Z0-9]+$/.test(interrupted.reason) ? `Terminated (${interrupted.reason})` : interrupted.reason || 'Terminated';
      this.writeSep('!', reason);
    } else {
      this.writeSep('!', 'KeyboardInterrupt');
      // pytest prints where the interrupt hit (`/abs/x.py:3: KeyboardInterrupt`); the run loop may pass that along.
      // pytest's next line, "(to show a full traceback on KeyboardInterrupt use --full-trace)", is left out: pytest-ts
      // has no --full-trace to point at.
      if (interrupted.reason && interrupted.reason !== 'KeyboardInterrupt') this.tw.line(interrupted.reason);
    }
  }
}

/** pytest_report_teststatus from skipping.py, runner.py and terminal.py, in their order. */
function teststatus(report: TestReport): { category: Category; letter: string; word: string } {
  if (report.wasxfail !== undefined) {
    if (report.outcome === 'skipped') return { category: 'xfailed', letter: 'x', word: 'XFAIL' };
    if (report.outcome === 'passed') return { category: 'xpassed', letter: 'X', word: 'XPASS' };
  }
  if (report.phase !== 'call') {
    if (report.outcome === 'failed') return { category: 'error', letter: 'E', word: 'ERROR' };
    if (report.outcome === 'skipped') return { category: 'skipped', letter: 's', word: 'SKIPPED' };
    return { category: '', letter: '', word: '' };
  }
  if (report.outcome === 'passed') return { category: 'passed', letter: '.', word: 'PASSED' };
  if (report.outcome === 'failed') return { category: 'failed', letter: 'F', word: 'FAILED' };
  return { category: 'skipped', letter: 's', word: 'SKIPPED' };
}

function outcomeColour(report: TestReport): Colour {
  if (report.outcome === 'passed') return report.wasxfail === undefined ? 'green' : 'yellow';
  if (report.outcome === 'failed') return 'red';
  return 'yellow';
}

/** pytest's _get_raw_skip_reason: the user's words, without `reason: ` / `Skipped: `. */
function rawSkipReason(report: TestReport): string {
  if (report.wasxfail !== undefined) {
    return report.wasxfail.startsWith('reason: ') ? report.wasxfail.slice('reason: '.length) : report.wasxfail;
  }
  const reason = report.skip?.reason ?? '';
  if (reason.startsWith('Skipped: ')) return reason.slice('Skipped: '.length);
  return reason === 'Skipped' ? '' : reason;
}
