import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCgroupMemory, readMemAvailableBytes, readMemoryPressure, readThreadCount } from '../../src/host-memory.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A throwaway filesystem root holding the given files. */
function fakeHost(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'host-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('readCgroupMemory', () => {
  it('cgroup v1: reads the process group under the memory mount', () => {
    const root = fakeHost({
      'proc/self/cgroup': '9:name=systemd:/\n4:memory:/process_api/abc\n0::/\n',
      'sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes': '4000000000\n',
      'sys/fs/cgroup/memory/process_api/abc/memory.usage_in_bytes': '214261760\n',
      'sys/fs/cgroup/memory/process_api/abc/memory.max_usage_in_bytes': '298643456\n',
      'sys/fs/cgroup/memory/process_api/abc/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
    });
    assert.deepEqual(readCgroupMemory(root), {
      version: 1,
      path: join(root, 'sys/fs/cgroup/memory/process_api/abc'),
      limitBytes: 4e9,
      usageBytes: 214261760,
      peakBytes: 298643456,
      oomKills: 2,
    });
  });

  it('cgroup v1: the "no limit" sentinel reads as null, and a namespaced path falls back to the mount root', () => {
    const root = fakeHost({
      'proc/self/cgroup': '4:memory,cpuacct:/not/visible/here\n',
      'sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
      'sys/fs/cgroup/memory/memory.usage_in_bytes': '1000\n',
    });
    const cgroup = readCgroupMemory(root)!;
    assert.equal(cgroup.path, join(root, 'sys/fs/cgroup/memory'));
    assert.equal(cgroup.limitBytes, null);
    assert.equal(cgroup.usageBytes, 1000);
    assert.equal(cgroup.peakBytes, null);
    assert.equal(cgroup.oomKills, null);
  });

  it('cgroup v2: memory.max, memory.current, memory.peak and oom_kill from memory.events', () => {
    const root = fakeHost({
      'proc/self/cgroup': '0::/user.slice/app.scope\n',
      'sys/fs/cgroup/user.slice/app.scope/memory.max': '4294967296\n',
      'sys/fs/cgroup/user.slice/app.scope/memory.current': '123456\n',
      'sys/fs/cgroup/user.slice/app.scope/memory.peak': '654321\n',
      'sys/fs/cgroup/user.slice/app.scope/memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n',
    });
    assert.deepEqual(readCgroupMemory(root), {
      version: 2,
      path: join(root, 'sys/fs/cgroup/user.slice/app.scope'),
      limitBytes: 4294967296,
      usageBytes: 123456,
      peakBytes: 654321,
      oomKills: 1,
    });
  });

  it('cgroup v2: "max" means no limit', () => {
    const root = fakeHost({ 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/memory.max': 'max\n', 'sys/fs/cgroup/memory.current': '5\n' });
    assert.equal(readCgroupMemory(root)!.limitBytes, null);
  });

  it('v1 without its files and a v2 entry without a memory controller (this machine\'s unified mount) give null', () => {
    assert.equal(readCgroupMemory(fakeHost({ 'proc/self/cgroup': '4:memory:/x\n0::/\n' })), null);
    assert.equal(readCgroupMemory(fakeHost({})), null);
  });

  it('v1 is preferred when both are listed and both have files', () => {
    const root = fakeHost({
      'proc/self/cgroup': '4:memory:/\n0::/\n',
      'sys/fs/cgroup/memory/memory.usage_in_bytes': '7\n',
      'sys/fs/cgroup/memory.current': '9\n',
    });
    assert.equal(readCgroupMemory(root)!.version, 1);
  });
});

describe('readMemoryPressure', () => {
  it('parses some and full lines', () => {
    const root = fakeHost({ 'proc/pressure/memory': 'some avg10=0.12 avg60=3.40 avg300=1.00 total=5678\nfull avg10=0.00 avg60=1.10 avg300=0.20 total=90\n' });
    assert.deepEqual(readMemoryPressure(root), {
      some: { avg10: 0.12, avg60: 3.4, avg300: 1, total: 5678 },
      full: { avg10: 0, avg60: 1.1, avg300: 0.2, total: 90 },
    });
  });

  it('is null without PSI or with an unreadable line, and full is optional', () => {
    assert.equal(readMemoryPressure(fakeHost({})), null);
    assert.equal(readMemoryPressure(fakeHost({ 'proc/pressure/memory': 'some avg10=x\n' })), null);
    assert.deepEqual(readMemoryPressure(fakeHost({ 'proc/pressure/memory': 'some avg10=1 avg60=2 avg300=3 total=4\n' }))!.full, null);
  });
});

describe('meminfo and thread count', () => {
  it('reads MemAvailable in bytes and the Threads line', () => {
    const root = fakeHost({
      'proc/meminfo': 'MemTotal:       24684096 kB\nMemFree:        23966044 kB\nMemAvailable:   24084352 kB\n',
      'proc/self/status': 'Name:\tnode\nThreads:\t13\n',
    });
    assert.equal(readMemAvailableBytes(root), 24084352 * 1024);
    assert.equal(readThreadCount(root), 13);
  });

  it('gives null when the files are missing', () => {
    const root = fakeHost({});
    assert.equal(readMemAvailableBytes(root), null);
    assert.equal(readThreadCount(root), null);
  });

  it('works on the real /proc of this machine', () => {
    assert.ok(readMemAvailableBytes()! > 0);
    assert.ok(readThreadCount()! >= 1);
  });
});
