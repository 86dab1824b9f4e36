// The Device implementation: real tfjs tensors behind a caching allocator with a byte budget. The embedded default
// runs it on the tfjs CPU backend; the CUDA device runs the same code on @tensorflow/tfjs-node-gpu and adds
// driver-level figures from nvidia-smi.
import type { Tensor } from '@tensorflow/tfjs';
import { CachingAllocator, type Reservation } from './caching-allocator.js';
import { DeviceOperationError, DeviceOutOfMemoryError } from './errors.js';
import { DeviceFaults } from './faults.js';
import { cpuTensorModule, type TensorModule } from './tfjs.js';
import { systemClock, type Clock } from '../clock.js';
import type { Device, DeviceAllocation, DeviceCounters, DeviceKind, ProbeResult } from './types.js';

export const MB = 1_000_000;
export const DEFAULT_BUDGET_MB = 4096;
/** One float32 element: requests in whole MB (10^6 bytes) stay exact. PyTorch rounds to 512; pass that to mimic it. */
export const DEFAULT_ROUNDING_BYTES = 4;
/** Tensors are capped at 256 MiB each: a TypedArray cannot exceed 2^32 elements, and smaller pieces fill faster. */
const MAX_TENSOR_BYTES = 256 * 1024 * 1024;
const FILL_VALUE = 1; // not zero: the fill must write every page so the bytes really exist

export interface TensorDeviceOptions {
  kind: DeviceKind;
  name: string;
  budgetBytes: number;
  tf?: TensorModule;
  roundingBytes?: number;
  /** Driver-level usage; the CUDA device passes nvidia-smi through this. */
  driverStats?: () => Promise<number>;
  initialDeviceUsedBytes?: number;
  /**
   * A driver reading younger than this is reused instead of taking a new one. nvidia-smi costs tens of ms of CPU
   * per call, so a monitor checking every 2 s may want e.g. 10 s here; 0 (the default) reads on every refresh.
   */
  driverStatsMaxAgeMs?: number;
  clock?: Clock;
}

class Allocation implements DeviceAllocation {
  tensors: Tensor[];
  freed = false;
  constructor(
    readonly id: number,
    readonly requestedBytes: number,
    readonly tag: string | undefined,
    readonly reservation: Reservation<Tensor[]>,
  ) {
    this.tensors = reservation.payload ?? [];
  }
  get chargedBytes(): number {
    return this.reservation.chargedBytes;
  }
}

function looksLikeHostOutOfMemory(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /array buffer allocation failed|invalid typed array length|out of memory|oom when allocating|resource.?exhausted/i.test(message);
}

export class TensorDevice implements Device {
  readonly kind: DeviceKind;
  readonly faults = new DeviceFaults();
  private readonly deviceName: string;
  private readonly tf: TensorModule;
  private readonly allocator: CachingAllocator<Tensor[]>;
  private readonly live = new Map<number, Allocation>();
  private readonly driverStats: (() => Promise<number>) | undefined;
  private lastDeviceUsedBytes: number | undefined;
  private nextId = 1;
  private closed = false;
  private readonly count: Omit<DeviceCounters, 'liveAllocations' | 'cachedBlocks'> = {
    allocations: 0,
    frees: 0,
    cacheHits: 0,
    cacheFlushRetries: 0,
    emptyCacheCalls: 0,
    ipcCollectCalls: 0,
    peakResets: 0,
    operations: 0,
    outOfMemoryErrors: 0,
  };

  constructor(options: TensorDeviceOptions) {
    if (!(options.budgetBytes > 0) || !Number.isFinite(options.budgetBytes)) {
      throw new RangeError(`device budget must be a positive number of bytes, got ${options.budgetBytes}`);
    }
    const rounding = options.roundingBytes ?? DEFAULT_ROUNDING_BYTES;
    if (!Number.isInteger(rounding) || rounding < 4 || rounding % 4 !== 0) {
      throw new RangeError(`roundingBytes must be a positive multiple of 4 (one float32), got ${rounding}`);
    }
    this.kind = options.kind;
    this.deviceName = options.name;
    this.tf = options.tf ?? cpuTensorModule();
    this.driverStats = options.driverStats;
    this.lastDeviceUsedBytes = options.initialDeviceUsedBytes;
    const tf = this.tf;
    this.allocator = new CachingAllocator<Tensor[]>(
      {
        create(bytes) {
          const tensors: Tensor[] = [];
          try {
            for (let left = bytes; left > 0; left -= MAX_TENSOR_BYTES) {
              tensors.push(tf.fill([Math.min(left, MAX_TENSOR_BYTES) / 4], FILL_VALUE, 'float32'));
            }
          } catch (error) {
            for (const tensor of tensors) tensor.dispose();
            throw error;
          }
          return tensors;
        },
        dispose(tensors) {
          for (const tensor of tensors) tensor.dispose();
        },
      },
      options.budgetBytes,
      rounding,
    );
    if (this.driverStats) {
      // Only a device that can see the driver offers driver-level usage (the classifier then prefers it).
      const clock = options.clock ?? systemClock;
      const maxAgeMs = options.driverStatsMaxAgeMs ?? 0;
      let readAt = options.initialDeviceUsedBytes === undefined ? -Infinity : clock.monotonic();
      this.deviceUsedBytes = () => this.lastDeviceUsedBytes;
      this.refreshDriverStats = async () => {
        if (maxAgeMs > 0 && clock.monotonic() - readAt < maxAgeMs) return;
        this.lastDeviceUsedBytes = await this.driverStats!();
        readAt = clock.monotonic();
      };
    }
  }

  deviceUsedBytes?: () => number | undefined;
  refreshDriverStats?: () => Promise<void>;

  name(): string {
    return this.deviceName;
  }
  isAvailable(): boolean {
    return !this.closed;
  }
  totalBytes(): number {
    return this.allocator.budgetBytes;
  }
  allocatedBytes(): number {
    return this.allocator.allocatedBytes;
  }
  reservedBytes(): number {
    return this.allocator.reservedBytes;
  }
  peakAllocatedBytes(): number {
    return this.allocator.peakBytes;
  }
  resetPeakStats(): void {
    this.count.peakResets++;
    this.allocator.resetPeak();
  }
  emptyCache(): void {
    this.count.emptyCacheCalls++;
    this.allocator.releaseCache();
  }
  ipcCollect(): void {
    this.count.ipcCollectCalls++;
  }

  allocate(bytes: number, tag?: string): DeviceAllocation {
    this.ensureOpen('allocate');
    if (!Number.isFinite(bytes) || bytes < 0) {
      throw new RangeError(`device.allocate: bytes must be a non-negative finite number, got ${bytes}`);
    }
    const requested = Math.ceil(bytes);
    if (this.faults.takeAllocationFailure()) throw this.outOfMemory(requested, { injected: true });
    let outcome;
    try {
      outcome = this.allocator.allocate(requested);
    } catch (error) {
      // The budget said yes but the host could not back the tensors: still an OOM to everyone upstream.
      if (looksLikeHostOutOfMemory(error)) throw this.outOfMemory(requested, { cause: error });
      throw error;
    }
    if (outcome.flushedCache) this.count.cacheFlushRetries++;
    if (!outcome.ok) throw this.outOfMemory(requested, {});
    if (outcome.fromCache) this.count.cacheHits++;
    this.count.allocations++;
    const allocation = new Allocation(this.nextId++, requested, tag, outcome.reservation);
    this.live.set(allocation.id, allocation);
    return allocation;
  }

  free(handle: DeviceAllocation): void {
    const allocation = this.live.get(handle.id);
    if (!allocation || allocation !== handle) return; // already freed, or from another device: nothing to do
    this.live.delete(allocation.id);
    allocation.freed = true;
    allocation.tensors = [];
    this.count.frees++;
    this.allocator.release(allocation.reservation);
  }

  probe(bytes: number): ProbeResult {
    try {
      this.free(this.allocate(bytes, 'probe'));
      return { ok: true };
    } catch (error) {
      return { ok: false, error };
    }
  }

  run<T>(op: () => T, label?: string): T {
    this.ensureOpen(label ? `run(${label})` : 'run');
    const injected = this.faults.takeOperationFailure();
    if (injected !== undefined) throw new DeviceOperationError(injected, true);
    this.count.operations++;
    return op();
  }

  counters(): DeviceCounters {
    return { ...this.count, liveAllocations: this.live.size, cachedBlocks: this.allocator.cachedBlocks };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const live = [...this.live.values()];
    this.live.clear();
    for (const allocation of live) {
      allocation.freed = true;
      allocation.tensors = [];
    }
    this.allocator.disposeAll(live.map((allocation) => allocation.reservation));
  }

  private ensureOpen(what: string): void {
    if (this.closed) throw new Error(`${this.deviceName}: ${what} after close()`);
  }

  private outOfMemory(requestedBytes: number, options: { injected?: boolean; cause?: unknown }): DeviceOutOfMemoryError {
    this.count.outOfMemoryErrors++;
    const total = this.totalBytes();
    return new DeviceOutOfMemoryError(
      {
        requestedBytes,
        totalBytes: total,
        freeBytes: total - this.reservedBytes(),
        allocatedBytes: this.allocatedBytes(),
        reservedBytes: this.reservedBytes(),
      },
      this.deviceName,
      { ...options, cudaWording: this.kind === 'cuda' },
    );
  }
}

export interface CpuDeviceOptions {
  /** The byte budget in MB (10^6 bytes); default 4096, the original incident's 4 GB card. */
  budgetMB?: number;
  name?: string;
  roundingBytes?: number;
}

/** The embedded default device: tfjs CPU tensors under a byte budget. */
export function createCpuDevice(options: CpuDeviceOptions = {}): TensorDevice {
  const budgetMB = options.budgetMB ?? DEFAULT_BUDGET_MB;
  if (!(budgetMB > 0) || !Number.isFinite(budgetMB)) throw new RangeError(`budgetMB must be a positive number, got ${budgetMB}`);
  return new TensorDevice({
    kind: 'cpu',
    name: options.name ?? `tfjs-cpu (budget ${budgetMB} MB)`,
    budgetBytes: Math.round(budgetMB * MB),
    roundingBytes: options.roundingBytes,
  });
}
