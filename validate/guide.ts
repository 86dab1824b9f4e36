// Checks that the numbers in RUN_MEMORY_TESTS.md are true. The guide states them in three tables the validator
// reads: the selection table (`Command` | `Selects`: each command is run through the collection API and the number
// of selected tests compared), the marker table (`Marker` | `Tests`) and the duration table (`Test` | `Markers` |
// `Duration` | `Budget`), compared with the collection and scenarios.yaml. Prose that says "N of 19" must quote a
// count some selection row proves.

import { shlexSplit } from '../runner/ini.js';
import { codeSpans, columnIndex, leadingNumber, markdownTables, withoutFences, type MarkdownTable } from './markdown.js';
import { sameSet, type Scenario } from './spec.js';

export const PYTEST_TS_PREFIX = 'npx pytest-ts';

export interface SelectionClaim {
  line: number;
  command: string;
  argv: string[];
  claimed: number;
}

export interface GuideFacts {
  /** Runs a selection through the collection API; resolves to the number of selected tests, or rejects. */
  countSelected(argv: string[]): Promise<number>;
  /** Collected tests per marker (suite markers only). */
  markerCounts: Readonly<Record<string, number>>;
  registeredMarkers: readonly string[];
  scenarios: readonly Scenario[];
  totalTests: number;
}

export interface GuideCheck {
  differences: string[];
  claims: Array<SelectionClaim & { actual: number | null }>;
}

function findTables(tables: MarkdownTable[], first: string, second: string): MarkdownTable[] {
  return tables.filter((t) => t.header[0]?.toLowerCase() === first.toLowerCase() && t.header[1]?.toLowerCase() === second.toLowerCase());
}

/** The selection table's rows as claims; a row that is not a pytest-ts command with a number is a difference. */
export function selectionClaims(table: MarkdownTable, file: string): { claims: SelectionClaim[]; differences: string[] } {
  const claims: SelectionClaim[] = [];
  const differences: string[] = [];
  for (const row of table.rows) {
    const where = `${file}:${row.line}`;
    const command = codeSpans(row.cells[0] ?? '')[0];
    if (command === undefined || (command !== PYTEST_TS_PREFIX && !command.startsWith(`${PYTEST_TS_PREFIX} `))) {
      differences.push(`${where}: the selection table's command must be a \`${PYTEST_TS_PREFIX} ...\` code span, found '${row.cells[0] ?? ''}'`);
      continue;
    }
    const claimed = leadingNumber(row.cells[1] ?? '');
    if (claimed === null) {
      differences.push(`${where}: the Selects cell of \`${command}\` must start with the number of tests, found '${row.cells[1] ?? ''}'`);
      continue;
    }
    let argv: string[];
    try {
      argv = shlexSplit(command.slice(PYTEST_TS_PREFIX.length));
    } catch (error) {
      differences.push(`${where}: \`${command}\` cannot be split into arguments: ${(error as Error).message}`);
      continue;
    }
    claims.push({ line: row.line, command, argv, claimed });
  }
  return { claims, differences };
}

function checkMarkerTable(table: MarkdownTable, facts: GuideFacts, file: string): string[] {
  const differences: string[] = [];
  const listed: string[] = [];
  for (const row of table.rows) {
    const name = (codeSpans(row.cells[0] ?? '')[0] ?? row.cells[0] ?? '').trim();
    listed.push(name);
    const claimed = leadingNumber(row.cells[1] ?? '');
    const actual = facts.markerCounts[name] ?? 0;
    if (!facts.registeredMarkers.includes(name)) differences.push(`${file}:${row.line}: marker '${name}' is not registered in memory.ini`);
    if (claimed === null) differences.push(`${file}:${row.line}: the Tests cell of marker '${name}' must start with a number`);
    else if (claimed !== actual) differences.push(`${file}:${row.line}: marker '${name}' is on ${actual} collected tests, the guide says ${claimed}`);
  }
  for (const marker of facts.registeredMarkers) {
    if (!listed.includes(marker)) differences.push(`${file}:${table.line}: the marker table does not list '${marker}', which memory.ini registers`);
  }
  return differences;
}

/** `60 s`, `60s` and `60 sec` are the same duration; `1 h` and `1h` too. */
function normaliseDuration(text: string): string {
  return text.replaceAll('`', '').replace(/\s+/g, '').replace(/sec(onds?)?$/, 's').replace(/hours?$/, 'h').toLowerCase();
}

function splitMarkers(cell: string): string[] {
  return cell.replaceAll('`', '').split(/[\s,]+/).filter((m) => m !== '' && m !== '-' && m !== '–');
}

function checkDurationTable(table: MarkdownTable, facts: GuideFacts, file: string): string[] {
  const differences: string[] = [];
  const markersColumn = columnIndex(table, 'Markers');
  const durationColumn = columnIndex(table, 'Duration');
  const budgetColumn = columnIndex(table, 'Budget');
  const seen = new Set<string>();
  for (const row of table.rows) {
    const where = `${file}:${row.line}`;
    const name = (codeSpans(row.cells[0] ?? '')[0] ?? row.cells[0] ?? '').replace(/^.*::/, '').trim();
    const scenario = facts.scenarios.find((s) => s.test === name);
    if (!scenario) {
      differences.push(`${where}: the duration table names '${name}', which is not one of the suite's tests`);
      continue;
    }
    seen.add(name);
    if (markersColumn >= 0) {
      const markers = splitMarkers(row.cells[markersColumn] ?? '');
      if (!sameSet(markers, scenario.markers)) differences.push(`${where}: ${name} is marked ${scenario.markers.join(',')}, the guide says ${markers.join(',') || '(none)'}`);
    }
    if (durationColumn >= 0 && normaliseDuration(row.cells[durationColumn] ?? '') !== normaliseDuration(scenario.duration)) {
      differences.push(`${where}: ${name} lasts ${scenario.duration} in scenarios.yaml, the guide says ${row.cells[durationColumn] ?? ''}`);
    }
    if (budgetColumn >= 0 && leadingNumber(row.cells[budgetColumn] ?? '') !== scenario.budget_s) {
      differences.push(`${where}: ${name} has a budget of ${scenario.budget_s} s in scenarios.yaml, the guide says ${row.cells[budgetColumn] ?? ''}`);
    }
  }
  for (const scenario of facts.scenarios) {
    if (!seen.has(scenario.test)) differences.push(`${file}:${table.line}: the duration table does not list ${scenario.test}`);
  }
  return differences;
}

/** "18 of 19", "18/19": the first number must be a count that a selection row proves. */
function checkQuotedCounts(text: string, proven: ReadonlySet<number>, total: number, file: string): string[] {
  const differences: string[] = [];
  withoutFences(text).forEach((line, index) => {
    for (const match of line.matchAll(/\b(\d+)\s*(?:of|\/)\s*(\d+)\b/g)) {
      const part = Number(match[1]);
      if (Number(match[2]) !== total || proven.has(part)) continue;
      differences.push(`${file}:${index + 1}: '${match[0]}' is not a count any row of the selection table proves (${[...proven].sort((a, b) => b - a).join(', ')})`);
    }
  });
  return differences;
}

export async function checkGuide(text: string, facts: GuideFacts, file = 'RUN_MEMORY_TESTS.md'): Promise<GuideCheck> {
  const differences: string[] = [];
  const tables = markdownTables(text);

  const selectionTables = findTables(tables, 'Command', 'Selects');
  const claims: GuideCheck['claims'] = [];
  if (selectionTables.length !== 1) {
    differences.push(`${file}: expected one selection table (columns Command | Selects), found ${selectionTables.length}`);
  }
  for (const table of selectionTables) {
    const parsed = selectionClaims(table, file);
    differences.push(...parsed.differences);
    for (const claim of parsed.claims) {
      let actual: number | null = null;
      try {
        actual = await facts.countSelected(claim.argv);
      } catch (error) {
        differences.push(`${file}:${claim.line}: \`${claim.command}\` fails to select: ${(error as Error).message.split('\n')[0]}`);
      }
      if (actual !== null && actual !== claim.claimed) {
        differences.push(`${file}:${claim.line}: \`${claim.command}\` selects ${actual} tests, the guide says ${claim.claimed}`);
      }
      claims.push({ ...claim, actual });
    }
  }

  const markerTables = findTables(tables, 'Marker', 'Tests');
  if (markerTables.length !== 1) differences.push(`${file}: expected one marker table (columns Marker | Tests), found ${markerTables.length}`);
  for (const table of markerTables) differences.push(...checkMarkerTable(table, facts, file));

  const durationTables = findTables(tables, 'Test', 'Markers').filter((t) => columnIndex(t, 'Duration') >= 0);
  if (durationTables.length !== 1) differences.push(`${file}: expected one duration table (columns Test | Markers | Duration), found ${durationTables.length}`);
  for (const table of durationTables) differences.push(...checkDurationTable(table, facts, file));

  const proven = new Set(claims.filter((c) => c.actual !== null && c.actual === c.claimed).map((c) => c.claimed));
  differences.push(...checkQuotedCounts(text, proven, facts.totalTests, file));
  return { differences, claims };
}
