// A tiny named logger. It writes through console.* on purpose: pytest-ts captures console calls as log records
// by level, so library messages show up in a test's captured log (and in live logs) without any wiring.

export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  /** `error` appends the error's stack (or message) on the following lines, as Python's `logger.exception` does. */
  error(message: string, error?: unknown): void;
}

const consoleMethodFor: Record<LogLevel, (text: string) => void> = {
  debug: (text) => console.debug(text),
  info: (text) => console.info(text),
  warning: (text) => console.warn(text),
  error: (text) => console.error(text),
};

function withErrorDetail(message: string, error: unknown): string {
  if (error === undefined) return message;
  if (error instanceof Error) return `${message}\n${error.stack ?? `${error.name}: ${error.message}`}`;
  return `${message}\n${String(error)}`;
}

/** A logger whose lines read `name: message`. */
export function createLogger(name: string): Logger {
  const write = (level: LogLevel, message: string) => consoleMethodFor[level](`${name}: ${message}`);
  return {
    debug: (message) => write('debug', message),
    info: (message) => write('info', message),
    warning: (message) => write('warning', message),
    error: (message, error) => write('error', withErrorDetail(message, error)),
  };
}

export interface LogRecord {
  level: LogLevel;
  message: string;
}

/** A logger that keeps its records in memory instead of printing: for tests that assert on what was logged. */
export function createRecordingLogger(): Logger & { readonly records: LogRecord[]; messages(level?: LogLevel): string[] } {
  const records: LogRecord[] = [];
  const push = (level: LogLevel, message: string) => records.push({ level, message });
  return {
    records,
    messages: (level) => records.filter((r) => level === undefined || r.level === level).map((r) => r.message),
    debug: (message) => push('debug', message),
    info: (message) => push('info', message),
    warning: (message) => push('warning', message),
    error: (message, error) => push('error', withErrorDetail(message, error)),
  };
}

/** A logger that drops everything (benchmarks). */
export const silentLogger: Logger = { debug() {}, info() {}, warning() {}, error() {} };
