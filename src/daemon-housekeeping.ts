// Small chores of the daemon's lifecycle: the periodic status line, bounded waits during stop(), and the temp-dir
// cleanup the original did on every stop.
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { SEGMENT_LATENCY } from './daemon-processing.js';
import type { Logger } from './log.js';
import type { PerformanceMonitor } from './performance-monitor.js';
import { errorMessage } from './recovery/classifier.js';

/** The original's 5-minute report: state, GPU, CPU over 60 s, segment latency, growth over a 300 s window. */
export function formatStatusLine(state: string, performance: PerformanceMonitor): string {
  const gpu = performance.getGpuMemoryStats();
  const cpu = performance.getCpuStats(60);
  const latency = performance.getLatencyStats(SEGMENT_LATENCY);
  const leak = performance.detectMemoryLeak({ windowSeconds: 300 });
  return [
    `Status: ${state}`,
    `GPU ${gpu.currentMb.toFixed(1)} MB (peak ${gpu.peakMb.toFixed(1)} MB)`,
    `CPU mean ${cpu.mean.toFixed(1)}% max ${cpu.max.toFixed(1)}%`,
    latency ? `${SEGMENT_LATENCY} mean ${latency.mean.toFixed(1)} ms p95 ${latency.p95.toFixed(1)} ms n=${latency.count}` : `${SEGMENT_LATENCY}: none yet`,
    leak.reason ? `leak check: ${leak.reason}` : `growth ${leak.slopeMBps.toFixed(3)} MB/s${leak.leakDetected ? ' LEAK DETECTED' : ''}`,
  ].join('; ');
}

/** Waits for `task`, but no longer than `limitMs` (a real timer, cleared either way). True when it finished. */
export async function waitAtMost(task: Promise<unknown>, limitMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    task.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), limitMs))),
  ]);
  clearTimeout(timer);
  return finished;
}

/** Removes every `*.wav` in `dir` (segment temp files); emergency saves live elsewhere by construction. */
export function deleteWavFiles(dir: string, logger: Logger): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let deleted = 0;
  for (const name of names) {
    if (!name.endsWith('.wav')) continue;
    try {
      unlinkSync(join(dir, name));
      deleted++;
    } catch (error) {
      logger.warning(`could not delete ${name} from the temp dir: ${errorMessage(error)}`);
    }
  }
  return deleted;
}
