import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/clock.js';
import { RecoveryMetrics } from '../../src/recovery/metrics.js';
import { RecoveryNotifier } from '../../src/recovery/notifier.js';
import { createCpuDevice } from '../../src/device/index.js';
import { createRecordingLogger } from '../../src/log.js';

describe('RecoveryMetrics (the test-19 sequence)', () => {
  const clock = new FakeClock(1_700_000_000_000);
  const metrics = new RecoveryMetrics(clock);
  const outcomes: [string, boolean][] = [
    ['cache_clear', true], ['garbage_collect', true], ['cache_clear', false], ['cpu_fallback', true], ['cache_clear', true],
  ];
  const ratesAfterEach: number[] = [];
  const minimumAfterEach: boolean[] = [];
  for (const [strategy, success] of outcomes) {
    clock.advance(1000);
    metrics.record(strategy, success);
    ratesAfterEach.push(metrics.successRate);
    minimumAfterEach.push(metrics.meetsMinimum());
  }

  it('totals', () => {
    assert.equal(metrics.totalAttempts, 5);
    assert.equal(metrics.successes, 4);
    assert.equal(metrics.failures, 1);
    assert.equal(metrics.successRate, 0.8);
  });

  it('running rate', () => {
    assert.deepEqual(metrics.runningRates().map((r) => Number(r.toFixed(3))), [1, 1, 0.667, 0.75, 0.8]);
    assert.deepEqual(ratesAfterEach, metrics.runningRates());
  });

  it('per strategy', () => {
    const stats = metrics.byStrategy();
    assert.deepEqual(Object.keys(stats), ['cache_clear', 'garbage_collect', 'cpu_fallback']);
    assert.deepEqual({ ...stats.cache_clear, rate: Number(stats.cache_clear!.rate.toFixed(3)) }, { attempts: 3, successes: 2, rate: 0.667 });
    assert.deepEqual(stats.garbage_collect, { attempts: 1, successes: 1, rate: 1 });
    assert.deepEqual(stats.cpu_fallback, { attempts: 1, successes: 1, rate: 1 });
  });

  it('history in order with timestamps', () => {
    const history = metrics.history();
    assert.deepEqual(history.map((h) => [h.strategy, h.success]), outcomes);
    assert.deepEqual(history.map((h) => h.timestamp), [1, 2, 3, 4, 5].map((s) => 1_700_000_000 + s));
  });

  it('0.80 meets the minimum (> 0.75) but not the target (> 0.90); exactly 0.75 fails the minimum', () => {
    assert.equal(metrics.meetsMinimum(), true);
    assert.equal(metrics.meetsTarget(), false);
    assert.deepEqual(minimumAfterEach, [true, true, false, false, true]);
  });
});

describe('RecoveryMetrics edges', () => {
  const targetCases: [number, number, boolean, boolean][] = [
    // successes, attempts, meetsTarget, meetsMinimum
    [9, 10, false, true],
    [10, 11, true, true],
    [3, 4, false, false],
    [0, 0, false, false],
  ];
  for (const [successes, attempts, target, minimum] of targetCases) {
    it(`${successes}/${attempts}: target ${target}, minimum ${minimum}`, () => {
      const metrics = new RecoveryMetrics();
      for (let i = 0; i < attempts; i++) metrics.record('cache_clear', i < successes, i);
      assert.equal(metrics.meetsTarget(), target);
      assert.equal(metrics.meetsMinimum(), minimum);
    });
  }

  it('counts OOM events and nested ones apart from attempts', () => {
    const metrics = new RecoveryMetrics();
    metrics.recordOomEvent();
    metrics.recordOomEvent(true);
    metrics.recordOomEvent(true);
    assert.equal(metrics.oomEvents, 1);
    assert.equal(metrics.nestedOomEvents, 2);
    assert.equal(metrics.totalAttempts, 0);
    assert.equal(metrics.successRate, 0);
  });
});

describe('RecoveryNotifier', () => {
  it('stamps events with the time and the allocated MB, and delivers them to subscribers', () => {
    const device = createCpuDevice({ budgetMB: 10 });
    try {
      device.allocate(2_500_000);
      const notifier = new RecoveryNotifier({ device, clock: new FakeClock(1_700_000_000_500) });
      const seen: unknown[] = [];
      const unsubscribe = notifier.subscribe((event) => seen.push(event));
      notifier.notify('OOM', { message: 'CUDA out of memory' });
      notifier.notify('MEMORY_PRESSURE', { message: 'warning', level: 'warning', recoveryAttempted: true });
      unsubscribe();
      notifier.notify('RECOVERED', { message: 'ok' });
      assert.deepEqual(seen, [
        { type: 'OOM', timestamp: 1_700_000_000.5, gpuMemoryMb: 2.5, recoveryAttempted: false, message: 'CUDA out of memory' },
        { type: 'MEMORY_PRESSURE', timestamp: 1_700_000_000.5, gpuMemoryMb: 2.5, recoveryAttempted: true, message: 'warning', level: 'warning' },
      ]);
      assert.equal(notifier.count('OOM'), 1);
      assert.equal(notifier.count('RECOVERED'), 1);
      assert.equal(notifier.count('CPU_FALLBACK'), 0);
      assert.equal(notifier.history().length, 3);
    } finally {
      device.close();
    }
  });

  it('keeps delivering when a listener throws, and logs the failure', () => {
    const logger = createRecordingLogger();
    const notifier = new RecoveryNotifier({ logger });
    const seen: string[] = [];
    notifier.subscribe(() => {
      throw new Error('listener bug');
    });
    notifier.subscribe((event) => seen.push(event.type));
    notifier.notify('CPU_FALLBACK', { message: 'x' });
    assert.deepEqual(seen, ['CPU_FALLBACK']);
    assert.match(logger.messages('error')[0]!, /notification listener failed on CPU_FALLBACK\nError: listener bug/);
  });

  it('reports 0 MB without a device or when the device cannot be read, and bounds its history', () => {
    const device = createCpuDevice({ budgetMB: 1 });
    device.allocatedBytes = () => {
      throw new Error('gone');
    };
    const notifier = new RecoveryNotifier({ device, historySize: 2 });
    for (let i = 0; i < 3; i++) notifier.notify('OOM', { message: String(i) });
    assert.deepEqual(notifier.history().map((e) => [e.message, e.gpuMemoryMb]), [['1', 0], ['2', 0]]);
    assert.equal(notifier.count('OOM'), 3);
    assert.equal(new RecoveryNotifier().notify('OOM', { message: '' }).gpuMemoryMb, 0);
    assert.equal(notifier.unsubscribe(() => {}), false);
    device.close();
  });
});
