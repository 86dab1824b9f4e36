#!/usr/bin/env node
// Where pytest-ts spends its time on workload (b): start-up phases, module import costs, a CPU profile summary and
// GC. A diagnostic script, not a test; it prints markdown. See bench/README.md ("Hotspots").
//
//   node bench/profile.mjs [--reps 3] [--work bench/.work] [--skip-imports]

import { readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { measure } from './measure.mjs';
import { baseEnv } from './tools.mjs';
import { manyTrivialWorkload, REPO, writeWorkload } from './workloads.mjs';

const { values: opts } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    work: { type: 'string', default: join(REPO, 'bench', '.work') },
    'skip-imports': { type: 'boolean', default: false },
  },
});
const REPS = Number(opts.reps);
const WORK = join(opts.work, 'profile');
const DIR = join(WORK, 'workload-b');
const WARM_CACHE = join(WORK, 'cache');
const REGISTER = join(REPO, 'bin', 'register.js');
const BIN = join(REPO, 'bin', 'pytest-ts.js');
const PROBE = join(REPO, 'bench', 'profile-probe.mjs');
const ENV = { ...baseEnv(), PYTEST_TS_TRANSFORM_CACHE: WARM_CACHE };
const out = [];
const say = (...lines) => out.push(...(lines.length ? lines : ['']));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ms = (x) => `${x.toFixed(0)} ms`;

async function run(argv, env = ENV) {
  const r = await measure(argv, { cwd: DIR, env });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}\n${r.output.slice(-2000)}`);
  return r;
}

// ---- 1. phases, from the probe's timestamps ----
function phasesOf(record) {
  const t0 = record.processStart;
  const at = (x) => x - t0;
  const writes = record.writes;
  const header = writes.find((w) => w.text.includes('test session starts'));
  const collected = writes.find((w) => /collected \d+ item/.test(w.text));
  const summary = writes.find((w) => /=+ \d+ passed/.test(w.text));
  const progress = writes.filter((w) => /\[\s*\d+%\]/.test(w.text) && w !== summary);
  const testLoads = record.loads.filter((l) => /\/test_mod_\d+\.ts$/.test(l.url));
  const mark = (name) => record.marks.find((m) => m.name === name)?.at;
  return {
    'node start -> probe ready (node + bin/register.js)': at(mark('probe ready')),
    'import runner/cli.ts': mark('runner/cli.ts imported') - mark('probe ready'),
    'config + session start -> header written': header.at - mark('runner/cli.ts imported'),
    'collection (header -> "collected N items")': collected.at - header.at,
    '  of which: first..last test-module load': testLoads.at(-1).started - testLoads[0].started,
    'run loop (collected -> last progress line)': progress.at(-1).at - collected.at,
    'summary (last progress -> summary line)': summary.at - progress.at(-1).at,
    'after summary -> process exit': mark('exit') - summary.at,
    'total (process start -> exit)': at(mark('exit')),
  };
}

async function phaseRuns(label, freshCache) {
  const rows = [];
  for (let i = 0; i < REPS; i++) {
    const cache = freshCache ? join(WORK, `cold-${i}`) : WARM_CACHE;
    if (freshCache) rmSync(cache, { recursive: true, force: true });
    const outFile = join(WORK, `probe-${label}-${i}.json`);
    await run([process.execPath, '--import', REGISTER, PROBE, outFile, '-p', 'no:cacheprovider'], { ...ENV, PYTEST_TS_TRANSFORM_CACHE: cache });
    rows.push(JSON.parse(readFileSync(outFile, 'utf8')));
  }
  const phases = rows.map(phasesOf);
  say(`### Phases, ${label} transform cache (median of ${REPS}, default verbosity)`, '');
  say('| phase | median | per file (100) | per test (10,000) |', '|---|---:|---:|---:|');
  for (const name of Object.keys(phases[0])) {
    const m = median(phases.map((p) => p[name]));
    const perItem = /collection|run loop|load/.test(name);
    say(`| ${name} | ${ms(m)} | ${perItem ? `${(m / 100).toFixed(2)} ms` : ''} | ${perItem ? `${((1000 * m) / 10000).toFixed(0)} µs` : ''} |`);
  }
  say();
  return rows[0];
}

function loadTable(record) {
  const byGroup = new Map();
  for (const l of record.loads) {
    const group = l.url.includes('/runner/') ? 'runner/*.ts' : /test_mod_/.test(l.url) ? 'test modules' : l.url.startsWith('node:') ? 'node: builtins' : l.url.includes('node_modules') ? 'node_modules' : 'other';
    const g = byGroup.get(group) ?? { count: 0, ms: 0, bytes: 0 };
    g.count++;
    g.ms += l.ms;
    g.bytes += l.bytes;
    byGroup.set(group, g);
  }
  say('Modules loaded (loader hook time: cache lookup + read, per group; V8 compile and evaluation are not in it):', '');
  say('| group | modules | hook time | source KiB |', '|---|---:|---:|---:|');
  for (const [group, g] of byGroup) say(`| ${group} | ${g.count} | ${ms(g.ms)} | ${(g.bytes / 1024).toFixed(0)} |`);
  say();
  const runnerModules = record.loads.filter((l) => l.url.includes('/runner/')).map((l) => l.url.replace(/.*\/runner\//, ''));
  say(`runner modules imported by a plain run (${runnerModules.length}): ${runnerModules.join(', ')}`, '');
}

// ---- 2. inclusive import cost of each runner module, each in a fresh process ----
async function importCosts() {
  const modules = readdirSync(join(REPO, 'runner')).filter((f) => f.endsWith('.ts')).sort();
  const timeImport = async (url) => {
    const code = `const t = performance.now(); await import(${JSON.stringify(url)}); process.stdout.write('IMPORT_MS=' + (performance.now() - t));`;
    const samples = [];
    for (let i = 0; i < REPS; i++) {
      const r = await run([process.execPath, '--import', REGISTER, '--input-type=module', '-e', code]);
      samples.push(Number(/IMPORT_MS=([\d.]+)/.exec(r.output)[1]));
    }
    return median(samples);
  };
  const rows = [];
  for (const m of modules) rows.push([m, await timeImport(pathToFileURL(join(REPO, 'runner', m)).href)]);
  rows.sort((a, b) => b[1] - a[1]);
  say(`### Import cost of each runner module, with its dependencies, in a fresh process (warm cache, median of ${REPS})`, '');
  say('| module | import ms |', '|---|---:|');
  for (const [m, t] of rows.slice(0, 20)) say(`| ${m} | ${t.toFixed(1)} |`);
  say();
}

// ---- 3. CPU profile ----
function categorise(url) {
  if (!url) return '(vm)';
  if (url.startsWith('node:')) return 'node internals';
  if (url.includes('/runner/')) return `runner/${url.replace(/.*\/runner\//, '')}`;
  if (/test_mod_\d+\.ts/.test(url)) return 'test modules';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `node_modules/${pkg[1]}`;
  return relative(REPO, url.replace('file://', ''));
}

function summariseProfile(path, title) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n) => `${n.callFrame.functionName || '(anonymous)'} ${categorise(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const self = new Map();
  const inclusive = new Map();
  const byFile = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i]) / 1000;
    total += dt;
    const node = nodes.get(id);
    const k = keyOf(node);
    self.set(k, (self.get(k) ?? 0) + dt);
    const file = node.callFrame.url ? categorise(node.callFrame.url) : node.callFrame.functionName;
    byFile.set(file, (byFile.get(file) ?? 0) + dt);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const ck = keyOf(nodes.get(cur));
      if (!seen.has(ck)) {
        seen.add(ck);
        inclusive.set(ck, (inclusive.get(ck) ?? 0) + dt);
      }
    }
  });
  const top = (map, n) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n);
  say(`### CPU profile: ${title} (${ms(total)} sampled on the main thread)`, '');
  say('Self time by file:', '', '| file | self ms | % |', '|---|---:|---:|');
  for (const [k, v] of top(byFile, 18)) say(`| ${k} | ${v.toFixed(0)} | ${((100 * v) / total).toFixed(1)} |`);
  say('', 'Top self-time functions:', '', '| function | self ms | % |', '|---|---:|---:|');
  for (const [k, v] of top(self, 25)) say(`| \`${k}\` | ${v.toFixed(0)} | ${((100 * v) / total).toFixed(1)} |`);
  say('', 'Top inclusive runner functions:', '', '| function | total ms | % |', '|---|---:|---:|');
  for (const [k, v] of top(new Map([...inclusive].filter(([k]) => k.includes(' runner/'))), 25)) say(`| \`${k}\` | ${v.toFixed(0)} | ${((100 * v) / total).toFixed(1)} |`);
  say();
}

async function cpuProfile(label, args) {
  const dir = join(WORK, `cpuprof-${label}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await run([process.execPath, '--cpu-prof', '--cpu-prof-dir', dir, BIN, ...args]);
  // One profile per thread (the loader hooks run on their own thread); the biggest is the main thread.
  const files = readdirSync(dir).map((f) => join(dir, f)).sort((a, b) => readFileSync(b).length - readFileSync(a).length);
  summariseProfile(files[0], `${label} (\`pytest-ts ${args.join(' ')}\`)`);
}

// ---- 4. GC ----
async function gcTrace() {
  const r = await run([process.execPath, '--trace-gc', BIN, '-q', '-p', 'no:cacheprovider']);
  const lines = r.output.split('\n').filter((l) => /\b(Scavenge|Mark-Compact|Mark-sweep|Minor)\b/.test(l));
  const pause = (l) => Number(/,\s*([\d.]+)\s*\/\s*[\d.]+\s*ms/.exec(l)?.[1] ?? 0);
  const kinds = new Map();
  for (const l of lines) {
    const kind = /(Scavenge|Mark-Compact|Mark-sweep|Minor[\w-]*)/.exec(l)[1];
    const k = kinds.get(kind) ?? { count: 0, ms: 0 };
    k.count++;
    k.ms += pause(l);
    kinds.set(kind, k);
  }
  const heaps = lines.map((l) => Number(/([\d.]+) \([\d.]+\) ->/.exec(l)?.[1] ?? 0));
  say('### GC during a warm full run of (b)', '');
  say('| collector | count | pause total |', '|---|---:|---:|');
  for (const [kind, k] of kinds) say(`| ${kind} | ${k.count} | ${ms(k.ms)} |`);
  say('', `Largest heap before a GC: ${Math.max(0, ...heaps).toFixed(0)} MB; peak RSS of the run: ${(r.peakBytes / 2 ** 20).toFixed(0)} MiB; wall ${r.wallS.toFixed(2)} s, CPU ${r.cpuS.toFixed(2)} s.`, '');
}

async function main() {
  mkdirSync(WORK, { recursive: true });
  writeWorkload(manyTrivialWorkload(), 'pytest-ts', DIR);
  await run([process.execPath, BIN, '-q', '-p', 'no:cacheprovider']); // fill the warm cache
  const warm = await phaseRuns('warm', false);
  loadTable(warm);
  await phaseRuns('cold', true);
  await cpuProfile('full run', ['-q', '-p', 'no:cacheprovider']);
  await cpuProfile('collect-only', ['--collect-only', '-q', '-p', 'no:cacheprovider']);
  await gcTrace();
  if (!opts['skip-imports']) await importCosts();
  process.stdout.write(out.join('\n') + '\n');
}

await main();
