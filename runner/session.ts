// One test session in one process: collection, the fixture graph check and the run loop, wired to a reporter bus.
// The CLI drives it in-process; a worker process (isolation) drives the same object for its share of the items.

import { builtinDefs, builtinValues, SessionState, type RequestConfig } from './builtins.js';
import type { ReporterBus } from './bus.js';
import { Capture, type CaptureMode } from './capture.js';
import { Collector, type CollectOptions, type CollectResult } from './collect.js';
import { FixtureManager, type FixtureProblem } from './fixtures.js';
import type { CollectionFilter } from './last-failed.js';
import type { Item } from './nodes.js';
import type { LogRecordInfo } from './reports.js';
import { RunLoop, type ItemPlan, type RunSettings } from './run.js';

export interface SessionSettings {
  collect: CollectOptions;
  run: RunSettings;
  capture: CaptureMode;
  /** Called with each log record while capturing (live logging decides what to show). */
  onLogRecord?: (record: LogRecordInfo) => void;
  requestConfig: RequestConfig;
}

export class Session {
  readonly capture: Capture;
  readonly collector: Collector;
  readonly fixtures: FixtureManager;
  readonly state: SessionState;
  readonly loop: RunLoop;

  constructor(
    readonly settings: SessionSettings,
    readonly bus: ReporterBus,
  ) {
    this.capture = new Capture(settings.capture, { onRecord: settings.onLogRecord });
    this.collector = new Collector(settings.collect);
    this.fixtures = new FixtureManager(builtinDefs());
    this.state = new SessionState(settings.requestConfig);
    this.loop = new RunLoop(this.fixtures, bus, this.capture, this.state, settings.run, builtinValues(this.state));
  }

  collect(filter?: CollectionFilter): Promise<CollectResult> {
    return this.collector.collect(filter);
  }

  /** The fixture plan of every item, and every problem in the graph (missing fixtures, cycles, scope mismatches). */
  plan(items: readonly Item[]): { plans: ItemPlan[]; problems: FixtureProblem[] } {
    const plans: ItemPlan[] = [];
    const problems: FixtureProblem[] = [];
    const seen = new Set<string>();
    for (const item of items) {
      const { order, problems: found } = this.fixtures.plan(item);
      plans.push({ item, fixtures: order });
      for (const p of found) {
        // The same broken fixture shows up under every test that uses it; report each problem once.
        const key = `${p.location}\0${p.message}`;
        if (!seen.has(key)) {
          seen.add(key);
          problems.push(p);
        }
      }
    }
    return { plans, problems };
  }

  async run(plans: readonly ItemPlan[]): Promise<void> {
    this.capture.install();
    try {
      await this.loop.run(plans);
    } finally {
      this.capture.uninstall();
    }
  }
}
