// Terminal output with what differs between Python and TypeScript taken out, so that pytest's output and
// pytest-ts's can be compared line for line: `.py` read as `.ts`, the platform line, the temp rootdir (and its name
// in `--co`'s `<Dir ...>`), durations, traceback lines inside FAILURES/ERRORS entries, the message after ` - ` in
// FAILED/ERROR summary lines, and source line numbers in `SKIPPED [1] file:LINE:`.
import { basename } from 'node:path';

const ENTRY_HEADER = /^_+ .+? _+$/;
const SECTION_HEADER = /^-+ .+? -+$/;
const BANNER = /^=+ .* =+$/;
const REPORT_BLOCK = /^=+ (FAILURES|ERRORS) =+$/;

/** stdout with the differences that come from the language, not the runner, taken out (see the file's header). */
export function normaliseOutput(stdout: string, rootdir: string): string[] {
  const out: string[] = [];
  let inReportBlock = false;
  for (let line of stdout.replace(/\n$/, '').split('\n')) {
    line = line.replaceAll(rootdir, '<rootdir>').replaceAll(basename(rootdir), '<rootname>').replace(/\.py\b/g, '.ts');
    if (line.startsWith('platform ')) continue;
    if (REPORT_BLOCK.test(line)) inReportBlock = true;
    else if (BANNER.test(line)) inReportBlock = false;
    if (inReportBlock && !REPORT_BLOCK.test(line) && !ENTRY_HEADER.test(line) && !SECTION_HEADER.test(line)) continue;
    line = line
      .replace(/ in \d+\.\d+s( \(\d+:\d\d:\d\d\))?/, ' in Xs')
      .replace(/^((?:FAILED|ERROR) \S+) - .*$/, '$1 - <message>')
      .replace(/^(SKIPPED \[\d+\] [^:]+):\d+:/, '$1:N:');
    // The summary lines are centred: re-centre after the time was replaced, so widths cannot differ.
    if (BANNER.test(line)) line = `= ${line.replace(/^=+ | =+$/g, '')} =`;
    out.push(line);
  }
  return out;
}
