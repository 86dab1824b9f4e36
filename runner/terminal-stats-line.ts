// The last line of a session: `==== 1 failed, 17 passed, 1 deselected, 2 warnings in 1.23s ====` in pytest's order
// and colours (summary_stats / build_summary_stats_line), `18/19 tests collected (1 deselected)` for --collect-only.
import { formatDuration, pluralize } from './terminal-format.js';
import type { SessionStats } from './terminal-summary.js';
import type { Colour, Markup, TerminalWriter } from './terminal-writer.js';

/** The order of the parts of the final line (pytest's KNOWN_TYPES). */
const KNOWN_TYPES = ['failed', 'passed', 'skipped', 'deselected', 'xfailed', 'xpassed', 'warnings', 'error'] as const;
const COLOUR_FOR_TYPE: Record<string, Colour> = { failed: 'red', error: 'red', warnings: 'yellow', passed: 'green' };

export interface StatsLineInput {
  stats: SessionStats;
  collectOnly: boolean;
  verbosity: number;
  /** Items collected before deselection. */
  numCollected: number;
  /** Whether every selected test has reported (pytest's _is_last_item, which decides green or yellow). */
  isLastItem: boolean;
  durationS: number;
}

type Parts = { parts: Array<[string, Markup]>; colour: Colour };

function runParts(stats: SessionStats, isLastItem: boolean): Parts {
  const colour = stats.mainColour(isLastItem);
  const parts: Array<[string, Markup]> = [];
  for (const key of KNOWN_TYPES) {
    const count = stats.count(key);
    if (count === 0) continue;
    const partColour = COLOUR_FOR_TYPE[key] ?? 'yellow';
    parts.push([pluralize(count, key), { colour: partColour, bold: partColour === colour }]);
  }
  if (parts.length === 0) parts.push(['no tests ran', { colour: 'yellow' }]);
  return { parts, colour };
}

function collectOnlyParts(stats: SessionStats, numCollected: number): Parts {
  const deselected = stats.deselected;
  const errors = stats.error.length;
  let colour: Colour;
  let text: string;
  if (numCollected === 0) {
    colour = 'yellow';
    text = 'no tests collected';
  } else if (deselected === 0) {
    colour = 'green';
    text = `${pluralize(numCollected, 'test')} collected`;
  } else if (numCollected === deselected) {
    colour = 'yellow';
    text = `no tests collected (${deselected} deselected)`;
  } else {
    colour = 'green';
    text = `${numCollected - deselected}/${numCollected} tests collected (${deselected} deselected)`;
  }
  const parts: Array<[string, Markup]> = [[text, { colour }]];
  if (errors) {
    colour = 'red';
    parts.push([pluralize(errors, 'error'), { colour }]);
  }
  return { parts, colour };
}

/** Write the final line (the caller has ended any open line); nothing at -qq, as pytest. */
export function writeStatsLine(tw: TerminalWriter, input: StatsLineInput): void {
  if (input.verbosity < -1) return;
  const { parts, colour } = input.collectOnly ? collectOnlyParts(input.stats, input.numCollected) : runParts(input.stats, input.isLastItem);
  const main: Markup = { colour };
  const duration = ` in ${formatDuration(input.durationS)}`;
  const visible = parts.map(([text]) => text).join(', ') + duration;
  // Each part carries its own colour; the rule and the duration carry the line's.
  const marked = parts.map(([text, markup]) => tw.markup(text, markup)).join(', ') + tw.markup(duration, main);
  if (input.verbosity < 0) {
    tw.writeMarked(marked, visible);
    tw.write('\n');
    return;
  }
  const length = [...visible].length;
  const n = Math.max(Math.floor((tw.fullwidth - length - 2) / 2), 1);
  const fill = '='.repeat(n);
  const left = `${fill} `;
  const right = ` ${fill}${n * 2 + length + 3 <= tw.fullwidth ? '=' : ''}`;
  tw.writeMarked(tw.markup(left, main) + marked + tw.markup(right, main), left + visible + right);
  tw.write('\n');
}
