// Types for bench/workloads.mjs (plain JavaScript so the benchmark harness needs no TypeScript loader).
export interface TestSpec { name: string; markers: string[] }
export interface ClassSpec { name: string; tests: TestSpec[] }
export interface ModuleSpec { name: string; classes: ClassSpec[] }
export interface Workload { id: string; title: string; modules: ModuleSpec[]; markers: string[] }
export type Runner = 'pytest-ts' | 'pytest' | 'vitest' | 'jest' | 'node';

export const REPO: string;
export const RUNNER_INDEX: string;
export const SELECTION_MARKER: string;
export const RUNNERS: Runner[];
export function suiteShapeWorkload(tsvText: string): Workload;
export function readSuiteSpec(path?: string): Workload;
export function manyTrivialWorkload(options?: { files?: number; classesPerFile?: number; testsPerClass?: number; selectEvery?: number }): Workload;
export function countTests(workload: Workload, marker?: string): number;
export const EMITTERS: Record<Runner, (workload: Workload) => Record<string, string>>;
export function writeWorkload(workload: Workload, runner: string, dir: string): string[];
