import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CachingAllocator, type BlockStorage } from '../../src/device/caching-allocator.js';

/** Storage that records what it created and disposed, so the cache policy can be checked without tensors. */
function recordingStorage() {
  const created: number[] = [];
  const disposed: number[] = [];
  let nextId = 0;
  const storage: BlockStorage<{ id: number; bytes: number }> = {
    create: (bytes) => {
      created.push(bytes);
      return { id: nextId++, bytes };
    },
    dispose: (payload) => {
      disposed.push(payload.bytes);
    },
  };
  return { storage, created, disposed };
}

function grant<P>(outcome: ReturnType<CachingAllocator<P>['allocate']>) {
  assert.ok(outcome.ok, 'allocation should have succeeded');
  return outcome;
}

describe('CachingAllocator', () => {
  it('keeps a freed block reserved and hands it out again without touching storage', () => {
    const { storage, created } = recordingStorage();
    const allocator = new CachingAllocator(storage, 1000, 4);
    const first = grant(allocator.allocate(100));
    allocator.release(first.reservation);
    assert.equal(allocator.allocatedBytes, 0);
    assert.equal(allocator.reservedBytes, 100);
    const second = grant(allocator.allocate(100));
    assert.equal(second.fromCache, true);
    assert.deepEqual(created, [100]);
    assert.equal(second.reservation.payload, first.reservation.payload);
  });

  it('picks the smallest cached block that fits (best fit), and only up to twice the request', () => {
    const { storage } = recordingStorage();
    const allocator = new CachingAllocator(storage, 10_000, 4);
    const blocks = [400, 120, 200].map((size) => grant(allocator.allocate(size)).reservation);
    for (const block of blocks) allocator.release(block);
    const fit = grant(allocator.allocate(100));
    assert.equal(fit.reservation.blockBytes, 120);
    assert.equal(fit.reservation.chargedBytes, 100);
    assert.equal(allocator.allocatedBytes, 100, 'the unused tail of a reused block is not allocated');
    const tooBig = grant(allocator.allocate(180));
    assert.equal(tooBig.reservation.blockBytes, 200);
    const fresh = grant(allocator.allocate(100)); // only 400 is left: more than twice 100
    assert.equal(fresh.fromCache, false);
    assert.equal(fresh.reservation.blockBytes, 100);
  });

  const budgetCases: [string, number, boolean][] = [
    ['exactly the budget fits', 1000, true],
    ['one granule over does not', 1004, false],
  ];
  for (const [name, request, fits] of budgetCases) {
    it(`checks the budget before creating storage: ${name}`, () => {
      const { storage, created } = recordingStorage();
      const allocator = new CachingAllocator(storage, 1000, 4);
      const outcome = allocator.allocate(request);
      assert.equal(outcome.ok, fits);
      assert.deepEqual(created, fits ? [request] : []);
    });
  }

  it('releases the cache and retries once when a request does not fit', () => {
    const { storage, disposed } = recordingStorage();
    const allocator = new CachingAllocator(storage, 1000, 4);
    allocator.release(grant(allocator.allocate(300)).reservation);
    allocator.release(grant(allocator.allocate(700)).reservation);
    const big = grant(allocator.allocate(800)); // 700 is cached but 800 > 700; 1000 reserved
    assert.equal(big.flushedCache, true);
    assert.deepEqual(disposed.sort(), [300, 700]);
    assert.equal(allocator.reservedBytes, 800);
  });

  it('fails without creating anything when even an empty cache would not make room', () => {
    const { storage, created } = recordingStorage();
    const allocator = new CachingAllocator(storage, 1000, 4);
    grant(allocator.allocate(600));
    const outcome = allocator.allocate(600);
    assert.equal(outcome.ok, false);
    assert.equal(created.length, 1);
  });

  it('rounds requests up to the granularity and tracks the peak until reset', () => {
    const { storage } = recordingStorage();
    const allocator = new CachingAllocator(storage, 10_000, 512);
    const a = grant(allocator.allocate(1));
    assert.equal(a.reservation.chargedBytes, 512);
    const b = grant(allocator.allocate(513));
    assert.equal(allocator.peakBytes, 512 + 1024);
    allocator.release(b.reservation);
    assert.equal(allocator.peakBytes, 1536);
    allocator.resetPeak();
    assert.equal(allocator.peakBytes, 512);
  });

  it('treats a zero-byte request as free of storage', () => {
    const { storage, created } = recordingStorage();
    const allocator = new CachingAllocator(storage, 10, 4);
    const zero = grant(allocator.allocate(0));
    allocator.release(zero.reservation);
    assert.equal(created.length, 0);
    assert.equal(allocator.cachedBlocks, 0);
  });

  it('disposes live reservations and the cache on disposeAll', () => {
    const { storage, disposed } = recordingStorage();
    const allocator = new CachingAllocator(storage, 1000, 4);
    const live = grant(allocator.allocate(100)).reservation;
    allocator.release(grant(allocator.allocate(200)).reservation);
    allocator.disposeAll([live]);
    assert.deepEqual(disposed.sort(), [100, 200]);
    assert.equal(allocator.reservedBytes, 0);
    assert.equal(allocator.allocatedBytes, 0);
  });
});
