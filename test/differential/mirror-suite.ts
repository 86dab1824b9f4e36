// ONE description of a small test suite, from which both a Python mirror (for real pytest) and the
// expected -k/-m view of each item (for our side) are derived. The lead can also render a TypeScript
// mirror of it to compare through the real pytest-ts CLI.

/** A kwarg or positional value that both Python and TypeScript can spell. Arrays never equal scalars. */
export type MirrorValue = string | number | boolean | null | readonly MirrorValue[];

export interface MirrorMark {
  readonly name: string;
  readonly args?: readonly MirrorValue[];
  readonly kwargs?: Readonly<Record<string, MirrorValue>>;
}

export interface MirrorParametrize {
  readonly argname: string;
  readonly values: readonly (string | number)[];
  readonly ids: readonly string[];
}

export interface MirrorTest {
  readonly kind: 'test';
  readonly name: string;
  /** Decorators on the function itself, outermost first. */
  readonly marks?: readonly MirrorMark[];
  readonly parametrize?: MirrorParametrize;
}

export interface MirrorClass {
  readonly kind: 'class';
  readonly name: string;
  readonly marks?: readonly MirrorMark[];
  /** False = `__test__ = False`: pytest silently skips the class and everything in it. */
  readonly collected?: boolean;
  readonly tests: readonly MirrorTest[];
}

export interface MirrorModule {
  /** Path relative to the rootdir, WITHOUT extension: `suites/deep/test_edge`. */
  readonly path: string;
  /** Module-level `pytestmark`. */
  readonly marks?: readonly MirrorMark[];
  /** Definition order, which is collection order within the module. */
  readonly members: readonly (MirrorTest | MirrorClass)[];
}

export interface MirrorSuite {
  /** Marker names to register (so pytest prints no unknown-marker warnings). */
  readonly markers: readonly string[];
  /** In collection order (pytest walks directories sorted by entry name; the test checks this order). */
  readonly modules: readonly MirrorModule[];
}

const test = (name: string, ...marks: MirrorMark[]): MirrorTest => ({ kind: 'test', name, marks });
const mark = (name: string, kwargs?: Record<string, MirrorValue>, args?: MirrorValue[]): MirrorMark => ({
  name,
  ...(kwargs ? { kwargs } : {}),
  ...(args ? { args } : {}),
});

export const MIRROR_SUITE: MirrorSuite = {
  markers: ['gpu', 'slow', 'stress', 'oom', 'recovery', 'custom', 'tier', 'flag', 'opt', 'weight', 'edge', 'größe', 'gpu-1'],
  modules: [
    {
      path: 'suites/deep/test_edge',
      marks: [mark('edge')],
      members: [
        {
          kind: 'class',
          name: 'TestÜberlast',
          tests: [test('test_mémoire', mark('größe')), test('test_日本', mark('gpu-1'))],
        },
        {
          kind: 'class',
          name: 'TestKeywords',
          tests: [
            test('test_True'),
            test('test_not_slow', mark('slow')),
            test('test_or_and'),
            test('test_None_value', mark('custom', { key: null })),
          ],
        },
        test('test_leading_zeros', mark('custom', { key: 7 })),
        test('test_negative', mark('custom', { key: -1 })),
        test('test_empty_string', mark('custom', { key: '' })),
        test('test_spacey', mark('custom', { key: 'a b', other: "it's" })),
      ],
    },
    {
      path: 'suites/test_memory',
      marks: [mark('gpu')],
      members: [
        {
          kind: 'class',
          name: 'TestMemoryStress',
          marks: [mark('stress')],
          tests: [
            test('test_sustained_high_memory_usage', mark('slow'), mark('custom', { key: 1 })),
            test('test_allocation_stress', mark('custom', { key: 2, mode: 'fast' })),
            {
              kind: 'test',
              name: 'test_alloc_sizes',
              parametrize: { argname: 'size', values: [1, 50], ids: ['1MB', '50MB'] },
            },
          ],
        },
        {
          kind: 'class',
          name: 'TestGPUFallback',
          marks: [mark('tier', { level: 'c' })],
          tests: [
            test('test_gpu_to_cpu_fallback_on_oom', mark('oom'), mark('tier', { level: 'a' })),
            test('test_cpu_fallback_activation', mark('tier', { level: 'b' }), mark('tier', { level: 'a', rank: 2 })),
          ],
        },
        test('test_module_level_function', mark('flag', { on: true })),
        {
          kind: 'class',
          name: 'TestCUDAErrorRecovery',
          tests: [
            test('test_cuda_error_recovery', mark('flag', { on: 1 })),
            test('test_repeated_cuda_errors', mark('flag', { on: false }), mark('opt', { v: null })),
          ],
        },
      ],
    },
    {
      path: 'suites/test_recovery',
      members: [
        {
          kind: 'class',
          name: 'TestOOMDetection',
          marks: [mark('oom')],
          tests: [
            test('test_oom_detection', mark('recovery')),
            test('test_oom_notification', mark('recovery'), mark('custom', { key: 1 }, ['arg'])),
          ],
        },
        {
          kind: 'class',
          name: 'TestGracefulDegradation',
          tests: [
            test('test_progressive_recovery', mark('recovery'), mark('weight', { w: 1.0 })),
            test('test_rapid_toggle', mark('recovery'), mark('weight', { w: 1.5, tags: [1, 2] })),
            test('test_handling_under_load'),
          ],
        },
        test('test_plain_function'),
        {
          kind: 'class',
          name: 'TestDataPreservation',
          tests: [
            test('test_audio_buffer_preservation', mark('custom', { key: '1' })),
            test('test_shutdown_notification', mark('custom', { key: -5 })),
          ],
        },
        { kind: 'class', name: 'TestMemoryStressHarness', collected: false, tests: [test('test_harness_helper')] },
      ],
    },
  ],
};

/** What selection needs to know about one collected item. */
export interface MirrorItem {
  readonly nodeid: string;
  /** The names `-k` substring-matches (pytest's KeywordMatcher.from_item). */
  readonly keywordNames: readonly string[];
  /** Every mark the item carries (function, class and module), as `-m` sees them. */
  readonly marks: readonly { readonly name: string; readonly kwargs: Readonly<Record<string, MirrorValue>> }[];
}

/**
 * The collected items in collection order, with pytest's -k name rules: the test name (with its parameter id),
 * the class name, the module FILE name, every directory between rootdir and the module (not the rootdir), all
 * marker names, and the attributes of the test function's `__dict__`, which for a function with its own
 * decorators is `pytestmark` (Python-only; a TypeScript port may have no such name).
 */
export function mirrorItems(suite: MirrorSuite, extension = '.py', pythonFunctionDict = true): MirrorItem[] {
  const items: MirrorItem[] = [];
  for (const module of suite.modules) {
    const segments = module.path.split('/');
    const fileName = `${segments.at(-1)}${extension}`;
    const directories = segments.slice(0, -1);
    const modulePath = `${module.path}${extension}`;
    const addTest = (fn: MirrorTest, cls: MirrorClass | undefined): void => {
      const ownMarks = [...(fn.marks ?? [])];
      if (fn.parametrize) ownMarks.push({ name: 'parametrize', args: [fn.parametrize.argname, fn.parametrize.values], kwargs: { ids: fn.parametrize.ids } });
      const marks = [...ownMarks, ...(cls?.marks ?? []), ...(module.marks ?? [])].map((m) => ({ name: m.name, kwargs: m.kwargs ?? {} }));
      const variants = fn.parametrize ? fn.parametrize.ids.map((id) => `${fn.name}[${id}]`) : [fn.name];
      for (const testName of variants) {
        const nodeid = [modulePath, ...(cls ? [cls.name] : []), testName].join('::');
        const keywordNames = [
          ...directories,
          fileName,
          ...(cls ? [cls.name] : []),
          testName,
          ...(pythonFunctionDict && ownMarks.length > 0 ? ['pytestmark'] : []),
          ...marks.map((m) => m.name),
        ];
        items.push({ nodeid, keywordNames, marks });
      }
    };
    for (const member of module.members) {
      if (member.kind === 'test') addTest(member, undefined);
      else if (member.collected !== false) for (const fn of member.tests) addTest(fn, member);
    }
  }
  return items;
}

// ---------------------------------------------------------------------------------------------------------
// The Python rendering

/** A Python literal for a value; JSON string escapes are valid Python escapes. */
export function pythonLiteral(value: MirrorValue): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return String(value); // 1.0 prints as 1: equal in Python either way
  if (typeof value === 'string') return JSON.stringify(value);
  return `[${value.map(pythonLiteral).join(', ')}]`;
}

function pythonDecorator(m: MirrorMark): string {
  const isPlainName = /^[\p{L}_][\p{L}\p{N}_]*$/u.test(m.name);
  const target = isPlainName ? `pytest.mark.${m.name}` : `getattr(pytest.mark, ${JSON.stringify(m.name)})`;
  const args = [...(m.args ?? []).map(pythonLiteral), ...Object.entries(m.kwargs ?? {}).map(([k, v]) => `${k}=${pythonLiteral(v)}`)];
  return m.args || m.kwargs ? `${target}(${args.join(', ')})` : target;
}

function pythonTest(fn: MirrorTest, indent: string, isMethod: boolean): string[] {
  const lines = (fn.marks ?? []).map((m) => `${indent}@${pythonDecorator(m)}`);
  const params = isMethod ? ['self'] : [];
  if (fn.parametrize) {
    const p = fn.parametrize;
    lines.push(`${indent}@pytest.mark.parametrize(${pythonLiteral(p.argname)}, ${pythonLiteral(p.values)}, ids=${pythonLiteral(p.ids)})`);
    params.push(p.argname);
  }
  lines.push(`${indent}def ${fn.name}(${params.join(', ')}):`, `${indent}    pass`, '');
  return lines;
}

/** The files of the Python mirror, path -> content (pytest.ini at the rootdir). */
export function pythonMirrorFiles(suite: MirrorSuite): Map<string, string> {
  const files = new Map<string, string>();
  files.set('pytest.ini', ['[pytest]', 'markers =', ...suite.markers.map((m) => `    ${m}: mirror marker`), ''].join('\n'));
  for (const module of suite.modules) {
    const lines = ['import pytest', ''];
    if (module.marks?.length) lines.push(`pytestmark = [${module.marks.map(pythonDecorator).join(', ')}]`, '');
    for (const member of module.members) {
      if (member.kind === 'test') {
        lines.push(...pythonTest(member, '', false));
        continue;
      }
      lines.push(...(member.marks ?? []).map((m) => `@${pythonDecorator(m)}`), `class ${member.name}:`);
      if (member.collected === false) lines.push('    __test__ = False', '');
      for (const fn of member.tests) lines.push(...pythonTest(fn, '    ', true));
    }
    files.set(`${module.path}.py`, lines.join('\n'));
  }
  return files;
}
