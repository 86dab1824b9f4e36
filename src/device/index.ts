export type { Device, DeviceAllocation, DeviceCounters, DeviceDescription, DeviceKind, ProbeResult } from './types.js';
export { DeviceOutOfMemoryError, DeviceOperationError, DeviceUnavailableError, formatSize } from './errors.js';
export { DeviceFaults, DEFAULT_OPERATION_FAULT } from './faults.js';
export { TensorDevice, createCpuDevice, DEFAULT_BUDGET_MB, MB, type CpuDeviceOptions } from './tensor-device.js';
export { parseNvidiaSmiCsv, queryNvidiaSmi, NVIDIA_SMI_ARGS, type GpuMemoryReading, type NvidiaSmiOptions } from './nvidia-smi.js';
export { selectDevice, describeActiveDevice, describeDevice, GPU_PACKAGE, type SelectDeviceOptions, type DevicePreference } from './select.js';
export { cpuTensorModule, type TensorModule } from './tfjs.js';
