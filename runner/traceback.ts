// Turns a thrown value into a FailureRepr: pytest's traceback rendering (`--tb=auto|long|short|line|native|no`)
// for V8 stack traces of TypeScript code. The layout copies pytest's _pytest/_code/code.py: entries from the test
// down to the crash, `>   ` on the failing line, `E` lines with the exception text, `path:line: Type` under long
// entries, `_ _ _` separators between them, and `__cause__`-style chains.
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { inspect } from 'node:util';
import type { FailureRepr } from './reports.js';
import { RUNNER_DIR } from './paths.js';
import { deindent, functionStart, indentOf, readSourceLines } from './source-lines.js';
import { shortFunctionName, visibleFrames, type StackFrame } from './stack-frames.js';

export type TbStyle = 'auto' | 'long' | 'short' | 'line' | 'native' | 'no';

export interface FormatFailureOptions {
  tb: TbStyle;
  rootdir: string;
  /** -v count minus -q count. Below 2, long AssertionError messages are truncated as pytest truncates explanations. */
  verbosity: number;
  /** Terminal width for the `_ _ _` separators between long entries (default 80). */
  width?: number;
  /** Directories whose frames are the runner's own and are hidden (default: DEFAULT_HIDDEN_DIRS). */
  hiddenDirs?: string[];
  /** On CI pytest never truncates assertion messages (CI / BUILD_NUMBER set). */
  ci?: boolean;
}

const CAUSE_DESCRIPTION = 'The above exception was the direct cause of the following exception:';
/** pytest shows a function's whole source; a TypeScript test can be long, so at most this many lines end at the failure. */
const MAX_SOURCE_LINES = 20;
/** A cause chain longer than this is cut (and a cycle is cut at once). */
const MAX_CHAIN = 16;
const TRUNCATE_MAX_LINES = 8;
const TRUNCATE_MAX_CHARS = 8 * 80;

/**
 * pytest-ts's own code: the runner, and bin/ whose top-level `await main()` shows up as the outermost async frame.
 * Frames there are hidden, as pytest cuts its own frames above the test function.
 */
export const DEFAULT_HIDDEN_DIRS: readonly string[] = [RUNNER_DIR, join(dirname(RUNNER_DIR), 'bin')];

// ---------------------------------------------------------------------------------------------------------------
// Crash message

/** The one-line-or-more crash text: `AssertionError: expected 1 to equal 2`, `Error: boom`, or String(value). */
export function crashMessage(error: unknown): string {
  if (error instanceof Error || looksLikeError(error)) {
    const name = errorTypeName(error as Error);
    const message = String((error as Error).message ?? '').trimEnd();
    return message ? `${name}: ${message}` : name;
  }
  return describeNonError(error).trimEnd();
}

/** The class name pytest prints after `path:line:` (`AssertionError`, `TypeError`, a custom subclass's name). */
export function errorTypeName(error: Error): string {
  const name = typeof error.name === 'string' && error.name ? error.name : 'Error';
  // `class OomError extends Error {}` keeps the inherited name 'Error'; the constructor knows better.
  const ctorName = (error as { constructor?: { name?: unknown } }).constructor?.name;
  if (name === 'Error' && typeof ctorName === 'string' && ctorName && ctorName !== 'Error') return ctorName;
  return name;
}

function looksLikeError(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Error).stack === 'string' && 'message' in value;
}

function describeNonError(value: unknown): string {
  if (typeof value === 'object' && value !== null && value.toString === Object.prototype.toString) {
    return inspect(value, { depth: 2, breakLength: Infinity });
  }
  return String(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Rendering (pytest's ReprEntry / ReprTraceback / ExceptionChainRepr)

type EntryStyle = 'long' | 'short' | 'line';

interface RenderContext {
  rootdir: string;
  width: number;
  hiddenDirs: string[];
}

/** pytest's path for a traceback entry: relative to the rootdir when that is shorter than the absolute path. */
function displayPath(file: string, rootdir: string): string {
  if (!isAbsolute(file)) return file;
  const rel = relative(rootdir, file).split(sep).join('/');
  return rel.length < file.length ? rel : file;
}

function exceptionLines(message: string): string[] {
  return message.split('\n');
}

/** `E` lines: markAll puts `E` on every line (long/short); otherwise only on the first (line/no styles). */
function failLines(messageLines: string[], indent: number, markAll: boolean): string[] {
  const pad = ' '.repeat(indent);
  const marked = 'E' + pad.slice(1);
  return messageLines.map((line, i) => (i === 0 || markAll ? marked : pad) + line);
}

function renderLongEntry(frame: StackFrame, ctx: RenderContext, exc: string[] | undefined, typeName: string): string[] {
  const source = readSourceLines(frame.file);
  const failing = frame.line - 1;
  let shown: string[];
  if (!source || failing < 0 || failing >= source.length) {
    shown = ['???'];
  } else {
    const start = Math.max(functionStart(source, failing), failing - (MAX_SOURCE_LINES - 1));
    shown = deindent(source.slice(start, failing + 1));
  }
  const out: string[] = [];
  for (let i = 0; i < shown.length - 1; i++) out.push('    ' + shown[i]);
  const last = shown[shown.length - 1]!;
  out.push('>   ' + last);
  if (exc) out.push(...failLines(exc, 4 + indentOf(last), true));
  out.push('');
  out.push(`${displayPath(frame.file, ctx.rootdir)}:${frame.line}: ${exc ? typeName : ''}`);
  return out;
}

function renderShortEntry(frame: StackFrame, ctx: RenderContext, exc: string[] | undefined): string[] {
  const source = readSourceLines(frame.file);
  const text = source?.[frame.line - 1];
  const out = [`${displayPath(frame.file, ctx.rootdir)}:${frame.line}: in ${shortFunctionName(frame.functionName)}`];
  out.push('    ' + (text === undefined ? '???' : text.trim()));
  if (exc) out.push(...failLines(exc, 4, true));
  return out;
}

/** The `_ _ _` line pytest draws between entries: `sep("_ ")` at the full width. */
function entrySeparator(width: number): string {
  return '_ '.repeat(Math.floor(width / 2));
}

/** One exception of a chain, as lines (pytest's ReprTraceback.toterminal). */
function renderTraceback(error: Error, style: TbStyle, exc: string[], ctx: RenderContext): string[] {
  if (style === 'line' || style === 'no') return failLines(exc, 4, false);
  const frames = visibleFrames(error, ctx.hiddenDirs);
  if (frames.length === 0) return noTracebackLines(style, exc);
  const typeName = errorTypeName(error);
  const styles: EntryStyle[] = frames.map((_, i) => {
    if (style === 'short') return 'short';
    // pytest's auto: the first and the last entry long, the ones between short (issue364).
    if (style === 'auto' && i > 0 && i < frames.length - 1) return 'short';
    return 'long';
  });
  const out: string[] = [];
  frames.forEach((frame, i) => {
    const isLast = i === frames.length - 1;
    const entryExc = isLast ? exc : undefined;
    if (styles[i] === 'long') {
      out.push('');
      out.push(...renderLongEntry(frame, ctx, entryExc, typeName));
    } else {
      out.push(...renderShortEntry(frame, ctx, entryExc));
    }
    if (!isLast && (styles[i] === 'long' || styles[i + 1] === 'long')) out.push(entrySeparator(ctx.width));
  });
  return out;
}

/** An exception with no frame to show: pytest's entry-less ReprEntry, the `E` line(s) alone. */
function noTracebackLines(style: TbStyle, exc: string[]): string[] {
  const lines = failLines(exc, 4, false);
  return style === 'short' || style === 'line' || style === 'no' ? lines : ['', ...lines];
}

/** The error and its causes, newest first, stopping at cycles and non-object causes' own causes. */
function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [error];
  const seen = new Set<unknown>([error]);
  let current: unknown = error;
  while (chain.length < MAX_CHAIN && typeof current === 'object' && current !== null && 'cause' in current) {
    const cause = (current as { cause?: unknown }).cause;
    if (cause === undefined || seen.has(cause)) break;
    seen.add(cause);
    chain.push(cause);
    current = cause;
  }
  return chain;
}

function isRenderableError(value: unknown): value is Error {
  return value instanceof Error || looksLikeError(value);
}

/** pytest truncates long assertion explanations below -vv (assertion/truncate.py), and so do we for AssertionError. */
export function truncateMessageLines(lines: string[]): string[] {
  const charCount = lines.reduce((n, l) => n + l.length, 0);
  if (lines.length <= TRUNCATE_MAX_LINES + 2 && charCount <= TRUNCATE_MAX_CHARS + 70) return lines;
  let kept = lines.slice(0, TRUNCATE_MAX_LINES);
  let truncatedChars = true;
  if (kept.reduce((n, l) => n + l.length, 0) > TRUNCATE_MAX_CHARS + 70) {
    let used = 0;
    let index = 0;
    for (; index < kept.length; index++) {
      if (used + kept[index]!.length > TRUNCATE_MAX_CHARS) break;
      used += kept[index]!.length;
    }
    const finalLine = kept[index] ?? '';
    kept = [...kept.slice(0, index), finalLine.slice(0, TRUNCATE_MAX_CHARS - used)];
  } else {
    truncatedChars = false;
  }
  let hidden = lines.length - kept.length;
  if (kept[kept.length - 1]) {
    kept[kept.length - 1] += '...';
    if (truncatedChars) hidden += 1;
  } else {
    kept[kept.length - 1] = '...';
  }
  return [...kept, '', `...Full output truncated (${hidden} line${hidden === 1 ? '' : 's'} hidden), use '-vv' to show`];
}

function messageLinesFor(value: unknown, options: FormatFailureOptions): string[] {
  const lines = exceptionLines(crashMessage(value));
  const truncate = options.verbosity < 2 && !options.ci && isRenderableError(value) && errorTypeName(value) === 'AssertionError';
  return truncate ? truncateMessageLines(lines) : lines;
}

function nativeText(value: unknown): string {
  if (isRenderableError(value) && typeof value.stack === 'string' && value.stack) return value.stack.trimEnd();
  return crashMessage(value);
}

/** Render a thrown value for a `--tb` style, with the crash message and location the summaries need. */
export function formatFailure(error: unknown, options: FormatFailureOptions): FailureRepr {
  const ctx: RenderContext = {
    rootdir: options.rootdir,
    width: options.width ?? 80,
    hiddenDirs: options.hiddenDirs ?? [...DEFAULT_HIDDEN_DIRS],
  };
  const chain = causeChain(error).reverse(); // the root cause first, as Python prints __cause__
  const outerLines = messageLinesFor(error, options);
  const repr: FailureRepr = { message: outerLines.join('\n'), text: '' };
  if (isRenderableError(error)) {
    const frames = visibleFrames(error, ctx.hiddenDirs);
    const crash = frames[frames.length - 1];
    if (crash) {
      repr.crashPath = displayPath(crash.file, ctx.rootdir);
      repr.crashLine = crash.line;
    }
  }
  if (options.tb === 'native') {
    repr.text = chain.map(nativeText).join(`\n\n${CAUSE_DESCRIPTION}\n\n`);
    return repr;
  }
  const out: string[] = [];
  chain.forEach((value, i) => {
    const exc = value === error ? outerLines : messageLinesFor(value, options);
    // A thrown string or object has no stack: it renders like an exception whose frames are all hidden.
    out.push(...(isRenderableError(value) ? renderTraceback(value, options.tb, exc, ctx) : noTracebackLines(options.tb, exc)));
    if (i < chain.length - 1) out.push('', CAUSE_DESCRIPTION);
  });
  repr.text = out.join('\n');
  return repr;
}

/**
 * The single line `--tb=line` prints after a failure's captured output: `/abs/suites/x.ts:12: AssertionError: msg`
 * (pytest's str(reprcrash): absolute path, first line of the message). Without a crash location, the text's start.
 */
export function crashLineText(failure: FailureRepr, rootdir: string): string {
  if (failure.crashPath === undefined || failure.crashLine === undefined) return failure.text.trim().slice(0, 50);
  const path = isAbsolute(failure.crashPath) ? failure.crashPath : `${rootdir.replace(/[\\/]+$/, '')}/${failure.crashPath}`;
  const firstLine = failure.message.split('\n', 1)[0];
  return `${path}:${failure.crashLine}: ${firstLine}`;
}
