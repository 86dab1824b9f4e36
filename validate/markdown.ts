// Just enough Markdown for the validator: the pipe tables of RUN_MEMORY_TESTS.md (outside code fences), with the
// line each row sits on, so that a wrong number in the guide is reported as `RUN_MEMORY_TESTS.md:57: ...`.

export interface TableRow {
  /** 1-based line in the document. */
  line: number;
  cells: string[];
}

export interface MarkdownTable {
  /** 1-based line of the header row. */
  line: number;
  header: string[];
  rows: TableRow[];
}

const DELIMITER_CELL = /^:?-+:?$/;

/**
 * Splits `| a | b |` into trimmed cells. A pipe inside a backtick span or escaped as `\|` belongs to the cell,
 * so a command such as `-k "a or b"` survives intact.
 */
export function splitRow(line: string): string[] {
  let text = line.trim();
  if (text.startsWith('|')) text = text.slice(1);
  if (text.endsWith('|') && !text.endsWith('\\|')) text = text.slice(0, -1);
  const cells: string[] = [];
  let cell = '';
  let inCode = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && text[i + 1] === '|') {
      cell += '|';
      i++;
    } else if (ch === '`') {
      inCode = !inCode;
      cell += ch;
    } else if (ch === '|' && !inCode) {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += ch;
    }
  }
  cells.push(cell.trim());
  return cells;
}

function isTableLine(line: string): boolean {
  return line.trim().startsWith('|');
}

/** Every pipe table of the document that is not inside a ``` or ~~~ fence. */
export function markdownTables(text: string): MarkdownTable[] {
  const lines = text.split('\n');
  const tables: MarkdownTable[] = [];
  let fence: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fenceMatch = /^\s*(```|~~~)/.exec(line);
    if (fenceMatch) {
      if (fence === null) fence = fenceMatch[1]!;
      else if (fenceMatch[1] === fence) fence = null;
      continue;
    }
    if (fence !== null || !isTableLine(line)) continue;
    const next = lines[i + 1];
    if (next === undefined || !isTableLine(next)) continue;
    const delimiter = splitRow(next);
    if (!delimiter.every((cell) => DELIMITER_CELL.test(cell))) continue;
    const table: MarkdownTable = { line: i + 1, header: splitRow(line), rows: [] };
    let j = i + 2;
    for (; j < lines.length && isTableLine(lines[j]!); j++) table.rows.push({ line: j + 1, cells: splitRow(lines[j]!) });
    tables.push(table);
    i = j - 1;
  }
  return tables;
}

/** The text of every `code span` in a cell, in order. */
export function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}

/** The number a cell starts with (`18 of 19 ...` gives 18), or null. */
export function leadingNumber(cell: string): number | null {
  const match = /^\**\s*(\d+(?:\.\d+)?)/.exec(cell.trim());
  return match ? Number(match[1]) : null;
}

/** Column index by header name, case-insensitive; -1 when the table has no such column. */
export function columnIndex(table: MarkdownTable, name: string): number {
  return table.header.findIndex((h) => h.replaceAll('*', '').trim().toLowerCase() === name.toLowerCase());
}

/** Lines inside code fences are examples, not claims: blank them out but keep the line numbers. */
export function withoutFences(text: string): string[] {
  let fence: string | null = null;
  return text.split('\n').map((line) => {
    const fenceMatch = /^\s*(```|~~~)/.exec(line);
    if (fenceMatch) {
      if (fence === null) fence = fenceMatch[1]!;
      else if (fenceMatch[1] === fence) fence = null;
      return '';
    }
    return fence === null ? line : '';
  });
}
