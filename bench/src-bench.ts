// Benchmarks for the memory-protection library (a script, not a test): `npx tsx bench/src-bench.ts [--seconds 20]`.
//  1. CPU cost of the MemoryManager monitor at its production interval (2 s), from process.cpuUsage deltas,
//     against the same process sitting idle for the same time (target: < 0.1% of one core).
//  2. checkOnce latency over 1,000 calls in a steady state, beside a bare getMemoryStatus (the floor).
//  3. Time from a pressure change (an allocation) to its level callback: through checkOnce directly, and through
//     the running loop (there the interval dominates: on average half of it).
//  4. PerformanceMonitor.captureMetrics latency (the original blocked ~300 ms per capture to sample CPU).
import { createCpuDevice } from '../src/device/index.js';
import { silentLogger } from '../src/log.js';
import { MemoryManager } from '../src/memory-manager.js';
import { PerformanceMonitor } from '../src/performance-monitor.js';
import { percentile } from '../src/performance-statistics.js';

const MB = 1_000_000;
const secondsFlag = process.argv.indexOf('--seconds');
const measureSeconds = secondsFlag > 0 ? Number(process.argv[secondsFlag + 1]) : 20;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** CPU time (user + system) in ms spent by this process while `body` runs, and the wall time. */
async function cpuDuring(body: () => Promise<void>): Promise<{ cpuMs: number; wallMs: number }> {
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  await body();
  const cpu = process.cpuUsage(cpuBefore);
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - wallBefore };
}

function summarise(samplesMs: number[]): { median: number; p95: number; max: number } {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return { median: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), max: sorted[sorted.length - 1]! };
}

function timeEach(count: number, body: () => void): number[] {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    body();
    samples.push(performance.now() - start);
  }
  return samples;
}

async function timeEachAsync(count: number, body: () => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await body();
    samples.push(performance.now() - start);
  }
  return samples;
}

const rows: [string, string][] = [];
let checkMedianMs = 0;
const row = (what: string, value: string) => {
  rows.push([what, value]);
  console.log(`  ${what}: ${value}`);
};

async function monitorCpuCost(): Promise<void> {
  const device = createCpuDevice({ budgetMB: 4096 });
  device.allocate(100 * MB, 'model'); // a realistic steady state: something allocated, NORMAL
  const manager = new MemoryManager({ device, logger: silentLogger, exitHook: () => {} });
  await manager.checkOnce(); // warm the code paths so the window measures steady state, not first-call compilation
  await sleep(3000); // let V8 finish collecting start-up garbage before the windows open
  const idle = await cpuDuring(() => sleep(measureSeconds * 1000));
  const monitored = await cpuDuring(async () => {
    manager.start();
    await sleep(measureSeconds * 1000);
    await manager.stop();
  });
  const idlePercent = (100 * idle.cpuMs) / idle.wallMs;
  const monitoredPercent = (100 * monitored.cpuMs) / monitored.wallMs;
  row(`idle process, ${measureSeconds} s`, `${idle.cpuMs.toFixed(1)} ms CPU = ${idlePercent.toFixed(4)}% of one core`);
  row(
    `whole process while monitoring every 2 s, ${measureSeconds} s (${manager.counters.checks} checks)`,
    `${monitored.cpuMs.toFixed(1)} ms CPU = ${monitoredPercent.toFixed(4)}% of one core (an upper bound of the monitor's cost; target < 0.1%)`,
  );
  row('difference to idle (noise-limited)', `${(monitoredPercent - idlePercent).toFixed(4)}% of one core`);
  device.close();
}

async function checkLatency(): Promise<void> {
  const device = createCpuDevice({ budgetMB: 4096 });
  device.allocate(100 * MB, 'model');
  const manager = new MemoryManager({ device, logger: silentLogger, exitHook: () => {} });
  timeEach(100, () => void manager.getMemoryStatus()); // warm up
  await timeEachAsync(100, () => manager.checkOnce().then(() => undefined));
  const bare = summarise(timeEach(1000, () => void manager.getMemoryStatus()));
  const check = summarise(await timeEachAsync(1000, () => manager.checkOnce().then(() => undefined)));
  row('getMemoryStatus x1000 (floor)', `median ${(bare.median * 1000).toFixed(1)} us, p95 ${(bare.p95 * 1000).toFixed(1)} us`);
  checkMedianMs = check.median;
  row('checkOnce x1000, steady NORMAL', `median ${(check.median * 1000).toFixed(1)} us, p95 ${(check.p95 * 1000).toFixed(1)} us, max ${check.max.toFixed(2)} ms`);
  device.close();
}

async function pressureToCallback(): Promise<void> {
  const device = createCpuDevice({ budgetMB: 100 });
  let calledAt = 0;
  const manager = new MemoryManager({
    device, logger: silentLogger, exitHook: () => {}, gcHook: () => {},
    callbacks: { warning: () => void (calledAt = performance.now()) },
  });
  const direct: number[] = [];
  for (let i = 0; i < 200; i++) {
    const start = performance.now();
    const ballast = device.allocate(80 * MB); // NORMAL -> WARNING
    await manager.checkOnce();
    direct.push(calledAt - start);
    device.free(ballast);
    await manager.checkOnce(); // back to NORMAL
  }
  const directStats = summarise(direct);
  row('allocation (cached block reused) -> warning callback via checkOnce (x200)', `median ${directStats.median.toFixed(2)} ms, p95 ${directStats.p95.toFixed(2)} ms`);

  const intervalMs = 50;
  const looped = new MemoryManager({
    device, logger: silentLogger, exitHook: () => {}, gcHook: () => {}, checkIntervalMs: intervalMs,
    callbacks: { warning: () => void (calledAt = performance.now()) },
  });
  looped.start();
  const viaLoop: number[] = [];
  for (let i = 0; i < 20; i++) {
    calledAt = 0;
    const start = performance.now();
    const ballast = device.allocate(80 * MB);
    while (calledAt === 0) await sleep(1);
    viaLoop.push(calledAt - start);
    device.free(ballast);
    await sleep(intervalMs * 2 + 7 * (i % 5)); // let it return to NORMAL; vary the phase against the loop
  }
  await looped.stop();
  const loopStats = summarise(viaLoop);
  row(`allocation -> warning callback via the loop at ${intervalMs} ms (x20)`, `median ${loopStats.median.toFixed(1)} ms, p95 ${loopStats.p95.toFixed(1)} ms, max ${loopStats.max.toFixed(1)} ms (bounded by the interval)`);
  row('allocation -> callback at the 2 s production interval', 'at most ~2000 ms, ~1000 ms on average (interval-bound, by design)');
  device.close();
}

function captureLatency(): void {
  const device = createCpuDevice({ budgetMB: 100 });
  const monitor = new PerformanceMonitor({ device, logger: silentLogger, historySize: 2000 });
  timeEach(50, () => void monitor.captureMetrics());
  const capture = summarise(timeEach(1000, () => void monitor.captureMetrics()));
  row('PerformanceMonitor.captureMetrics x1000', `median ${capture.median.toFixed(3)} ms, p95 ${capture.p95.toFixed(3)} ms (original: ~300 ms, blocking)`);
  device.close();
}

console.log(`src-bench on Node ${process.version}, ${measureSeconds} s CPU windows`);
// The CPU windows come first: later sections free hundreds of MB of tensors, and V8 collecting them would land in
// whichever window runs next.
await monitorCpuCost();
await checkLatency();
captureLatency();
await pressureToCallback();
// The windowed figures sit at the noise floor of an idle Node process; the per-check cost gives the steady-state
// figure directly: one check every 2 s.
row('derived monitor cost: checkOnce median / 2 s', `${((100 * checkMedianMs) / 2000).toFixed(5)}% of one core`);

console.log('\n| measurement | result |\n|---|---|');
for (const [what, value] of rows) console.log(`| ${what} | ${value} |`);
