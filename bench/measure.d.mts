// Types for bench/measure.mjs.
export const HAVE_GNU_TIME: boolean;
export interface Measurement { wallS: number; cpuS: number; peakBytes: number; samples: number; code: number | string | null; output: string }
export function measure(argv: string[], options: { cwd: string; env: Record<string, string | undefined> }): Promise<Measurement>;
