// formatFailure on genuine V8 stacks: the failures are thrown by test/fixtures/traceback/*.ts (loaded through tsx,
// so frames name TypeScript lines), and each --tb style is compared with the exact text pytest's layout gives.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileLogFormat } from '../../runner/terminal-log-format.js';
import {
  crashLineText,
  DEFAULT_HIDDEN_DIRS,
  crashMessage,
  formatFailure,
  truncateMessageLines,
  type FormatFailureOptions,
  type TbStyle,
} from '../../runner/traceback.js';
import { clearSourceCache, readSourceLines } from '../../runner/source-lines.js';
import { parseStack, shortFunctionName } from '../../runner/stack-frames.js';
import * as fx from '../fixtures/traceback/failing.js';

const TEST_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(TEST_DIR, '..', '..');
const FIXTURE = 'test/fixtures/traceback/failing.ts';
const HIDDEN_HELPERS = join(ROOT, 'test', 'fixtures', 'traceback', 'hidden');
const SEPARATOR = '_ '.repeat(40);
const CAUSE = 'The above exception was the direct cause of the following exception:';

/** The test file plays the runner here: its frames (and the "hidden" helpers) are the ones to leave out. */
function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the fixture to throw');
}

function render(error: unknown, tb: TbStyle, extra: Partial<FormatFailureOptions> = {}) {
  return formatFailure(error, { tb, rootdir: ROOT, verbosity: 0, hiddenDirs: [TEST_DIR, HIDDEN_HELPERS], ...extra });
}

describe('a node:assert failure in a method', () => {
  const error = caught(() => new fx.TestA().test_equal());
  const message = 'AssertionError: Expected values to be strictly equal:\n\n1 !== 2';

  test('long and auto: the method from its first line, `>` on the failing line, E lines, the location', () => {
    const expected = `
    test_equal(): void {
      const answer = 1;
    
>     assert.equal(answer, 2);
E     AssertionError: Expected values to be strictly equal:
E     
E     1 !== 2

${FIXTURE}:11: AssertionError`;
    for (const tb of ['long', 'auto'] as const) {
      assert.deepEqual(render(error, tb), { message, text: expected, crashPath: FIXTURE, crashLine: 11 });
    }
  });

  test('short: location and failing line, E lines indented by four', () => {
    assert.equal(
      render(error, 'short').text,
      `${FIXTURE}:11: in test_equal
    assert.equal(answer, 2);
E   AssertionError: Expected values to be strictly equal:
E   
E   1 !== 2`,
    );
  });

  test('line and no: the exception lines only, E on the first', () => {
    const expected = 'E   AssertionError: Expected values to be strictly equal:\n    \n    1 !== 2';
    assert.equal(render(error, 'line').text, expected);
    assert.equal(render(error, 'no').text, expected);
    assert.equal(render(error, 'no').message, message);
  });

  test('native: the stack as V8 wrote it', () => {
    assert.equal(render(error, 'native').text, (error as Error).stack!.trimEnd());
  });

  test('--tb=line prints the absolute crash location with the first line of the message', () => {
    assert.equal(crashLineText(render(error, 'line'), ROOT), `${ROOT}/${FIXTURE}:11: AssertionError: Expected values to be strictly equal:`);
    assert.equal(crashLineText({ message: 'x', text: 'E   just text' }, ROOT), 'E   just text');
  });
});

describe('a failure three calls deep', () => {
  const error = caught(() => fx.test_chain());
  const first = `
    export function test_chain(): void {
>     middle(1);

${FIXTURE}:39: `;
  const last = `
    function inner(x: number): number {
      if (x > 0) {
>       throw new Error('bad value\\nsecond line');
E       Error: bad value
E       second line

${FIXTURE}:29: Error`;

  test('auto: first and last entries long, the one between short, separated as pytest separates them', () => {
    const middle = `${FIXTURE}:35: in middle\n    return inner(x);`;
    assert.equal(render(error, 'auto').text, [first, SEPARATOR, middle, SEPARATOR, last].join('\n'));
  });

  test('long: every entry long, with an empty message under all but the last', () => {
    const middle = `
    function middle(x: number): number {
>     return inner(x);

${FIXTURE}:35: `;
    assert.equal(render(error, 'long').text, [first, SEPARATOR, middle, SEPARATOR, last].join('\n'));
  });

  test('short: one location and line per entry', () => {
    assert.equal(
      render(error, 'short').text,
      `${FIXTURE}:39: in test_chain
    middle(1);
${FIXTURE}:35: in middle
    return inner(x);
${FIXTURE}:29: in inner
    throw new Error('bad value\\nsecond line');
E   Error: bad value
E   second line`,
    );
  });

  test('the separator follows the terminal width', () => {
    assert.ok(render(error, 'long', { width: 60 }).text.includes('\n' + '_ '.repeat(30) + '\n'));
  });
});

describe('an error with a cause', () => {
  const error = caught(() => fx.test_cause());

  test('short: the cause first, then "The above exception was the direct cause..."', () => {
    assert.equal(
      render(error, 'short').text,
      `${FIXTURE}:44: in test_cause
    middle(1);
${FIXTURE}:35: in middle
    return inner(x);
${FIXTURE}:29: in inner
    throw new Error('bad value\\nsecond line');
E   Error: bad value
E   second line

${CAUSE}
${FIXTURE}:46: in test_cause
    throw new TypeError('wrapped', { cause: error });
E   TypeError: wrapped`,
    );
  });

  test('long: a blank line after the description, as every long entry starts with one', () => {
    const text = render(error, 'long').text;
    assert.ok(
      text.endsWith(`${FIXTURE}:29: Error

${CAUSE}

    export function test_cause(): void {
      try {
        middle(1);
      } catch (error) {
>       throw new TypeError('wrapped', { cause: error });
E       TypeError: wrapped

${FIXTURE}:46: TypeError`),
      text,
    );
  });

  test('the crash is the outer error; line style keeps the chain', () => {
    const repr = render(error, 'line');
    assert.equal(repr.message, 'TypeError: wrapped');
    assert.equal(repr.crashLine, 46);
    assert.equal(repr.text, `E   Error: bad value\n    second line\n\n${CAUSE}\nE   TypeError: wrapped`);
  });

  test('native: both stacks, joined as Python joins chained tracebacks', () => {
    const cause = (error as Error).cause as Error;
    assert.equal(render(error, 'native').text, `${cause.stack!.trimEnd()}\n\n${CAUSE}\n\n${(error as Error).stack!.trimEnd()}`);
  });

  test('a cause that is not an Error, and a cycle, do not break the chain', () => {
    const withString = new Error('outer', { cause: 'disk full' });
    assert.equal(render(withString, 'line').text, `E   disk full\n\n${CAUSE}\nE   Error: outer`);
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    assert.equal(render(b, 'line').text, `E   Error: a\n\n${CAUSE}\nE   Error: b`);
  });
});

describe('other shapes of failure', () => {
  test('an async method: frames after an await are still found', async () => {
    let error: unknown;
    try {
      await new fx.TestA().test_async();
    } catch (e) {
      error = e;
    }
    assert.equal(
      render(error, 'auto').text,
      `
    async test_async(): Promise<void> {
      await Promise.resolve();
>     throw new RangeError('out of range');
E     RangeError: out of range

${FIXTURE}:16: RangeError`,
    );
  });

  test('a decorated method is shown from its decorator, as pytest shows @pytest.fixture', () => {
    assert.equal(
      render(caught(() => new fx.TestA().test_decorated()), 'long').text,
      `
    @tag
    test_decorated(): void {
      if (this) {
>       assert.ok(false, 'decorated failure');
E       AssertionError: decorated failure

${FIXTURE}:22: AssertionError`,
    );
  });

  test('a subclass without its own name is named after its class; arrow functions are functions', () => {
    const repr = render(caught(() => fx.test_arrow()), 'auto');
    assert.equal(repr.message, 'OomError: custom class');
    assert.equal(repr.text, `\n    export const test_arrow = (): void => {\n>     throw new OomError('custom class');\nE     OomError: custom class\n\n${FIXTURE}:53: OomError`);
  });

  test('a thrown string has no traceback: only its E line', () => {
    const thrown = caught(() => fx.test_throw_string());
    assert.deepEqual(render(thrown, 'long'), { message: 'just a string', text: '\nE   just a string' });
    assert.equal(render(thrown, 'short').text, 'E   just a string');
    assert.equal(render(thrown, 'native').text, 'just a string');
  });

  test('an error whose stack has no frames', () => {
    const error = new Error('no frames\nat all');
    error.stack = 'Error: no frames\nat all';
    assert.deepEqual(render(error, 'auto'), { message: 'Error: no frames\nat all', text: '\nE   Error: no frames\n    at all' });
  });

  test("the runner's frames are hidden: the crash is where the test called into it", () => {
    const repr = render(caught(() => fx.test_hidden_helper()), 'short');
    assert.equal(repr.text, `${FIXTURE}:61: in test_hidden_helper\n    raiseFromHiddenHelper();\nE   Error: raised in a hidden frame`);
    assert.equal(repr.crashLine, 61);
  });

  test("by default the hidden directories are pytest-ts's own runner/ and bin/", () => {
    assert.deepEqual(DEFAULT_HIDDEN_DIRS, [join(ROOT, 'runner'), join(ROOT, 'bin')]);
    const error = caught(() => compileLogFormat({ format: '%(nope)s' }));
    const repr = formatFailure(error, { tb: 'short', rootdir: ROOT, verbosity: 0 });
    assert.equal(repr.crashPath, 'test/runner/traceback.test.ts');
    assert.doesNotMatch(repr.text, /runner\/terminal-log-format\.ts/);
    assert.match(repr.text, /^test\/runner\/traceback\.test\.ts:\d+: in <anonymous>\n/);
  });

  test('when every frame would be hidden, they are shown rather than nothing', () => {
    const repr = render(caught(() => fx.test_hidden_helper()), 'short', { hiddenDirs: [ROOT] });
    assert.match(repr.text, /\ntest\/fixtures\/traceback\/hidden\/helper\.ts:3: in raiseFromHiddenHelper\n.*\nE   Error: raised in a hidden frame$/);
  });

  test('a long function shows the last 20 lines up to the failure', () => {
    const text = render(caught(() => fx.test_long_function()), 'long').text;
    const lines = text.split('\n');
    assert.equal(lines[1], '    total += 2;');
    assert.equal(lines[20], '>   throw new Error(`total ${total}`);');
    assert.equal(lines.filter((l) => l.startsWith('    total') || l.startsWith('>')).length, 20);
  });

  test('a file outside the rootdir keeps its absolute path when that is shorter', () => {
    const repr = render(caught(() => fx.test_arrow()), 'short', { rootdir: '/very/deep/unrelated/root/dir' });
    assert.ok(repr.text.startsWith(`${ROOT}/${FIXTURE}:53: in test_arrow`));
  });
});

describe('long assertion messages are truncated below -vv, as pytest truncates explanations', () => {
  const error = caught(() => fx.test_long_diff());

  test('eight lines, then the "use -vv" note, in the text and the message', () => {
    const repr = render(error, 'short');
    const eLines = repr.text.split('\n').filter((l) => l.startsWith('E'));
    assert.equal(eLines.length, 10); // 8 lines of the message, a blank one, the note
    assert.match(eLines[eLines.length - 1]!, /^E   \.\.\.Full output truncated \(\d+ lines hidden\), use '-vv' to show$/);
    assert.match(repr.message, /use '-vv' to show$/);
  });

  test('not at -vv, not on CI', () => {
    const full = crashMessage(error);
    assert.equal(render(error, 'short', { verbosity: 2 }).message, full);
    assert.equal(render(error, 'short', { ci: true }).message, full);
  });

  test('the truncation rule itself', () => {
    const ten = Array.from({ length: 10 }, (_, i) => `l${i}`);
    assert.deepEqual(truncateMessageLines(ten), ten);
    const eleven = [...ten, 'l10'];
    assert.deepEqual(truncateMessageLines(eleven), ['l0', 'l1', 'l2', 'l3', 'l4', 'l5', 'l6', 'l7...', '', "...Full output truncated (3 lines hidden), use '-vv' to show"]);
    const wide = ['x'.repeat(800)];
    assert.deepEqual(truncateMessageLines(wide), ['x'.repeat(640) + '...', '', "...Full output truncated (1 line hidden), use '-vv' to show"]);
  });
});

describe('crashMessage', () => {
  class NamedError extends Error {
    override name = 'NamedError';
  }
  const table: Array<[unknown, string]> = [
    [new Error('boom'), 'Error: boom'],
    [new Error(''), 'Error'],
    [new TypeError('bad type\n'), 'TypeError: bad type'],
    [new NamedError('x'), 'NamedError: x'],
    [new fx.OomError('y'), 'OomError: y'],
    ['a string', 'a string'],
    [42, '42'],
    [null, 'null'],
    [undefined, 'undefined'],
    [{ code: 7 }, '{ code: 7 }'],
  ];
  for (const [value, text] of table) test(text, () => assert.equal(crashMessage(value), text));

  test("node's AssertionError reads without its [ERR_ASSERTION] code", () => {
    assert.equal(crashMessage(caught(() => assert.equal(1, 2))), 'AssertionError: Expected values to be strictly equal:\n\n1 !== 2');
  });
});

describe('parseStack', () => {
  const frames = parseStack(
    [
      'Error: x',
      '    at TestA.test_b (file:///abs/suites/test_x.ts:12:11)',
      '    at async Promise.all (index 0)',
      '    at async run (/abs/runner/run.ts:40:5)',
      '    at new Device (/abs/src/device.ts:3:9)',
      '    at /abs/anon.ts:1:2',
      '    at eval (eval at <anonymous> (file:///abs/x.ts:15:3), <anonymous>:1:7)',
      '    at Array.map (<anonymous>)',
      '    at Foo.bar [as baz] (node:internal/x:1:1)',
    ].join('\n'),
  );

  test('file URLs and paths, async, new, eval; native frames skipped', () => {
    assert.deepEqual(
      frames.map((f) => [f.functionName, f.file, f.line, f.column, f.isAsync, f.isEval]),
      [
        ['TestA.test_b', '/abs/suites/test_x.ts', 12, 11, false, false],
        ['run', '/abs/runner/run.ts', 40, 5, true, false],
        ['new Device', '/abs/src/device.ts', 3, 9, false, false],
        ['', '/abs/anon.ts', 1, 2, false, false],
        ['eval', '<anonymous>', 1, 7, false, true],
        ['Foo.bar [as baz]', 'node:internal/x', 1, 1, false, false],
      ],
    );
  });

  test("a module's top-level code is '' (pytest's <module>), an anonymous function stays <anonymous>", () => {
    const parsed = parseStack(
      [
        'Error: boom',
        '    at <anonymous> (/abs/test_x.ts:3:9)',
        '    at <anonymous> (/abs/test_x.ts:1:7)',
        '    at ModuleJob.run (node:internal/modules/esm/module_job:325:25)',
      ].join('\n'),
    );
    assert.deepEqual(parsed.map((f) => f.functionName), ['<anonymous>', '', 'ModuleJob.run']);
  });

  test('a message containing "at" lines is not taken for frames', () => {
    const parsed = parseStack('Error: look\n    at this line of the message\nmore text\n    at f (/a.ts:1:1)');
    assert.deepEqual(parsed.map((f) => f.file), ['/a.ts']);
  });

  test('shortFunctionName', () => {
    const table: Array<[string, string]> = [
      ['TestA.test_b', 'test_b'],
      ['Module.test_chain', 'test_chain'],
      ['new Device', 'Device'],
      ['Object.<anonymous>', '<anonymous>'],
      ['Foo.bar [as baz]', 'bar'],
      ['', '<module>'],
      ['plain', 'plain'],
    ];
    for (const [name, short] of table) assert.equal(shortFunctionName(name), short, name);
  });
});

test('sources are read once per run and cached until cleared', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pytest-ts-tb-'));
  try {
    const file = join(dir, 'x.ts');
    writeFileSync(file, 'first\n');
    assert.equal(readSourceLines(file)?.[0], 'first');
    writeFileSync(file, 'second\n');
    assert.equal(readSourceLines(file)?.[0], 'first');
    clearSourceCache();
    assert.equal(readSourceLines(file)?.[0], 'second');
    assert.equal(readSourceLines(join(dir, 'missing.ts')), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
