// Choosing the device for a run, and saying why in one line (the suite's session header and JUnit properties).
// @tensorflow/tfjs-node-gpu is an optionalDependency that normally fails to install; when it installs broken its
// require throws a plain Error with no code, so *any* load error means "fall back", never a crash.
import { DeviceUnavailableError } from './errors.js';
import { queryNvidiaSmi, type GpuMemoryReading, type NvidiaSmiOptions } from './nvidia-smi.js';
import { createCpuDevice, MB, TensorDevice } from './tensor-device.js';
import type { TensorModule } from './tfjs.js';
import type { Device, DeviceDescription } from './types.js';

export const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';

export type DevicePreference = 'auto' | 'cuda' | 'cpu';

export interface SelectDeviceOptions {
  prefer?: DevicePreference;
  /** Budget in MB (10^6 bytes). CPU default 4096; on a GPU the default is the card's total. */
  budgetMB?: number;
  /** Which GPU, by nvidia-smi index. */
  gpuIndex?: number;
  /** Loads the GPU tfjs module; replaceable in tests. */
  loadGpuModule?: () => Promise<TensorModule>;
  nvidiaSmi?: NvidiaSmiOptions;
  /** Reuse an nvidia-smi reading younger than this (see TensorDeviceOptions.driverStatsMaxAgeMs); default 0. */
  driverStatsMaxAgeMs?: number;
}

interface ActiveDevice {
  device: Device;
  reason: string;
}

let active: ActiveDevice | undefined;

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.trim() || (error instanceof Error ? error.name : 'unknown error');
}

async function defaultLoadGpuModule(): Promise<TensorModule> {
  const specifier = GPU_PACKAGE; // a variable, so TypeScript does not demand the optional package's types
  const loaded = (await import(specifier)) as TensorModule & { default?: TensorModule };
  return typeof loaded.fill === 'function' ? loaded : (loaded.default as TensorModule);
}

/** Why a GPU cannot be used, or the module and the card's reading when it can. */
async function probeCuda(options: SelectDeviceOptions): Promise<{ tf: TensorModule; reading: GpuMemoryReading } | { unusable: string }> {
  let tf: TensorModule;
  try {
    tf = await (options.loadGpuModule ?? defaultLoadGpuModule)();
    if (!tf || typeof tf.fill !== 'function') throw new Error('the module has no tensor API');
  } catch (error) {
    return { unusable: `${GPU_PACKAGE} not available: ${firstLine(error)}` };
  }
  const index = options.gpuIndex ?? 0;
  try {
    const readings = await queryNvidiaSmi(options.nvidiaSmi);
    const reading = readings.find((r) => r.index === index);
    if (!reading) return { unusable: `no CUDA device ${index}: nvidia-smi lists ${readings.length} GPU(s)` };
    return { tf, reading };
  } catch (error) {
    return { unusable: `no CUDA device: ${firstLine(error)}` };
  }
}

function createCudaDevice(tf: TensorModule, reading: GpuMemoryReading, options: SelectDeviceOptions): TensorDevice {
  const budgetBytes = options.budgetMB === undefined ? reading.totalBytes : Math.min(reading.totalBytes, Math.round(options.budgetMB * MB));
  return new TensorDevice({
    kind: 'cuda',
    name: `CUDA GPU ${reading.index} (${GPU_PACKAGE})`,
    budgetBytes,
    tf,
    initialDeviceUsedBytes: reading.usedBytes,
    driverStatsMaxAgeMs: options.driverStatsMaxAgeMs,
    driverStats: async () => {
      const now = (await queryNvidiaSmi(options.nvidiaSmi)).find((r) => r.index === reading.index);
      if (!now) throw new Error(`nvidia-smi no longer lists GPU ${reading.index}`);
      return now.usedBytes;
    },
  });
}

/**
 * Picks the device: a CUDA GPU when tfjs-node-gpu loads and nvidia-smi sees one (unless `prefer: 'cpu'`),
 * otherwise the budgeted CPU device. `prefer: 'cuda'` without a usable GPU throws DeviceUnavailableError.
 * The choice becomes the active device that `describeActiveDevice()` reports.
 */
export async function selectDevice(options: SelectDeviceOptions = {}): Promise<Device> {
  const prefer = options.prefer ?? 'auto';
  if (prefer !== 'auto' && prefer !== 'cuda' && prefer !== 'cpu') {
    throw new DeviceUnavailableError(`unknown device preference '${String(prefer)}': expected 'auto', 'cuda' or 'cpu'`);
  }
  let reason: string;
  if (prefer === 'cpu') {
    reason = 'CPU requested';
  } else {
    const cuda = await probeCuda(options);
    if ('tf' in cuda) {
      const device = createCudaDevice(cuda.tf, cuda.reading, options);
      const reasonText = `${GPU_PACKAGE} loaded and nvidia-smi reports GPU ${cuda.reading.index} with ${cuda.reading.totalBytes / 1024 ** 2} MiB`;
      active = { device, reason: reasonText };
      return device;
    }
    if (prefer === 'cuda') throw new DeviceUnavailableError(`a CUDA device was requested, but none is usable: ${cuda.unusable}`);
    reason = cuda.unusable;
  }
  const device = createCpuDevice({ budgetMB: options.budgetMB });
  active = { device, reason };
  return device;
}

export function describeDevice(device: Device, reason: string): DeviceDescription {
  return { kind: device.kind, name: device.name(), totalBytes: device.totalBytes(), reason };
}

/** The device the last `selectDevice` chose and why; null before any selection. */
export function describeActiveDevice(): DeviceDescription | null {
  return active ? describeDevice(active.device, active.reason) : null;
}
