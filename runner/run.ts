// The run loop: setup -> call -> teardown for each item, one report per phase. It emits reports and never formats
// output; the reporters listen (pytest's runner.py + skipping.py, in one small module).

import { fileURLToPath } from 'node:url';
import type { ReporterBus } from './bus.js';
import { RUNNER_DIR } from './paths.js';
import type { Capture } from './capture.js';
import { closestMarker, type SessionState } from './builtins.js';
import type { BuiltinValueFactory, FixtureManager, ShownFixture } from './fixtures.js';
import type { FixtureDef, Item } from './nodes.js';
import { pyReprValue } from './config-entries.js';
import { requestedNames } from './signature.js';
import { ownMarks } from './marks.js';
import { outcomeKind, type OutcomeException } from './outcomes.js';
import type { FailureRepr, ItemInfo, LogRecordInfo, Outcome, Phase, SkipRepr, TestReport } from './reports.js';
import { formatFailure, type TbStyle } from './traceback.js';

export interface RunSettings {
  tb: TbStyle;
  verbosity: number;
  rootdir: string;
  /** Seconds; 0 means no timeout. `@mark.timeout(n)` overrides it per test. */
  timeout: number;
  /** Stop after this many failed or errored tests; 0 = never. */
  maxfail: number;
  xfailStrict: boolean;
  /** --setup-show: report fixture setups, teardowns and test calls as they happen. */
  setupShow?: boolean;
  /** Formats one captured log record for the "Captured log" sections. */
  formatLogRecord(record: LogRecordInfo): string;
}


/** Raised into a running phase by Ctrl-C or a termination signal. */
export class Interrupted extends Error {
  constructor(readonly kind: 'keyboard' | 'signal', readonly signal?: string) {
    super(kind === 'keyboard' ? 'KeyboardInterrupt' : `Terminated (${signal})`);
  }
}

export class TimeoutFailure extends Error {
  override name = 'Failed';
  constructor(seconds: number) {
    super(`Timeout (>${seconds.toFixed(1)}s)`);
  }
}

/** pytest's saferepr(value, maxsize): Python's repr, cut in the middle with `...` when longer than maxsize. */
function saferepr(value: unknown, maxsize: number): string {
  const text = value === null || value === undefined ? 'None' : pyReprValue(value);
  if (text.length <= maxsize) return text;
  const head = Math.max(0, Math.floor((maxsize - 3) / 2));
  const tail = Math.max(0, maxsize - 3 - head);
  return `${text.slice(0, head)}...${text.slice(text.length - tail)}`;
}

/** pytest's item.fixturenames, sorted: every fixture in the item's closure and its parameter names. */
function fixtureClosureNames(plan: ItemPlan): string[] {
  return [...new Set([...plan.fixtures.map((d) => d.name), ...Object.keys(plan.item.params)])].sort();
}

/** When the item's time is up (its setup, call and teardown share one budget), and that budget in seconds. */
interface Deadline {
  at: number;
  seconds: number;
}

interface PhaseResult {
  report: TestReport;
  /** The phase ended by an interrupt: stop the session after teardown. */
  interrupted?: Interrupted;
}

export interface ItemPlan {
  item: Item;
  fixtures: readonly FixtureDef[];
}

export class RunLoop {
  failures = 0;
  stopReason: string | undefined;
  interruptedBy: Interrupted | undefined;
  private readonly interruptListeners = new Set<(reason: Interrupted) => void>();

  constructor(
    private readonly fixtures: FixtureManager,
    private readonly bus: ReporterBus,
    private readonly capture: Capture,
    private readonly state: SessionState,
    private readonly settings: RunSettings,
    private readonly builtinValue: BuiltinValueFactory,
  ) {
    if (settings.setupShow) {
      fixtures.observe({
        setup: (fixture) => this.showFixture('SETUP', fixture),
        teardown: (fixture) => this.showFixture('TEARDOWN', fixture),
      });
    }
  }

  /**
   * pytest shows every fixture but `request` (not a fixture there); SETUP lists what the fixture asked for, and a
   * parametrized name shows its value as `n[1]`.
   */
  private showFixture(action: 'SETUP' | 'TEARDOWN', fixture: ShownFixture): Promise<void> | undefined {
    if ('param' in fixture) {
      return this.bus.emit('setupShow', { kind: 'fixture', action, scope: 'function', name: `${fixture.param}[${saferepr(fixture.value, 42)}]`, uses: [] });
    }
    const { def } = fixture;
    if (def.kind === 'builtin' && def.name === 'request') return undefined;
    const uses = action === 'SETUP' && def.kind !== 'builtin' ? requestedNames(def.fn).filter((n) => n !== 'request').sort() : [];
    return this.bus.emit('setupShow', { kind: 'fixture', action, scope: def.scope, name: def.name, uses });
  }

  /** Ends the running phase with an Interrupted error; the loop runs teardowns and stops. */
  interrupt(reason: Interrupted): void {
    this.interruptedBy ??= reason;
    for (const listener of [...this.interruptListeners]) listener(reason);
  }

  async run(plans: readonly ItemPlan[]): Promise<void> {
    for (let i = 0; i < plans.length; i++) {
      if (this.interruptedBy || this.stopReason) break;
      const next = plans[i + 1]?.item;
      await this.runItem(plans[i]!, this.interruptedBy || this.shouldStopAfter() ? undefined : next);
      if (this.shouldStopAfter()) this.stopReason ??= `stopping after ${this.failures} failures`;
    }
    if (this.interruptedBy || this.stopReason) {
      // pytest tears the rest down at session finish, under its global capture: what finalizers print there is not
      // shown (log records still reach live logging). With -s nothing is captured, so it is shown.
      this.capture.begin(undefined, 'sessionfinish');
      try {
        await this.fixtures.teardownAll();
      } finally {
        this.capture.end();
      }
    }
  }

  private shouldStopAfter(): boolean {
    return this.settings.maxfail > 0 && this.failures >= this.settings.maxfail;
  }

  async runItem(plan: ItemPlan, nextItem: Item | undefined): Promise<TestReport[]> {
    const { item } = plan;
    const info: ItemInfo = { nodeid: item.nodeid, location: item.location, markers: item.marks.map((m) => m.name) };
    const started = this.bus.emit('testStart', info);
    if (started) await started;
    const sections: Array<[string, string]> = [];
    const reports: TestReport[] = [];
    const deadline = this.deadlineFor(item);

    let instance: object | undefined;
    let args: Record<string, unknown> = {};
    const setup = await this.phase(item, 'setup', sections, deadline, true, async () => {
      this.evaluateSkipMarks(item);
      instance = item.cls ? new item.cls.cls() : undefined;
      args = await this.fixtures.setup(item, plan.fixtures, instance, this.builtinValue);
    });
    reports.push(setup.report);
    const emitted = this.emitReport(setup.report);
    if (emitted) await emitted;

    let interrupted = setup.interrupted;
    if (setup.report.outcome === 'passed' && !interrupted) {
      const call = await this.phase(item, 'call', sections, deadline, true, async () => {
        if (this.settings.setupShow) await this.bus.emit('setupShow', { kind: 'call', nodeid: item.nodeid, uses: fixtureClosureNames(plan) });
        await item.fn.call(instance, args);
      });
      reports.push(call.report);
      const emittedCall = this.emitReport(call.report);
      if (emittedCall) await emittedCall;
      interrupted = call.interrupted;
    }

    const teardown = await this.phase(item, 'teardown', sections, undefined, false, async () => {
      const errors = await this.fixtures.teardown(item, interrupted ? undefined : nextItem);
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) throw new AggregateError(errors, `${errors.length} errors during teardown: ${errors.map(String).join('; ')}`);
    });
    reports.push(teardown.report);
    const emittedTeardown = this.emitReport(teardown.report);
    if (emittedTeardown) await emittedTeardown;
    const finished = this.bus.emit('testFinish', info);
    if (finished) await finished;
    return reports;
  }

  private emitReport(report: TestReport): Promise<void> | undefined {
    if (report.outcome === 'failed') this.failures++;
    return this.bus.emit('report', report);
  }

  private deadlineFor(item: Item): Deadline | undefined {
    const marker = closestMarker(item, 'timeout');
    const seconds = marker ? Number(marker.args[0] ?? marker.kwargs.timeout) : this.settings.timeout;
    if (!Number.isFinite(seconds) || seconds <= 0) return undefined;
    return { at: Date.now() + seconds * 1000, seconds };
  }


  /** skip / skipif / xfail(run=false) markers, checked at setup like pytest's skipping plugin. */
  private evaluateSkipMarks(item: Item): void {
    // pytest's evaluate_skip_marks: every skipif first, then skip.
    for (const m of item.marks) {
      if (m.name !== 'skipif') continue;
      const conditions = m.args.length ? m.args : [m.kwargs.condition];
      if (conditions.some((c) => (typeof c === 'function' ? c() : c))) throw new MarkerSkip(String(m.kwargs.reason ?? 'condition: true'), false);
    }
    const skip = item.marks.find((m) => m.name === 'skip');
    if (skip) throw new MarkerSkip(String(skip.kwargs.reason ?? skip.args[0] ?? 'unconditional skip'), true);
    const xfail = this.xfailMark(item);
    if (xfail && xfail.run === false) throw new MarkerXfailNotRun(xfail.reason);
  }

  private xfailMark(item: Item): { reason: string; strict: boolean; raises?: Function; run: boolean } | undefined {
    for (const m of item.marks) {
      if (m.name !== 'xfail') continue;
      const condition = m.args.length ? m.args[0] : (m.kwargs.condition ?? true);
      if (!(typeof condition === 'function' ? condition() : condition)) continue;
      return {
        reason: String(m.kwargs.reason ?? (typeof m.args[1] === 'string' ? m.args[1] : '')),
        strict: Boolean(m.kwargs.strict ?? this.settings.xfailStrict),
        raises: m.kwargs.raises as Function | undefined,
        run: m.kwargs.run !== false,
      };
    }
    return undefined;
  }

  private async phase(
    item: Item,
    phase: Phase,
    sections: Array<[string, string]>,
    deadline: Deadline | undefined,
    interruptible: boolean,
    body: () => Promise<void>,
  ): Promise<PhaseResult> {
    const start = Date.now();
    const t0 = performance.now();
    this.capture.begin(item.nodeid, phase);
    let error: unknown;
    let interrupted: Interrupted | undefined;
    try {
      await this.guard(body(), deadline, interruptible);
    } catch (e) {
      error = e;
      if (e instanceof Interrupted) interrupted = e;
    }
    const captured = this.capture.end();
    const duration = (performance.now() - t0) / 1000;
    if (captured.out) sections.push([`Captured stdout ${phase}`, captured.out]);
    if (captured.err) sections.push([`Captured stderr ${phase}`, captured.err]);
    if (captured.records.length) sections.push([`Captured log ${phase}`, captured.records.map((r) => this.settings.formatLogRecord(r)).join('\n')]);
    const report = this.buildReport(item, phase, error, start, duration, sections);
    return { report, interrupted };
  }

  /** Race the phase against the item's deadline and (except teardown, which must finish) against an interrupt. */
  private guard(work: Promise<void>, deadline: Deadline | undefined, interruptible: boolean): Promise<void> {
    if (interruptible && this.interruptedBy) return Promise.reject(this.interruptedBy);
    if (!interruptible && deadline === undefined) return work;
    // One short-lived promise per phase: a session-long "interrupt" promise raced against every phase would keep a
    // reaction alive per phase (50,000 of them after a 10,000-test run).
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (action: () => void) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        this.interruptListeners.delete(onInterrupt);
        action();
      };
      const onInterrupt = (reason: Interrupted) => settle(() => reject(reason));
      if (interruptible) this.interruptListeners.add(onInterrupt);
      if (deadline) timer = setTimeout(() => settle(() => reject(new TimeoutFailure(deadline.seconds))), Math.max(0, deadline.at - Date.now()));
      work.then(
        () => settle(resolve),
        (error: unknown) => settle(() => reject(error)),
      );
    });
  }


  private buildReport(item: Item, phase: Phase, error: unknown, start: number, duration: number, sections: Array<[string, string]>): TestReport {
    let outcome: Outcome = 'passed';
    let failure: FailureRepr | undefined;
    let skip: SkipRepr | undefined;
    let wasxfail: string | undefined;
    const xfail = phase === 'call' ? this.xfailMark(item) : undefined;
    const kind = outcomeKind(error);

    if (error instanceof MarkerSkip) {
      outcome = 'skipped';
      // pytest's _folded_skips: a skip mark the test inherits (class, module) is summarised without a line.
      const foldWithoutLine = error.bySkipMark && ownMarks(item.fn).length === 0;
      skip = { reason: error.reason, path: item.module.path, line: item.location.line + 1, ...(foldWithoutLine ? { foldWithoutLine } : {}) };
    } else if (error instanceof MarkerXfailNotRun) {
      outcome = 'skipped';
      wasxfail = `[NOTRUN] ${error.reason}`.trimEnd();
    } else if (kind === 'skip') {
      outcome = 'skipped';
      const site = callSite(error);
      skip = { reason: (error as OutcomeException).reason, path: site?.path ?? item.module.path, line: site?.line ?? item.location.line + 1 };
    } else if (kind === 'xfail') {
      outcome = 'skipped';
      wasxfail = (error as OutcomeException).reason;
    } else if (error !== undefined) {
      if (xfail && !(error instanceof Interrupted) && !(error instanceof TimeoutFailure) && (!xfail.raises || error instanceof (xfail.raises as new () => unknown))) {
        outcome = 'skipped';
        wasxfail = xfail.reason;
      } else {
        outcome = 'failed';
        if (error instanceof TimeoutFailure) {
          // The timer fired inside the runner: its stack says nothing about where the test was stuck.
          const message = `Failed: ${error.message}`;
          failure = { message, text: `E   ${message}\n(${phase} did not finish within the test's timeout: @mark.timeout, --timeout or the timeout ini option)` };
        } else {
          failure = formatFailure(error, { tb: this.settings.tb, rootdir: this.settings.rootdir, verbosity: this.settings.verbosity });
          if (kind === 'fail') failure = { ...failure, message: `Failed: ${(error as Error).message}` };
        }
      }
    } else if (xfail) {
      if (xfail.strict) {
        outcome = 'failed';
        const message = `[XPASS(strict)] ${xfail.reason}`;
        failure = { message, text: message };
      } else {
        wasxfail = xfail.reason;
      }
    }
    // Most phases capture nothing: skip the joins then (they ran 30,000 times on a 10,000-test run).
    const join = (prefix: string) =>
      sections.length === 0 ? '' : sections.filter(([name]) => name.startsWith(prefix)).map(([, text]) => text).join('');
    return {
      nodeid: item.nodeid,
      location: item.location,
      phase,
      outcome,
      duration,
      start,
      stop: start + duration * 1000,
      failure,
      skip,
      wasxfail,
      capturedOut: join('Captured stdout'),
      capturedErr: join('Captured stderr'),
      capturedLog: sections.length === 0 ? '' : sections.filter(([name]) => name.startsWith('Captured log')).map(([, t]) => t).join('\n'),
      sections: sections.length === 0 ? [] : [...sections],
      userProperties: this.state.userProperties.get(item.nodeid) ?? [],
      markers: item.marks.map((m) => m.name),
    };
  }
}

class MarkerSkip extends Error {
  constructor(
    readonly reason: string,
    /** A `skip` mark rather than `skipif`: pytest folds those without a line when the test has no marks of its own. */
    readonly bySkipMark: boolean,
  ) {
    super(reason);
  }
}

class MarkerXfailNotRun extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

const FRAME = /\(?((?:file:\/\/)?\/[^():]+):(\d+):\d+\)?$/;

/** The file and line of the innermost frame outside the runner: where skip() was called. */
export function callSite(error: unknown): { path: string; line: number } | undefined {
  const stack = (error as Error | undefined)?.stack;
  if (!stack) return undefined;
  for (const line of stack.split('\n').slice(1)) {
    const match = FRAME.exec(line.trim());
    if (!match) continue;
    const path = match[1]!.startsWith('file://') ? fileURLToPath(match[1]!) : match[1]!;
    if (path.startsWith(RUNNER_DIR + '/') || path.includes('/node_modules/')) continue;
    return { path, line: Number(match[2]) };
  }
  return undefined;
}
