// Python logging's `%`-style record formatting for live logs (log_cli_format / log_cli_date_format), compiled once
// per session: `%(asctime)s [%(levelname)-8s] %(name)s: %(message)s` with widths, precision and time.strftime dates.
import { basename, extname } from 'node:path';
import { UsageError } from './exit-codes.js';
import type { LogRecordInfo } from './reports.js';

/** Fields a runner may add to a record when it knows the caller (pytest's %(filename)s / %(lineno)d). */
export type LogRecordWithSource = LogRecordInfo & { filename?: string; lineno?: number; funcName?: string; pathname?: string };

/** Colours the formatted level name (pytest's ColoredLevelFormatter); identity when colour is off. */
export type LevelMarkup = (level: number, formattedLevel: string) => string;

type FieldValue = string | number;
type Segment = (record: LogRecordWithSource, markLevel: LevelMarkup | undefined) => string;

const FIELD = /%\((\w+)\)([#0\- +]*)(\d+)?(?:\.(\d+))?([diouxXeEfFgGcrsa])|%%/g;
const KNOWN_FIELDS = new Set([
  'name', 'levelname', 'levelno', 'message', 'asctime', 'created', 'msecs', 'relativeCreated', 'filename', 'lineno',
  'module', 'funcName', 'pathname', 'process', 'processName', 'thread', 'threadName', 'taskName',
]);

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH_NAMES = [
  'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December',
];

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

function dayOfYear(date: Date): number {
  const start = new Date(date.getFullYear(), 0, 1);
  const startUtc = Date.UTC(start.getFullYear(), 0, 1);
  const dayUtc = Date.UTC(date.getFullYear(), date.getMonth(), date.getDate());
  return Math.round((dayUtc - startUtc) / 86400000) + 1;
}

function timezoneName(date: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(date).find((p) => p.type === 'timeZoneName');
  return part?.value ?? '';
}

/** Python's time.strftime in local time for the directives log formats use; `%f` is microseconds (pytest's DatetimeFormatter). */
export function strftime(date: Date, format: string): string {
  return format.replace(/%([a-zA-Z%])/g, (whole, directive: string) => {
    switch (directive) {
      case 'H': return pad(date.getHours(), 2);
      case 'I': return pad(date.getHours() % 12 || 12, 2);
      case 'M': return pad(date.getMinutes(), 2);
      case 'S': return pad(date.getSeconds(), 2);
      case 'f': return pad(date.getMilliseconds() * 1000, 6);
      case 'p': return date.getHours() < 12 ? 'AM' : 'PM';
      case 'Y': return String(date.getFullYear());
      case 'y': return pad(date.getFullYear() % 100, 2);
      case 'm': return pad(date.getMonth() + 1, 2);
      case 'd': return pad(date.getDate(), 2);
      case 'j': return pad(dayOfYear(date), 3);
      case 'a': return DAY_NAMES[date.getDay()]!.slice(0, 3);
      case 'A': return DAY_NAMES[date.getDay()]!;
      case 'b': return MONTH_NAMES[date.getMonth()]!.slice(0, 3);
      case 'B': return MONTH_NAMES[date.getMonth()]!;
      case 'z': {
        const offset = -date.getTimezoneOffset();
        const abs = Math.abs(offset);
        return `${offset >= 0 ? '+' : '-'}${pad(Math.floor(abs / 60), 2)}${pad(abs % 60, 2)}`;
      }
      case 'Z': return timezoneName(date);
      case '%': return '%';
      default: return whole; // unknown directives pass through, as glibc leaves most of them
    }
  });
}

/** Python's asctime: the date format when given, else `2024-01-31 12:00:00,123`. */
function asctime(created: number, dateFormat: string | undefined): string {
  const date = new Date(created);
  if (dateFormat) return strftime(date, dateFormat);
  return `${strftime(date, '%Y-%m-%d %H:%M:%S')},${pad(date.getMilliseconds(), 3)}`;
}

function pythonRepr(value: FieldValue): string {
  if (typeof value === 'number') return String(value);
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Apply one `%[flags][width][.precision]type` conversion to a value, as Python's `%` operator does. */
function convert(value: FieldValue, flags: string, width: number | undefined, precision: number | undefined, type: string): string {
  let text: string;
  const numeric = typeof value === 'number' ? value : Number(value);
  switch (type) {
    case 'd': case 'i': case 'u':
      text = String(Math.trunc(numeric));
      break;
    case 'f': case 'F':
      text = numeric.toFixed(precision ?? 6);
      break;
    case 'e': case 'E':
      text = numeric.toExponential(precision ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
      if (type === 'E') text = text.toUpperCase();
      break;
    case 'g': case 'G':
      text = String(Number(numeric.toPrecision(precision ?? 6)));
      break;
    case 'x': case 'X': case 'o':
      text = Math.trunc(numeric).toString(type === 'o' ? 8 : 16);
      if (type === 'X') text = text.toUpperCase();
      break;
    case 'r': case 'a':
      text = pythonRepr(value);
      break;
    case 'c':
      text = typeof value === 'number' ? String.fromCodePoint(value) : value;
      break;
    default:
      text = String(value);
  }
  if ('diufFeEgGxXo'.includes(type)) {
    if (flags.includes('+') && numeric >= 0) text = '+' + text;
    else if (flags.includes(' ') && numeric >= 0) text = ' ' + text;
  }
  if ((type === 's' || type === 'r' || type === 'a') && precision !== undefined) text = text.slice(0, precision);
  if (width !== undefined && text.length < width) {
    if (flags.includes('-')) text = text.padEnd(width);
    else if (flags.includes('0') && 'diufFeEgGxXo'.includes(type)) {
      const sign = /^[+\- ]/.test(text) ? text[0]! : '';
      text = sign + text.slice(sign.length).padStart(width - sign.length, '0');
    } else text = text.padStart(width);
  }
  return text;
}

export interface LogFormatOptions {
  format: string;
  dateFormat?: string;
  /** Epoch milliseconds of the session start, for %(relativeCreated)d. */
  startTime?: number;
}

/**
 * Compile a logging format into a function from record to line. Unknown fields are a usage error at start-up
 * (Python would fail on every record instead).
 */
export function compileLogFormat(options: LogFormatOptions): (record: LogRecordWithSource, markLevel?: LevelMarkup) => string {
  const { format, dateFormat } = options;
  const startTime = options.startTime ?? Date.now();
  const segments: Segment[] = [];
  let last = 0;
  for (const match of format.matchAll(FIELD)) {
    const literal = format.slice(last, match.index);
    if (literal) segments.push(() => literal);
    last = match.index! + match[0].length;
    if (match[0] === '%%') {
      segments.push(() => '%');
      continue;
    }
    const field = match[1]!;
    const flags = match[2] ?? '';
    const widthText = match[3];
    const precisionText = match[4];
    const type = match[5]!;
    if (!KNOWN_FIELDS.has(field)) {
      throw new UsageError(`log format ${JSON.stringify(format)}: unknown field %(${field})${type}`);
    }
    const width = widthText === undefined ? undefined : Number(widthText);
    const precision = precisionText === undefined ? undefined : Number(precisionText);
    const read = fieldReader(field, dateFormat, startTime);
    if (field === 'levelname') {
      segments.push((record, markLevel) => {
        const text = convert(read(record), flags, width, precision, type);
        return markLevel ? markLevel(record.level, text) : text;
      });
    } else {
      segments.push((record) => convert(read(record), flags, width, precision, type));
    }
  }
  const tail = format.slice(last);
  if (tail) segments.push(() => tail);
  return (record, markLevel) => {
    let out = '';
    for (const segment of segments) out += segment(record, markLevel);
    return out;
  };
}

function fieldReader(field: string, dateFormat: string | undefined, startTime: number): (record: LogRecordWithSource) => FieldValue {
  switch (field) {
    case 'name': return (r) => r.name;
    case 'levelname': return (r) => r.levelName;
    case 'levelno': return (r) => r.level;
    case 'message': return (r) => r.message;
    case 'asctime': return (r) => asctime(r.created, dateFormat);
    case 'created': return (r) => r.created / 1000;
    case 'msecs': return (r) => r.created % 1000;
    case 'relativeCreated': return (r) => r.created - startTime;
    // Python's logging says this when a record carries no caller information.
    case 'filename': return (r) => r.filename ?? (r.pathname ? basename(r.pathname) : '(unknown file)');
    case 'pathname': return (r) => r.pathname ?? r.filename ?? '(unknown file)';
    case 'module': return (r) => {
      const file = r.filename ?? (r.pathname ? basename(r.pathname) : undefined);
      return file ? file.slice(0, file.length - extname(file).length) : 'Unknown module';
    };
    case 'lineno': return (r) => r.lineno ?? 0;
    case 'funcName': return (r) => r.funcName ?? '(unknown function)';
    case 'process': return () => process.pid;
    case 'processName': return () => 'MainProcess';
    case 'thread': return () => 0;
    case 'threadName': return () => 'MainThread';
    default: return () => 'None'; // taskName
  }
}
