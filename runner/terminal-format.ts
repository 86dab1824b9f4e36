// Pure formatting rules of pytest's terminal reporter (_pytest/terminal.py), one small function each, so that the
// reporter reads as a sequence of events and the rules can be tested by table.
import { basename, isAbsolute, relative, sep } from 'node:path';
import { textWidth } from './terminal-writer.js';

/** pytest's format_session_duration: `1.23s`, or `65.43s (0:01:05)` from a minute on. */
export function formatDuration(seconds: number): string {
  const fixed = `${seconds.toFixed(2)}s`;
  if (seconds < 60) return fixed;
  return `${fixed} (${formatTimedelta(Math.trunc(seconds))})`;
}

/** Python's str(timedelta(seconds=n)) for whole seconds: `0:01:05`, `1 day, 2:00:00`. */
function formatTimedelta(totalSeconds: number): string {
  const days = Math.floor(totalSeconds / 86400);
  const rest = totalSeconds - days * 86400;
  const hours = Math.floor(rest / 3600);
  const minutes = Math.floor((rest % 3600) / 60);
  const seconds = rest % 60;
  const clock = `${hours}:${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}`;
  return days > 0 ? `${days} day${days === 1 ? '' : 's'}, ${clock}` : clock;
}

/** pytest's pluralize(): only `error`, `warnings` and `test` change; `failed`, `passed`... never do. */
export function pluralize(count: number, noun: string): string {
  if (noun !== 'error' && noun !== 'warnings' && noun !== 'test') return `${count} ${noun}`;
  const singular = noun === 'warnings' ? 'warning' : noun;
  return `${count} ${count === 1 ? singular : singular + 's'}`;
}

/**
 * pytest's _format_trimmed: put the first line of `message` between `prefix` and `suffix`, cut with `...` to fit
 * `available` cells; undefined when not even the ellipsis fits.
 */
export function formatTrimmed(prefix: string, suffix: string, message: string, available: number): string | undefined {
  const newline = message.indexOf('\n');
  let msg = newline >= 0 ? message.slice(0, newline) : message;
  const frameWidth = textWidth(prefix) + textWidth(suffix);
  if (frameWidth + 3 > available) return undefined;
  if (frameWidth + textWidth(msg) > available) {
    const room = available - 3;
    msg = msg.slice(0, room);
    while (frameWidth + textWidth(msg) > room) msg = msg.slice(0, -1);
    msg += '...';
  }
  return prefix + msg + suffix;
}

/** Python's `{x:g}` for the durations-min note: `0.005`, `1`, `1e-05`. */
export function formatG(value: number): string {
  if (value === 0) return '0';
  const exponent = Math.floor(Math.log10(Math.abs(value)));
  if (exponent < -4 || exponent >= 6) {
    const [mantissa, exp] = value.toExponential(5).split('e') as [string, string];
    const trimmed = mantissa.replace(/\.?0+$/, '');
    const sign = exp.startsWith('-') ? '-' : '+';
    const digits = exp.replace(/^[+-]/, '').padStart(2, '0');
    return `${trimmed}e${sign}${digits}`;
  }
  return String(Number(value.toPrecision(6)));
}

/** pytest's bestrelpath: `dest` relative to `directory` with `/`, `.` for the same place, `dest` when unrelated. */
export function bestRelPath(directory: string, dest: string): string {
  if (!isAbsolute(dest) || !isAbsolute(directory)) return dest;
  if (dest === directory) return '.';
  const rel = relative(directory, dest);
  return rel.split(sep).join('/');
}

/** `--color` and the environment to a yes/no, as pytest's should_do_markup (plus Node's FORCE_COLOR=0 meaning off). */
export function resolveColor(option: 'yes' | 'no' | 'auto', env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  if (option === 'yes') return true;
  if (option === 'no') return false;
  if (env.PY_COLORS === '1') return true;
  if (env.PY_COLORS === '0') return false;
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR.toLowerCase() !== 'false';
  return isTTY && env.TERM !== 'dumb';
}

/** pytest's running_on_ci(): CI or BUILD_NUMBER set and non-empty. Summaries then show messages untrimmed. */
export function runningOnCI(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.CI) || Boolean(env.BUILD_NUMBER);
}

/** The terminal width pytest uses: the given columns, but 80 when unknown or under 40. */
export function effectiveWidth(columns: number | undefined): number {
  return columns !== undefined && Number.isFinite(columns) && columns >= 40 ? Math.floor(columns) : 80;
}

/** `--markers`: one `@mark.name: description` paragraph per marker, as pytest prints `@pytest.mark.name:`. */
export function formatMarkersList(markers: Array<{ name: string; description: string }>): string {
  let out = '';
  for (const { name, description } of markers) {
    out += `@mark.${name}:${description ? ' ' + description : ''}\n\n`;
  }
  return out;
}

/** pytest's getreportopt: expand `a`/`A`, reset on `N`, lower-case the old `F`/`S`, and add `w` unless disabled. */
export function reportCharsFor(reportChars: string, disableWarnings: boolean): string {
  let chars = '';
  for (let ch of reportChars) {
    if (ch === 'F' || ch === 'S') ch = ch.toLowerCase();
    if (ch === 'a') chars = 'sxXEf';
    else if (ch === 'A') chars = 'PpsxXEf';
    else if (ch === 'N') chars = '';
    else if (!chars.includes(ch)) chars += ch;
  }
  if (!disableWarnings && !chars.includes('w')) chars = 'w' + chars;
  else if (disableWarnings) chars = chars.replaceAll('w', '');
  return chars;
}

/**
 * The `--collect-only` tree for node ids, derived as pytest's listchain: `<Dir root>`, one `<Dir>` per directory,
 * `<Module file>`, `<Class>` for each `::` part but the last, `<Function name>`.
 */
export function collectTreeLines(nodeids: string[], rootdir: string): string[] {
  const lines: string[] = [];
  let stack: string[] = [];
  const rootName = basename(rootdir) || rootdir;
  for (const nodeid of nodeids) {
    const [path, ...names] = nodeid.split('::');
    const segments = path!.split('/').filter((s) => s !== '' && s !== '.');
    const chain: string[] = [`<Dir ${rootName}>`];
    for (let i = 0; i < segments.length - 1; i++) chain.push(`<Dir ${segments[i]}>`);
    if (segments.length > 0) chain.push(`<Module ${segments[segments.length - 1]}>`);
    names.forEach((name, i) => chain.push(i === names.length - 1 ? `<Function ${name}>` : `<Class ${name}>`));
    // Identity of a collector is its position in the chain plus all names above it.
    const keys = chain.map((_, i) => chain.slice(0, i + 1).join('\u0000'));
    let common = 0;
    while (common < stack.length && common < keys.length && stack[common] === keys[common]) common++;
    stack = stack.slice(0, common);
    for (let i = common; i < chain.length; i++) {
      stack.push(keys[i]!);
      lines.push('  '.repeat(i) + chain[i]);
    }
  }
  return lines;
}

/** `-qq --collect-only`: `path: count` per file, sorted by path. */
export function collectCountLines(nodeids: string[]): string[] {
  const counts = new Map<string, number>();
  for (const nodeid of nodeids) {
    const path = nodeid.split('::', 1)[0]!;
    counts.set(path, (counts.get(path) ?? 0) + 1);
  }
  return [...counts.keys()].sort(compareCodePoints).map((path) => `${path}: ${counts.get(path)}`);
}

function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A small textwrap.wrap(drop_whitespace=True) for long `-vv` skip reasons: greedy on whitespace, words longer than a
 * line are broken. The first line already has `indent` cells taken.
 */
export function wrapText(content: string, indent: number, width: number): string[] {
  const chunks = content.split(/(\s+)/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  let used = indent;
  const endLine = (): void => {
    lines.push(line.trimEnd());
    line = '';
    used = 0;
  };
  for (let chunk of chunks) {
    if (/^\s+$/.test(chunk)) {
      if (line === '' && lines.length > 0) continue; // whitespace at the start of a wrapped line is dropped
      if (used + chunk.length > width) endLine();
      else {
        line += chunk;
        used += chunk.length;
      }
      continue;
    }
    while (used + textWidth(chunk) > width) {
      if (line.trim() !== '') {
        endLine();
        continue;
      }
      const room = Math.max(1, width - used);
      line += chunk.slice(0, room);
      chunk = chunk.slice(room);
      endLine();
    }
    line += chunk;
    used += textWidth(chunk);
  }
  if (line.trim() !== '') lines.push(line.trimEnd());
  return lines;
}
