// Types for bench/tools.mjs.
export type Mode = 'collect' | 'run';
export interface ToolContext { dir: string; files: string[]; cacheDir: string }
export interface Tool {
  label: string;
  command(mode: Mode, filtered: boolean, ctx: ToolContext): string[] | undefined;
  extraArgs?(ctx: ToolContext): string[];
  env(ctx: ToolContext): Record<string, string>;
  clearCache?(ctx: ToolContext): void;
  count(output: string, mode: Mode): number | undefined;
  collectNote: string;
}
export const TOOLS: Record<'pytest-ts' | 'pytest' | 'vitest' | 'jest' | 'node', Tool>;
export const MACHINE_ONLY_VARIABLES: string[];
export function baseEnv(options?: { keepMachineVariables?: boolean }): Record<string, string>;
