// Live logs (log_cli) on the terminal: pytest's _LiveLoggingStreamHandler. Its few flags decide the blank lines and
// `---- live log call ----` headers between the -v lines; they are copied as they are, quirks included (a blank
// line between two teardown records, none before sessionfinish records once a test has logged).
import type { LogRecordInfo } from './reports.js';
import { compileLogFormat, type LevelMarkup } from './terminal-log-format.js';
import type { Markup, TerminalWriter } from './terminal-writer.js';

/** pytest colours the level name per level (ColoredLevelFormatter.LOGLEVEL_COLOROPTS); other levels stay plain. */
const LEVEL_MARKUP = new Map<number, Markup>([
  [50, { colour: 'red' }],
  [40, { colour: 'red', bold: true }],
  [30, { colour: 'yellow' }],
  [20, { colour: 'green' }],
  [10, { colour: 'magenta' }],
]);

export class LiveLogWriter {
  private readonly format: ReturnType<typeof compileLogFormat>;
  private readonly levelMarkup: LevelMarkup | undefined;
  private when: string | null = null;
  private firstRecordEmitted = false;
  private sectionShown = false;
  private outcomeWritten = false;

  constructor(
    private readonly tw: TerminalWriter,
    options: { format: string; dateFormat: string },
  ) {
    this.format = compileLogFormat(options);
    this.levelMarkup = tw.hasMarkup ? (level, text) => tw.markup(text, LEVEL_MARKUP.get(level)) : undefined;
  }

  /** The phase pytest announces to the handler: sessionstart, start, setup/call/teardown, logreport, finish... */
  setWhen(when: string | null): void {
    this.when = when;
    this.sectionShown = false;
  }

  /** pytest_runtest_logstart: reset() and set_when("start"). */
  testStarted(): void {
    this.firstRecordEmitted = false;
    this.setWhen('start');
    this.outcomeWritten = false;
  }

  emit(record: LogRecordInfo): void {
    // Records carry their phase; pytest would have announced it when the phase began.
    if (record.when !== this.when) this.setWhen(record.when);
    if (!this.firstRecordEmitted) {
      this.tw.write('\n');
      this.firstRecordEmitted = true;
    } else if ((this.when === 'teardown' || this.when === 'finish') && !this.outcomeWritten) {
      this.outcomeWritten = true;
      this.tw.write('\n');
    }
    if (!this.sectionShown && this.when) {
      this.tw.sep('-', `live log ${this.when}`, { bold: true });
      this.sectionShown = true;
    }
    this.tw.write(this.format(record, this.levelMarkup) + '\n');
  }
}
