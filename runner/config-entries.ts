// The raw layer shared by config discovery (config-discovery.ts) and value typing (config-ini.ts): the shape of one
// key as a config file or -o gives it, before typing; how file paths appear in messages; and Python's str() and
// repr() of TOML values, which pytest applies to pyproject's ini_options scalars and which messages quote.
//
// Paths in messages are relative to the cwd when the file lies below it, else absolute (pytest prints absolute):
// `memory.ini:24: timeout: '7200  # 2 hours max per test' is not a number of seconds`.
import { relative, sep } from 'node:path';
import { pyRepr } from './ini.js';

export interface ConfigEntry {
  value: unknown;
  /** 'ini': a string or (from pyproject's ini_options) a list; 'toml': native TOML types. */
  mode: 'ini' | 'toml';
  origin: 'file' | 'override';
  line?: number;
}

/**
 * The invocation directory of the load in progress, which paths in messages are shown relative to. Module state
 * rather than a parameter threaded through every reader; safe because loadConfig is synchronous.
 */
let messageBase = process.cwd();

/** loadConfig calls this first: the paths in that load's messages are shown relative to `dir`. */
export function setMessageBase(dir: string): void {
  messageBase = dir;
}

export function shown(path: string): string {
  const rel = relative(messageBase, path);
  return rel === '' || rel.startsWith('..') || rel.startsWith(sep) ? path : rel;
}

// ---------------------------------------------------------------------------------------------------------------
// Python's str() and repr() of TOML values, for messages and for pyproject's ini_options (pytest str()s scalars)

export function pyTypeName(value: unknown): string {
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value))) return 'int';
  if (typeof value === 'number') return 'float';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Date) return 'datetime';
  return 'dict';
}

export function pyReprValue(value: unknown): string {
  if (typeof value === 'string') return pyRepr(value);
  if (Array.isArray(value)) return `[${value.map(pyReprValue).join(', ')}]`;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return `{${Object.entries(value).map(([k, v]) => `${pyRepr(k)}: ${pyReprValue(v)}`).join(', ')}}`;
  }
  return pyStr(value);
}

export function pyStr(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  if (typeof value === 'number' || typeof value === 'bigint' || value instanceof Date) return String(value);
  return pyReprValue(value);
}
