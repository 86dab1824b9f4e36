// Property: whatever a user types as a path argument (`file::Class::test[param]` shapes, unicode, runs of `::`,
// brackets, empty parts), collection of a fixed small project either returns items that exist or rejects with one
// of pytest's documented usage errors; never another exception, and never slowly.
import assert from 'node:assert/strict';
import { resolve, sep } from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { Collector } from '../../runner/collect.js';
import { UsageError } from '../../runner/exit-codes.js';
import { cleanupProjects, makeProject } from '../cli/project.js';

after(cleanupProjects);

const PROJECT = {
  'pytest.ini': '[pytest]\n',
  'test_a.ts': `import { mark } from '@runner';
export class TestA {
  test_x() {}
  @mark.parametrize('n', [1, 2], { ids: ['one', 'a::b'] })
  test_p({ n }: any) { void n; }
}
export class TestHarness {
  static __test__ = false;
  test_helper() {}
}
export function test_f() {}
export class TestÉté { test_日本() {} }
`,
  'sub/test_b.ts': 'export function test_b() {}\nexport class TestB { test_y() {} }\n',
  'sub/notes.txt': 'not a test module\n',
};

/** Every item the project has: a successful collection may return only these. */
const ALL_IDS = new Set([
  'test_a.ts::TestA::test_x',
  'test_a.ts::TestA::test_p[one]',
  'test_a.ts::TestA::test_p[a::b]',
  'test_a.ts::test_f',
  'test_a.ts::TestÉté::test_日本',
  'sub/test_b.ts::test_b',
  'sub/test_b.ts::TestB::test_y',
]);

/** The documented usage errors (PYTEST_SEMANTICS.md "Node ids and paths", pytest's resolve_collection_argument). */
const DOCUMENTED = /^(?:file or directory not found: |not found: |found no collectors for |directory argument cannot contain :: selection parts: |path cannot contain \[\] parametrization: )/;

let rootdir = '';

function collector(args: readonly string[]): Collector {
  return new Collector({
    rootdir,
    invocationDir: rootdir,
    args,
    testpaths: [],
    pythonFiles: ['test_*.ts'],
    pythonClasses: ['Test'],
    pythonFunctions: ['test'],
    norecursedirs: [],
  });
}

/**
 * Arguments whose path part leaves the project (`..`, `/etc`) would walk the machine's other directories; those get
 * a prefix that keeps them inside (and usually missing), leaving the `::`/`[` part as generated.
 */
function confine(arg: string): string {
  const pathPart = arg.split('[')[0]!.split('::')[0]!;
  const target = resolve(rootdir, pathPart);
  return target === rootdir || target.startsWith(rootdir + sep) ? arg : `nope_${arg}`;
}

type Outcome = { ok: true; ids: string[] } | { ok: false; error: unknown };

async function attempt(args: readonly string[]): Promise<Outcome> {
  try {
    const result = await collector(args).collect();
    return { ok: true, ids: result.items.map((i) => i.nodeid) };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Milliseconds for one collection; a slow first measurement is retried twice and the fastest kept, so that a busy
 * machine does not fail the test while an input that is slow by nature still does.
 */
async function timed(args: readonly string[]): Promise<{ outcome: Outcome; ms: number }> {
  let best = Infinity;
  let outcome: Outcome | undefined;
  for (let tries = 0; tries < 3 && best > 100; tries++) {
    const start = performance.now();
    outcome = await attempt(args);
    best = Math.min(best, performance.now() - start);
  }
  return { outcome: outcome!, ms: best };
}

// Pieces a user plausibly types (mostly), plus arbitrary text in every position.
const pathPiece = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('test_a.ts', './test_a.ts', 'sub/test_b.ts', 'sub', 'sub/', '.', './', '', 'nope.ts', 'sub/notes.txt', 'pytest.ini', 'test_é.ts', 'sub//test_b.ts', 'sub/./test_b.ts') },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);
const namePiece = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('TestA', 'test_x', 'test_p', 'test_f', 'TestHarness', 'test_helper', 'TestÉté', 'test_日本', 'TestB', 'test_y', 'test_b', '', ':', 'testa', 'Test') },
  { weight: 1, arbitrary: fc.string({ maxLength: 6, unit: 'grapheme' }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6, unit: 'binary' }) },
);
const paramPiece = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  { weight: 2, arbitrary: fc.constantFrom('[one]', '[a::b]', '[1]', '[', ']', '[]', '[[one]]', '[one]::x') },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }).map((s) => `[${s}`) },
);
const tailPiece = fc.oneof({ weight: 6, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('::', '::::', ':') });
const nodeIdish = fc
  .tuple(pathPiece, fc.array(namePiece, { maxLength: 4 }), paramPiece, tailPiece)
  .map(([path, names, param, tail]) => `${path}${names.map((n) => `::${n}`).join('')}${param}${tail}`);
const anyArg = fc.oneof({ weight: 6, arbitrary: nodeIdish }, { weight: 1, arbitrary: fc.string({ maxLength: 30, unit: 'binary' }) });
const argLists = fc.oneof({ weight: 4, arbitrary: anyArg.map((a) => [a]) }, { weight: 1, arbitrary: fc.array(anyArg, { minLength: 2, maxLength: 3 }) });

before(async () => {
  rootdir = makeProject(PROJECT);
  // Import the modules once: the ESM cache then serves every later collection, as in one pytest-ts run.
  const warm = await attempt(['.']);
  assert.ok(warm.ok, `the project collects: ${!warm.ok && String(warm.error)}`);
  assert.deepEqual(new Set(warm.ids), ALL_IDS);
});

test('node-id-ish arguments give items that exist or a documented usage error, within 100 ms (10,000 runs)', async () => {
  let usageErrors = 0;
  let successes = 0;
  await fc.assert(
    fc.asyncProperty(argLists, async (rawArgs) => {
      const args = rawArgs.map(confine);
      const { outcome, ms } = await timed(args);
      assert.ok(ms <= 100, `${JSON.stringify(args)} took ${ms.toFixed(1)} ms`);
      if (outcome.ok) {
        successes++;
        for (const id of outcome.ids) assert.ok(ALL_IDS.has(id), `an item that does not exist: ${id}`);
        assert.equal(new Set(outcome.ids).size, outcome.ids.length, 'an item listed twice');
        return;
      }
      assert.ok(outcome.error instanceof UsageError, `not a UsageError: ${outcome.error instanceof Error ? outcome.error.stack : String(outcome.error)}`);
      for (const message of outcome.error.message.split('\n\nERROR: ')) assert.match(message, DOCUMENTED);
      usageErrors++;
    }),
    { numRuns: 10_000, seed: 20_260_528, endOnFailure: true },
  );
  console.log(`${successes} collections, ${usageErrors} usage errors`);
  // Both branches must be exercised for the property to mean anything.
  assert.ok(successes >= 500 && usageErrors >= 500, `${successes} successes, ${usageErrors} usage errors`);
});

test('known shapes, as a table (each must behave as pytest does)', async () => {
  const table: Array<[string[], string[] | RegExp]> = [
    [['test_a.ts::TestA::test_p[a::b]'], ['test_a.ts::TestA::test_p[a::b]']],
    [['test_a.ts::TestA::test_p'], ['test_a.ts::TestA::test_p[one]', 'test_a.ts::TestA::test_p[a::b]']],
    [['test_a.ts::TestA::test_p[two]'], /^not found: .*test_a\.ts::TestA::test_p\n\(no match in any of \[<Class TestA>\]\)$/],
    [['test_a.ts::TestHarness'], []],
    [['test_a.ts::TestHarness::test_helper'], /\(no match in any of \[<Class TestHarness>\]\)$/],
    [['test_a.ts::TestÉté::test_日本'], ['test_a.ts::TestÉté::test_日本']],
    [['test_a.ts::test_f::'], /^found no collectors for /],
    [['sub/notes.txt'], /\(no match in any of \[<Dir sub>\]\)$/],
    [['sub::test_b'], /^directory argument cannot contain :: selection parts: sub::test_b$/],
    [['test_a.ts[x]'], /^path cannot contain \[\] parametrization: test_a\.ts\[x\]$/],
    [['sub', 'sub/test_b.ts::TestB'], ['sub/test_b.ts::test_b', 'sub/test_b.ts::TestB::test_y']],
    [['test_a.ts::TestA::test_x', 'test_a.ts::TestA'], ['test_a.ts::TestA::test_x', 'test_a.ts::TestA::test_p[one]', 'test_a.ts::TestA::test_p[a::b]']],
  ];
  for (const [args, expected] of table) {
    const outcome = await attempt(args);
    if (Array.isArray(expected)) assert.deepEqual(outcome.ok ? outcome.ids : String((outcome as { error: unknown }).error), expected, JSON.stringify(args));
    else {
      assert.ok(!outcome.ok && outcome.error instanceof UsageError, JSON.stringify(args));
      assert.match((outcome as { error: UsageError }).error.message, expected, JSON.stringify(args));
    }
  }
});
