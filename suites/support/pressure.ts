// MemoryPressureSimulator (the original's fixture, never committed): puts real load on the device and on the host.
// Device memory goes through the system's own Device, so an OOM is the system's OOM; host memory is a Buffer whose
// every page is written, so RSS really grows. Everything is released after each test.

import type { Device, DeviceAllocation } from '../../src/device/index.js';
import type { GcHook } from '../../src/gc.js';

export const MB = 1_000_000;
const PAGE = 4096;

export class MemoryPressureSimulator {
  private readonly deviceAllocations: DeviceAllocation[] = [];
  private readonly hostBuffers: Buffer[] = [];

  constructor(
    readonly device: Device,
    private readonly gc: GcHook,
  ) {}

  /** Hold `mb` MB on the device; an OOM propagates to the caller. */
  allocateDeviceMemory(mb: number, tag = 'ballast'): DeviceAllocation {
    const allocation = this.device.allocate(Math.round(mb * MB), tag);
    this.deviceAllocations.push(allocation);
    return allocation;
  }

  /** Allocate on the device until allocated / total is exactly `usage` (to the byte). */
  fillDeviceTo(usage: number, tag = 'ballast'): DeviceAllocation | undefined {
    const target = Math.round(usage * this.device.totalBytes());
    const missing = target - this.device.allocatedBytes();
    if (missing < 0) throw new Error(`device already holds ${this.device.allocatedBytes()} bytes, more than ${usage} of its total`);
    if (missing === 0) return undefined;
    const allocation = this.device.allocate(missing, tag);
    this.deviceAllocations.push(allocation);
    return allocation;
  }

  /** Hold `mb` MB of host memory, every page written so the kernel has to back it. */
  allocateCpuMemory(mb: number): Buffer {
    const buffer = Buffer.allocUnsafe(Math.round(mb * MB));
    for (let offset = 0; offset < buffer.length; offset += PAGE) buffer[offset] = 1;
    this.hostBuffers.push(buffer);
    return buffer;
  }

  get deviceMB(): number {
    return this.deviceAllocations.filter((a) => !a.freed).reduce((sum, a) => sum + a.requestedBytes, 0) / MB;
  }

  get cpuMB(): number {
    return this.hostBuffers.reduce((sum, b) => sum + b.length, 0) / MB;
  }

  free(allocation: DeviceAllocation): void {
    this.device.free(allocation);
  }

  /** Free everything, return the cached blocks to the device and collect garbage. */
  releaseAll(): void {
    for (const allocation of this.deviceAllocations.splice(0)) this.device.free(allocation);
    this.hostBuffers.length = 0;
    if (this.device.isAvailable()) this.device.emptyCache();
    this.gc();
  }
}
