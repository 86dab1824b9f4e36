import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../src/clock.js';
import { createCpuDevice, TensorDevice, type Device } from '../../src/device/index.js';
import {
  classifyUsage,
  CONSERVATIVE_4GB,
  DEFAULT_THRESHOLDS,
  MemoryManager,
  ORIGINAL_PRESET,
  type MemoryManagerOptions,
  type MemoryStatus,
  type PressureLevel,
} from '../../src/memory-manager.js';
import { RecoveryNotifier } from '../../src/recovery/notifier.js';
import { deferred, MB, pressureRig, quietLogger, TensorModel } from './memory-fixtures.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A manager on a fresh 10 MB rig, with a recording logger, a fake clock and an exit hook that only records. */
function setup(options: Partial<MemoryManagerOptions> = {}, budgetMB = 10) {
  const rig = pressureRig(budgetMB);
  const logger = quietLogger();
  const clock = new FakeClock();
  const exits: number[] = [];
  const manager = new MemoryManager({ device: rig.device, logger, clock, exitHook: (code) => void exits.push(code), ...options });
  cleanups.push(rig.close, () => manager.stop());
  return { ...rig, manager, logger, clock, exits };
}

describe('classification', () => {
  const defaultCases: [number, PressureLevel][] = [
    [0, 'normal'], [0.7499, 'normal'], [0.75, 'warning'], [0.8499, 'warning'], [0.85, 'critical'],
    [0.9499, 'critical'], [0.95, 'emergency'], [0.98, 'emergency'], [1, 'emergency'],
  ];
  for (const [usage, level] of defaultCases) {
    it(`defaults: ${usage} is ${level}`, () => assert.equal(classifyUsage(usage, DEFAULT_THRESHOLDS), level));
  }
  const originalCases: [number, PressureLevel][] = [[0.7999, 'normal'], [0.8, 'warning'], [0.85, 'warning'], [0.8999, 'warning'], [0.9, 'critical'], [0.95, 'emergency']];
  for (const [usage, level] of originalCases) {
    it(`ORIGINAL_PRESET: ${usage} is ${level}`, () => assert.equal(classifyUsage(usage, { ...DEFAULT_THRESHOLDS, ...ORIGINAL_PRESET }), level));
  }
  const conservativeCases: [number, PressureLevel][] = [[0.6999, 'normal'], [0.7, 'warning'], [0.8, 'critical'], [0.85, 'emergency']];
  for (const [usage, level] of conservativeCases) {
    it(`CONSERVATIVE_4GB: ${usage} is ${level}`, () => assert.equal(classifyUsage(usage, { ...DEFAULT_THRESHOLDS, ...CONSERVATIVE_4GB }), level));
  }

  const realCases: [number, PressureLevel, boolean][] = [
    [0.7499, 'normal', false], [0.75, 'warning', false], [0.8499, 'warning', false], [0.85, 'critical', true],
    [0.9499, 'critical', true], [0.95, 'emergency', true],
  ];
  for (const [fraction, level, critical] of realCases) {
    it(`a real allocation of ${fraction} of the device reads as ${level}`, () => {
      const { manager, setBallast } = setup();
      setBallast(fraction);
      const status = manager.getMemoryStatus()!;
      assert.equal(status.usage, fraction);
      assert.equal(status.level, level);
      assert.equal(status.isCritical, critical);
    });
  }

  it('uses the preset thresholds when given', () => {
    const { manager, setBallast } = setup({ ...ORIGINAL_PRESET });
    setBallast(0.85);
    assert.equal(manager.getMemoryStatus()!.level, 'warning');
    assert.equal(manager.thresholds.warningThreshold, 0.8);
  });
});

describe('snapshots', () => {
  it('reports MB figures from the device (the original unit test, scaled to 8 MB)', () => {
    const { manager, device, setBallast } = setup({}, 8);
    device.free(device.allocate(0.2 * MB)); // a cached block: reserved 6.2 MB, allocated 6 MB
    setBallast(0.75);
    device.free(device.allocate(0.2 * MB));
    const status = manager.getMemoryStatus()!;
    assert.equal(status.totalMb, 8);
    assert.equal(status.allocatedMb, 6);
    assert.equal(status.reservedMb, 6.2);
    assert.equal(status.freeMb, 2);
    assert.equal(status.usage, 0.75);
    assert.equal(status.level, 'warning', 'Decision 1: 0.75 is WARNING under the defaults');
    assert.equal(status.usageSource, 'allocator');
    assert.equal(status.deviceUsedMb, null);
    assert.equal(status.timestamp, 1_700_000_000);
    assert.equal(manager.currentStatus, status);
  });

  it('returns null without a GPU and keeps monitoring off', () => {
    const logger = quietLogger();
    const manager = new MemoryManager({ device: null, logger });
    assert.equal(manager.getMemoryStatus(), null);
    manager.start();
    assert.equal(manager.isRunning, false);
    assert.ok(logger.messages('info').some((m) => m.includes('memory monitoring disabled')));
    assert.equal(manager.registerModel('stt', { name: 'stt', device: 'cuda', toCpu() {}, toGpu() {} }), false);
  });

  it('treats a closed device as no GPU', () => {
    const device = createCpuDevice({ budgetMB: 4 });
    device.close();
    const manager = new MemoryManager({ device, logger: quietLogger() });
    assert.equal(manager.hasGpu, false);
    assert.equal(manager.getMemoryStatus(), null);
  });

  it('logs and returns null when the device throws while being read', () => {
    const device = createCpuDevice({ budgetMB: 4 });
    cleanups.push(() => device.close());
    device.allocatedBytes = () => {
      throw new Error('driver went away');
    };
    const logger = quietLogger();
    const manager = new MemoryManager({ device, logger });
    assert.equal(manager.getMemoryStatus(), null);
    assert.match(logger.messages('error')[0]!, /Failed to read memory status: driver went away/);
  });

  it('classifies by driver-level usage when the device reports it (SPEC E lesson 3)', async () => {
    let driverUsed = 8.7 * MB;
    const device = new TensorDevice({ kind: 'cuda', name: 'fake GPU', budgetBytes: 10 * MB, driverStats: async () => driverUsed, initialDeviceUsedBytes: 4.4 * MB });
    cleanups.push(() => device.close());
    const manager = new MemoryManager({ device, logger: quietLogger() });
    assert.equal(manager.getMemoryStatus()!.usage, 0.44);
    const status = (await manager.refreshMemoryStatus())!;
    assert.equal(status.usageSource, 'driver');
    assert.equal(status.usage, 0.87);
    assert.equal(status.level, 'critical');
    assert.equal(status.allocatedMb, 0, 'the allocator alone would have said NORMAL');
    assert.ok(Math.abs(status.freeMb - 1.3) < 1e-9);
    driverUsed = 1 * MB;
    const allocatorOnly = new MemoryManager({ device, logger: quietLogger(), usageSource: 'allocator' });
    assert.equal((await allocatorOnly.refreshMemoryStatus())!.usageSource, 'allocator');
  });

  it("keeps the last driver reading when a refresh fails, and refuses usageSource 'driver' without driver figures", async () => {
    const device = new TensorDevice({ kind: 'cuda', name: 'flaky GPU', budgetBytes: 10 * MB, driverStats: async () => { throw new Error('nvidia-smi failed: timed out'); }, initialDeviceUsedBytes: 5 * MB });
    cleanups.push(() => device.close());
    const logger = quietLogger();
    const manager = new MemoryManager({ device, logger });
    assert.equal((await manager.refreshMemoryStatus())!.usage, 0.5);
    assert.match(logger.messages('warning')[0]!, /Driver memory reading failed, using the last one: nvidia-smi failed: timed out/);
    const { device: cpu } = setup();
    const strict = new MemoryManager({ device: cpu, logger, usageSource: 'driver' });
    assert.equal(strict.getMemoryStatus(), null);
    assert.match(logger.messages('error').at(-1)!, /usageSource 'driver' needs driver-level figures/);
  });
});

describe('level changes', () => {
  it('WARNING: banner, then 1 GC + 1 emptyCache, then the callback with the snapshot from before the cleanup', async () => {
    const events: string[] = [];
    let seen: MemoryStatus | undefined;
    const { manager, device, setBallast, logger } = setup({
      gcHook: () => events.push('gc'),
      callbacks: {
        warning: (status) => {
          events.push('callback');
          seen = status;
        },
      },
    });
    setBallast(0.7);
    device.free(device.allocate(0.6 * MB)); // 0.6 MB cached: reserved 7.6 MB
    setBallastKeepCache(device, 0.1);
    await manager.checkOnce();
    assert.deepEqual(events, ['gc', 'callback']);
    assert.equal(manager.counters.gcCalls, 1);
    assert.equal(manager.counters.emptyCacheCalls, 1);
    assert.equal(seen!.level, 'warning');
    assert.equal(seen!.reservedMb, 8.6, 'the callback sees reserved bytes from before emptyCache');
    assert.equal(device.reservedBytes(), 8 * MB);
    assert.ok(logger.messages('warning').some((m) => /Memory pressure NORMAL -> WARNING \(rising, 80\.0%\)/.test(m)));
    assert.equal(manager.lastPressureLevel, 'warning');
  });

  it('CRITICAL: 3 GC passes, 3 emptyCache calls and a peak reset', async () => {
    const { manager, device, setBallast } = setup();
    setBallast(0.9);
    await manager.checkOnce();
    assert.equal(manager.counters.gcCalls, 3);
    assert.equal(manager.counters.emptyCacheCalls, 3);
    assert.equal(manager.counters.peakResets, 1);
    assert.equal(device.counters().peakResets, 1);
  });

  it('runs the callback of each level it enters, once per change, and repeats actions on the way down', async () => {
    const calls: string[] = [];
    const callbacks = Object.fromEntries(['normal', 'warning', 'critical', 'emergency'].map((level) => [level, () => void calls.push(level)]));
    const { manager, setBallast } = setup({ callbacks });
    for (const fraction of [0.5, 0.8, 0.8, 0.9, 0.96, 0.9, 0.8, 0.5]) {
      setBallast(fraction);
      await manager.checkOnce();
    }
    assert.deepEqual(calls, ['warning', 'critical', 'emergency', 'critical', 'warning', 'normal']);
    assert.equal(manager.counters.levelChanges, 6);
  });

  it('EMERGENCY at exactly 0.95: critical cleanup, models offloaded, emergency callback once, no shutdown', async () => {
    const emergencies: MemoryStatus[] = [];
    let shutdowns = 0;
    const { manager, device, setBallast, exits } = setup({
      callbacks: { emergency: (s) => void emergencies.push(s), emergency_shutdown: () => void shutdowns++ },
    });
    const stt = new TensorModel('stt', device, 3 * MB);
    manager.registerModel('stt', stt);
    setBallast(0.65); // 6.5 + 3 = 9.5 MB = 0.95
    await manager.checkOnce();
    assert.equal(emergencies.length, 1);
    assert.equal(emergencies[0]!.usage, 0.95);
    assert.equal(stt.device, 'cpu');
    assert.deepEqual(manager.offloadedModelNames(), ['stt']);
    assert.deepEqual(manager.gpuModelNames(), []);
    assert.equal(manager.counters.gcCalls, 3 + 1);
    assert.equal(manager.counters.peakResets, 1);
    assert.equal(shutdowns, 0);
    assert.deepEqual(exits, []);
  });

  it('0.9499 does not trigger the emergency handling', async () => {
    let emergencies = 0;
    const { manager, setBallast } = setup({ callbacks: { emergency: () => void emergencies++ } });
    setBallast(0.9499);
    await manager.checkOnce();
    assert.equal(emergencies, 0);
    assert.equal(manager.lastPressureLevel, 'critical');
  });

  const shutdownCases: [number, boolean][] = [[0.98, false], [0.9801, true]];
  for (const [fraction, shutsDown] of shutdownCases) {
    it(`usage ${fraction} after offloading ${shutsDown ? 'shuts down' : 'does not shut down'} (strictly above 0.98)`, async () => {
      const order: string[] = [];
      const { manager, setBallast, exits } = setup({
        callbacks: { emergency: () => void order.push('emergency'), emergency_shutdown: () => void order.push('shutdown') },
        exitHook: (code) => void order.push(`exit(${code})`),
      });
      setBallast(fraction);
      await manager.checkOnce();
      assert.deepEqual(order, shutsDown ? ['shutdown', 'exit(1)'] : ['emergency']);
      assert.equal(manager.shutdownTriggered, shutsDown);
      assert.deepEqual(exits, []);
    });
  }

  it('shutdown awaits an async emergency_shutdown callback, so its files exist before exitHook runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mm-shutdown-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const saved = join(dir, 'state.json');
    let presentAtExit: boolean | undefined;
    const { manager, device, setBallast } = setup({
      callbacks: {
        emergency_shutdown: async () => {
          await new Promise((r) => setTimeout(r, 20));
          await writeFile(saved, '{"chunkIndex":5}');
        },
      },
      exitHook: () => {
        presentAtExit = existsSync(saved);
      },
    });
    const stuck = new TensorModel('vad', device, 1 * MB);
    stuck.failToCpu = new Error('cannot move');
    manager.registerModel('vad', stuck);
    setBallast(0.89); // 8.9 + 1 = 0.99, and the model cannot be offloaded
    await manager.checkOnce();
    assert.equal(presentAtExit, true);
    assert.equal(readFileSync(saved, 'utf8'), '{"chunkIndex":5}');
    assert.deepEqual(manager.gpuModelNames(), [], 'the model maps are cleared by the shutdown');
    assert.equal(manager.counters.shutdowns, 1);
  });

  it('after a shutdown the monitor stops and further checks do nothing', async () => {
    const { manager, setBallast, exits, clock } = setup();
    setBallast(0.99);
    manager.start();
    await clock.advanceAsync(0);
    await manager.stop();
    assert.deepEqual(exits, [1]);
    assert.equal(manager.isRunning, false);
    assert.equal(clock.pendingTimers(), 0);
    const checks = manager.counters.checks;
    await manager.checkOnce();
    assert.equal(manager.counters.checks, checks);
    manager.start();
    assert.equal(manager.isRunning, false);
    await manager.emergencyShutdown();
    assert.deepEqual(exits, [1], 'shutdown runs once');
  });

  it('a failing emergency_shutdown callback is logged and the exit still happens', async () => {
    const { manager, setBallast, exits, logger } = setup({ callbacks: { emergency_shutdown: () => { throw new Error('disk full'); } } });
    setBallast(0.99);
    await manager.checkOnce();
    assert.deepEqual(exits, [1]);
    assert.ok(logger.messages('error').some((m) => m.includes("The 'emergency_shutdown' callback failed: disk full")));
  });

  it('a failing level callback is logged and the level is still recorded', async () => {
    const { manager, setBallast, logger } = setup({ callbacks: { warning: async () => { throw new Error('callback bug'); } } });
    setBallast(0.8);
    await manager.checkOnce();
    assert.equal(manager.lastPressureLevel, 'warning');
    assert.ok(logger.messages('error').some((m) => m.includes("The 'warning' callback failed: callback bug")));
  });

  it('callbacks can be set after construction', async () => {
    const { manager, setBallast } = setup();
    let called = 0;
    manager.setCallback('critical', () => void called++);
    setBallast(0.9);
    await manager.checkOnce();
    assert.equal(called, 1);
  });

  it('sends MEMORY_PRESSURE notifications with the level', async () => {
    const rig = pressureRig();
    cleanups.push(rig.close);
    const notifier = new RecoveryNotifier({ device: rig.device, clock: new FakeClock() });
    const manager = new MemoryManager({ device: rig.device, logger: quietLogger(), notifier, exitHook: () => {} });
    rig.setBallast(0.9);
    await manager.checkOnce();
    const [event] = notifier.history();
    assert.equal(event!.type, 'MEMORY_PRESSURE');
    assert.equal(event!.level, 'critical');
    assert.equal(event!.gpuMemoryMb, 9);
  });

  it('hysteresis: leaving a level needs usage below its bound by the dead band (default 0: none)', async () => {
    const sticky = setup({ hysteresis: 0.05 });
    const plain = setup();
    const seen: [PressureLevel, PressureLevel][] = [];
    for (const fraction of [0.76, 0.72, 0.7001, 0.69, 0.86, 0.81, 0.79]) {
      sticky.setBallast(fraction);
      plain.setBallast(fraction);
      seen.push([(await sticky.manager.checkOnce())!.level, (await plain.manager.checkOnce())!.level]);
    }
    assert.deepEqual(seen, [
      ['warning', 'warning'], ['warning', 'normal'], ['warning', 'normal'], ['normal', 'normal'],
      ['critical', 'critical'], ['critical', 'warning'], ['warning', 'warning'],
    ]);
  });
});

/** Adds an extra live allocation without touching the cache (setBallast empties it). */
function setBallastKeepCache(device: Device, fraction: number) {
  return device.allocate(Math.round(fraction * device.totalBytes()));
}

describe('offload and restore', () => {
  const restoreCases: [number, boolean][] = [[0.6, true], [0.6001, false]];
  for (const [fraction, restores] of restoreCases) {
    it(`on entering NORMAL at ${fraction}, models are ${restores ? 'restored' : 'kept on CPU (deferred)'}`, async () => {
      const { manager, device, setBallast } = setup();
      const stt = new TensorModel('stt', device, 1 * MB);
      manager.registerModel('stt', stt);
      setBallast(0.85); // + the model's 0.1 = 0.95
      await manager.checkOnce(); // emergency: offloaded
      assert.equal(stt.device, 'cpu');
      setBallast(fraction); // the restore decision reads usage without the offloaded model
      await manager.checkOnce();
      assert.equal(stt.device, restores ? 'cuda' : 'cpu');
      assert.equal(manager.counters.restoresDeferred, restores ? 0 : 1);
    });
  }

  it('retries a deferred restore on later NORMAL checks (SPEC Decision 4)', async () => {
    let normals = 0;
    const { manager, device, setBallast } = setup({ callbacks: { normal: () => void normals++ } });
    const stt = new TensorModel('stt', device, 1 * MB);
    manager.registerModel('stt', stt);
    setBallast(0.85);
    await manager.checkOnce();
    setBallast(0.7); // NORMAL, but 0.70 > 0.60: deferred
    await manager.checkOnce();
    assert.equal(stt.device, 'cpu');
    await manager.checkOnce(); // still 0.70: deferred again
    assert.equal(manager.counters.restoresDeferred, 2);
    setBallast(0.5);
    await manager.checkOnce(); // no level change, but the retry restores
    assert.equal(stt.device, 'cuda');
    assert.deepEqual(manager.gpuModelNames(), ['stt']);
    assert.equal(normals, 1, 'the normal callback fired only on the change');
    await manager.checkOnce();
    assert.equal(manager.counters.restoreAttempts, 3, 'nothing left to restore: no more attempts');
  });

  it('a model whose offload fails stays tracked on the GPU, and the others still move (SPEC Decision 4)', async () => {
    const { manager, device, logger } = setup();
    const vad = new TensorModel('vad', device, 1 * MB);
    const stt = new TensorModel('stt', device, 1 * MB);
    vad.failToCpu = new Error('CUDA error: unspecified launch failure');
    manager.registerModel('vad', vad);
    manager.registerModel('stt', stt);
    const outcome = await manager.offloadAllModels();
    assert.deepEqual(outcome, { moved: ['stt'], failed: ['vad'] });
    assert.deepEqual(manager.gpuModelNames(), ['vad']);
    assert.deepEqual(manager.offloadedModelNames(), ['stt']);
    assert.ok(logger.messages('error').some((m) => m.startsWith('Failed to offload vad: CUDA error: unspecified launch failure')));
    assert.equal(manager.counters.emptyCacheCalls, 2, 'one per moved model, one at the end');
  });

  it('offloading with nothing registered logs and returns', async () => {
    const { manager, logger } = setup();
    assert.deepEqual(await manager.offloadAllModels(), { moved: [], failed: [] });
    assert.ok(logger.messages('info').includes('No models on GPU to offload'));
  });

  it('restore: an OOM stops the loop and the rest stay on CPU', async () => {
    const { manager, device } = setup();
    const models = ['a', 'b', 'c'].map((name) => new TensorModel(name, device, 0.5 * MB));
    for (const model of models) manager.registerModel(model.name, model);
    await manager.offloadAllModels();
    models[1]!.failToGpu = new Error('CUDA out of memory. Tried to allocate 2.00 MiB');
    const outcome = await manager.restoreModels();
    assert.deepEqual(outcome, { restored: ['a'], failed: ['b'], notTried: ['c'] });
    assert.deepEqual(manager.offloadedModelNames(), ['b', 'c']);
    assert.equal(models[2]!.toGpuCalls, 0);
  });

  it('restore: another error skips that model and continues', async () => {
    const { manager, device } = setup();
    const models = ['a', 'b', 'c'].map((name) => new TensorModel(name, device, 0.5 * MB));
    for (const model of models) manager.registerModel(model.name, model);
    await manager.offloadAllModels();
    models[0]!.failToGpu = new Error('weights file missing');
    const outcome = await manager.restoreModels();
    assert.deepEqual(outcome, { restored: ['b', 'c'], failed: ['a'], notTried: [] });
    assert.deepEqual(manager.offloadedModelNames(), ['a']);
  });

  it('restore: a real device OOM stops the loop', async () => {
    const { manager, device, setBallast } = setup({ restoreThreshold: 1 });
    const big = new TensorModel('big', device, 3 * MB);
    const small = new TensorModel('small', device, 0.1 * MB);
    manager.registerModel('big', big);
    manager.registerModel('small', small);
    await manager.offloadAllModels();
    setBallast(0.8); // 2 MB left: the 3 MB model cannot come back
    const outcome = await manager.restoreModels();
    assert.deepEqual(outcome, { restored: [], failed: ['big'], notTried: ['small'] });
    assert.equal(big.device, 'cpu');
    assert.equal(small.toGpuCalls, 0);
  });

  it('registering rejects objects that cannot move, and the same name replaces the earlier model', () => {
    const { manager, device } = setup();
    assert.equal(manager.registerModel('x', { name: 'x' } as never), false);
    const first = new TensorModel('stt', device, 0.1 * MB);
    const second = new TensorModel('stt', device, 0.1 * MB);
    manager.registerModel('stt', first);
    manager.registerModel('stt', second);
    assert.deepEqual(manager.gpuModelNames(), ['stt']);
    assert.equal(manager.unregisterModel('stt'), true);
    assert.equal(manager.unregisterModel('stt'), false);
  });
});

describe('handleCudaError', () => {
  it('counts a non-OOM error without any cleanup', async () => {
    const { manager, logger } = setup();
    assert.equal(await manager.handleCudaError(new Error('CUDA error: unspecified launch failure')), true);
    assert.equal(manager.cudaErrorCount, 1);
    assert.equal(manager.counters.gcCalls, 0);
    assert.equal(manager.counters.emptyCacheCalls, 0);
    assert.ok(logger.messages('warning').includes('CUDA Error (1/3): CUDA error: unspecified launch failure'));
  });

  it('OOM recovered (usage below 0.80 after cleanup): true, the count stays where it was, cleanup ran', async () => {
    const { manager, device, setBallast } = setup();
    setBallast(0.5);
    assert.equal(await manager.handleCudaError(new Error('CUDA out of memory. Tried to allocate 20.00 MiB')), true);
    assert.equal(manager.cudaErrorCount, 0);
    assert.equal(manager.counters.gcCalls, 1);
    assert.equal(manager.counters.emptyCacheCalls, 1);
    assert.equal(manager.counters.ipcCollectCalls, 1);
    assert.equal(device.counters().ipcCollectCalls, 1);
  });

  const recoveredCases: [number, boolean][] = [[0.7999, true], [0.8, false]];
  for (const [fraction, recovered] of recoveredCases) {
    it(`usage ${fraction} after cleanup ${recovered ? 'counts as recovered' : 'does not count as recovered'}`, async () => {
      const { manager, setBallast } = setup();
      setBallast(fraction);
      await manager.handleCudaError(new Error('out of memory'));
      assert.equal(manager.cudaErrorCount, recovered ? 0 : 1);
    });
  }

  it('unrecovered OOMs: true, true, false with counts 1, 2, 3, then (4/3) and false again', async () => {
    const { manager, device, setBallast, logger } = setup();
    setBallast(0.85); // ballast that cleanup cannot release
    const results: [boolean, number][] = [];
    for (let i = 0; i < 4; i++) {
      const error = (() => {
        try {
          device.allocate(5 * MB);
        } catch (e) {
          return e;
        }
      })();
      results.push([await manager.handleCudaError(error), manager.cudaErrorCount]);
    }
    assert.deepEqual(results, [[true, 1], [true, 2], [false, 3], [false, 4]]);
    assert.ok(logger.messages('warning').includes(logger.messages('warning').find((m) => m.startsWith('CUDA Error (4/3): Device out of memory.'))!));
    assert.ok(logger.messages('error').some((m) => m.startsWith('Maximum CUDA errors reached (3/3)')));
  });

  it('the first OOM offloads every registered model (ORIG)', async () => {
    const { manager, device, setBallast } = setup();
    const stt = new TensorModel('stt', device, 2 * MB);
    manager.registerModel('stt', stt);
    setBallast(0.7);
    assert.equal(await manager.handleCudaError(new Error('CUDA out of memory')), true);
    assert.equal(stt.device, 'cpu');
    assert.equal(manager.cudaErrorCount, 0, '0.70 after offloading: recovered');
  });

  it('without a GPU an OOM is never recovered', async () => {
    const manager = new MemoryManager({ device: null, logger: quietLogger() });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await manager.handleCudaError(new Error('CUDA out of memory')));
    assert.deepEqual(results, [true, true, false]);
  });

  it('oomCleanup: false skips GC, emptyCache and offloading but keeps the accounting', async () => {
    const { manager, device, setBallast } = setup();
    const stt = new TensorModel('stt', device, 1 * MB);
    manager.registerModel('stt', stt);
    setBallast(0.2);
    assert.equal(await manager.handleCudaError(new Error('out of memory'), { oomCleanup: false }), true);
    assert.equal(stt.device, 'cuda');
    assert.equal(manager.counters.gcCalls, 0);
    assert.equal(manager.cudaErrorCount, 0);
  });

  it('a custom maxCudaErrors moves the fallback point', async () => {
    const { manager } = setup({ maxCudaErrors: 1 });
    assert.equal(await manager.handleCudaError('CUDA error: launch timeout'), false);
  });

  it('resetErrorCount sets the count to 0 and logs only when there was something to reset', async () => {
    const { manager, logger } = setup();
    await manager.handleCudaError(new Error('CUDA error: x'));
    await manager.handleCudaError(new Error('CUDA error: x'));
    manager.resetErrorCount();
    assert.equal(manager.cudaErrorCount, 0);
    manager.resetErrorCount();
    assert.deepEqual(logger.messages('info').filter((m) => m.startsWith('CUDA error count reset')), ['CUDA error count reset (was 2)']);
  });
});

describe('status report', () => {
  it('is one line before any snapshot', () => {
    const { manager } = setup();
    assert.equal(manager.getStatusReport(), 'MemoryManager: No status available');
  });

  it('has the original layout', async () => {
    const { manager, device, setBallast } = setup({}, 8);
    manager.registerModel('stt', new TensorModel('stt', device, 0));
    setBallast(0.75);
    device.free(device.allocate(0.2 * MB));
    manager.getMemoryStatus();
    await manager.handleCudaError(new Error('CUDA error: x'));
    assert.equal(
      manager.getStatusReport(),
      [
        '='.repeat(60),
        '🧠 Memory Manager Status',
        '='.repeat(60),
        'Pressure Level: WARNING',
        'GPU Memory: 6.0 / 8.0 MB (75.0%)',
        'Free: 2.0 MB',
        'Reserved: 6.2 MB',
        '',
        'Models on GPU: 1',
        'Models offloaded: 0',
        'CUDA errors: 1/3',
        '='.repeat(60),
      ].join('\n'),
    );
  });
});

describe('options', () => {
  const bad: [Partial<MemoryManagerOptions>, RegExp][] = [
    [{ warningThreshold: 0.9 }, /must satisfy 0 < warning < critical < emergency, got 0\.9 \/ 0\.85 \/ 0\.95/],
    [{ emergencyThreshold: 1.5 }, /option emergencyThreshold must be a fraction between 0 and 1, got 1\.5/],
    [{ restoreThreshold: Number.NaN }, /option restoreThreshold must be a fraction/],
    [{ hysteresis: 0.8 }, /hysteresis \(0\.8\) must be smaller than warningThreshold \(0\.75\)/],
    [{ checkIntervalMs: 0 }, /checkIntervalMs must be positive/],
    [{ maxCudaErrors: 0 }, /maxCudaErrors must be a positive integer/],
  ];
  for (const [options, message] of bad) {
    it(`rejects ${JSON.stringify(options)}`, () => {
      assert.throws(() => new MemoryManager({ device: null, ...options }), message);
    });
  }

  it('takes every threshold as an option', async () => {
    const { manager, setBallast } = setup({ warningThreshold: 0.5, criticalThreshold: 0.6, emergencyThreshold: 0.7, shutdownThreshold: 0.72, restoreThreshold: 0.1, recoveredThreshold: 0.3 });
    setBallast(0.71);
    await manager.checkOnce();
    assert.equal(manager.shutdownTriggered, false);
    setBallast(0.73);
    await manager.checkOnce(); // emergency -> emergency: no change, no handling
    assert.equal(manager.shutdownTriggered, false);
    setBallast(0.65);
    await manager.checkOnce();
    setBallast(0.73);
    await manager.checkOnce();
    assert.equal(manager.shutdownTriggered, true);
    setBallast(0.29);
    assert.equal(await manager.handleCudaError(new Error('out of memory')), true);
  });
});

describe('monitor loop', () => {
  it('checks at once, then every interval after the previous check finished, and leaves no timer when stopped', async () => {
    const { manager, clock } = setup({ checkIntervalMs: 2000 });
    manager.start();
    manager.start(); // already running: no second loop
    await clock.advanceAsync(0);
    assert.equal(manager.counters.checks, 1);
    await clock.advanceAsync(1999);
    assert.equal(manager.counters.checks, 1);
    await clock.advanceAsync(1);
    assert.equal(manager.counters.checks, 2);
    await clock.advanceAsync(6000);
    assert.equal(manager.counters.checks, 5);
    await manager.stop();
    assert.equal(manager.isRunning, false);
    assert.equal(clock.pendingTimers(), 0);
    await clock.advanceAsync(10_000);
    assert.equal(manager.counters.checks, 5);
    await manager.stop(); // stopping twice is harmless
  });

  it('never overlaps itself: a slow check delays the next one instead of running beside it', async () => {
    const gate = deferred();
    let running = 0;
    let maxRunning = 0;
    const { manager, clock, setBallast } = setup({
      checkIntervalMs: 100,
      callbacks: {
        warning: async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await gate.promise;
          running--;
        },
      },
    });
    setBallast(0.8);
    manager.start();
    await clock.advanceAsync(1000);
    assert.equal(manager.counters.checks, 1, 'the first check is still inside its callback');
    assert.equal(clock.pendingTimers(), 0, 'the next check is scheduled only after this one finishes');
    const direct = manager.checkOnce();
    await new Promise((r) => setImmediate(r));
    assert.equal(manager.counters.checks, 1, 'a direct check waits for the running one');
    gate.resolve();
    await direct;
    assert.equal(manager.counters.checks, 2);
    assert.equal(maxRunning, 1);
    assert.equal(clock.pendingTimers(), 1);
  });

  it('stop() waits for the check in flight', async () => {
    const gate = deferred();
    const { manager, setBallast } = setup({ callbacks: { warning: () => gate.promise } });
    setBallast(0.8);
    manager.start();
    let stopped = false;
    const stopping = manager.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(stopped, false);
    gate.resolve();
    await stopping;
    assert.equal(stopped, true);
  });

  it('stop() from inside an emergency_shutdown callback does not deadlock', async () => {
    let manager!: MemoryManager;
    const ctx = setup({
      callbacks: {
        emergency_shutdown: async () => {
          await manager.stop();
        },
      },
    });
    manager = ctx.manager;
    ctx.setBallast(0.99);
    manager.start();
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 50));
    await manager.stop();
    assert.deepEqual(ctx.exits, [1]);
    assert.ok(Date.now() - started < 2000, 'no 5 s stop timeout was hit');
  });

  it('an exception inside a check is logged with its stack and the loop carries on', async () => {
    let gcCalls = 0;
    const { manager, clock, setBallast, logger } = setup({
      checkIntervalMs: 100,
      gcHook: () => {
        if (++gcCalls === 1) throw new Error('gc exploded');
      },
    });
    setBallast(0.8);
    manager.start();
    await clock.advanceAsync(0);
    assert.equal(manager.counters.loopErrors, 1);
    const logged = logger.messages('error').find((m) => m.startsWith('Memory monitor check failed: gc exploded'));
    assert.match(logged!, /\n.*Error: gc exploded\n\s+at /, 'the stack is logged');
    setBallast(0.9);
    await clock.advanceAsync(100);
    assert.equal(manager.counters.checks, 2);
    assert.equal(manager.lastPressureLevel, 'critical');
  });

  it('runs on real timers too, and leaves no active timer behind', async () => {
    const { device } = setup();
    const manager = new MemoryManager({ device, logger: quietLogger(), checkIntervalMs: 5 });
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    manager.start();
    await new Promise((r) => setTimeout(r, 60));
    await manager.stop();
    const checks = manager.counters.checks;
    assert.ok(checks >= 2, `expected several checks, got ${checks}`);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(manager.counters.checks, checks);
    assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, timersBefore);
  });

  it('logs a status line on every check while not NORMAL', async () => {
    const { manager, setBallast, logger } = setup();
    setBallast(0.8);
    await manager.checkOnce();
    await manager.checkOnce();
    assert.equal(logger.messages('info').filter((m) => m === 'Memory WARNING: 80.0% (8.0/10.0 MB)').length, 2);
  });
});

describe('monitor loop restarts', () => {
  it('a stop and start while a check is in flight leaves exactly one loop', async () => {
    const gate = deferred();
    let manager!: MemoryManager;
    const ctx = setup({ checkIntervalMs: 1000, callbacks: { warning: () => gate.promise } });
    manager = ctx.manager;
    ctx.setBallast(0.8);
    manager.start(); // first check blocks in the warning callback
    await new Promise((r) => setImmediate(r));
    const stopping = manager.stop();
    manager.start(); // restarted before the blocked check finished
    gate.resolve();
    await stopping;
    await ctx.clock.advanceAsync(0);
    assert.equal(ctx.clock.pendingTimers(), 1, 'one loop, one timer');
    const before = manager.counters.checks;
    await ctx.clock.advanceAsync(1000);
    assert.equal(manager.counters.checks, before + 1);
  });
});
