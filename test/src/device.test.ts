import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  createCpuDevice,
  DeviceOperationError,
  DeviceOutOfMemoryError,
  formatSize,
  TensorDevice,
  type Device,
  type TensorModule,
} from '../../src/device/index.js';

const MB = 1_000_000;
const opened: Device[] = [];
function device(budgetMB: number, extra: Parameters<typeof createCpuDevice>[0] = {}): Device {
  const d = createCpuDevice({ budgetMB, ...extra });
  opened.push(d);
  return d;
}
afterEach(() => {
  for (const d of opened.splice(0)) d.close();
});

describe('budgeted CPU device', () => {
  it('backs an allocation with real, filled float32 tensors', () => {
    const d = device(8);
    const before = tf.memory().numTensors;
    const handle = d.allocate(2 * MB, 'ballast');
    assert.equal(tf.memory().numTensors, before + 1);
    assert.equal(handle.tensors.length, 1);
    const values = handle.tensors[0]!.dataSync();
    assert.equal(values.length, (2 * MB) / 4);
    assert.ok(values.every((v) => v === 1), 'every element was written (a fill, not lazy zeros)');
    assert.equal(handle.tag, 'ballast');
    assert.equal(d.allocatedBytes(), 2 * MB);
  });

  it('reports its kind, name and the budget as its total', () => {
    const d = device(12);
    assert.equal(d.kind, 'cpu');
    assert.equal(d.totalBytes(), 12 * MB);
    assert.match(d.name(), /tfjs-cpu \(budget 12 MB\)/);
    assert.equal(d.isAvailable(), true);
    assert.equal(d.deviceUsedBytes, undefined, 'no driver-level figures on the CPU device');
  });

  it('keeps freed blocks reserved until emptyCache disposes them', () => {
    const d = device(8);
    const baseline = tf.memory().numTensors;
    const handle = d.allocate(3 * MB);
    d.free(handle);
    assert.equal(d.allocatedBytes(), 0);
    assert.equal(d.reservedBytes(), 3 * MB);
    assert.equal(tf.memory().numTensors, baseline + 1, 'the cached block still holds its tensor');
    assert.equal(handle.freed, true);
    assert.equal(handle.tensors.length, 0);
    d.emptyCache();
    assert.equal(d.reservedBytes(), 0);
    assert.equal(tf.memory().numTensors, baseline);
    assert.equal(d.counters().emptyCacheCalls, 1);
  });

  it('reuses a cached block for the next request of that size', () => {
    const d = device(8);
    d.free(d.allocate(2 * MB));
    const again = d.allocate(2 * MB);
    assert.equal(d.counters().cacheHits, 1);
    assert.equal(d.reservedBytes(), 2 * MB);
    assert.equal(again.tensors.length, 1);
  });

  it('frees idempotently and ignores a handle it does not own', () => {
    const d = device(8);
    const other = device(8);
    const handle = d.allocate(1 * MB);
    d.free(handle);
    d.free(handle);
    assert.equal(d.counters().frees, 1);
    const mine = d.allocate(1 * MB);
    const theirs = other.allocate(2 * MB);
    assert.equal(mine.id, 2);
    const twin = other.allocate(1 * MB); // same id as `mine` on another device
    assert.equal(twin.id, mine.id);
    d.free(twin);
    assert.equal(mine.freed, false, "a foreign handle with the same id does not free this device's block");
    assert.equal(d.allocatedBytes(), 1 * MB);
    assert.equal(other.allocatedBytes(), 3 * MB);
    assert.equal(theirs.freed, false);
  });

  it('releases the cache and retries before raising', () => {
    const d = device(10);
    d.free(d.allocate(6 * MB));
    const big = d.allocate(8 * MB);
    assert.equal(d.counters().cacheFlushRetries, 1);
    assert.equal(d.reservedBytes(), 8 * MB);
    assert.equal(big.chargedBytes, 8 * MB);
  });

  it('raises DeviceOutOfMemoryError with the figures when the budget is exceeded, and allocates nothing', () => {
    const d = device(10);
    d.allocate(7 * MB);
    const tensorsBefore = tf.memory().numTensors;
    assert.throws(
      () => d.allocate(4 * MB),
      (error: unknown) => {
        assert.ok(error instanceof DeviceOutOfMemoryError);
        assert.equal(error.requestedBytes, 4 * MB);
        assert.equal(error.totalBytes, 10 * MB);
        assert.equal(error.allocatedBytes, 7 * MB);
        assert.equal(error.reservedBytes, 7 * MB);
        assert.equal(error.freeBytes, 3 * MB);
        assert.equal(error.injected, false);
        assert.match(error.message, /^Device out of memory\. Tried to allocate 3\.81 MiB \(tfjs-cpu \(budget 10 MB\); 9\.54 MiB total capacity; 6\.68 MiB already allocated; 2\.86 MiB free; 6\.68 MiB reserved/);
        return true;
      },
    );
    assert.equal(tf.memory().numTensors, tensorsBefore);
    assert.equal(d.counters().outOfMemoryErrors, 1);
  });

  it('rejects an impossible request (10^12 float32) before touching memory', () => {
    const d = device(4096);
    const start = performance.now();
    assert.throws(() => d.allocate(4e12), DeviceOutOfMemoryError);
    assert.ok(performance.now() - start < 1000);
  });

  const badSizes: [string, number][] = [['negative', -1], ['NaN', Number.NaN], ['infinite', Number.POSITIVE_INFINITY]];
  for (const [name, bytes] of badSizes) {
    it(`rejects a ${name} size with a RangeError`, () => {
      assert.throws(() => device(8).allocate(bytes), /bytes must be a non-negative finite number/);
    });
  }

  it('rejects a non-positive budget and an odd rounding granularity', () => {
    assert.throws(() => createCpuDevice({ budgetMB: 0 }), /budgetMB must be a positive number/);
    assert.throws(() => createCpuDevice({ budgetMB: 8, roundingBytes: 6 }), /roundingBytes must be a positive multiple of 4/);
    assert.throws(() => new TensorDevice({ kind: 'cpu', name: 'x', budgetBytes: -5 }), /device budget must be a positive number of bytes/);
  });

  it('rounds to the configured granularity (512 mimics PyTorch)', () => {
    const d = device(8, { roundingBytes: 512 });
    const handle = d.allocate(1000);
    assert.equal(handle.requestedBytes, 1000);
    assert.equal(handle.chargedBytes, 1024);
    assert.equal(d.allocatedBytes(), 1024);
  });

  it('tracks the peak until resetPeakStats', () => {
    const d = device(10);
    const a = d.allocate(4 * MB);
    d.allocate(2 * MB);
    d.free(a);
    assert.equal(d.peakAllocatedBytes(), 6 * MB);
    d.resetPeakStats();
    assert.equal(d.peakAllocatedBytes(), 2 * MB);
    assert.equal(d.counters().peakResets, 1);
  });

  it('probes by allocating and freeing, and reports failure instead of throwing', () => {
    const d = device(10);
    assert.deepEqual(d.probe(5 * MB), { ok: true });
    assert.equal(d.allocatedBytes(), 0);
    const failed = d.probe(11 * MB);
    assert.equal(failed.ok, false);
    assert.ok(!failed.ok && failed.error instanceof DeviceOutOfMemoryError);
  });

  it('splits allocations above 256 MiB into several tensors', () => {
    const d = device(300);
    const handle = d.allocate(270 * 1024 * 1024);
    assert.equal(handle.tensors.length, 2);
    assert.equal(handle.tensors[0]!.size * 4, 256 * 1024 * 1024);
    assert.equal(handle.tensors[1]!.size * 4, 14 * 1024 * 1024);
  });

  it('turns a host allocation failure into DeviceOutOfMemoryError and leaks no tensors', () => {
    let calls = 0;
    const disposed: number[] = [];
    const failingTf = {
      fill: (shape: number[]) => {
        calls++;
        if (calls === 2) throw new RangeError('Array buffer allocation failed');
        return { size: shape[0], dispose: () => disposed.push(calls) };
      },
    } as unknown as TensorModule;
    const d = new TensorDevice({ kind: 'cpu', name: 'flaky', budgetBytes: 600 * 1024 * 1024, tf: failingTf });
    assert.throws(
      () => d.allocate(300 * 1024 * 1024),
      (error: unknown) => error instanceof DeviceOutOfMemoryError && error.cause instanceof RangeError,
    );
    assert.equal(disposed.length, 1, 'the first piece was disposed when the second failed');
    assert.equal(d.reservedBytes(), 0);
    assert.equal(d.allocatedBytes(), 0);
  });

  it('passes any other storage error through unchanged', () => {
    const brokenTf = { fill: () => { throw new TypeError('backend exploded'); } } as unknown as TensorModule;
    const d = new TensorDevice({ kind: 'cpu', name: 'broken', budgetBytes: 1000, tf: brokenTf });
    assert.throws(() => d.allocate(100), TypeError);
  });

  it('disposes every tensor it holds on close, and refuses work afterwards', () => {
    const baseline = tf.memory().numTensors;
    const d = createCpuDevice({ budgetMB: 16 });
    const live = d.allocate(2 * MB);
    d.free(d.allocate(3 * MB));
    d.close();
    d.close();
    assert.equal(tf.memory().numTensors, baseline);
    assert.equal(live.freed, true);
    assert.equal(d.isAvailable(), false);
    assert.equal(d.allocatedBytes(), 0);
    assert.equal(d.reservedBytes(), 0);
    assert.throws(() => d.allocate(1), /allocate after close\(\)/);
    assert.throws(() => d.run(() => 1), /run after close\(\)/);
  });

  it('returns tf.memory().numTensors to its baseline after a stress cycle', () => {
    const baseline = tf.memory().numTensors;
    const d = device(20);
    for (let i = 0; i < 50; i++) d.free(d.allocate(((i % 5) + 1) * MB));
    d.emptyCache();
    assert.equal(tf.memory().numTensors, baseline);
    assert.equal(d.reservedBytes(), 0);
  });
});

describe('device operations and fault injection', () => {
  it('runs an operation and returns its result, sync or async', async () => {
    const d = device(8);
    assert.equal(d.run(() => 41 + 1), 42);
    assert.equal(await d.run(async () => 'done', 'transcribe'), 'done');
    assert.equal(d.counters().operations, 2);
  });

  it('raises injected OOMs on the next N allocations only, probes included', () => {
    const d = device(8);
    d.faults.failNextAllocations(2);
    assert.throws(() => d.allocate(1), (e: unknown) => e instanceof DeviceOutOfMemoryError && e.injected && /\[injected fault\]/.test(e.message));
    assert.equal(d.probe(1).ok, false);
    assert.equal(d.probe(1).ok, true);
    assert.equal(d.faults.injectedAllocationFailures, 2);
    assert.equal(d.faults.pendingAllocationFailures, 0);
  });

  it('raises injected operation errors with the CUDA launch-failure text by default', () => {
    const d = device(8);
    d.faults.failNextOperations(1);
    d.faults.failNextOperations(1, 'CUDA error: an illegal memory access was encountered');
    let ran = 0;
    assert.throws(() => d.run(() => ran++), (e: unknown) => e instanceof DeviceOperationError && e.message === 'CUDA error: unspecified launch failure' && e.injected);
    assert.throws(() => d.run(() => ran++), /illegal memory access/);
    assert.equal(d.run(() => ran++), 0);
    assert.equal(ran, 1, 'a failed operation never ran');
    assert.equal(d.faults.injectedOperationFailures, 2);
  });

  it('clears pending faults and validates counts', () => {
    const d = device(8);
    d.faults.failNextAllocations(3);
    d.faults.failNextOperations(2);
    d.faults.clear();
    assert.equal(d.faults.pendingAllocationFailures, 0);
    assert.equal(d.faults.pendingOperationFailures, 0);
    assert.throws(() => d.faults.failNextAllocations(-1), /non-negative integer/);
    assert.throws(() => d.faults.failNextOperations(1.5), /non-negative integer/);
  });

  it('words an OOM like PyTorch on a CUDA device', () => {
    const d = new TensorDevice({ kind: 'cuda', name: 'CUDA GPU 0', budgetBytes: 4 * MB });
    opened.push(d);
    assert.throws(() => d.allocate(5 * MB), { name: 'DeviceOutOfMemoryError', message: /^CUDA out of memory\. Tried to allocate 4\.77 MiB \(CUDA GPU 0;/ });
  });
});

describe('formatSize', () => {
  const cases: [number, string][] = [
    [0, '0 bytes'], [1023, '1023 bytes'], [1024, '1.00 KiB'], [1024 ** 2 - 1, '1024.00 KiB'], [1024 ** 2, '1.00 MiB'],
    [100 * 1024 ** 2, '100.00 MiB'], [1024 ** 3, '1.00 GiB'], [4.5 * 1024 ** 3, '4.50 GiB'],
  ];
  for (const [bytes, text] of cases) it(`${bytes} -> ${text}`, () => assert.equal(formatSize(bytes), text));
});

describe('driver-level figures', () => {
  it('refreshes on every call by default, and throttles with driverStatsMaxAgeMs on the given clock', async () => {
    const { FakeClock } = await import('../../src/clock.js');
    let reads = 0;
    const driverStats = async () => ++reads * MB;
    const eager = new TensorDevice({ kind: 'cuda', name: 'g', budgetBytes: 10 * MB, driverStats });
    await eager.refreshDriverStats!();
    await eager.refreshDriverStats!();
    assert.equal(reads, 2);
    assert.equal(eager.deviceUsedBytes!(), 2 * MB);
    const clock = new FakeClock();
    const throttled = new TensorDevice({ kind: 'cuda', name: 'g', budgetBytes: 10 * MB, driverStats, driverStatsMaxAgeMs: 10_000, clock });
    assert.equal(throttled.deviceUsedBytes!(), undefined);
    await throttled.refreshDriverStats!();
    assert.equal(reads, 3);
    clock.advance(9_999);
    await throttled.refreshDriverStats!();
    assert.equal(reads, 3);
    clock.advance(1);
    await throttled.refreshDriverStats!();
    assert.equal(reads, 4);
    eager.close();
    throttled.close();
  });
});
