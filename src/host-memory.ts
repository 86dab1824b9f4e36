// Host memory as the kernel sees it: the process's cgroup limit and usage (v1 and v2; this project's machines are
// v1) and memory pressure stall information (PSI). No maintained package reads both cgroup versions for the
// process's own group, so this reads the files by hand. Every reader takes a filesystem root so tests can point
// it at a fake tree.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Values at or above this are the kernel's "no limit" sentinels (v1 writes 9223372036854771712). */
const UNLIMITED_BYTES = 2 ** 62;

export interface CgroupMemory {
  version: 1 | 2;
  /** The directory the figures came from. */
  path: string;
  limitBytes: number | null;
  usageBytes: number | null;
  peakBytes: number | null;
  oomKills: number | null;
}

export interface PressureStall {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time in microseconds. */
  total: number;
}

export interface MemoryPressure {
  some: PressureStall;
  full: PressureStall | null;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function readBytes(path: string): number | null {
  const text = readText(path)?.trim();
  if (text === undefined || text === 'max') return null;
  const value = Number(text);
  return Number.isFinite(value) && value < UNLIMITED_BYTES ? value : null;
}

/** The number after `key` on its line, in files like memory.events, /proc/meminfo or /proc/self/status. */
function readKeyedValue(path: string, key: string): number | null {
  for (const line of readText(path)?.split('\n') ?? []) {
    const [first, second] = line.trim().split(/\s+/);
    if (first === key) return Number(second);
  }
  return null;
}

/** Our cgroup directory under a mount; inside a cgroup namespace the listed path may not exist, so fall back to the mount. */
function cgroupDirectory(mount: string, listedPath: string, probeFile: string): string | null {
  const own = join(mount, listedPath);
  if (existsSync(join(own, probeFile))) return own;
  if (existsSync(join(mount, probeFile))) return mount;
  return null;
}

export function readCgroupMemory(root = '/'): CgroupMemory | null {
  const membership = readText(join(root, 'proc/self/cgroup'));
  if (membership === null) return null;
  const entries = membership
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [, controllers = '', ...rest] = line.split(':');
      return { controllers: controllers.split(','), path: rest.join(':') };
    });
  const v1 = entries.find((entry) => entry.controllers.includes('memory'));
  if (v1) {
    const dir = cgroupDirectory(join(root, 'sys/fs/cgroup/memory'), v1.path, 'memory.usage_in_bytes');
    if (dir) {
      return {
        version: 1,
        path: dir,
        limitBytes: readBytes(join(dir, 'memory.limit_in_bytes')),
        usageBytes: readBytes(join(dir, 'memory.usage_in_bytes')),
        peakBytes: readBytes(join(dir, 'memory.max_usage_in_bytes')),
        oomKills: readKeyedValue(join(dir, 'memory.oom_control'), 'oom_kill'),
      };
    }
  }
  const v2 = entries.find((entry) => entry.controllers.length === 1 && entry.controllers[0] === '');
  if (v2) {
    const dir = cgroupDirectory(join(root, 'sys/fs/cgroup'), v2.path, 'memory.current');
    if (dir) {
      return {
        version: 2,
        path: dir,
        limitBytes: readBytes(join(dir, 'memory.max')),
        usageBytes: readBytes(join(dir, 'memory.current')),
        peakBytes: readBytes(join(dir, 'memory.peak')),
        oomKills: readKeyedValue(join(dir, 'memory.events'), 'oom_kill'),
      };
    }
  }
  return null;
}

function parseStallLine(line: string | undefined): PressureStall | null {
  if (!line) return null;
  const fields = Object.fromEntries(
    line
      .split(/\s+/)
      .slice(1)
      .map((pair) => pair.split('=') as [string, string]),
  );
  const stall = { avg10: Number(fields.avg10), avg60: Number(fields.avg60), avg300: Number(fields.avg300), total: Number(fields.total) };
  return Object.values(stall).every(Number.isFinite) ? stall : null;
}

/** System-wide memory PSI from /proc/pressure/memory; null where the kernel has no PSI. */
export function readMemoryPressure(root = '/'): MemoryPressure | null {
  const lines = readText(join(root, 'proc/pressure/memory'))?.split('\n');
  if (!lines) return null;
  const some = parseStallLine(lines.find((l) => l.startsWith('some ')));
  if (!some) return null;
  return { some, full: parseStallLine(lines.find((l) => l.startsWith('full '))) };
}

/** MemAvailable from /proc/meminfo, in bytes; null when unreadable. */
export function readMemAvailableBytes(root = '/'): number | null {
  const kib = readKeyedValue(join(root, 'proc/meminfo'), 'MemAvailable:');
  return kib === null || !Number.isFinite(kib) ? null : kib * 1024;
}

/** The `Threads:` line of /proc/self/status. */
export function readThreadCount(root = '/'): number | null {
  const threads = readKeyedValue(join(root, 'proc/self/status'), 'Threads:');
  return threads === null || !Number.isFinite(threads) ? null : threads;
}
