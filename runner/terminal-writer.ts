// pytest's TerminalWriter (_pytest/_io/terminalwriter.py) for Node: markup, `sep` rules, the width of the current
// line, and buffered output. The reporter mirrors pytest's logic on top of it, so the spacing rules live in one place.
import { styleText } from 'node:util';

export type Colour = 'red' | 'green' | 'yellow' | 'cyan' | 'magenta';
export interface Markup {
  colour?: Colour;
  bold?: boolean;
}

/** How long partial-line output (progress letters) may wait in the buffer before it is written anyway. */
const PARTIAL_LINE_FLUSH_MS = 100;

/** Display width of a string in terminal cells (pytest uses wcswidth): wide East Asian characters count 2. */
export function textWidth(text: string): number {
  // Fast path: printable ASCII, the common case for node ids and progress letters.
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  let width = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code < 0x20 || (code >= 0x7f && code < 0xa0)) continue; // control characters take no cell
    if (isZeroWidth(code)) continue;
    width += isWide(code) ? 2 : 1;
  }
  return width;
}

function isZeroWidth(code: number): boolean {
  return (
    (code >= 0x0300 && code <= 0x036f) || // combining diacritical marks
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0xfe00 && code <= 0xfe0f) || // variation selectors
    code === 0x20e3
  );
}

function isWide(code: number): boolean {
  return (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0x303e) ||
    (code >= 0x3041 && code <= 0x33ff) ||
    (code >= 0x3400 && code <= 0x4dbf) ||
    (code >= 0x4e00 && code <= 0x9fff) ||
    (code >= 0xa000 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1f64f) ||
    (code >= 0x1f900 && code <= 0x1f9ff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  );
}

/**
 * The escape sequences around a styled text, computed once per style through node:util's styleText (cheaper to
 * import than chalk, and the caller decides whether colour is on, so nothing is auto-detected here).
 */
function escapePair(markup: Markup): [string, string] {
  const formats: Array<Colour | 'bold'> = [];
  if (markup.colour) formats.push(markup.colour);
  if (markup.bold) formats.push('bold');
  if (formats.length === 0) return ['', ''];
  const marker = '\u0000';
  const styled = styleText(formats, marker, { validateStream: false });
  const at = styled.indexOf(marker);
  return [styled.slice(0, at), styled.slice(at + 1)];
}

export class TerminalWriter {
  readonly fullwidth: number;
  readonly hasMarkup: boolean;
  private readonly sink: (text: string) => void;
  private readonly immediate: boolean;
  private readonly pairs = new Map<string, [string, string]>();
  private chunks: string[] = [];
  private pendingNewline = false;
  private lastFlush = Date.now();
  private timer: NodeJS.Timeout | undefined;
  /** Width of the text after the last newline written, in cells. */
  widthOfCurrentLine = 0;

  /**
   * @param immediate write every event's output at once (needed when tests print straight to the terminal, -s),
   *   instead of coalescing partial lines.
   */
  constructor(sink: (text: string) => void, fullwidth: number, hasMarkup: boolean, immediate = false) {
    this.sink = sink;
    this.fullwidth = fullwidth;
    this.hasMarkup = hasMarkup;
    this.immediate = immediate;
  }

  markup(text: string, markup: Markup | undefined): string {
    if (!this.hasMarkup || !markup || !text) return text;
    const key = `${markup.colour ?? ''}|${markup.bold ? 1 : 0}`;
    let pair = this.pairs.get(key);
    if (!pair) {
      pair = escapePair(markup);
      this.pairs.set(key, pair);
    }
    return pair[0] + text + pair[1];
  }

  write(text: string, markup?: Markup): void {
    if (!text) return;
    const newline = text.lastIndexOf('\n');
    if (newline >= 0) {
      this.widthOfCurrentLine = textWidth(text.slice(newline + 1));
      this.pendingNewline = true;
    } else {
      this.widthOfCurrentLine += textWidth(text);
    }
    this.chunks.push(this.markup(text, markup));
  }

  /** Text already marked up (the caller measured it); `visible` is what it looks like without escapes. */
  writeMarked(marked: string, visible: string): void {
    const newline = visible.lastIndexOf('\n');
    if (newline >= 0) {
      this.widthOfCurrentLine = textWidth(visible.slice(newline + 1));
      this.pendingNewline = true;
    } else {
      this.widthOfCurrentLine += textWidth(visible);
    }
    this.chunks.push(marked);
  }

  line(text = '', markup?: Markup): void {
    this.write(text, markup);
    this.write('\n');
  }

  /** pytest's sep(): `==== title ====` as wide as possible within fullwidth. */
  sep(sepchar: string, title?: string, markup?: Markup, fullwidth = this.fullwidth): void {
    this.line(sepLine(sepchar, title, fullwidth), markup);
  }

  /** Write out complete lines now; partial lines wait a little so that progress letters are not one write each. */
  flushIfDue(): void {
    if (this.chunks.length === 0) return;
    if (this.immediate || this.pendingNewline || Date.now() - this.lastFlush >= PARTIAL_LINE_FLUSH_MS) {
      this.flush();
      return;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), PARTIAL_LINE_FLUSH_MS);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.lastFlush = Date.now();
    this.pendingNewline = false;
    if (this.chunks.length === 0) return;
    const text = this.chunks.length === 1 ? this.chunks[0]! : this.chunks.join('');
    this.chunks = [];
    this.sink(text);
  }
}

/** The text of a pytest `sep` line (no trailing newline), e.g. `=== 2 passed in 0.01s ===`. */
export function sepLine(sepchar: string, title: string | undefined, fullwidth: number, titleWidth?: number): string {
  let line: string;
  if (title !== undefined) {
    // pytest measures the title with len(), in code points, not cells.
    const width = titleWidth ?? codePointLength(title);
    const n = Math.max(Math.floor((fullwidth - width - 2) / (2 * sepchar.length)), 1);
    const fill = sepchar.repeat(n);
    line = `${fill} ${title} ${fill}`;
    if (fill.length * 2 + width + 2 + sepchar.trimEnd().length <= fullwidth) line += sepchar.trimEnd();
    return line;
  }
  line = sepchar.repeat(Math.floor(fullwidth / sepchar.length));
  if (line.length + sepchar.trimEnd().length <= fullwidth) line += sepchar.trimEnd();
  return line;
}

function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
