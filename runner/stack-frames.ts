// V8 stack traces as frames: parsing `error.stack` (named, anonymous, async and eval frames) and choosing the frames a
// user should see, with node's internals and pytest-ts's own code left out, as pytest cuts its own frames.
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  // A module's top-level code, called by node's ESM loader, is `<module>` to pytest; with source maps on, node names
  // it `<anonymous>`, as it names an unnamed arrow function, so the caller tells the two apart.
  for (let i = 0; i + 1 < frames.length; i++) {
    if (frames[i]!.functionName === '<anonymous>' && MODULE_EVALUATION.test(frames[i + 1]!.functionName)) frames[i]!.functionName = '';
  }
  return frames;
}

const MODULE_EVALUATION = /^ModuleJob\.(?:run|evaluate)$/;

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

export function isInternalFrame(frame: StackFrame): boolean {
  return frame.file.startsWith('node:') || frame.file.startsWith('internal/');
}

function isUnder(file: string, dir: string): boolean {
  const prefix = dir.endsWith(sep) ? dir : dir + sep;
  return file.startsWith(prefix);
}

/** The frames a user should see, outermost (the test) first: no node internals, no runner frames. */
export function visibleFrames(error: Error, hiddenDirs: string[]): StackFrame[] {
  const all = parseStack(typeof error.stack === 'string' ? error.stack : '').filter((f) => !isInternalFrame(f));
  const kept = all.filter((f) => !hiddenDirs.some((dir) => isUnder(f.file, dir)));
  // Like pytest's filter_traceback: when everything would be hidden, the hidden frames are better than nothing.
  return (kept.length > 0 ? kept : all).reverse();
}
