// Memory snapshots (SPEC A.2 "Snapshot and levels") and the status report, apart from the manager's behaviour.
import type { Device } from './device/types.js';
import { classifyWithHysteresis, type MemoryThresholds, type PressureLevel } from './memory-levels.js';

const MB = 1e6;

export type UsageSource = 'auto' | 'allocator' | 'driver';

export interface MemoryStatus {
  /** Epoch seconds. */
  timestamp: number;
  totalMb: number;
  allocatedMb: number;
  reservedMb: number;
  /** total − used (allocated, or driver-level usage when that is the source). */
  freeMb: number;
  /** Driver-level usage when the device reports it, else null. */
  deviceUsedMb: number | null;
  /** A fraction, 0 to 1. */
  usage: number;
  usageSource: 'allocator' | 'driver';
  level: PressureLevel;
  isCritical: boolean;
}

/** Reads the device once and classifies the result. Throws whatever the device throws. */
export function readMemoryStatus(
  device: Device,
  source: UsageSource,
  thresholds: MemoryThresholds,
  previousLevel: PressureLevel,
  timestampSeconds: number,
): MemoryStatus {
  const total = device.totalBytes();
  const allocated = device.allocatedBytes();
  const reserved = device.reservedBytes();
  const driverUsed = source === 'allocator' ? undefined : device.deviceUsedBytes?.();
  if (source === 'driver' && driverUsed === undefined) {
    throw new Error(`usageSource 'driver' needs driver-level figures, but ${device.name()} reports none`);
  }
  const used = driverUsed ?? allocated;
  const usage = total > 0 ? used / total : 0;
  const level = classifyWithHysteresis(usage, previousLevel, thresholds);
  return {
    timestamp: timestampSeconds,
    totalMb: total / MB,
    allocatedMb: allocated / MB,
    reservedMb: reserved / MB,
    freeMb: (total - used) / MB,
    deviceUsedMb: driverUsed === undefined ? null : driverUsed / MB,
    usage,
    usageSource: driverUsed === undefined ? 'allocator' : 'driver',
    level,
    isCritical: level === 'critical' || level === 'emergency',
  };
}

export interface ReportFigures {
  modelsOnGpu: number;
  modelsOffloaded: number;
  cudaErrors: number;
  maxCudaErrors: number;
}

/** The original's status block, framed by 60 '=' characters; one line when there is no snapshot yet. */
export function formatStatusReport(status: MemoryStatus | null, figures: ReportFigures): string {
  if (!status) return 'MemoryManager: No status available';
  const rule = '='.repeat(60);
  return [
    rule,
    '🧠 Memory Manager Status',
    rule,
    `Pressure Level: ${status.level.toUpperCase()}`,
    `GPU Memory: ${status.allocatedMb.toFixed(1)} / ${status.totalMb.toFixed(1)} MB (${(status.usage * 100).toFixed(1)}%)`,
    `Free: ${status.freeMb.toFixed(1)} MB`,
    `Reserved: ${status.reservedMb.toFixed(1)} MB`,
    '',
    `Models on GPU: ${figures.modelsOnGpu}`,
    `Models offloaded: ${figures.modelsOffloaded}`,
    `CUDA errors: ${figures.cudaErrors}/${figures.maxCudaErrors}`,
    rule,
  ].join('\n');
}
