// The TypeScript source behind a traceback entry: files read once per run, and the enclosing function found by
// indentation so that a failure shows the lines from the function's header (or its decorators) down to the crash.
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';

/** How far up from the failing line to look for the enclosing function's first line. */
const HEADER_SCAN_LIMIT = 400;


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

export function indentOf(line: string): number {
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
export function functionStart(lines: string[], failing: number): number {
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

export function deindent(lines: string[]): string[] {
  let common = Infinity;
  for (const line of lines) if (line.trim()) common = Math.min(common, indentOf(line));
  if (!Number.isFinite(common) || common === 0) return lines.map((l) => (l.trim() ? l : ''));
  return lines.map((l) => (l.trim() ? l.slice(common) : ''));
}
