// Measuring one command: wall time (hrtime around spawn..close), CPU seconds of the whole process tree (GNU time:
// the rusage of every waited-for descendant), and peak RSS of the whole tree.
//
// Why poll /proc for memory: `/usr/bin/time`'s %M is the largest *single* process's high-water mark, which
// undercounts runners that fork workers (vitest, jest, node --test). The poller sums the resident set of every
// live descendant every POLL_MS; it can miss a spike shorter than one interval, so it also keeps, per process,
// the last VmHWM it saw, and reports the larger of (sampled tree sum, biggest single-process high-water mark).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const POLL_MS = 10;
const PAGE_BYTES = 4096;
const GNU_TIME = '/usr/bin/time';
export const HAVE_GNU_TIME = existsSync(GNU_TIME);

function listPids() {
  const pids = [];
  for (const name of readdirSync('/proc')) if (name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57) pids.push(Number(name));
  return pids;
}

function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name is in parentheses and may contain spaces: fields after the last ')' are fixed.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

/** Samples the resident memory of a process tree rooted at one pid. */
export class TreeMemorySampler {
  constructor() {
    this.seen = new Set(listPids()); // everything alive before the command starts is unrelated to it
    this.tracked = new Set();
    this.highWaterKiB = new Map();
    this.peakTreeBytes = 0;
    this.samples = 0;
  }

  /** `excludeRoot`: the root is a wrapper (GNU time) whose own few MiB are not the tool's. */
  start(rootPid, { excludeRoot }) {
    this.rootPid = rootPid;
    this.excludeRoot = excludeRoot;
    this.tracked.add(rootPid);
    this.seen.add(rootPid);
    this.sample();
    this.timer = setInterval(() => this.sample(), POLL_MS);
  }

  stop() {
    clearInterval(this.timer);
  }

  sample() {
    const fresh = [];
    for (const pid of listPids()) if (!this.seen.has(pid)) fresh.push([pid, parentOf(pid)]);
    // A child can be listed before its parent (pid wrap-around): repeat until nothing new joins the tree.
    for (let grew = true; grew; ) {
      grew = false;
      for (const entry of fresh) {
        if (entry[1] !== -2 && this.tracked.has(entry[1])) {
          this.tracked.add(entry[0]);
          entry[1] = -2;
          grew = true;
        }
      }
    }
    for (const [pid] of fresh) this.seen.add(pid);
    let total = 0;
    for (const pid of this.tracked) {
      if (this.excludeRoot && pid === this.rootPid) continue;
      try {
        total += Number(readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ')[1]) * PAGE_BYTES;
        const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
        if (hwm) this.highWaterKiB.set(pid, Number(hwm[1]));
      } catch {
        this.tracked.delete(pid); // exited
      }
    }
    this.samples++;
    if (total > this.peakTreeBytes) this.peakTreeBytes = total;
  }

  peakBytes() {
    const biggestSingle = Math.max(0, ...this.highWaterKiB.values()) * 1024;
    return Math.max(this.peakTreeBytes, biggestSingle);
  }
}

/**
 * Runs argv[0] with argv[1..] in cwd; resolves to { wallS, cpuS, peakBytes, code, output }.
 * Output (stdout + stderr, interleaved by arrival) is kept so the caller can check what the tool says it ran.
 */
export function measure(argv, { cwd, env }) {
  const timeDir = HAVE_GNU_TIME ? mkdtempSync(join(tmpdir(), 'runner-bench-')) : null;
  const timeFile = timeDir && join(timeDir, 'time');
  const command = HAVE_GNU_TIME ? [GNU_TIME, '-f', '%e %U %S', '-o', timeFile, ...argv] : argv;
  const sampler = new TreeMemorySampler();
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command[0], command.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    sampler.start(child.pid, { excludeRoot: HAVE_GNU_TIME });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      sampler.stop();
      let cpuS = NaN;
      if (timeFile) {
        // GNU time prints "Command exited with non-zero status N" before the format line.
        const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
        const [, user, system] = last.split(' ').map(Number);
        cpuS = user + system;
        rmSync(timeDir, { recursive: true, force: true });
      }
      resolve({ wallS, cpuS, peakBytes: sampler.peakBytes(), samples: sampler.samples, code: code ?? signal, output: Buffer.concat(chunks).toString('utf8') });
    });
  });
}
