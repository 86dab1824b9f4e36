// Errors a device raises. The OOM error reads like PyTorch's so that logs from the port look like the original's
// and every "out of memory" check (the MemoryManager's, the daemon's) recognises it.

export interface OutOfMemoryFigures {
  requestedBytes: number;
  totalBytes: number;
  freeBytes: number;
  allocatedBytes: number;
  reservedBytes: number;
}

/** PyTorch's `format_size`: bytes, KiB, MiB or GiB with two decimals. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(2)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(2)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

export class DeviceOutOfMemoryError extends Error {
  override name = 'DeviceOutOfMemoryError';
  readonly requestedBytes: number;
  readonly totalBytes: number;
  /** What the allocator could still obtain: total minus reserved. */
  readonly freeBytes: number;
  readonly allocatedBytes: number;
  readonly reservedBytes: number;
  readonly deviceName: string;
  /** True when a test hook (`faults.failNextAllocations`) raised it rather than a real shortage. */
  readonly injected: boolean;

  constructor(figures: OutOfMemoryFigures, deviceName: string, options: { injected?: boolean; cudaWording?: boolean; cause?: unknown } = {}) {
    const prefix = options.cudaWording ? 'CUDA out of memory.' : 'Device out of memory.';
    const detail =
      `${deviceName}; ${formatSize(figures.totalBytes)} total capacity; ${formatSize(figures.allocatedBytes)} already allocated; ` +
      `${formatSize(Math.max(0, figures.freeBytes))} free; ${formatSize(figures.reservedBytes)} reserved in total by the caching allocator`;
    const suffix = options.injected ? ' [injected fault]' : '';
    super(`${prefix} Tried to allocate ${formatSize(figures.requestedBytes)} (${detail})${suffix}`, { cause: options.cause });
    this.requestedBytes = figures.requestedBytes;
    this.totalBytes = figures.totalBytes;
    this.freeBytes = figures.freeBytes;
    this.allocatedBytes = figures.allocatedBytes;
    this.reservedBytes = figures.reservedBytes;
    this.deviceName = deviceName;
    this.injected = options.injected ?? false;
  }
}

/** A failed device operation that is not an allocation, e.g. an injected `CUDA error: unspecified launch failure`. */
export class DeviceOperationError extends Error {
  override name = 'DeviceOperationError';
  readonly injected: boolean;
  constructor(message: string, injected = false) {
    super(message);
    this.injected = injected;
  }
}

/** `selectDevice({ prefer: 'cuda' })` on a machine without a usable CUDA device. */
export class DeviceUnavailableError extends Error {
  override name = 'DeviceUnavailableError';
}
