// Per-phase capture of stdout, stderr and log records (pytest's capture and logging plugins, for Node).
//
// Writes to process.stdout / process.stderr (console.log included, since Console writes through the stream's
// `write`) are collected as text. console.debug / info / warn / error become log records at DEBUG / INFO / WARNING /
// ERROR: that is how code without a logging library logs in Node, and it is what live logging (`log_cli`) shows.

import { format } from 'node:util';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LogRecordInfo, Phase } from './reports.js';

/** A record with the caller's file and line (pytest's %(filename)s:%(lineno)d). */
export type LogRecordWithSource = LogRecordInfo & { filename?: string; lineno?: number; pathname?: string };

const CALLER = /\(?((?:file:\/\/)?[^()\s]+):(\d+):\d+\)?$/;

/** The frame that called console.*: the second line of the stack below our wrapper. */
function callerOf(stack: string | undefined): { filename?: string; lineno?: number; pathname?: string } {
  const line = stack?.split('\n')[2]?.trim();
  const match = line ? CALLER.exec(line) : null;
  if (!match) return {};
  const pathname = match[1]!.startsWith('file://') ? fileURLToPath(match[1]!) : match[1]!;
  return { pathname, filename: basename(pathname), lineno: Number(match[2]) };
}

export type CaptureMode = 'fd' | 'sys' | 'no' | 'tee-sys';

const LEVELS = { debug: [10, 'DEBUG'], info: [20, 'INFO'], warn: [30, 'WARNING'], error: [40, 'ERROR'] } as const;
type ConsoleLevel = keyof typeof LEVELS;

export interface CaptureResult {
  out: string;
  err: string;
  records: LogRecordInfo[];
}

export interface CaptureHooks {
  /** Called for every record while capturing; the caller decides whether it is live-logged. */
  onRecord?(record: LogRecordInfo): void;
}

type WriteFn = typeof process.stdout.write;

/**
 * Installed once per session. `begin` starts collecting a phase, `end` returns what was collected; between phases,
 * output goes where it normally goes.
 */
export class Capture {
  private out: string[] = [];
  private err: string[] = [];
  private records: LogRecordInfo[] = [];
  private active = false;
  private nodeid: string | undefined;
  private when: LogRecordInfo['when'] = 'sessionstart';
  private readonly originalStdout: WriteFn;
  private readonly originalStderr: WriteFn;
  private readonly originalConsole: Record<ConsoleLevel, (...args: unknown[]) => void>;
  private installed = false;

  constructor(
    private readonly mode: CaptureMode,
    private readonly hooks: CaptureHooks = {},
  ) {
    this.originalStdout = process.stdout.write;
    this.originalStderr = process.stderr.write;
    this.originalConsole = { debug: console.debug, info: console.info, warn: console.warn, error: console.error };
  }

  /** The terminal's own writer: bypasses capture. */
  get rawStdoutWrite(): (text: string) => void {
    const write = this.originalStdout;
    return (text: string) => void write.call(process.stdout, text);
  }

  install(): void {
    if (this.installed) return;
    this.installed = true;
    const passThrough = this.mode === 'no' || this.mode === 'tee-sys';
    if (this.mode !== 'no') {
      process.stdout.write = this.makeWrite('out', this.originalStdout, process.stdout) as WriteFn;
      process.stderr.write = this.makeWrite('err', this.originalStderr, process.stderr) as WriteFn;
    }
    for (const level of Object.keys(LEVELS) as ConsoleLevel[]) {
      const original = this.originalConsole[level];
      console[level] = (...args: unknown[]) => {
        if (!this.active) return original.apply(console, args);
        const [levelNo, levelName] = LEVELS[level];
        const record: LogRecordWithSource = {
          nodeid: this.nodeid,
          when: this.when,
          level: levelNo,
          levelName,
          message: format(...args),
          created: Date.now(),
          name: 'console',
          ...callerOf(new Error().stack),
        };
        this.records.push(record);
        this.hooks.onRecord?.(record);
        if (passThrough) original.apply(console, args);
      };
    }
  }

  uninstall(): void {
    if (!this.installed) return;
    this.installed = false;
    process.stdout.write = this.originalStdout;
    process.stderr.write = this.originalStderr;
    Object.assign(console, this.originalConsole);
  }

  /** `end()` starts fresh arrays, so the sink is looked up at each write, never held from install time. */
  private makeWrite(sink: 'out' | 'err', original: WriteFn, stream: NodeJS.WriteStream) {
    const tee = this.mode === 'tee-sys';
    return (chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
      if (!this.active) return original.call(stream, chunk as string, encoding as BufferEncoding, callback as () => void);
      this[sink].push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
      if (tee) return original.call(stream, chunk as string, encoding as BufferEncoding, callback as () => void);
      const cb = typeof encoding === 'function' ? encoding : callback;
      if (typeof cb === 'function') queueMicrotask(() => (cb as () => void)());
      return true;
    };
  }

  begin(nodeid: string | undefined, when: Phase | 'collection' | 'sessionstart' | 'sessionfinish'): void {
    this.active = true;
    this.nodeid = nodeid;
    this.when = when;
  }

  end(): CaptureResult {
    this.active = false;
    const result = { out: this.out.join(''), err: this.err.join(''), records: this.records };
    this.out = [];
    this.err = [];
    this.records = [];
    return result;
  }
}

/** Python logging level names and numbers, for `--log-cli-level=DEBUG` or `log_cli_level = 20`. */
export function parseLogLevel(value: string | number | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  if (typeof value === 'number') return value;
  const named: Record<string, number> = { CRITICAL: 50, FATAL: 50, ERROR: 40, WARNING: 30, WARN: 30, INFO: 20, DEBUG: 10, NOTSET: 0 };
  const upper = value.trim().toUpperCase();
  if (upper in named) return named[upper]!;
  const n = Number(value);
  if (Number.isInteger(n)) return n;
  throw new Error(`'${value}' is not recognized as a logging level name`);
}
