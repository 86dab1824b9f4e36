// Turns a thrown value into a FailureRepr: pytest's traceback rendering (`--tb=auto|long|short|line|native|no`)
// for V8 stack traces of TypeScript code. The layout copies pytest's _pytest/_code/code.py: entries from the test
// down to the crash, `>   ` on the failing line, `E` lines with the exception text, `path:line: Type` under long
// entries, `_ _ _` separators between them, and `__cause__`-style chains.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import type { FailureRepr } from './reports.js';
import { RUNNER_DIR } from './paths.js';

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

/** One V8 stack frame, innermost first as V8 prints them. */
export interface StackFrame {
  /** The function as V8 names it (`TestA.test_b`, `new Foo`), '' for top-level code. */
  functionName: string;
  /** Absolute path, or a pseudo-location such as `<anonymous>` for eval code. */
  file: string;
  /** 1-based line and column. */
  line: number;
  column: number;
  isAsync: boolean;
  isEval: boolean;
}

const CAUSE_DESCRIPTION = 'The above exception was the direct cause of the following exception:';
/** pytest shows a function's whole source; a TypeScript test can be long, so at most this many lines end at the failure. */
const MAX_SOURCE_LINES = 20;
/** How far up from the failing line to look for the enclosing function's first line. */
const HEADER_SCAN_LIMIT = 400;
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
// Stack parsing

const FRAME_LINE = /^\s*at\s/;
const FRAME = /^\s*at (?:(async) )?(?:(.*?) \((.*)\)|(.*))$/;
const LOCATION = /^(.*):(\d+):(\d+)$/;
const EVAL_LOCATION = /^eval at .*, (.*):(\d+):(\d+)$/;

/** The frames of a V8 `error.stack`, innermost first; frames without a file (`new Promise (<anonymous>)`) are skipped. */
export function parseStack(stack: string): StackFrame[] {
  const lines = stack.split('\n');
  let first = lines.length;
  // Frames are the trailing run of `at ...` lines; a message may itself contain anything.
  while (first > 0 && FRAME_LINE.test(lines[first - 1]!)) first--;
  const frames: StackFrame[] = [];
  for (let i = first; i < lines.length; i++) {
    const frame = parseFrame(lines[i]!);
    if (frame) frames.push(frame);
  }
  return frames;
}

function parseFrame(line: string): StackFrame | undefined {
  const match = FRAME.exec(line);
  if (!match) return undefined;
  const isAsync = match[1] !== undefined;
  const functionName = match[2] ?? '';
  const location = match[3] ?? match[4] ?? '';
  const evalMatch = EVAL_LOCATION.exec(location);
  if (evalMatch) {
    return { functionName, file: evalMatch[1]!, line: Number(evalMatch[2]), column: Number(evalMatch[3]), isAsync, isEval: true };
  }
  const loc = LOCATION.exec(location);
  if (!loc) return undefined; // native code, `index 0`, `<anonymous>` without a position
  let file = loc[1]!;
  if (file.startsWith('file://')) {
    try {
      file = fileURLToPath(file);
    } catch {
      // keep the URL: it still names the place
    }
  }
  return { functionName, file, line: Number(loc[2]), column: Number(loc[3]), isAsync, isEval: false };
}

/** The name pytest prints in `in test_b`: V8's name without the receiver, alias or `new`. */
export function shortFunctionName(functionName: string): string {
  let name = functionName.replace(/ \[as [^\]]*\]$/, '');
  if (name.startsWith('new ')) name = name.slice(4);
  if (!name) return '<module>';
  if (name.endsWith('.<anonymous>')) return '<anonymous>';
  const dot = name.lastIndexOf('.');
  return dot >= 0 && dot < name.length - 1 ? name.slice(dot + 1) : name;
}

function isInternalFrame(frame: StackFrame): boolean {
  return frame.file.startsWith('node:') || frame.file.startsWith('internal/');
}

function isUnder(file: string, dir: string): boolean {
  const prefix = dir.endsWith(sep) ? dir : dir + sep;
  return file.startsWith(prefix);
}

/** The frames a user should see, outermost (the test) first: no node internals, no runner frames. */
function visibleFrames(error: Error, hiddenDirs: string[]): StackFrame[] {
  const all = parseStack(typeof error.stack === 'string' ? error.stack : '').filter((f) => !isInternalFrame(f));
  const kept = all.filter((f) => !hiddenDirs.some((dir) => isUnder(f.file, dir)));
  // Like pytest's filter_traceback: when everything would be hidden, the hidden frames are better than nothing.
  return (kept.length > 0 ? kept : all).reverse();
}

// ---------------------------------------------------------------------------------------------------------------
// Source access, cached for the whole run

const sourceCache = new Map<string, string[] | null>();

/** The lines of a source file, read once per run; undefined when it cannot be read. */
export function readSourceLines(file: string): string[] | undefined {
  let lines = sourceCache.get(file);
  if (lines === undefined) {
    try {
      lines = isAbsolute(file) ? readFileSync(file, 'utf8').split(/\r?\n/) : null;
    } catch {
      lines = null;
    }
    sourceCache.set(file, lines);
  }
  return lines ?? undefined;
}

/** Forget cached sources (for a watch mode, or a test that rewrites a fixture file). */
export function clearSourceCache(): void {
  sourceCache.clear();
}

function indentOf(line: string): number {
  let i = 0;
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  return i;
}

const CONTROL_WORDS = new Set([
  'if', 'for', 'while', 'switch', 'catch', 'with', 'return', 'await', 'new', 'typeof', 'else', 'do', 'try',
  'yield', 'throw', 'case', 'delete', 'void', 'super', 'import',
]);
const METHOD_HEADER = /^\s*(?:(?:public|private|protected|static|async|override|readonly|get|set|\*)\s*)*\*?\s*([#\w$]+)\s*(?:<[^>]*>)?\s*\(/;

function looksLikeFunctionHeader(line: string): boolean {
  if (/\bfunction\b/.test(line) || line.includes('=>')) return true;
  const method = METHOD_HEADER.exec(line);
  if (!method || CONTROL_WORDS.has(method[1]!)) return false;
  // A method declaration opens its body on the same line; a bare call statement does not.
  return /\{\s*(?:\/\/.*)?$/.test(line);
}

/**
 * The first line of the function around the failing line (0-based), decorators included, as pytest shows a
 * function from its `def` (or first decorator). Falls back to the failing line alone when none is found.
 */
function functionStart(lines: string[], failing: number): number {
  let threshold = indentOf(lines[failing]!);
  const stop = Math.max(0, failing - HEADER_SCAN_LIMIT);
  for (let i = failing - 1; i >= stop; i--) {
    const text = lines[i]!;
    if (!text.trim()) continue;
    const indent = indentOf(text);
    if (indent >= threshold) continue;
    threshold = indent;
    if (looksLikeFunctionHeader(text)) {
      let start = i;
      while (start > 0 && lines[start - 1]!.trimStart().startsWith('@') && indentOf(lines[start - 1]!) === indent) start--;
      return start;
    }
    if (/^\s*(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\b/.test(text) || indent === 0) break;
  }
  return failing;
}

function deindent(lines: string[]): string[] {
  let common = Infinity;
  for (const line of lines) if (line.trim()) common = Math.min(common, indentOf(line));
  if (!Number.isFinite(common) || common === 0) return lines.map((l) => (l.trim() ? l : ''));
  return lines.map((l) => (l.trim() ? l.slice(common) : ''));
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
