import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/clock.js';
import { DeviceOutOfMemoryError, type Device, type DeviceAllocation } from '../../src/device/index.js';
import { MemoryManager } from '../../src/memory-manager.js';
import { RecoveryLadder, type RecoveryLadderOptions, type LadderStatus } from '../../src/recovery/ladder.js';
import { RecoveryNotifier, type RecoveryNotification } from '../../src/recovery/notifier.js';
import { MB, pressureRig, quietLogger, TensorModel } from './memory-fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Calls `attempt` and returns the error it throws (the test expects one). */
function caught(attempt: () => unknown): unknown {
  try {
    attempt();
  } catch (error) {
    return error;
  }
  assert.fail('expected an error');
}

/** A 10 MB device with a MemoryManager, a notifier that records, and a ladder over them. */
function rig(options: Partial<RecoveryLadderOptions> = {}) {
  const { device, setBallast, close } = pressureRig(10);
  cleanups.push(close);
  const clock = new FakeClock();
  const notifier = new RecoveryNotifier({ device, clock });
  const events: RecoveryNotification[] = [];
  notifier.subscribe((event) => events.push(event));
  const exits: number[] = [];
  const manager = new MemoryManager({ device, logger: quietLogger(), clock, notifier, exitHook: (code) => void exits.push(code) });
  const ladder = new RecoveryLadder({ device, memoryManager: manager, clock, logger: quietLogger(), ...options });
  return { device, setBallast, manager, ladder, events, exits, clock };
}

/** The daemon-like world of test 12: ballast, a cached block, a device-side context buffer and a model. */
function degradationWorld(device: Device, manager: MemoryManager) {
  const ballast = device.allocate(4 * MB, 'ballast');
  const model = new TensorModel('stt', device, 3 * MB);
  manager.registerModel('stt', model);
  let context: DeviceAllocation = device.allocate(1 * MB, 'context');
  device.free(device.allocate(1 * MB, 'scratch')); // cached: reserved 9 MB, allocated 8 MB
  const reduceContext = () => {
    device.free(context);
    context = device.allocate(0.5 * MB, 'context'); // halves the buffer: frees too little on its own
  };
  return { ballast, model, reduceContext };
}

describe('the ladder climbs in order and stops at the first step that checks out', () => {
  it('cache clear, GC and buffer reduction free too little; CPU fallback frees enough (test 12)', async () => {
    const { device, manager, ladder, events, exits } = rig();
    const world = degradationWorld(device, manager);
    const ladderWithBuffer = new RecoveryLadder({ device, memoryManager: manager, logger: quietLogger(), actions: { reduce_buffer: world.reduceContext } });
    const error = caught(() => device.allocate(3 * MB, 'segment'));
    assert.ok(error instanceof DeviceOutOfMemoryError);
    const outcome = await ladderWithBuffer.recover(error);
    assert.deepEqual(outcome.steps.map((s) => [s.strategy, s.success]), [
      ['cache_clear', false], ['garbage_collect', false], ['reduce_buffer', false], ['cpu_fallback', true],
    ]);
    assert.equal(outcome.recovered, true);
    assert.equal(outcome.recoveredBy, 'cpu_fallback');
    assert.equal(outcome.shutdown, false);
    assert.equal(world.model.device, 'cpu');
    assert.deepEqual(exits, []);
    assert.equal(device.probe(3 * MB).ok, true, 'work can continue');
    assert.equal(outcome.keepGpu, true, 'usage 0.45 after recovery: handleCudaError forgives the OOM');
    assert.equal(manager.cudaErrorCount, 0);
    const metrics = ladderWithBuffer.metrics;
    assert.equal(metrics.totalAttempts, 4);
    assert.equal(metrics.successes, 1);
    assert.equal(metrics.oomEvents, 1);
    assert.deepEqual(events.map((e) => e.type), ['OOM', 'CPU_FALLBACK', 'RECOVERED'], "the manager's notifier is the ladder's by default");
    assert.equal(ladder.getStatus().eventsHandled, 0, 'the unused ladder saw nothing');
  });

  it('notifies OOM at detection (not yet attempted), then CPU_FALLBACK once, then RECOVERED', async () => {
    const { device, manager } = rig();
    const world = degradationWorld(device, manager);
    const notifier = manager.notifier!;
    const seen: RecoveryNotification[] = [];
    notifier.subscribe((event) => seen.push(event));
    const ladder = new RecoveryLadder({ device, memoryManager: manager, logger: quietLogger(), actions: { reduce_buffer: world.reduceContext } });
    const error = caught(() => device.allocate(3 * MB));
    await ladder.recover(error);
    assert.deepEqual(seen.map((e) => [e.type, e.recoveryAttempted]), [['OOM', false], ['CPU_FALLBACK', true], ['RECOVERED', true]]);
    assert.equal(seen[0]!.gpuMemoryMb, 8, 'allocated MB at the moment of the OOM');
    assert.match(seen[0]!.message, /out of memory\. Tried to allocate 2\.86 MiB/);
  });

  it('an injected OOM is cured by the first step (success at step 1)', async () => {
    const { device, ladder, manager } = rig();
    device.faults.failNextAllocations(1);
    const error = caught(() => device.allocate(2 * MB));
    const outcome = await ladder.recover(error);
    assert.deepEqual(outcome.steps.map((s) => s.strategy), ['cache_clear']);
    assert.equal(outcome.recoveredBy, 'cache_clear');
    assert.equal(manager.counters.emptyCacheCalls, 1);
    assert.equal(device.counters().ipcCollectCalls, 1);
  });

  it('runs all five steps and ends in emergency_shutdown when nothing helps', async () => {
    const { device, manager, exits, events, setBallast } = rig();
    setBallast(0.99);
    let shutdownCallbacks = 0;
    manager.setCallback('emergency_shutdown', () => void shutdownCallbacks++);
    const ladder = new RecoveryLadder({ device, memoryManager: manager, logger: quietLogger() });
    const outcome = await ladder.recover(caught(() => device.allocate(1 * MB)));
    assert.deepEqual(outcome.steps.map((s) => s.strategy), ['cache_clear', 'garbage_collect', 'reduce_buffer', 'cpu_fallback', 'emergency_shutdown']);
    assert.equal(outcome.shutdown, true);
    assert.equal(outcome.recovered, false);
    assert.deepEqual(exits, [1]);
    assert.equal(shutdownCallbacks, 1);
    assert.equal(events.filter((e) => e.type === 'EMERGENCY_SHUTDOWN').length, 1, 'announced once, by the manager');
    assert.equal(events.filter((e) => e.type === 'CPU_FALLBACK').length, 1, 'announced by the ladder: no model to move');
    assert.equal(ladder.metrics.byStrategy().emergency_shutdown!.successes, 1);
  });

  it('honours maxSteps', async () => {
    const { device, setBallast } = rig();
    setBallast(0.99);
    const ladder = new RecoveryLadder({ device, logger: quietLogger(), maxSteps: 2 });
    const outcome = await ladder.recover(caught(() => device.allocate(1 * MB)));
    assert.equal(outcome.steps.length, 2);
  });
});

describe('probes', () => {
  it('probes with the failed request size by default', async () => {
    const sizes: number[] = [];
    const { device } = rig();
    const ladder = new RecoveryLadder({ device, logger: quietLogger(), probe: (bytes) => (sizes.push(bytes), { ok: true }) });
    await ladder.recover(new DeviceOutOfMemoryError({ requestedBytes: 2 * MB, totalBytes: 10 * MB, freeBytes: 0, allocatedBytes: 0, reservedBytes: 0 }, 'x'));
    await ladder.recover(new Error('CUDA out of memory'), { requestedBytes: 3 * MB });
    await ladder.recover(new Error('CUDA out of memory')); // size unknown
    await ladder.recover(caught(() => device.allocate(4e12))); // could never fit: probe that the device still works
    assert.deepEqual(sizes, [2 * MB, 3 * MB, 1 * MB, 1 * MB]);
  });

  it('uses a fixed probe size when configured', async () => {
    const sizes: number[] = [];
    const { device } = rig();
    const ladder = new RecoveryLadder({ device, logger: quietLogger(), probeBytes: 123, probe: (bytes) => (sizes.push(bytes), { ok: true }) });
    await ladder.recover(new Error('out of memory'), { requestedBytes: 5 * MB });
    assert.deepEqual(sizes, [123]);
  });

  it('an impossible allocation (10^12 float32) is detected, recovered at step 1 and the device still works', async () => {
    const { device, ladder } = rig();
    const outcome = await ladder.recover(caught(() => device.allocate(4e12)));
    assert.equal(outcome.recoveredBy, 'cache_clear');
    assert.equal(device.probe(1 * MB).ok, true);
  });
});

describe('re-entrancy guard', () => {
  it('an OOM raised by a step is nested; after 2 the ladder goes straight to cpu_fallback (test 18)', async () => {
    const { device, manager } = rig();
    const model = new TensorModel('stt', device, 2 * MB);
    manager.registerModel('stt', model);
    const oom = () => {
      throw new Error('CUDA out of memory. Tried to allocate 2.00 MiB');
    };
    let reduceRan = false;
    const statuses: LadderStatus[] = [];
    const ladder: RecoveryLadder = new RecoveryLadder({
      device, memoryManager: manager, logger: quietLogger(),
      actions: { cache_clear: () => (statuses.push(ladder.getStatus()), oom()), garbage_collect: oom, reduce_buffer: () => void (reduceRan = true) },
    });
    const started = performance.now();
    const outcome = await ladder.recover(new Error('CUDA out of memory'), { requestedBytes: 1 * MB });
    assert.deepEqual(outcome.steps.map((s) => [s.strategy, s.nestedOom]), [['cache_clear', true], ['garbage_collect', true], ['cpu_fallback', false]]);
    assert.equal(outcome.nestedOoms, 2);
    assert.equal(outcome.recoveredBy, 'cpu_fallback');
    assert.equal(reduceRan, false);
    assert.equal(model.device, 'cpu');
    assert.ok(outcome.steps.length <= 3);
    assert.equal(ladder.metrics.nestedOomEvents, 2);
    assert.equal(statuses[0]!.active, true);
    assert.equal(statuses[0]!.currentStep, 'cache_clear');
    assert.ok(performance.now() - started < 1000);
    assert.equal(ladder.getStatus().active, false);
    assert.equal(ladder.getStatus().lastOutcome, outcome);
  });

  it('a recover() call while a ladder runs is absorbed: no second ladder starts', async () => {
    const { device } = rig();
    const inner: unknown[] = [];
    let ladder!: RecoveryLadder;
    ladder = new RecoveryLadder({
      device, logger: quietLogger(),
      actions: {
        cache_clear: async () => {
          inner.push(await ladder.recover(new Error('CUDA out of memory (work item during recovery)')));
        },
      },
      probe: () => ({ ok: true }),
    });
    const outcome = await ladder.recover(new Error('CUDA out of memory'));
    assert.equal(inner.length, 1);
    assert.equal((inner[0] as { nested: boolean }).nested, true);
    assert.equal((inner[0] as { steps: unknown[] }).steps.length, 0);
    assert.equal(outcome.nestedOoms, 1);
    assert.equal(outcome.recoveredBy, 'cache_clear');
    assert.equal(ladder.getStatus().eventsHandled, 1, 'only one ladder ran');
  });

  it('gives up after 3 nested OOMs: never more than 3 attempts, no emergency shutdown, no recursion', async () => {
    const { device, manager, exits } = rig();
    const alwaysOom = () => {
      throw new RangeError('Array buffer allocation failed');
    };
    const ladder = new RecoveryLadder({
      device, memoryManager: manager, logger: quietLogger(),
      actions: { cache_clear: alwaysOom, garbage_collect: alwaysOom, reduce_buffer: alwaysOom, cpu_fallback: alwaysOom, emergency_shutdown: alwaysOom },
    });
    const outcome = await ladder.recover(new Error('out of memory'));
    assert.equal(outcome.gaveUp, true);
    assert.equal(outcome.nestedOoms, 3);
    assert.deepEqual(outcome.steps.map((s) => s.strategy), ['cache_clear', 'garbage_collect', 'cpu_fallback']);
    assert.deepEqual(exits, []);
  });

  it('a custom probe that throws an OOM counts as nested; one that returns not-ok does not', async () => {
    const { device } = rig();
    let calls = 0;
    const ladder = new RecoveryLadder({
      device, logger: quietLogger(), maxSteps: 3,
      probe: () => {
        calls++;
        if (calls === 1) throw new Error('CUDA out of memory in probe');
        return { ok: false, error: new Error('still full') };
      },
    });
    const outcome = await ladder.recover(new Error('CUDA out of memory'));
    assert.equal(outcome.nestedOoms, 1);
    assert.deepEqual(outcome.steps.map((s) => [s.strategy, s.nestedOom, s.error]), [
      ['cache_clear', true, 'CUDA out of memory in probe'], ['garbage_collect', false, 'still full'], ['reduce_buffer', false, 'still full'],
    ]);
  });

  it('a step that fails with another error is logged, counted as a failed step, and the ladder moves on', async () => {
    const { device } = rig();
    const logger = quietLogger();
    const ladder = new RecoveryLadder({ device, logger, actions: { cache_clear: () => { throw new Error('driver hiccup'); } } });
    const outcome = await ladder.recover(caught(() => { device.faults.failNextAllocations(1); device.allocate(1); }));
    assert.deepEqual(outcome.steps.map((s) => [s.strategy, s.success]), [['cache_clear', false], ['garbage_collect', true]]);
    assert.equal(outcome.nestedOoms, 0);
    assert.ok(logger.messages('error').some((m) => m.startsWith('Recovery: the cache_clear step failed: driver hiccup')));
  });
});

describe('relation to the MemoryManager (SPEC A.5.3)', () => {
  it('ladder events go through handleCudaError: the third unrecoverable OOM forces cpu_fallback', async () => {
    const { device, manager, setBallast } = rig();
    const model = new TensorModel('stt', device, 0.5 * MB);
    manager.registerModel('stt', model);
    setBallast(0.85); // usage stays >= 0.80 whatever the ladder does
    const ladder = new RecoveryLadder({ device, memoryManager: manager, logger: quietLogger() });
    const results = [];
    for (let i = 0; i < 3; i++) {
      device.faults.failNextAllocations(1);
      const outcome = await ladder.recover(caught(() => device.allocate(0.1 * MB)));
      results.push([outcome.keepGpu, manager.cudaErrorCount, outcome.steps.map((s) => s.strategy).join(','), model.device]);
    }
    assert.deepEqual(results, [
      [true, 1, 'cache_clear', 'cuda'],
      [true, 2, 'cache_clear', 'cuda'],
      [false, 3, 'cache_clear,cpu_fallback', 'cpu'],
    ]);
  });

  it('counts 5 consecutive OOM events (test 17)', async () => {
    const { device, ladder } = rig();
    for (let i = 0; i < 5; i++) {
      device.faults.failNextAllocations(1);
      await ladder.recover(caught(() => device.allocate(1 * MB)));
    }
    assert.equal(ladder.metrics.oomEvents, 5);
    assert.equal(ladder.getStatus().eventsHandled, 5);
  });

  it('a non-OOM error runs no ladder but is still counted by the manager', async () => {
    const { ladder, manager, events } = rig();
    const outcome = await ladder.recover(new Error('CUDA error: unspecified launch failure'));
    assert.deepEqual(outcome.steps, []);
    assert.equal(outcome.recovered, false);
    assert.equal(manager.cudaErrorCount, 1);
    assert.equal(ladder.metrics.oomEvents, 0);
    assert.deepEqual(events, []);
  });
});

describe('defaults without a MemoryManager', () => {
  it('cache_clear and garbage_collect use the device; emergency_shutdown calls the exit hook', async () => {
    const { device, setBallast } = rig();
    setBallast(0.99);
    const gcCalls: number[] = [];
    const exits: number[] = [];
    const notifier = new RecoveryNotifier({ device });
    const ladder = new RecoveryLadder({ device, notifier, logger: quietLogger(), gcHook: () => void gcCalls.push(1), exitHook: (code) => void exits.push(code) });
    const before = device.counters().emptyCacheCalls;
    const outcome = await ladder.recover(caught(() => device.allocate(1 * MB)));
    assert.equal(outcome.shutdown, true);
    assert.deepEqual(exits, [1]);
    assert.equal(gcCalls.length, 1);
    assert.equal(device.counters().emptyCacheCalls - before, 2);
    assert.equal(outcome.keepGpu, undefined);
    assert.deepEqual(notifier.history().map((e) => e.type), ['OOM', 'CPU_FALLBACK', 'EMERGENCY_SHUTDOWN']);
  });
});
