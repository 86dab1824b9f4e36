#!/usr/bin/env node
// Runner benchmark (a script, not a timed test): pytest-ts beside pytest 9, vitest, jest and node --test on the same
// generated workloads, in one run. See bench/README.md for what is measured and why.
//
//   node bench/runner-bench.mjs [--reps 5] [--slow-reps 3] [--slow-s 10] [--tools pytest-ts,pytest,...]
//                               [--cases a-run,b-run,...] [--cold-all] [--no-cold] [--work bench/.work]
//                               [--markdown FILE] [--keep-env]
//   node bench/runner-bench.mjs --from-json bench/.work/results.json   (re-print the tables of a saved run)
//
// Warm numbers: each tool runs each case once (unmeasured, to fill its caches), then `--reps` measured rounds,
// tools interleaved round by round so that a noisy minute hurts every tool alike. A tool whose warm-up took longer
// than --slow-s gets --slow-reps rounds instead. Cold numbers: every round gets a fresh, empty cache directory
// (pytest-ts: transform cache; pytest: .pyc prefix; jest: --cacheDirectory; tsx: TMPDIR; vite: cacheDir). "Cold"
// means the tool's own caches; the OS page cache stays warm.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HAVE_GNU_TIME, measure } from './measure.mjs';
import { baseEnv, TOOLS } from './tools.mjs';
import { countTests, manyTrivialWorkload, readSuiteSpec, REPO, RUNNERS, SELECTION_MARKER, writeWorkload } from './workloads.mjs';
import { checkTargets, formatMarkdown, summarise } from './report.mjs';

const { values: opts } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    'slow-reps': { type: 'string', default: '3' },
    'slow-s': { type: 'string', default: '10' },
    tools: { type: 'string', default: RUNNERS.join(',') },
    cases: { type: 'string' },
    'cold-all': { type: 'boolean', default: false },
    'no-cold': { type: 'boolean', default: false },
    work: { type: 'string', default: join(REPO, 'bench', '.work') },
    markdown: { type: 'string' },
    'keep-env': { type: 'boolean', default: false },
    'from-json': { type: 'string' },
  },
});

const positiveInt = (name) => {
  const value = Number(opts[name]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got '${opts[name]}'`);
  return value;
};
const REPS = positiveInt('reps');
const SLOW_REPS = positiveInt('slow-reps');
const SLOW_S = Number(opts['slow-s']);
const WORK = resolve(opts.work);
const tools = opts.tools.split(',').map((t) => t.trim()).filter(Boolean);
for (const t of tools) if (!TOOLS[t]) throw new Error(`--tools: unknown tool '${t}' (known: ${RUNNERS.join(', ')})`);
const ENV = baseEnv({ keepMachineVariables: opts['keep-env'] });
const coldTools = opts['no-cold'] ? [] : opts['cold-all'] ? tools : tools.filter((t) => t === 'pytest-ts' || t === 'pytest');

const WORKLOADS = { a: readSuiteSpec(), b: manyTrivialWorkload() };
const ALL_CASES = [
  { id: 'a-collect', workload: 'a', mode: 'collect', filtered: false },
  { id: 'a-run', workload: 'a', mode: 'run', filtered: false },
  { id: 'b-collect', workload: 'b', mode: 'collect', filtered: false },
  { id: 'b-run', workload: 'b', mode: 'run', filtered: false },
  { id: 'c-run', workload: 'b', mode: 'run', filtered: true },
];
const cases = opts.cases ? ALL_CASES.filter((c) => opts.cases.split(',').includes(c.id)) : ALL_CASES;
if (cases.length === 0) throw new Error(`--cases matched nothing (known: ${ALL_CASES.map((c) => c.id).join(', ')})`);

const log = (text) => process.stderr.write(text + '\n');

/** Generates every workload for every tool; returns dir and test files per workload and tool. */
function prepareWorkloads() {
  const layout = {};
  for (const [id, workload] of Object.entries(WORKLOADS)) {
    layout[id] = {};
    for (const tool of tools) {
      const dir = join(WORK, `workload-${id}`, tool);
      layout[id][tool] = { dir, files: writeWorkload(workload, tool, dir) };
    }
  }
  return layout;
}

function expectedCount(testCase) {
  return countTests(WORKLOADS[testCase.workload], testCase.filtered ? SELECTION_MARKER : undefined);
}

/** One measured run of one tool on one case; throws when the tool did not run exactly the expected tests. */
async function runOnce(testCase, tool, layout, cacheDir, { cold = false } = {}) {
  const spec = TOOLS[tool];
  const { dir, files } = layout[testCase.workload][tool];
  const ctx = { dir, files, cacheDir };
  const argv = [...spec.command(testCase.mode, testCase.filtered, ctx), ...(spec.extraArgs?.(ctx) ?? [])];
  mkdirSync(cacheDir, { recursive: true });
  if (cold) spec.clearCache?.(ctx);
  const result = await measure(argv, { cwd: dir, env: { ...ENV, ...spec.env(ctx) } });
  const count = spec.count(result.output, testCase.mode);
  const expected = expectedCount(testCase);
  if (result.code !== 0 || count !== expected) {
    const tail = result.output.split('\n').slice(-15).join('\n');
    throw new Error(`${tool} on ${testCase.id}: exit ${result.code}, reported ${count} tests, expected ${expected}\n${argv.join(' ')}\n${tail}`);
  }
  return { wallS: result.wallS, cpuS: result.cpuS, peakBytes: result.peakBytes, samples: result.samples };
}

async function benchCase(testCase, layout) {
  const runnable = tools.filter((tool) => TOOLS[tool].command(testCase.mode, testCase.filtered, layout[testCase.workload][tool]) !== undefined);
  const rows = [];
  // Warm: one unmeasured run fills each cache, then interleaved rounds.
  const warm = new Map();
  for (const tool of runnable) {
    const first = await runOnce(testCase, tool, layout, join(WORK, 'cache', tool));
    const reps = first.wallS > SLOW_S ? SLOW_REPS : REPS;
    warm.set(tool, { reps, runs: [] });
    log(`  ${testCase.id} ${tool}: warm-up ${first.wallS.toFixed(2)} s, ${reps} rounds`);
  }
  const rounds = Math.max(0, ...[...warm.values()].map((w) => w.reps));
  for (let round = 0; round < rounds; round++) {
    for (const tool of runnable) {
      const w = warm.get(tool);
      if (w.runs.length < w.reps) w.runs.push(await runOnce(testCase, tool, layout, join(WORK, 'cache', tool)));
    }
  }
  for (const tool of runnable) rows.push({ caseId: testCase.id, tool, temperature: 'warm', runs: warm.get(tool).runs });
  // Cold: a fresh empty cache for every run.
  for (const tool of runnable.filter((t) => coldTools.includes(t))) {
    const runs = [];
    const reps = warm.get(tool).reps;
    for (let i = 0; i < Math.min(reps, SLOW_REPS); i++) {
      const fresh = join(WORK, 'cold', `${tool}-${i}`);
      rmSync(fresh, { recursive: true, force: true });
      runs.push(await runOnce(testCase, tool, layout, fresh, { cold: true }));
      rmSync(fresh, { recursive: true, force: true });
    }
    rows.push({ caseId: testCase.id, tool, temperature: 'cold', runs });
  }
  for (const row of rows) log(`  ${row.caseId} ${row.tool} ${row.temperature}: median ${summarise(row.runs).wallMedian.toFixed(3)} s`);
  return rows;
}

/** Start-up floors: what any Node or Python tool pays before its first line of code. */
async function benchFloors() {
  const floorDir = join(WORK, 'floors');
  rmSync(floorDir, { recursive: true, force: true });
  mkdirSync(floorDir, { recursive: true });
  writeFileSync(join(floorDir, 'empty.ts'), 'export {};\n');
  const register = join(REPO, 'bin', 'register.js');
  const floors = [
    { tool: 'node -e 0', argv: [process.execPath, '-e', '0'] },
    { tool: 'node --import tsx -e 0', argv: [process.execPath, '--import', 'tsx', '-e', '0'], cwd: REPO },
    { tool: 'node --import bin/register.js empty.ts', argv: [process.execPath, '--import', register, join(floorDir, 'empty.ts')] },
    { tool: 'python3 -c pass', argv: ['python3', '-c', 'pass'] },
    { tool: 'python3 -m pytest --version', argv: ['python3', '-m', 'pytest', '--version'] },
  ];
  // What this machine's environment adds to every node process (see MACHINE_ONLY_VARIABLES in tools.mjs).
  if (process.env.NODE_EXTRA_CA_CERTS && !opts['keep-env']) {
    floors.push({ tool: 'node -e 0, with NODE_EXTRA_CA_CERTS', argv: [process.execPath, '-e', '0'], env: { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } });
  }
  const env = { ...ENV, PYTEST_DISABLE_PLUGIN_AUTOLOAD: '1', PYTEST_TS_TRANSFORM_CACHE: join(WORK, 'cache', 'floors') };
  const rows = [];
  for (const floor of floors) {
    const runOne = async () => {
      const r = await measure(floor.argv, { cwd: floor.cwd ?? floorDir, env: { ...env, ...floor.env } });
      if (r.code !== 0) throw new Error(`floor '${floor.tool}' exited ${r.code}: ${r.output}`);
      return { wallS: r.wallS, cpuS: r.cpuS, peakBytes: r.peakBytes, samples: r.samples };
    };
    await runOne();
    const runs = [];
    for (let i = 0; i < REPS; i++) runs.push(await runOne());
    rows.push({ caseId: 'floor', tool: floor.tool, temperature: 'warm', runs });
  }
  return rows;
}

async function main() {
  if (opts['from-json']) {
    const saved = JSON.parse(readFileSync(opts['from-json'], 'utf8'));
    process.stdout.write(formatMarkdown(saved.rows, checkTargets(saved.rows), saved.settings ?? { reps: REPS, slowReps: SLOW_REPS }));
    return;
  }
  mkdirSync(WORK, { recursive: true });
  log(`runner-bench: ${cases.map((c) => c.id).join(', ')} x ${tools.join(', ')}; reps ${REPS} (slow: ${SLOW_REPS}); cold: ${coldTools.join(', ') || 'none'}`);
  if (!HAVE_GNU_TIME) log('  /usr/bin/time not found: CPU seconds will be missing');
  const layout = prepareWorkloads();
  const rows = await benchFloors();
  for (const testCase of cases) rows.push(...(await benchCase(testCase, layout)));
  const targets = checkTargets(rows);
  const markdown = formatMarkdown(rows, targets, { reps: REPS, slowReps: SLOW_REPS });
  process.stdout.write(markdown);
  const settings = { reps: REPS, slowReps: SLOW_REPS, keepEnv: opts['keep-env'] };
  writeFileSync(join(WORK, 'results.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, settings, rows, targets }, null, 2));
  if (opts.markdown) writeFileSync(opts.markdown, markdown);
}

await main();
