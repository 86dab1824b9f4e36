// Shared helpers for the MemoryManager and recovery tests: a small real device, ballast set to an exact usage,
// and models that hold real device memory while they are "on the GPU".
import { createCpuDevice, type Device, type DeviceAllocation } from '../../src/device/index.js';
import { createRecordingLogger } from '../../src/log.js';
import type { ManagedModel } from '../../src/memory-manager.js';

export const MB = 1_000_000;

/** A device of `budgetMB` plus a ballast that can be set to an exact fraction of it. */
export function pressureRig(budgetMB = 10) {
  const device = createCpuDevice({ budgetMB });
  let ballast: DeviceAllocation | undefined;
  return {
    device,
    /** Holds exactly `fraction` of the device as live allocation (on top of whatever else is allocated). */
    setBallast(fraction: number) {
      if (ballast) device.free(ballast);
      device.emptyCache();
      ballast = fraction > 0 ? device.allocate(Math.round(fraction * budgetMB * MB), 'ballast') : undefined;
    },
    close: () => device.close(),
  };
}

/** A model that holds `bytes` of device memory while on the GPU; moving it really frees or allocates. */
export class TensorModel implements ManagedModel {
  device: 'cuda' | 'cpu' = 'cuda';
  toCpuCalls = 0;
  toGpuCalls = 0;
  failToCpu: Error | undefined;
  failToGpu: Error | undefined;
  private handle: DeviceAllocation | undefined;

  constructor(
    readonly name: string,
    private readonly owner: Device,
    private readonly bytes: number,
  ) {
    this.handle = owner.allocate(bytes, name);
  }

  async toCpu(): Promise<void> {
    this.toCpuCalls++;
    await Promise.resolve(); // async on purpose: the manager must await model moves
    if (this.failToCpu) throw this.failToCpu;
    if (this.handle) this.owner.free(this.handle);
    this.handle = undefined;
    this.device = 'cpu';
  }

  async toGpu(): Promise<void> {
    this.toGpuCalls++;
    await Promise.resolve();
    if (this.failToGpu) throw this.failToGpu;
    this.handle = this.owner.allocate(this.bytes, this.name);
    this.device = 'cuda';
  }
}

export function quietLogger() {
  return createRecordingLogger();
}

/** A promise with its resolver, for holding a callback open while the test looks around. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
