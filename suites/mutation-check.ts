// Proves that each test of the OOM suite can fail: for every mutation of src/ recorded in suites/mutations/*.yaml,
// apply it, run the one test that must catch it, expect a FAILED test (exit 1), and put the original bytes back.
//
//   npx tsx suites/mutation-check.ts                 every mutation (the slow test's are skipped)
//   npx tsx suites/mutation-check.ts --test oom      only entries whose test id contains "oom"
//   npx tsx suites/mutation-check.ts --include-slow  also the 1-hour test's mutations
//   npx tsx suites/mutation-check.ts --list          list the mutations and the tests without one; run nothing
//
// Before any mutation, the tests concerned must pass unmutated (one baseline run). Exit 2/4/5 under a mutation
// means it broke loading or collection, which does not count as the test catching it. The transform cache is keyed
// by content, so a restored file never runs stale code. Exit code 1 when a mutation survived, could not be applied
// or judged, a test has none, or any file differs from its original at the end.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { XMLParser } from 'fast-xml-parser';
import { collect } from '../runner/api.js';
import { mangleTestAddress } from '../runner/junitxml.js';
import { applyMutation, expectedFailureText, lineOf, MutationFormatError, parseMutations, verdictFor, type Mutation, type Verdict } from '../validate/mutations.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'pytest-ts.js');
const MUTATION_FILES = ['suites/mutations/test_memory_protection.yaml', 'suites/mutations/test_oom_recovery.yaml'];
/** Quiet, uncached, no live logs: the run's exit code and failure lines are all that matter. */
const RUN_FLAGS = ['-p', 'no:cacheprovider', '-o', 'log_cli=false', '-q'];

interface Outcome {
  mutation: Mutation;
  line: number;
  verdict: Verdict;
  seconds: number;
  note: string;
}

interface RunResult {
  code: number | null;
  output: string;
  seconds: number;
}

let running: ChildProcess | undefined;
/** The file currently mutated, its bytes before and during the mutation, so that an interrupt can put them back. */
let mutated: { path: string; original: Buffer; mutatedText: string } | undefined;
/** Files someone else changed while they were mutated: left alone, reported. */
const changedMeanwhile: string[] = [];

/**
 * Puts the original bytes back, unless the file no longer holds the mutation (someone edited it meanwhile: their
 * edit wins and is reported, rather than silently overwritten).
 */
function restoreMutated(): void {
  if (!mutated) return;
  const { path, original, mutatedText } = mutated;
  mutated = undefined;
  if (existsSync(path) && readFileSync(path, 'utf8') !== mutatedText) {
    changedMeanwhile.push(path);
    return;
  }
  writeFileSync(path, original);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    running?.kill('SIGTERM');
    restoreMutated();
    console.error(`\nmutation-check: ${signal}: the mutated file was restored; stopping.`);
    process.exit(130);
  });
}

function runPytestTs(args: string[], timeoutS: number): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args, ...RUN_FLAGS], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', PYTEST_ADDOPTS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running = child;
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      running = undefined;
      resolve({ code: hung ? null : code, output, seconds: (performance.now() - started) / 1000 });
    });
  });
}

function lastMeaningfulLine(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^E\s/.test(l))?.replace(/^E\s+/, '') ?? lines.find((l) => /^(FAILED|ERROR) /.test(l)) ?? lines.at(-1) ?? '';
}

/** Outcome per node id of a baseline run, from its JUnit XML. */
function junitOutcomes(xml: string, nodeids: string[]): Map<string, string> {
  type Case = { classname: string; name: string; failure?: unknown; error?: unknown; skipped?: unknown };
  const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'testcase' || name === 'testsuite' }).parse(xml);
  const cases: Case[] = (parsed.testsuites?.testsuite ?? []).flatMap((s: { testcase?: Case[] }) => s.testcase ?? []);
  const outcomes = new Map<string, string>();
  for (const nodeid of nodeids) {
    const names = mangleTestAddress(nodeid);
    const found = cases.find((c) => c.classname === names.slice(0, -1).join('.') && c.name === names.at(-1));
    outcomes.set(nodeid, !found ? 'not run' : found.failure !== undefined ? 'failed' : found.error !== undefined ? 'error' : found.skipped !== undefined ? 'skipped' : 'passed');
  }
  return outcomes;
}

function gitDiffOfSrc(): string | null {
  const result = spawnSync('git', ['-C', ROOT, 'diff', '--stat', '--', 'src/'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout : null;
}

function printTable(outcomes: Outcome[]): void {
  const rows = outcomes.map((o) => [
    o.mutation.test.replace(/^.*?::/, ''),
    `${o.mutation.file}${o.line ? `:${o.line}` : ''} ${o.mutation.why}`,
    o.verdict,
    o.seconds.toFixed(1),
  ]);
  const header = ['test', 'mutation', 'result', 'seconds'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => (i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  console.log(format(header));
  console.log(format(widths.map((w) => '-'.repeat(w))));
  rows.forEach((row, i) => {
    console.log(format(row));
    // Why a mutation was not caught goes under its row, so the table stays readable.
    if (outcomes[i]!.note) console.log(`    -> ${outcomes[i]!.note}`);
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      test: { type: 'string' },
      'include-slow': { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '600' },
    },
    strict: true,
  });
  const timeoutS = Number(values.timeout);
  if (!(timeoutS > 0)) throw new Error(`--timeout must be a positive number of seconds, got '${values.timeout}'`);

  const problems: string[] = [];
  const all: Mutation[] = [];
  for (const file of MUTATION_FILES) {
    if (!existsSync(join(ROOT, file))) {
      // Not a problem by itself: every test it should cover is reported below as having no mutation.
      console.log(`note: ${file} does not exist`);
      continue;
    }
    try {
      all.push(...parseMutations(readFileSync(join(ROOT, file), 'utf8'), file));
    } catch (error) {
      if (!(error instanceof MutationFormatError)) throw error;
      problems.push(error.message);
    }
  }

  const suite = await collect([], ROOT);
  const slow = new Set(suite.tests.filter((t) => t.markers.includes('slow')).map((t) => t.nodeid));
  const collectedIds = new Set(suite.tests.map((t) => t.nodeid));
  const wanted = (id: string) => values.test === undefined || id.includes(values.test);
  for (const m of all) if (!collectedIds.has(m.test)) problems.push(`${m.where}: test ${m.test} is not collected`);
  for (const test of suite.tests) {
    if (!wanted(test.nodeid) || (slow.has(test.nodeid) && !values['include-slow'])) continue;
    if (!all.some((m) => m.test === test.nodeid)) problems.push(`no mutation is recorded for ${test.nodeid}`);
  }
  const chosen = all.filter((m) => wanted(m.test) && collectedIds.has(m.test));
  const skippedSlow = chosen.filter((m) => slow.has(m.test) && !values['include-slow']);
  const selected = chosen.filter((m) => !skippedSlow.includes(m));

  if (values.list) {
    for (const m of chosen) {
      console.log(`${m.test}${skippedSlow.includes(m) ? '  [slow: skipped without --include-slow]' : ''}`);
      console.log(`    ${m.file}: ${JSON.stringify(m.find)} -> ${JSON.stringify(m.replace)}`);
      console.log(`    why: ${m.why}${m.failsWith ? `; fails with: ${m.failsWith}` : ''}`);
    }
    console.log(`${selected.length} mutations to run, ${skippedSlow.length} skipped as slow`);
    for (const p of problems) console.log(`problem: ${p}`);
    return problems.length ? 1 : 0;
  }

  /** Each mutated file as it was just before its latest mutation: what it must be again at the end. */
  const originals = new Map<string, Buffer>();
  const diffBefore = gitDiffOfSrc();
  const outcomes: Outcome[] = [];

  if (selected.length > 0) {
    // Baseline: the tests concerned must pass unmutated, or a "caught" would prove nothing.
    const dir = mkdtempSync(join(tmpdir(), 'mutation-check-'));
    const xmlPath = join(dir, 'baseline.xml');
    const ids = [...new Set(selected.map((m) => m.test))];
    const scope = values.test === undefined ? ['suites/', ...(values['include-slow'] ? [] : ['-m', 'not slow'])] : ids;
    console.log(`baseline: npx pytest-ts ${scope.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ')} ...`);
    const baseline = await runPytestTs([...scope, `--junitxml=${xmlPath}`], timeoutS * Math.max(1, ids.length));
    const outcomesById = existsSync(xmlPath) ? junitOutcomes(readFileSync(xmlPath, 'utf8'), ids) : new Map<string, string>();
    rmSync(dir, { recursive: true, force: true });
    const notPassing = ids.filter((id) => outcomesById.get(id) !== 'passed');
    console.log(`baseline: exit ${baseline.code}, ${ids.length - notPassing.length} of ${ids.length} tests passed in ${baseline.seconds.toFixed(1)} s`);
    if (notPassing.length > 0) {
      for (const id of notPassing) problems.push(`baseline: ${id} ${outcomesById.get(id) ?? 'has no result'} without any mutation, so its mutations cannot be judged`);
      if (!existsSync(xmlPath) && outcomesById.size === 0) problems.push(`baseline run wrote no JUnit report: ${lastMeaningfulLine(baseline.output)}`);
    }
    const judged = selected.filter((m) => !notPassing.includes(m.test));

    for (const [index, mutation] of judged.entries()) {
      const path = join(ROOT, mutation.file);
      if (!existsSync(path)) {
        outcomes.push({ mutation, line: 0, verdict: 'INVALID', seconds: 0, note: `${mutation.file} does not exist` });
        continue;
      }
      // Read just before mutating, so that an edit made to src/ between two mutations is kept, not reverted.
      const original = readFileSync(path);
      originals.set(mutation.file, original);
      const text = original.toString('utf8');
      const applied = applyMutation(text, mutation);
      if ('problem' in applied) {
        outcomes.push({ mutation, line: 0, verdict: 'INVALID', seconds: 0, note: applied.problem });
        continue;
      }
      let result: RunResult;
      mutated = { path, original, mutatedText: applied.text };
      try {
        writeFileSync(path, applied.text);
        process.stdout.write(`[${index + 1}/${judged.length}] ${mutation.test.replace(/^.*?::/, '')} <- ${mutation.file} ... `);
        result = await runPytestTs([mutation.test], timeoutS);
      } finally {
        restoreMutated();
      }
      const verdict = verdictFor(result.code);
      let note = verdict === 'caught' ? '' : lastMeaningfulLine(result.output).slice(0, 120);
      const expected = expectedFailureText(mutation.failsWith);
      if (verdict === 'caught' && expected !== null && !result.output.includes(expected)) note = `failed, but without '${expected}'`;
      console.log(verdict);
      outcomes.push({ mutation, line: lineOf(text, mutation.find), verdict, seconds: result.seconds, note });
    }
  }

  console.log();
  printTable(outcomes);
  for (const m of skippedSlow) console.log(`skipped (slow, use --include-slow): ${m.test}`);

  // The tree must be exactly as it was: every mutated file byte for byte, and git's view of src/ unchanged.
  for (const path of changedMeanwhile) problems.push(`${path} was changed by someone else while it was mutated; it was left as they wrote it`);
  for (const [file, original] of originals) {
    if (!readFileSync(join(ROOT, file)).equals(original)) problems.push(`${file} differs from its original after the run`);
  }
  const diffAfter = gitDiffOfSrc();
  if (diffBefore !== null && diffAfter !== diffBefore) problems.push(`git diff --stat src/ changed during the run:\n${diffAfter}`);
  if (diffAfter === null) console.log('git diff --stat src/: not a git checkout, not compared');
  else if (diffAfter !== '') console.log(`note: src/ had uncommitted changes before the run (unchanged by it):\n${diffAfter}`);
  else console.log('git diff --stat src/: empty');

  const failed = outcomes.filter((o) => o.verdict !== 'caught');
  console.log(`\n${outcomes.length - failed.length} of ${outcomes.length} mutations caught${failed.length ? `; ${failed.length} not` : ''}`);
  for (const p of problems) console.log(`problem: ${p}`);
  const ok = failed.length === 0 && problems.length === 0;
  console.log(ok ? '✅ every mutation was caught' : '❌ mutation check FAILED');
  return ok ? 0 : 1;
}

process.exitCode = await main().catch((error: unknown) => {
  restoreMutated();
  console.error(`mutation-check: ${error instanceof Error ? error.message : String(error)}`);
  return 1;
});
