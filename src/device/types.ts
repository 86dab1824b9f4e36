// The one interface every piece of device memory goes through (SPEC A.1, Decision 2). Two implementations share
// it: the embedded default (tfjs CPU backend under a byte budget) and a CUDA GPU through @tensorflow/tfjs-node-gpu.
import type { Tensor } from '@tensorflow/tfjs';
import type { DeviceFaults } from './faults.js';

export type DeviceKind = 'cuda' | 'cpu';

/** A live allocation. It owns real, filled tensors until it is freed. */
export interface DeviceAllocation {
  readonly id: number;
  /** The size that was asked for. */
  readonly requestedBytes: number;
  /** The size charged to the allocator (the request rounded up to the block granularity). */
  readonly chargedBytes: number;
  readonly tag: string | undefined;
  /** The tensors that hold the bytes; empty once freed. */
  readonly tensors: readonly Tensor[];
  readonly freed: boolean;
}

export type ProbeResult = { ok: true } | { ok: false; error: unknown };

/** Counters that tests can assert on without mocking anything. */
export interface DeviceCounters {
  allocations: number;
  frees: number;
  /** Allocations served from a cached (freed, still reserved) block. */
  cacheHits: number;
  /** Times an allocation that did not fit released the cache and retried. */
  cacheFlushRetries: number;
  emptyCacheCalls: number;
  ipcCollectCalls: number;
  peakResets: number;
  operations: number;
  outOfMemoryErrors: number;
  liveAllocations: number;
  cachedBlocks: number;
}

export interface Device {
  readonly kind: DeviceKind;
  /** Explicit fault injection, off until a test turns it on. */
  readonly faults: DeviceFaults;
  name(): string;
  /** A device is present and open. The MemoryManager disables monitoring when this is false. */
  isAvailable(): boolean;
  totalBytes(): number;
  /** Bytes held by live allocations. */
  allocatedBytes(): number;
  /** Bytes the caching allocator holds: live allocations plus cached free blocks. */
  reservedBytes(): number;
  /** The largest `allocatedBytes()` since the last `resetPeakStats()`. */
  peakAllocatedBytes(): number;
  resetPeakStats(): void;
  /** Gives cached, unused blocks back (their tensors are disposed); reserved shrinks to allocated. */
  emptyCache(): void;
  /** PyTorch's `ipc_collect`; nothing is shared between processes here, so it only counts. */
  ipcCollect(): void;
  /**
   * Driver-level usage (context, other processes, the framework's own pools), when the device can see it.
   * Returns the last reading; `refreshDriverStats()` takes a new one.
   */
  deviceUsedBytes?(): number | undefined;
  refreshDriverStats?(): Promise<void>;
  /** Allocates `bytes` as real, filled tensors. Throws DeviceOutOfMemoryError when the request does not fit. */
  allocate(bytes: number, tag?: string): DeviceAllocation;
  /** Returns an allocation's block to the cache. Freeing twice is a no-op. */
  free(handle: DeviceAllocation): void;
  /** Allocates and frees `bytes`; says whether that worked instead of throwing. */
  probe(bytes: number): ProbeResult;
  /** Runs a device operation. Injected operation faults (CUDA errors) surface here, before `op` runs. */
  run<T>(op: () => T, label?: string): T;
  counters(): DeviceCounters;
  /** Disposes every tensor the device holds (live and cached); the device is unusable afterwards. */
  close(): void;
}

export interface DeviceDescription {
  kind: DeviceKind;
  name: string;
  totalBytes: number;
  /** Why this device was chosen, in one line. */
  reason: string;
}
