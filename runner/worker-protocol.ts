// What the parent sends a worker process at start: everything a Session needs, as plain data (no functions).

import type { CaptureMode } from './capture.js';
import type { CollectOptions } from './collect.js';
import type { LogRecordInfo } from './reports.js';
import type { RunSettings } from './run.js';
import { compileLogFormat } from './terminal-log-format.js';

export interface WorkerSettings {
  collect: CollectOptions;
  run: Omit<RunSettings, 'formatLogRecord'>;
  capture: CaptureMode;
  logFormat: string;
  logDateFormat?: string;
  /** Records at or above this level are sent live to the parent; undefined when live logging is off. */
  liveLogLevel?: number;
  requestConfig: {
    rootdir: string;
    inipath?: string;
    options: Record<string, unknown>;
    ini: Record<string, unknown>;
  };
}

/** The formatter for "Captured log" sections (pytest's log_format / log_date_format). */
export function buildLogFormatter(format: string, dateFormat: string | undefined): (record: LogRecordInfo) => string {
  const compiled = compileLogFormat({ format, dateFormat });
  return (record) => compiled(record);
}
