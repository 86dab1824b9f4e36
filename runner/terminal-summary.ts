// The end of a pytest session on the terminal: ERRORS, FAILURES, warnings summary, PASSES, slowest durations and
// short test summary info, in pytest's order (its pytest_terminal_summary hooks). The final line is in
// terminal-stats-line.ts.
import { isAbsolute, resolve } from 'node:path';
import type { CollectReport, FailureRepr, TestReport, WarningInfo } from './reports.js';
import { readSourceLines } from './source-lines.js';
import { crashLineText, type TbStyle } from './traceback.js';
import { bestRelPath, formatG, formatTrimmed } from './terminal-format.js';
import { textWidth, type Colour, type Markup, type TerminalWriter } from './terminal-writer.js';

/** pytest's stats keys: '' holds passing setup/teardown reports. */
export type Category = '' | 'passed' | 'failed' | 'skipped' | 'error' | 'xfailed' | 'xpassed';
export type Section = [title: string, content: string];

export interface TestEntry {
  kind: 'test';
  report: TestReport;
  category: Category;
}
export interface CollectEntry {
  kind: 'collect';
  report: CollectReport;
}
export type Entry = TestEntry | CollectEntry;

interface DurationEntry {
  duration: number;
  when: string;
  nodeid: string;
}

/** Everything the summaries need, gathered while the session runs (pytest's TerminalReporter.stats). */
export class SessionStats {
  readonly failed: TestEntry[] = [];
  /** Passed tests' entries, kept only when a summary lists them (-rP / -rp / -rA); `passedCount` counts all. */
  readonly passed: TestEntry[] = [];
  passedCount = 0;
  readonly xfailed: TestEntry[] = [];
  readonly xpassed: TestEntry[] = [];
  readonly skipped: Entry[] = [];
  readonly error: Entry[] = [];
  readonly warnings: WarningInfo[] = [];
  deselected = 0;
  /** Teardown sections of tests whose teardown passed, printed after their failure or pass. */
  readonly teardownSections = new Map<string, Section[]>();
  /** Durations per category, in the order categories first appeared (pytest sorts a list built that way). */
  readonly durations = new Map<Category, DurationEntry[]>();

  count(key: string): number {
    switch (key) {
      case 'failed': return this.failed.length;
      case 'passed': return this.passedCount;
      case 'skipped': return this.skipped.length;
      case 'deselected': return this.deselected;
      case 'xfailed': return this.xfailed.length;
      case 'xpassed': return this.xpassed.length;
      case 'warnings': return this.warnings.length;
      case 'error': return this.error.length;
      default: return 0;
    }
  }

  /** pytest's _determine_main_color. */
  mainColour(isLastItem: boolean): Colour {
    if (this.failed.length || this.error.length) return 'red';
    if (this.warnings.length || this.xpassed.length) return 'yellow';
    if (this.passedCount || !isLastItem) return 'green';
    return 'yellow';
  }
}

export interface SummaryOptions {
  verbosity: number;
  reportChars: string;
  tb: TbStyle;
  showCapture: 'no' | 'stdout' | 'stderr' | 'log' | 'all';
  durations?: number;
  durationsMin?: number;
  rootdir: string;
  invocationDir: string;
  ci: boolean;
  collectOnly: boolean;
  /** The JUnit report's absolute path, announced as pytest's junitxml plugin does; undefined without --junitxml. */
  junitxml?: string;
}

const WARNINGS_DOCS = '-- Docs: https://docs.pytest.org/en/stable/how-to/capture-warnings.html';
const FAILURE_LOCATION = /^([^\s>][^:]*):(\d+):( |$)/;

export class SummaryWriter {
  constructor(
    private readonly tw: TerminalWriter,
    private readonly stats: SessionStats,
    private readonly options: SummaryOptions,
    /** The reporter's ensure_newline + sep, so that a pending progress line is ended first. */
    private readonly writeSep: (sepchar: string, title: string, markup?: Markup) => void,
    private readonly writeLine: (text: string, markup?: Markup) => void,
  ) {}

  private hasOpt(char: string): boolean {
    return this.options.reportChars.includes(char);
  }

  /** pytest_terminal_summary: every section between the test progress and the final line. */
  writeTerminalSummary(): void {
    this.summaryErrors();
    this.summaryFailures();
    this.summaryWarnings();
    this.summaryPasses('passed', 'PASSES', 'P');
    this.summaryPasses('xpassed', 'XPASSES', 'X');
    // Then the other plugins' summaries, in pytest's plugin order: junitxml's line, then --durations.
    if (this.options.junitxml !== undefined && this.options.verbosity >= 0) this.writeSep('-', `generated xml file: ${this.options.junitxml}`);
    this.summaryDurations();
    this.shortTestSummary();
  }

  cwdRelativeNodeid(nodeid: string): string {
    const { rootdir, invocationDir } = this.options;
    if (invocationDir === rootdir) return nodeid;
    const [path, ...rest] = nodeid.split('::');
    return [bestRelPath(invocationDir, resolve(rootdir, path!)), ...rest].join('::');
  }

  private headline(entry: Entry): string {
    return entry.kind === 'collect' ? entry.report.nodeid : entry.report.location.domain;
  }

  private failureOf(entry: Entry): FailureRepr | undefined {
    return entry.report.failure;
  }

  /** The pre-rendered traceback, with pytest's red `E` lines and bold red `path:line:` locations when colour is on. */
  private writeFailureText(text: string): void {
    if (!text) return;
    for (const line of text.split('\n')) {
      if (!this.tw.hasMarkup) {
        this.tw.line(line);
      } else if (line.startsWith('E ') || line === 'E') {
        this.tw.line(line, { colour: 'red', bold: true });
      } else {
        const location = FAILURE_LOCATION.exec(line);
        if (location) {
          this.tw.write(location[1]!, { colour: 'red', bold: true });
          this.tw.line(line.slice(location[1]!.length));
        } else {
          this.tw.line(line);
        }
      }
    }
  }

  private writeSections(sections: Section[], onlyTeardown: boolean): void {
    const show = this.options.showCapture;
    if (show === 'no') return;
    for (const [title, content] of sections) {
      if (show !== 'all' && !title.includes(show)) continue;
      if (onlyTeardown && !title.includes('teardown')) continue;
      this.tw.sep('-', title);
      this.tw.line(content.endsWith('\n') ? content.slice(0, -1) : content);
    }
  }

  /** pytest's _outrep_summary: the failure text, then the captured sections. */
  private outrepSummary(entry: Entry): void {
    const failure = this.failureOf(entry);
    if (failure) this.writeFailureText(failure.text);
    if (entry.kind === 'test') this.writeSections(entry.report.sections, false);
  }

  private teardownSectionsOf(nodeid: string): void {
    const sections = this.stats.teardownSections.get(nodeid);
    if (sections) this.writeSections(sections, true);
  }

  private summaryErrors(): void {
    if (this.options.tb === 'no' || this.stats.error.length === 0) return;
    this.writeSep('=', 'ERRORS');
    for (const entry of this.stats.error) {
      const title =
        entry.kind === 'collect' ? `ERROR collecting ${this.headline(entry)}` : `ERROR at ${entry.report.phase} of ${this.headline(entry)}`;
      this.writeSep('_', title, { colour: 'red', bold: true });
      this.outrepSummary(entry);
    }
  }

  private summaryFailures(): void {
    const { tb, rootdir } = this.options;
    if (tb === 'no' || this.stats.failed.length === 0) return;
    this.writeSep('=', 'FAILURES');
    for (const entry of this.stats.failed) {
      if (tb === 'line') {
        const failure = entry.report.failure;
        const line = failure ? crashLineText(failure, rootdir) : '';
        this.outrepSummary(entry);
        this.writeLine(line);
      } else {
        this.writeSep('_', this.headline(entry), { colour: 'red', bold: true });
        this.outrepSummary(entry);
        this.teardownSectionsOf(entry.report.nodeid);
      }
    }
  }

  private summaryPasses(which: 'passed' | 'xpassed', title: string, char: string): void {
    if (this.options.tb === 'no' || !this.hasOpt(char)) return;
    const entries = which === 'passed' ? this.stats.passed : this.stats.xpassed;
    if (entries.length === 0) return;
    this.writeSep('=', title);
    for (const entry of entries) {
      if (entry.report.sections.length > 0) {
        this.writeSep('_', this.headline(entry), { colour: 'green', bold: true });
        this.outrepSummary(entry);
      }
      this.teardownSectionsOf(entry.report.nodeid);
    }
  }

  /** pytest's warning_record_to_str: `file:line: Category: message` plus the source line, when it can be read. */
  private warningText(warning: WarningInfo): string {
    if (!warning.location) return `${warning.category}: ${warning.message}\n`;
    let text = `${warning.location}: ${warning.category}: ${warning.message}\n`;
    const match = /^(.*):(\d+)$/.exec(warning.location);
    if (match) {
      const file = isAbsolute(match[1]!) ? match[1]! : resolve(this.options.rootdir, match[1]!);
      const source = readSourceLines(file)?.[Number(match[2]) - 1]?.trim();
      if (source) text += `  ${source}\n`;
    }
    return text;
  }

  private warningLocation(warning: WarningInfo): string | undefined {
    if (warning.nodeid) return warning.nodeid;
    if (!warning.location) return undefined;
    const match = /^(.*):(\d+)$/.exec(warning.location);
    if (!match) return warning.location;
    const file = isAbsolute(match[1]!) ? match[1]! : resolve(this.options.rootdir, match[1]!);
    return `${bestRelPath(this.options.invocationDir, file)}:${match[2]}`;
  }

  private summaryWarnings(): void {
    if (!this.hasOpt('w') || this.stats.warnings.length === 0) return;
    const grouped = new Map<string, WarningInfo[]>();
    for (const warning of this.stats.warnings) {
      const text = this.warningText(warning);
      const group = grouped.get(text);
      if (group) group.push(warning);
      else grouped.set(text, [warning]);
    }
    this.writeSep('=', 'warnings summary', { colour: 'yellow' });
    for (const [message, warnings] of grouped) {
      const locations = warnings.map((w) => this.warningLocation(w)).filter((l): l is string => l !== undefined);
      let where = '';
      if (locations.length >= 10) {
        const perFile = new Map<string, number>();
        for (const location of locations) {
          const file = location.split('::', 1)[0]!;
          perFile.set(file, (perFile.get(file) ?? 0) + 1);
        }
        where = [...perFile].map(([file, n]) => `${file}: ${n} warning${n > 1 ? 's' : ''}`).join('\n');
      } else {
        where = locations.join('\n');
      }
      if (where) {
        this.tw.line(where);
        // Python's splitlines(): a final newline does not make an empty last line.
        const lines = (message.endsWith('\n') ? message.slice(0, -1) : message).split('\n');
        this.tw.line(lines.map((l) => '  ' + l).join('\n').trimEnd());
      } else {
        this.tw.line(message.trimEnd());
      }
      this.tw.line();
    }
    this.tw.line(WARNINGS_DOCS);
  }

  /** `--durations`: runner.py's pytest_terminal_summary. */
  private summaryDurations(): void {
    const { durations, verbosity } = this.options;
    if (durations === undefined) return;
    const explicitMin = this.options.durationsMin;
    const durationsMin = explicitMin ?? (verbosity < 2 ? 0.005 : 0);
    let list: DurationEntry[] = [];
    for (const entries of this.stats.durations.values()) list.push(...entries);
    if (list.length === 0) return;
    list.sort((a, b) => b.duration - a.duration); // stable, as Python's sort
    if (durations === 0) {
      this.writeSep('=', 'slowest durations');
    } else {
      this.writeSep('=', `slowest ${durations} durations`);
      list = list.slice(0, durations);
    }
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!;
      if (entry.duration < durationsMin) {
        this.writeLine('');
        let message = `(${list.length - i} durations < ${formatG(durationsMin)}s hidden.`;
        if (explicitMin === undefined) message += '  Use -vv to show these durations.';
        this.writeLine(message + ')');
        break;
      }
      this.writeLine(`${entry.duration.toFixed(2)}s ${entry.when.padEnd(8)} ${entry.nodeid}`);
    }
  }

  private nodeWithMarkup(nodeid: string): string {
    const [path, ...parts] = this.cwdRelativeNodeid(nodeid).split('::');
    return parts.length ? `${path}::${this.tw.markup(parts.join('::'), { bold: true })}` : path!;
  }

  private plainNode(nodeid: string): string {
    return this.cwdRelativeNodeid(nodeid);
  }

  /** `FAILED id - message`, the message trimmed to the width unless on CI or at -vv. */
  private lineWithMessage(word: string, colour: Colour, entry: Entry, withMessage: boolean): string {
    const nodeid = entry.report.nodeid;
    const visible = `${word} ${this.plainNode(nodeid)}`;
    let line = `${this.tw.markup(word, { colour })} ${this.nodeWithMarkup(nodeid)}`;
    // An empty message means the report has no crash line (pytest: a collection error without reprcrash).
    const message = withMessage ? this.failureOf(entry)?.message : undefined;
    if (message) {
      if (this.options.ci || this.options.verbosity >= 2) {
        line += ` - ${message}`;
      } else {
        const trimmed = formatTrimmed(' - ', '', message, this.tw.fullwidth - textWidth(visible));
        if (trimmed !== undefined) line += trimmed;
      }
    }
    return line;
  }

  private reasonLine(word: string, entry: TestEntry): string {
    let line = `${this.tw.markup(word, { colour: 'yellow' })} ${this.nodeWithMarkup(entry.report.nodeid)}`;
    const reason = entry.report.wasxfail;
    if (reason) line += ' - ' + reason;
    return line;
  }

  private foldedSkipLines(): string[] {
    const folded = new Map<string, { count: number; path: string; line: number | undefined; reason: string }>();
    for (const entry of this.stats.skipped) {
      const skip = entry.report.skip;
      const path = skip ? bestRelPath(this.options.invocationDir, skip.path) : entry.kind === 'test' ? entry.report.location.relpath : entry.report.nodeid;
      const line = skip ? (skip.foldWithoutLine ? undefined : skip.line) : entry.kind === 'test' ? entry.report.location.line + 1 : undefined;
      const reason = skip?.reason ?? '';
      const key = `${path}\u0000${line}\u0000${reason}`;
      const group = folded.get(key);
      if (group) group.count++;
      else folded.set(key, { count: 1, path, line, reason });
    }
    const word = this.tw.markup('SKIPPED', { colour: 'yellow' });
    return [...folded.values()].map(({ count, path, line, reason }) => {
      const shown = reason.startsWith('Skipped: ') ? reason.slice('Skipped: '.length) : reason;
      return line !== undefined ? `${word} [${count}] ${path}:${line}: ${shown}` : `${word} [${count}] ${path}: ${shown}`;
    });
  }

  private shortTestSummary(): void {
    const lines: string[] = [];
    for (const char of this.options.reportChars) {
      switch (char) {
        case 'x':
          for (const entry of this.stats.xfailed) lines.push(this.reasonLine('XFAIL', entry));
          break;
        case 'X':
          for (const entry of this.stats.xpassed) lines.push(this.reasonLine('XPASS', entry));
          break;
        case 'f':
          for (const entry of this.stats.failed) lines.push(this.lineWithMessage('FAILED', 'red', entry, true));
          break;
        case 's':
          lines.push(...this.foldedSkipLines());
          break;
        case 'p':
          for (const entry of this.stats.passed) lines.push(this.lineWithMessage('PASSED', 'green', entry, false));
          break;
        case 'E':
          for (const entry of this.stats.error) lines.push(this.lineWithMessage('ERROR', 'red', entry, true));
          break;
      }
    }
    if (lines.length === 0) return;
    this.writeSep('=', 'short test summary info', { colour: 'cyan', bold: true });
    for (const line of lines) this.writeLine(line);
  }
}
