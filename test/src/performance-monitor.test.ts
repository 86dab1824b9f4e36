import { describe, it, afterEach, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../src/clock.js';
import { createCpuDevice, type Device } from '../../src/device/index.js';
import { createRecordingLogger } from '../../src/log.js';
import { PerformanceMonitor, type PerformanceMonitorOptions } from '../../src/performance-monitor.js';

const MB = 1_000_000;
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let fakeRoot: string;
before(() => {
  // A v1 host like this project's machines, with a 2 GB limit and PSI.
  fakeRoot = mkdtempSync(join(tmpdir(), 'perf-root-'));
  const file = (path: string, text: string) => {
    mkdirSync(join(fakeRoot, path, '..'), { recursive: true });
    writeFileSync(join(fakeRoot, path), text);
  };
  file('proc/self/cgroup', '4:memory:/job\n0::/\n');
  file('proc/self/status', 'Name:\tnode\nThreads:\t11\n');
  file('proc/meminfo', 'MemTotal:       24684096 kB\nMemAvailable:   20000000 kB\n');
  file('proc/pressure/memory', 'some avg10=1.50 avg60=0.25 avg300=0.00 total=1234\nfull avg10=0.50 avg60=0.00 avg300=0.00 total=99\n');
  file('sys/fs/cgroup/memory/job/memory.limit_in_bytes', '2000000000\n');
  file('sys/fs/cgroup/memory/job/memory.usage_in_bytes', '500000000\n');
});
after(() => rmSync(fakeRoot, { recursive: true, force: true }));

function setup(options: Partial<PerformanceMonitorOptions> = {}, budgetMB = 100) {
  const device = createCpuDevice({ budgetMB });
  const clock = new FakeClock(1_700_000_000_000);
  const logger = createRecordingLogger();
  const monitor = new PerformanceMonitor({ device, clock, logger, hostRoot: fakeRoot, ...options });
  cleanups.push(() => device.close(), () => monitor.stop());
  return { device, clock, logger, monitor };
}

/** Holds exactly `mb` MB allocated on the device. */
function level(device: Device) {
  let held: ReturnType<Device['allocate']> | undefined;
  return (mb: number) => {
    if (held) device.free(held);
    device.emptyCache();
    held = device.allocate(Math.round(mb * MB));
  };
}

describe('captureMetrics', () => {
  it('takes process, host, device, cgroup and PSI figures without waiting', () => {
    const { monitor, device } = setup();
    device.allocate(6 * MB);
    const started = performance.now();
    const snapshot = monitor.captureMetrics({ chunks_processed: 10 });
    assert.ok(performance.now() - started < 100, 'a capture does not sleep');
    assert.equal(snapshot.timestamp, 1_700_000_000);
    assert.equal(snapshot.gpuMemoryAllocated, 6);
    assert.equal(snapshot.gpuMemoryReserved, 6);
    assert.equal(snapshot.gpuMemoryPeak, 6);
    assert.equal(snapshot.gpuDeviceUsed, null);
    const rss = process.memoryUsage().rss / MB;
    assert.ok(Math.abs(snapshot.processMemory - rss) < 50, `RSS ${snapshot.processMemory} vs ${rss}`);
    assert.ok(snapshot.heapUsed > 0 && snapshot.arrayBuffers >= 0 && snapshot.external > 0);
    assert.equal(snapshot.numThreads, 11);
    assert.equal(snapshot.ramAvailable, 20000000 * 1024 / MB);
    assert.ok(snapshot.ramUsed > 0 && snapshot.ramPercent > 0 && snapshot.ramPercent < 100);
    assert.equal(snapshot.cgroupVersion, 1);
    assert.equal(snapshot.cgroupLimitMb, 2000);
    assert.equal(snapshot.cgroupUsageMb, 500);
    assert.deepEqual(snapshot.memoryPressure, { some: { avg10: 1.5, avg60: 0.25, avg300: 0, total: 1234 }, full: { avg10: 0.5, avg60: 0, avg300: 0, total: 99 } });
    assert.deepEqual(snapshot.custom, { chunks_processed: 10 });
    assert.ok(snapshot.cpuPercent >= 0 && snapshot.cpuPercent <= 100);
    assert.ok(snapshot.cpuPercentPerCore.length >= 1);
    assert.ok(snapshot.processCpu >= 0);
  });

  it('measures process CPU from process.cpuUsage deltas', () => {
    const { monitor } = setup();
    monitor.captureMetrics();
    const until = performance.now() + 60;
    while (performance.now() < until) Math.sqrt(Math.random()); // busy: close to 100% of one core
    const busy = monitor.captureMetrics();
    assert.ok(busy.processCpu > 30, `a busy loop shows up as CPU use, got ${busy.processCpu.toFixed(1)}%`);
  });

  it('reads the real host on this machine (cgroup v1 or v2, or none)', () => {
    const device = createCpuDevice({ budgetMB: 1 });
    cleanups.push(() => device.close());
    const snapshot = new PerformanceMonitor({ device, logger: createRecordingLogger() }).captureMetrics();
    assert.ok(snapshot.cgroupVersion === null || snapshot.cgroupVersion === 1 || snapshot.cgroupVersion === 2);
    assert.ok(snapshot.ramAvailable > 0);
  });

  it('keeps historySize snapshots, oldest first out', () => {
    const { monitor, clock } = setup({ historySize: 3 });
    for (let i = 0; i < 5; i++) {
      monitor.captureMetrics({ i });
      clock.advance(1000);
    }
    assert.deepEqual(monitor.getHistory().map((s) => s.custom.i), [2, 3, 4]);
  });

  it('rejects a history too small to fit a line', () => {
    assert.throws(() => new PerformanceMonitor({ historySize: 1 }), /historySize must be an integer of at least 2, got 1/);
  });

  it('runs a GC before sampling only when asked and when Node exposes gc', () => {
    let hooked = 0;
    const { monitor } = setup({ forceGcBeforeSample: true, gcHook: () => void hooked++ });
    const globals = globalThis as { gc?: () => void };
    const original = globals.gc;
    try {
      delete globals.gc;
      monitor.captureMetrics();
      assert.equal(hooked, 0);
      globals.gc = () => {};
      monitor.captureMetrics();
      assert.equal(hooked, 1);
    } finally {
      if (original) globals.gc = original;
      else delete globals.gc;
    }
  });
});

describe('warnings', () => {
  it('GPU MB and GPU percent thresholds can both fire in one capture; both are strict', () => {
    const { monitor, device, logger } = setup({ thresholds: { gpuMemoryMb: 8, cpuPercent: 101 } }, 10);
    const hold = level(device);
    hold(8); // exactly 8 MB and exactly 80%: neither fires
    monitor.captureMetrics();
    assert.deepEqual(monitor.getWarnings(), []);
    hold(9);
    monitor.captureMetrics();
    assert.deepEqual(monitor.getWarnings().map((w) => w.message), ['GPU memory 9.0 MB is above 8 MB', 'GPU memory at 90.0% (above 80%)']);
    assert.equal(logger.messages('warning').length, 2, 'without a callback, warnings are logged');
  });

  it('routes a warning type to its callback, and logs a callback that throws', () => {
    const { monitor, logger } = setup({ thresholds: { cpuPercent: -1 } });
    const received: string[] = [];
    monitor.onWarning('high_cpu', (message) => received.push(message));
    monitor.captureMetrics();
    assert.equal(received.length, 1);
    assert.match(received[0]!, /^CPU at \d+\.\d% \(above -1%\)$/);
    monitor.onWarning('high_cpu', () => {
      throw new Error('callback bug');
    });
    monitor.captureMetrics();
    assert.match(logger.messages('error')[0]!, /The 'high_cpu' warning callback failed/);
    monitor.onWarning('high_cpu', undefined);
    monitor.captureMetrics();
    assert.ok(logger.messages('warning').some((m) => m.startsWith('Performance warning [high_cpu]')));
  });
});

describe('detectMemoryLeak', () => {
  it('fits the slope of device memory over the window, with its 95% interval (reference: scipy)', () => {
    const { monitor, device, clock } = setup();
    const hold = level(device);
    [10, 12.5, 13, 16.5, 18, 20.5].forEach((mb, i) => {
      if (i > 0) clock.advance(1000);
      hold(mb);
      monitor.captureMetrics();
    });
    const report = monitor.detectMemoryLeak({ windowSeconds: 60, metric: 'gpu_memory_allocated' });
    assert.equal(report.samples, 6);
    assert.ok(Math.abs(report.slopeMBps - 2.071428571428571) < 1e-9);
    assert.ok(Math.abs(report.slopeCi95![0] - 1.6491783535490194) < 1e-9);
    assert.ok(Math.abs(report.slopeCi95![1] - 2.493678789308123) < 1e-9);
    assert.equal(report.initialMB, 10);
    assert.equal(report.finalMB, 20.5);
    assert.equal(report.totalGrowthMB, 10.5);
    assert.equal(report.leakDetected, true);
    assert.deepEqual(monitor.getWarnings().filter((w) => w.type === 'memory_leak').map((w) => [w.type, w.message]), [['memory_leak', 'Possible memory leak in gpu_memory_allocated: growing at 2.07 MB/s']]);
  });

  const thresholdCases: [number, boolean][] = [[1.0, false], [0.99, true]];
  for (const [threshold, leak] of thresholdCases) {
    it(`a slope of exactly 1.0 MB/s against a ${threshold} threshold: leak ${leak} (strict >)`, () => {
      const { monitor, device, clock } = setup();
      const hold = level(device);
      for (const mb of [0, 1, 2, 3]) {
        hold(mb);
        monitor.captureMetrics();
        clock.advance(1000);
      }
      const report = monitor.detectMemoryLeak({ metric: 'gpu_memory_allocated', thresholdMBps: threshold });
      assert.equal(report.slopeMBps, 1);
      assert.equal(report.leakDetected, leak);
    });
  }

  it('only uses samples inside the window', () => {
    const { monitor, device, clock } = setup();
    const hold = level(device);
    for (const mb of [50, 40, 30, 1, 1, 1]) {
      hold(mb);
      monitor.captureMetrics();
      clock.advance(10_000);
    }
    const recent = monitor.detectMemoryLeak({ metric: 'gpu_memory_allocated', windowSeconds: 30 });
    assert.equal(recent.samples, 3);
    assert.equal(recent.slopeMBps, 0);
    assert.equal(monitor.detectMemoryLeak({ metric: 'gpu_memory_allocated', windowSeconds: 1000 }).samples, 6);
  });

  it('reports insufficient data overall and in the window', () => {
    const { monitor, clock } = setup();
    assert.equal(monitor.detectMemoryLeak().reason, 'Insufficient data');
    monitor.captureMetrics();
    clock.advance(1000);
    monitor.captureMetrics();
    clock.advance(120_000);
    const report = monitor.detectMemoryLeak({ windowSeconds: 60 });
    assert.equal(report.reason, 'Insufficient data in window');
    assert.equal(report.leakDetected, false);
    assert.equal(report.samples, 0);
  });

  it('gives slope 0 when every sample has the same timestamp', () => {
    const { monitor, device } = setup();
    const hold = level(device);
    for (const mb of [1, 5, 9]) {
      hold(mb);
      monitor.captureMetrics();
    }
    const report = monitor.detectMemoryLeak({ metric: 'gpu_memory_allocated' });
    assert.equal(report.slopeMBps, 0);
    assert.equal(report.leakDetected, false);
    assert.equal(report.totalGrowthMB, 8);
  });

  it('defaults to process RSS, skips metrics a sample lacks, and rejects unknown metrics', () => {
    const { monitor, clock } = setup();
    for (let i = 0; i < 3; i++) {
      monitor.captureMetrics();
      clock.advance(1000);
    }
    const rss = monitor.detectMemoryLeak();
    assert.equal(rss.metric, 'process_memory');
    assert.equal(rss.samples, 3);
    assert.equal(monitor.detectMemoryLeak({ metric: 'gpu_device_used' }).reason, 'Insufficient data');
    assert.equal(monitor.detectMemoryLeak({ metric: 'cgroup_usage' }).samples, 3);
    assert.throws(() => monitor.detectMemoryLeak({ metric: 'vram' as never }), /unknown leak metric 'vram': expected one of process_memory, gpu_memory_allocated/);
  });
});

describe('latency', () => {
  it('measures phases as time since start minus earlier phases, and the total', () => {
    const { monitor, clock } = setup();
    const m = monitor.startLatencyMeasurement('chunk_processing');
    clock.advance(100);
    assert.equal(monitor.measurePhase(m, 'stt'), 100);
    assert.equal(m.totalMs, 0, 'unfinished');
    clock.advance(50);
    monitor.measurePhase(m, 'injection');
    clock.advance(5);
    const done = monitor.endLatencyMeasurement('chunk_processing')!;
    assert.deepEqual(done.phases, { stt: 100, injection: 50 });
    assert.equal(done.totalMs, 155);
    assert.equal(monitor.endLatencyMeasurement('chunk_processing'), null);
    assert.equal(monitor.endLatencyMeasurement('never started'), null);
  });

  it('a second start with the same name replaces the first', () => {
    const { monitor, clock } = setup();
    monitor.startLatencyMeasurement('x');
    clock.advance(500);
    monitor.startLatencyMeasurement('x');
    clock.advance(20);
    assert.equal(monitor.endLatencyMeasurement('x')!.totalMs, 20);
  });

  it('statistics use numpy percentiles', () => {
    const { monitor, clock } = setup();
    assert.equal(monitor.getLatencyStats('segment'), null);
    for (const ms of [10, 20, 30, 40, 1000]) {
      monitor.startLatencyMeasurement('segment');
      clock.advance(ms);
      monitor.endLatencyMeasurement('segment');
    }
    const stats = monitor.getLatencyStats('segment')!;
    assert.equal(stats.count, 5);
    assert.equal(stats.mean, 220);
    assert.equal(stats.median, 30);
    assert.ok(Math.abs(stats.p95 - 808) < 1e-9);
    assert.ok(Math.abs(stats.p99 - 961.6) < 1e-9);
    assert.equal(stats.min, 10);
    assert.equal(stats.max, 1000);
    assert.deepEqual(monitor.latencyNames(), ['segment']);
  });

  const latencyCases: [number, boolean][] = [[2000, false], [2001, true]];
  for (const [ms, warns] of latencyCases) {
    it(`${ms} ms ${warns ? 'raises' : 'does not raise'} high_latency (strictly above 2000 ms)`, () => {
      const { monitor, clock } = setup();
      monitor.startLatencyMeasurement('slow');
      clock.advance(ms);
      monitor.endLatencyMeasurement('slow');
      assert.equal(monitor.getWarnings().filter((w) => w.type === 'high_latency').length, warns ? 1 : 0);
    });
  }

  it('keeps at most historySize measurements per name', () => {
    const { monitor, clock } = setup({ historySize: 2 });
    for (const ms of [1, 2, 3]) {
      monitor.startLatencyMeasurement('n');
      clock.advance(ms);
      monitor.endLatencyMeasurement('n');
    }
    assert.deepEqual([monitor.getLatencyStats('n')!.min, monitor.getLatencyStats('n')!.count], [2, 2]);
  });
});

describe('device and CPU summaries', () => {
  it('getGpuMemoryStats has the full key set without a device', () => {
    const monitor = new PerformanceMonitor({ logger: createRecordingLogger() });
    assert.deepEqual(monitor.getGpuMemoryStats(), {
      available: false, deviceName: '', currentMb: 0, peakMb: 0, reservedMb: 0, totalMb: 0, freeMb: 0, currentPercent: 0, peakPercent: 0,
    });
  });

  it('getGpuMemoryStats reads the device, and its total lazily', () => {
    const device = createCpuDevice({ budgetMB: 20 });
    cleanups.push(() => device.close());
    let totalReads = 0;
    const realTotal = device.totalBytes.bind(device);
    device.totalBytes = () => (totalReads++, realTotal());
    const monitor = new PerformanceMonitor({ device, logger: createRecordingLogger(), thresholds: { gpuMemoryPercent: 101 } });
    assert.equal(totalReads, 0, 'the constructor does not touch the device');
    const a = device.allocate(5 * MB);
    device.allocate(2 * MB);
    device.free(a);
    assert.deepEqual(monitor.getGpuMemoryStats(), {
      available: true, deviceName: 'tfjs-cpu (budget 20 MB)', currentMb: 2, peakMb: 7, reservedMb: 7, totalMb: 20, freeMb: 18, currentPercent: 10, peakPercent: 35,
    });
    monitor.getGpuMemoryStats();
    assert.equal(totalReads, 1);
  });

  it('getCpuStats needs two snapshots and looks at the window only', () => {
    const { monitor, clock } = setup();
    assert.deepEqual(monitor.getCpuStats(), { mean: 0, max: 0, min: 0, samples: 0 });
    monitor.captureMetrics();
    assert.equal(monitor.getCpuStats().samples, 0);
    clock.advance(20_000);
    monitor.captureMetrics();
    clock.advance(1000);
    monitor.captureMetrics();
    const stats = monitor.getCpuStats(10);
    assert.equal(stats.samples, 2);
    assert.ok(stats.max >= stats.mean && stats.mean >= stats.min);
  });

  it('formats a summary with device, CPU, latency and leak lines', () => {
    const { monitor, clock, device } = setup();
    device.allocate(3 * MB);
    monitor.startLatencyMeasurement('chunk_processing');
    clock.advance(12);
    monitor.endLatencyMeasurement('chunk_processing');
    const text = monitor.formatSummary();
    assert.match(text, /GPU \(tfjs-cpu \(budget 100 MB\)\): current 3\.0 MB \(3\.0%\), peak 3\.0 MB \(3\.0%\)/);
    assert.match(text, /chunk_processing: mean 12\.0 ms, p95 12\.0 ms, p99 12\.0 ms, n=1/);
    assert.match(text, /Leak check \(60 s\): Insufficient data/);
    monitor.captureMetrics();
    clock.advance(1000);
    monitor.captureMetrics();
    assert.match(monitor.formatSummary(), /Leak check \(60 s\): -?\d+\.\d\d MB\/s/);
    const bare = new PerformanceMonitor({ logger: createRecordingLogger() });
    assert.match(bare.formatSummary(), /GPU: not available/);
    bare.printSummary();
  });
});

describe('background sampling', () => {
  it('captures at once and then every interval, and stop() leaves no timer', async () => {
    const { monitor, clock } = setup();
    monitor.start(1000);
    monitor.start(1000);
    await clock.advanceAsync(3000);
    assert.equal(monitor.getHistory().length, 4);
    assert.equal(monitor.isSampling, true);
    await monitor.stop();
    assert.equal(monitor.isSampling, false);
    assert.equal(clock.pendingTimers(), 0);
    await clock.advanceAsync(5000);
    assert.equal(monitor.getHistory().length, 4);
  });

  it('works on real timers and leaves no active timer', async () => {
    const monitor = new PerformanceMonitor({ logger: createRecordingLogger() });
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    monitor.start(5);
    await new Promise((r) => setTimeout(r, 40));
    await monitor.stop();
    assert.ok(monitor.getHistory().length >= 2);
    assert.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, before);
    assert.throws(() => monitor.start(0), /intervalMs must be positive, got 0/);
  });

  it('logs a failed capture and keeps sampling', async () => {
    const { monitor, clock, device, logger } = setup();
    let reads = 0;
    const real = device.allocatedBytes.bind(device);
    device.allocatedBytes = () => {
      if (++reads === 1) throw new Error('device read failed');
      return real();
    };
    monitor.start(1000);
    await clock.advanceAsync(1000);
    assert.match(logger.messages('error')[0]!, /Performance capture failed\nError: device read failed/);
    assert.equal(monitor.getHistory().length, 1);
  });
});
