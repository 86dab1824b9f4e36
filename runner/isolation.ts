// The parent side of process isolation. `forked` runs each test in a fresh child; `worker` runs each file in one.
// A child that dies (V8 heap exhaustion, SIGKILL, process.exit in the middle of a test) turns into a failed report
// for the test it was running; the rest of its batch continues in a fresh child, so the terminal summary, the exit
// code and the JUnit file stay complete. A test stuck in a synchronous loop is stopped by killing its child.

import { fork, type ChildProcess } from 'node:child_process';
import type { ReporterBus } from './bus.js';
import { PACKAGE_ROOT, WORKER_ENTRY } from './paths.js';
import type { Item } from './nodes.js';
import type { FailureRepr, ItemInfo, Phase, Reporter, TestReport } from './reports.js';
import type { ItemPlan } from './run.js';
import { Interrupted } from './run.js';
import { closestMarker } from './builtins.js';
import type { WorkerSettings } from './worker-protocol.js';

export type IsolationMode = 'forked' | 'worker';

export interface IsolationOptions {
  mode: IsolationMode;
  /** `--max-old-space-size` for each child, in MB (a small heap makes V8 heap exhaustion a contained crash). */
  maxOldSpaceSizeMB?: number;
  /** Seconds of grace after a test's timeout before its child is killed (the child reports async timeouts itself). */
  killGraceS?: number;
}

const REGISTER = `${PACKAGE_ROOT}/bin/register.js`;
const STDERR_TAIL = 16 * 1024;

interface Running {
  info: ItemInfo;
  phases: Set<Phase>;
  item: Item;
  /** Epoch ms when the worker reported the test's start: a crash report's duration runs from here. */
  startedAt: number;
}

export class IsolatedExecutor {
  failures = 0;
  stopReason: string | undefined;
  interruptedBy: Interrupted | undefined;
  readonly suiteProperties: Array<[string, string]> = [];
  private child: ChildProcess | undefined;

  constructor(
    private readonly settings: WorkerSettings,
    private readonly bus: ReporterBus,
    private readonly options: IsolationOptions,
  ) {}

  interrupt(reason: Interrupted): void {
    this.interruptedBy ??= reason;
    this.child?.send({ type: 'stop' });
  }

  async run(plans: readonly ItemPlan[]): Promise<void> {
    const batches = this.batches(plans.map((p) => p.item));
    for (const batch of batches) {
      let pending = batch;
      while (pending.length > 0 && !this.interruptedBy && !this.stopReason) {
        pending = await this.runInChild(pending);
      }
      if (this.interruptedBy || this.stopReason) break;
    }
  }

  private batches(items: Item[]): Item[][] {
    if (this.options.mode === 'forked') return items.map((i) => [i]);
    const out: Item[][] = [];
    for (const item of items) {
      const last = out[out.length - 1];
      if (last && last[0]!.module.nodeid === item.module.nodeid) last.push(item);
      else out.push([item]);
    }
    return out;
  }

  private timeoutFor(item: Item): number | undefined {
    const marker = closestMarker(item, 'timeout');
    const seconds = marker ? Number(marker.args[0] ?? marker.kwargs.timeout) : this.settings.run.timeout;
    return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
  }

  /** Runs the batch in one child; returns the items still to run if the child died part-way. */
  private runInChild(batch: Item[]): Promise<Item[]> {
    const execArgv = ['--import', REGISTER];
    if (this.options.maxOldSpaceSizeMB) execArgv.push(`--max-old-space-size=${this.options.maxOldSpaceSizeMB}`);
    const child = fork(WORKER_ENTRY, [], { execArgv, stdio: ['ignore', 'inherit', 'pipe', 'ipc'], serialization: 'advanced' });
    this.child = child;
    child.send({ type: 'init', settings: this.settings });
    let stderrTail = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL);
    });

    const byId = new Map(batch.map((i) => [i.nodeid, i]));
    const finished = new Set<string>();
    let running: Running | undefined;
    let killedForTimeout: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    // Events are applied strictly in order even though reporters may be async.
    let chain: Promise<void> = Promise.resolve();
    const enqueue = (fn: () => Promise<void>) => (chain = chain.then(fn));

    return new Promise<Item[]>((resolve) => {
      child.on('message', (message: { type: string; event?: keyof Reporter; payload?: unknown; suiteProperties?: Array<[string, string]> }) => {
        if (message.type === 'ready') {
          child.send({ type: 'run', nodeids: batch.map((i) => i.nodeid) });
        } else if (message.type === 'event' && message.event) {
          const { event, payload } = message;
          enqueue(async () => {
            if (event === 'testStart') {
              const info = payload as ItemInfo;
              running = { info, phases: new Set(), item: byId.get(info.nodeid)!, startedAt: Date.now() };
              const seconds = running.item ? this.timeoutFor(running.item) : undefined;
              if (seconds !== undefined) {
                const grace = this.options.killGraceS ?? 2;
                timer = setTimeout(() => {
                  killedForTimeout = seconds;
                  child.kill('SIGKILL');
                }, (seconds + grace) * 1000);
              }
            } else if (event === 'report') {
              const report = payload as TestReport;
              running?.phases.add(report.phase);
              if (report.outcome === 'failed') this.failures++;
            } else if (event === 'testFinish') {
              if (timer) clearTimeout(timer);
              finished.add((payload as ItemInfo).nodeid);
              running = undefined;
            }
            await this.bus.emit(event, payload as never);
          });
        } else if (message.type === 'done') {
          this.suiteProperties.push(...(message.suiteProperties ?? []));
          child.send({ type: 'exit' });
        } else if (message.type === 'fatal') {
          stderrTail += `\n${String(message.payload ?? '')}`;
        }
      });
      child.on('exit', (code, signal) => {
        if (timer) clearTimeout(timer);
        this.child = undefined;
        void enqueue(async () => {
          const remaining = batch.filter((i) => !finished.has(i.nodeid));
          if (remaining.length === 0 || (code === 0 && !running && finished.size === batch.length)) return resolve([]);
          const victim = running?.item ?? remaining[0]!;
          await this.reportCrash(victim, running, crashDescription(code, signal, stderrTail, killedForTimeout));
          if (this.settings.run.maxfail > 0 && this.failures >= this.settings.run.maxfail) {
            this.stopReason = `stopping after ${this.failures} failures`;
          }
          resolve(remaining.filter((i) => i !== victim));
        });
      });
    });
  }

  /** Complete the reports of a test whose child died: the phase it was in fails, the rest is filled in. */
  private async reportCrash(item: Item, running: Running | undefined, failure: FailureRepr): Promise<void> {
    const info: ItemInfo = running?.info ?? { nodeid: item.nodeid, location: item.location, markers: item.marks.map((m) => m.name) };
    if (!running) await this.bus.emit('testStart', info);
    const phases = running?.phases ?? new Set<Phase>();
    const now = Date.now();
    const started = running?.startedAt ?? now;
    const base = {
      nodeid: item.nodeid,
      location: item.location,
      duration: (now - started) / 1000,
      start: started,
      stop: now,
      capturedOut: '',
      capturedErr: '',
      capturedLog: '',
      sections: [] as Array<[string, string]>,
      userProperties: [] as Array<[string, unknown]>,
      markers: info.markers,
    };
    const failedPhase: Phase = !phases.has('setup') ? 'setup' : !phases.has('call') ? 'call' : 'teardown';
    await this.bus.emit('report', { ...base, phase: failedPhase, outcome: 'failed', failure });
    this.failures++;
    if (failedPhase !== 'teardown') await this.bus.emit('report', { ...base, duration: 0, start: now, phase: 'teardown', outcome: 'passed' });
    await this.bus.emit('testFinish', info);
  }
}

function crashDescription(code: number | null, signal: NodeJS.Signals | null, stderrTail: string, timeoutS: number | undefined): FailureRepr {
  if (timeoutS !== undefined) {
    const message = `Failed: Timeout (>${timeoutS.toFixed(1)}s)`;
    return { message, text: `${message}\nThe test did not return within its timeout; its worker process was killed (a synchronous loop cannot be interrupted otherwise).` };
  }
  const heap = /JavaScript heap out of memory|Reached heap limit|Allocation failed - JavaScript heap/.test(stderrTail);
  const how = signal ? signal : `exit code ${code}`;
  const message = heap ? `worker crashed: JavaScript heap out of memory (${how})` : `worker crashed: ${how}`;
  // V8's native stack after a fatal error says nothing about the test; keep the lines a person can act on.
  const tail = stderrTail
    .split('\n')
    .filter((line) => !/^\s*\d+: 0x[0-9a-f]+/.test(line) && !/Native stack trace/.test(line))
    .join('\n')
    .trim()
    .split('\n')
    .slice(-20)
    .join('\n');
  return { message, text: tail ? `${message}\n\nLast output of the worker on stderr:\n${tail}` : message };
}
