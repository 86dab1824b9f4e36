// `--collect-only` output, line by line, against real pytest on the Python mirror of the same suite
// (test/differential/mirror-suite.ts): the tree (no -q), `-q` (node ids) and `-qq` (per-file counts), with and
// without selection. Lines are compared after `.py` -> `.ts`, the rootdir, the platform line and timings are
// normalised.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { pytestCollectAsync } from '../differential/cli-runners.js';
import { MIRROR_SUITE } from '../differential/mirror-suite.js';
import { pytestUnavailableReason, writePythonMirror, type PytestOutcome } from '../differential/pytest-oracle.js';
import { writeTsMirror } from '../differential/ts-mirror.js';
import { mapLimit, runAsync } from './parallel.js';
import type { RunResult } from './project.js';

const unavailable = pytestUnavailableReason();
if (unavailable) console.warn(`\n*** SKIPPING the --collect-only comparison with pytest: ${unavailable} ***\n`);
const skip = unavailable ? `real pytest is needed as the oracle: ${unavailable}` : false;

/**
 * The oracle always adds `--collect-only -q -p no:cacheprovider`; `-v` cancels its `-q` (verbosity is the count of
 * -v minus the count of -q), so `extra` = ['-v'] is the tree and ['-q'] is -qq. pytest-ts gets the same argv and,
 * separately, the plain spelling of each (`--collect-only`, `-qq`), which must print the same.
 */
interface Case {
  readonly name: string;
  readonly extra: readonly string[];
  readonly plain: readonly string[];
}

const R = 'suites/test_recovery';
const CASES: readonly Case[] = [
  { name: 'tree', extra: ['-v'], plain: ['--collect-only'] },
  { name: '-q', extra: [], plain: ['--collect-only', '-q'] },
  { name: '-qq', extra: ['-q'], plain: ['--collect-only', '-qq'] },
  { name: 'tree, -k', extra: ['-v', '-k', 'oom'], plain: ['--collect-only', '-k', 'oom'] },
  { name: '-q, -m', extra: ['-m', 'recovery and not oom'], plain: ['--collect-only', '-q', '-m', 'recovery and not oom'] },
  { name: '-qq, --deselect', extra: ['-q', '--deselect', 'suites/deep'], plain: ['--collect-only', '-qq', '--deselect', 'suites/deep'] },
  { name: 'tree, one class', extra: ['-v', `${R}.py::TestOOMDetection`], plain: ['--collect-only', `${R}.ts::TestOOMDetection`] },
  { name: 'tree, everything deselected', extra: ['-v', '-m', 'nothing'], plain: ['--collect-only', '-m', 'nothing'] },
  { name: '-q, one parameter', extra: ['suites/test_memory.py::TestMemoryStress::test_alloc_sizes[50MB]'], plain: ['--collect-only', '-q', 'suites/test_memory.ts::TestMemoryStress::test_alloc_sizes[50MB]'] },
  { name: 'tree, -v -v', extra: ['-v', '-v'], plain: ['--collect-only', '-v'] },
];

const FIXED = ['--collect-only', '-q', '-p', 'no:cacheprovider'];
const toTs = (text: string) => text.replace(/\.py\b/g, '.ts');

function normalise(text: string, rootdir: string): string[] {
  return toTs(text)
    .replaceAll(rootdir, '<rootdir>')
    .replaceAll(basename(rootdir), '<rootname>')
    .split('\n')
    .map((line) =>
      line
        .replace(/^platform .*$/, 'platform <platform>')
        .replace(/ in \d+(?:\.\d+)?s\b/, ' in <t>')
        // The summary rule's fill depends on the length of the timing; compare the text inside it.
        .replace(/^=+ (.* in <t>) =+$/, '== $1 =='),
    );
}

const workDir = mkdtempSync(join(tmpdir(), 'pytest-ts-collect-only-'));
const pyRoot = writePythonMirror(MIRROR_SUITE, workDir);
const tsRoot = writeTsMirror(MIRROR_SUITE, workDir);
after(() => rmSync(workDir, { recursive: true, force: true }));

let pytest: readonly PytestOutcome[] = [];
let same: RunResult[] = [];
let plain: RunResult[] = [];

before(async () => {
  const oracle = unavailable ? undefined : pytestCollectAsync(pyRoot, CASES.map((c) => c.extra));
  oracle?.catch(() => undefined);
  const tsArgs = (c: Case) => c.extra.map((a) => (a.includes('::') ? toTs(a) : a));
  const runs = await mapLimit([...CASES.map((c) => [...FIXED, ...tsArgs(c)]), ...CASES.map((c) => [...c.plain, '-p', 'no:cacheprovider'])], 2, (argv) => runAsync(tsRoot, argv));
  same = runs.slice(0, CASES.length);
  plain = runs.slice(CASES.length);
  pytest = (await oracle)?.results ?? [];
});

for (const [index, c] of CASES.entries()) {
  test(`--collect-only ${c.name}: the same lines as pytest`, { skip }, () => {
    const theirs = pytest[index]!;
    const ours = same[index]!;
    assert.equal(ours.code, theirs.exit, `exit code\n${ours.stdout}${ours.stderr}`);
    assert.deepEqual(normalise(ours.stdout, tsRoot), normalise(theirs.stdout, pyRoot));
    assert.equal(ours.stderr, theirs.stderr);
  });
}

for (const [index, c] of CASES.entries()) {
  test(`--collect-only ${c.name}: the plain spelling ${JSON.stringify(c.plain)} prints the same`, () => {
    assert.equal(plain[index]!.code, same[index]!.code);
    assert.deepEqual(normalise(plain[index]!.stdout, tsRoot), normalise(same[index]!.stdout, tsRoot));
  });
}

test('the cases cover the three verbosities and reach exit 5', () => {
  const outputs = same.map((r) => r.stdout);
  assert.ok(outputs.some((o) => o.includes('<Module test_edge.ts>')), 'a tree');
  assert.ok(outputs.some((o) => o.includes('suites/test_memory.ts: 9')), 'per-file counts (-qq)');
  assert.ok(same.some((r) => r.code === 5));
});
