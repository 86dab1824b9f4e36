// Driver-level GPU memory from nvidia-smi (SPEC E lesson 3: the allocator understated usage by ~1.7 GB).
// Asynchronous execFile with a timeout, never execFileSync: a hung driver must not freeze the monitor.
import { execFile } from 'node:child_process';

export const NVIDIA_SMI_ARGS = ['--query-gpu=index,memory.total,memory.used,memory.free', '--format=csv,noheader,nounits'];
const MIB = 1024 * 1024;

export interface GpuMemoryReading {
  index: number;
  totalBytes: number;
  usedBytes: number;
  freeBytes: number;
}

export interface NvidiaSmiOptions {
  /** The executable; found on PATH by default. */
  command?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Parses `index, total, used, free` lines (MiB). Throws a one-sentence error naming the offending line. */
export function parseNvidiaSmiCsv(text: string): GpuMemoryReading[] {
  const readings: GpuMemoryReading[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, lineIndex) => {
    if (line.trim() === '') return;
    const fields = line.split(',').map((field) => field.trim());
    const numbers = fields.map((field) => (/^\d+(\.\d+)?$/.test(field) ? Number(field) : NaN));
    if (fields.length !== 4 || numbers.some((n) => Number.isNaN(n))) {
      throw new Error(`nvidia-smi output line ${lineIndex + 1} is not "index, memory.total, memory.used, memory.free" in MiB: '${line}'`);
    }
    const [index, total, used, free] = numbers as [number, number, number, number];
    readings.push({ index, totalBytes: total * MIB, usedBytes: used * MIB, freeBytes: free * MIB });
  });
  return readings;
}

/** Runs nvidia-smi once. Rejects when it is missing, fails, times out or prints something unparseable. */
export function queryNvidiaSmi(options: NvidiaSmiOptions = {}): Promise<GpuMemoryReading[]> {
  const command = options.command ?? 'nvidia-smi';
  const timeout = options.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    execFile(command, NVIDIA_SMI_ARGS, { timeout, env: options.env ?? process.env, windowsHide: true }, (error, stdout, stderr) => {
      if (error) {
        const why = error.killed ? `timed out after ${timeout} ms` : (String(stderr).trim().split('\n')[0] || error.message);
        reject(new Error(`nvidia-smi failed: ${why}`, { cause: error }));
        return;
      }
      try {
        resolve(parseNvidiaSmiCsv(String(stdout)));
      } catch (parseError) {
        reject(parseError);
      }
    });
  });
}
