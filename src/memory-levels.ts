// Pressure levels and thresholds (SPEC A.2, Decision 1). Lower bounds are inclusive and levels are checked from
// the highest down, so exactly 0.75 is WARNING and exactly 0.95 is EMERGENCY.

export type PressureLevel = 'normal' | 'warning' | 'critical' | 'emergency';

export const PressureLevel = {
  NORMAL: 'normal',
  WARNING: 'warning',
  CRITICAL: 'critical',
  EMERGENCY: 'emergency',
} as const satisfies Record<string, PressureLevel>;

const LEVEL_RANK: Record<PressureLevel, number> = { normal: 0, warning: 1, critical: 2, emergency: 3 };

export function levelRank(level: PressureLevel): number {
  return LEVEL_RANK[level];
}

export interface MemoryThresholds {
  /** Lower bound of WARNING. */
  warningThreshold: number;
  /** Lower bound of CRITICAL. */
  criticalThreshold: number;
  /** Lower bound of EMERGENCY. */
  emergencyThreshold: number;
  /** Emergency shutdown when usage is still strictly above this after offloading. */
  shutdownThreshold: number;
  /** Offloaded models are restored at or below this usage (deferred when above). */
  restoreThreshold: number;
  /** An OOM counts as recovered when usage after cleanup is strictly below this. */
  recoveredThreshold: number;
  /** Dead band for downward transitions: leaving a level needs usage below its lower bound minus this. */
  hysteresis: number;
}

export const DEFAULT_THRESHOLDS: Readonly<MemoryThresholds> = Object.freeze({
  warningThreshold: 0.75,
  criticalThreshold: 0.85,
  emergencyThreshold: 0.95,
  shutdownThreshold: 0.98,
  restoreThreshold: 0.6,
  recoveredThreshold: 0.8,
  hysteresis: 0,
});

/** The original code's defaults (memory_manager.py and the daemon). */
export const ORIGINAL_PRESET = Object.freeze({ warningThreshold: 0.8, criticalThreshold: 0.9, emergencyThreshold: 0.95 });

/** IMPLEMENTATION_SUMMARY's conservative set for 4 GB cards (the analyst's "stay under 70%" rule). */
export const CONSERVATIVE_4GB = Object.freeze({ warningThreshold: 0.7, criticalThreshold: 0.8, emergencyThreshold: 0.85 });

/** Fills in defaults and rejects settings that cannot describe ordered levels, naming the option at fault. */
export function resolveThresholds(options: Partial<MemoryThresholds>): MemoryThresholds {
  const resolved: MemoryThresholds = { ...DEFAULT_THRESHOLDS };
  for (const key of Object.keys(DEFAULT_THRESHOLDS) as (keyof MemoryThresholds)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
      throw new RangeError(`MemoryManager option ${key} must be a fraction between 0 and 1, got ${String(value)}`);
    }
    resolved[key] = value;
  }
  const { warningThreshold: w, criticalThreshold: c, emergencyThreshold: e } = resolved;
  if (!(0 < w && w < c && c < e)) {
    throw new RangeError(`MemoryManager thresholds must satisfy 0 < warning < critical < emergency, got ${w} / ${c} / ${e}`);
  }
  if (resolved.hysteresis >= w) {
    throw new RangeError(`MemoryManager option hysteresis (${resolved.hysteresis}) must be smaller than warningThreshold (${w})`);
  }
  return resolved;
}

/** The level for a usage fraction, inclusive lower bounds, highest first. */
export function classifyUsage(usage: number, thresholds: Pick<MemoryThresholds, 'warningThreshold' | 'criticalThreshold' | 'emergencyThreshold'>): PressureLevel {
  if (usage >= thresholds.emergencyThreshold) return 'emergency';
  if (usage >= thresholds.criticalThreshold) return 'critical';
  if (usage >= thresholds.warningThreshold) return 'warning';
  return 'normal';
}

/**
 * The level given where we were: going up uses the plain thresholds; going down only leaves a level once usage is
 * below its lower bound by more than the hysteresis. With hysteresis 0 this is `classifyUsage`.
 */
export function classifyWithHysteresis(usage: number, previous: PressureLevel, thresholds: MemoryThresholds): PressureLevel {
  const plain = classifyUsage(usage, thresholds);
  if (thresholds.hysteresis === 0 || levelRank(plain) >= levelRank(previous)) return plain;
  const sticky = classifyUsage(usage + thresholds.hysteresis, thresholds);
  return levelRank(sticky) < levelRank(previous) ? sticky : previous;
}
