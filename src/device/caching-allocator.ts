// A caching allocator in the manner of PyTorch's CUDA allocator, over any kind of block storage:
// - a freed block stays *reserved* in a cache and is handed out again (best fit) without touching storage;
// - the per-process budget (PyTorch's memory fraction) is checked on reserved bytes *before* storage is asked;
// - when a request does not fit, the cache is released and the request retried once before it fails.
// PyTorch splits oversized cached blocks; here a block is reused only when it is at most twice the request, and
// the unused tail stays counted as reserved (internal fragmentation), which keeps the bookkeeping honest without
// slicing tensors.

export interface BlockStorage<P> {
  /** Creates real storage for `bytes`. May throw (e.g. the host cannot provide the memory). */
  create(bytes: number): P;
  dispose(payload: P): void;
}

/** A granted request: `chargedBytes` count as allocated, the whole `blockBytes` as reserved. */
export interface Reservation<P> {
  readonly chargedBytes: number;
  readonly blockBytes: number;
  readonly payload: P | undefined;
}

export type AllocationOutcome<P> =
  | { ok: true; reservation: Reservation<P>; fromCache: boolean; flushedCache: boolean }
  | { ok: false; flushedCache: boolean };

interface CachedBlock<P> {
  bytes: number;
  payload: P;
}

/** Largest cached block that may serve a request, as a multiple of the request. */
const MAX_REUSE_RATIO = 2;

export class CachingAllocator<P> {
  private readonly cache: CachedBlock<P>[] = []; // sorted by size, smallest first, so the first fit is the best fit
  private reserved = 0;
  private allocated = 0;
  private peak = 0;

  constructor(
    private readonly storage: BlockStorage<P>,
    readonly budgetBytes: number,
    private readonly roundingBytes: number,
  ) {}

  get allocatedBytes(): number {
    return this.allocated;
  }
  get reservedBytes(): number {
    return this.reserved;
  }
  get peakBytes(): number {
    return this.peak;
  }
  get cachedBlocks(): number {
    return this.cache.length;
  }

  /** The size charged for a request: rounded up to the block granularity. */
  chargeFor(bytes: number): number {
    return Math.ceil(bytes / this.roundingBytes) * this.roundingBytes;
  }

  resetPeak(): void {
    this.peak = this.allocated;
  }

  allocate(bytes: number): AllocationOutcome<P> {
    const charged = this.chargeFor(bytes);
    if (charged === 0) return this.grant({ chargedBytes: 0, blockBytes: 0, payload: undefined }, false, false);
    const cachedIndex = this.bestFit(charged);
    if (cachedIndex >= 0) {
      const [block] = this.cache.splice(cachedIndex, 1);
      return this.grant({ chargedBytes: charged, blockBytes: block!.bytes, payload: block!.payload }, true, false);
    }
    let flushedCache = false;
    if (this.reserved + charged > this.budgetBytes && this.cache.length > 0) {
      this.releaseCache();
      flushedCache = true;
    }
    if (this.reserved + charged > this.budgetBytes) return { ok: false, flushedCache };
    const payload = this.storage.create(charged); // may throw; nothing is counted until it succeeds
    this.reserved += charged;
    return this.grant({ chargedBytes: charged, blockBytes: charged, payload }, false, flushedCache);
  }

  /** Returns a reservation's block to the cache; its storage stays reserved until `releaseCache`. */
  release(reservation: Reservation<P>): void {
    this.allocated -= reservation.chargedBytes;
    if (reservation.blockBytes === 0) return;
    const block = { bytes: reservation.blockBytes, payload: reservation.payload as P };
    const at = this.cache.findIndex((cached) => cached.bytes > block.bytes);
    this.cache.splice(at < 0 ? this.cache.length : at, 0, block);
  }

  /** Disposes every cached block. Returns the bytes given back. */
  releaseCache(): number {
    let released = 0;
    for (const block of this.cache.splice(0)) {
      this.storage.dispose(block.payload);
      released += block.bytes;
    }
    this.reserved -= released;
    return released;
  }

  /** Disposes live reservations (the owner tracks them) and the cache. */
  disposeAll(live: Iterable<Reservation<P>>): void {
    for (const reservation of live) {
      if (reservation.blockBytes > 0) this.storage.dispose(reservation.payload as P);
      this.reserved -= reservation.blockBytes;
      this.allocated -= reservation.chargedBytes;
    }
    this.releaseCache();
  }

  private bestFit(charged: number): number {
    const index = this.cache.findIndex((block) => block.bytes >= charged);
    if (index < 0) return -1;
    return this.cache[index]!.bytes <= charged * MAX_REUSE_RATIO ? index : -1;
  }

  private grant(reservation: Reservation<P>, fromCache: boolean, flushedCache: boolean): AllocationOutcome<P> {
    this.allocated += reservation.chargedBytes;
    if (this.allocated > this.peak) this.peak = this.allocated;
    return { ok: true, reservation, fromCache, flushedCache };
  }
}
