// ini.ts: the iniconfig-compatible parser and the Python string/number semantics it and args.ts rely on.
// Expected messages were produced by iniconfig 2.x / CPython 3.11 on the same inputs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  IniError, parseIni, parsePythonFloat, parsePythonInt, pyRepr, shlexSplit, ShlexError, splitPythonLines, type IniFile,
} from '../../runner/ini.js';

/** Sections as plain objects: { section: { key: [value, line] } }. */
function plain(file: IniFile): Record<string, Record<string, [string, number]>> {
  const out: Record<string, Record<string, [string, number]>> = {};
  for (const [name, values] of file.sections) {
    out[name] = Object.fromEntries([...values].map(([key, v]) => [key, [v.value, v.line] as [string, number]]));
  }
  return out;
}

describe('parseIni accepts what iniconfig accepts', () => {
  const cases: Array<[string, string, Record<string, Record<string, [string, number]>>]> = [
    ['key = value and key: value', '[pytest]\na = 1\nb: 2\n', { pytest: { a: ['1', 2], b: ['2', 3] } }],
    ['inline comments stay in the value (the original timeout bug)', '[pytest]\ntimeout = 7200  # 2 hours max per test\n',
      { pytest: { timeout: ['7200  # 2 hours max per test', 2] } }],
    ['continuation lines join with \\n; blank and comment lines between are skipped',
      '[pytest]\nmarkers =\n    slow: x\n\n    gpu: y\n# c\n  ; c2\n    z\n', { pytest: { markers: ['slow: x\ngpu: y\nz', 2] } }],
    ['continuation of a non-empty value', '[pytest]\naddopts = -v\n  -x\n', { pytest: { addopts: ['-v\n-x', 2] } }],
    ['":" in the name part makes ":" the separator', '[pytest]\na:b = c\nd = e:f\n', { pytest: { a: ['b = c', 2], d: ['e:f', 3] } }],
    ['section header with a trailing comment', '[pytest] # the section\na=1\n', { pytest: { a: ['1', 2] } }],
    ['a "[" line that does not end in "]" continues the previous value (iniconfig quirk)', '[pytest]\na=1\n[b#c]\n',
      { pytest: { a: ['1\n[b#c]', 2] } }],
    ['section names keep their spaces', '[ pytest ]\n', { ' pytest ': {} }],
    ['CR and CRLF line ends (universal newlines)', '[pytest]\ra=1\r  b\r\n', { pytest: { a: ['1\nb', 2] } }],
    ['\\v splits lines, as str.splitlines does', '[pytest]\na=1\x0bb=2\n', { pytest: { a: ['1', 2], b: ['2', 3] } }],
    ['empty value', '[pytest]\naddopts =\n', { pytest: { addopts: ['', 2] } }],
    ['several sections', '[tool:pytest]\na=1\n[pytest]\nb=2\n', { 'tool:pytest': { a: ['1', 2] }, pytest: { b: ['2', 4] } }],
    ['empty text', '', {}],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => assert.deepEqual(plain(parseIni(text, 'x.ini')), expected));
  }

  it('records the line of each section header', () => {
    assert.deepEqual([...parseIni('# c\n[a]\nk=1\n\n[b]\n', 'x.ini').sectionLines], [['a', 2], ['b', 5]]);
  });
});

describe('parseIni rejects what iniconfig rejects, with its messages', () => {
  const cases: Array<[string, string, number, string]> = [
    ['key before any section', 'a = 1\n', 1, 'no section header defined'],
    ['duplicate section', '[pytest]\n[pytest]\n', 2, "duplicate section 'pytest'"],
    ['duplicate key (uncommenting the second addopts)', '[pytest]\naddopts = -v\n#addopts = --cov\naddopts = --cov\n', 4, "duplicate name 'addopts'"],
    ['duplicate key quoted with double quotes when it holds a quote', "[pytest]\nit's=1\nit's=2\n", 3, 'duplicate name "it\'s"'],
    ['continuation before anything', '  x\n[pytest]\n', 1, 'unexpected value continuation'],
    ['continuation of a section header', '[pytest]\n  x\n', 2, 'unexpected value continuation'],
    ['tab-indented line after a header', '[pytest]\n\tx\n', 2, 'unexpected value continuation'],
    ['a no-break space counts as indentation', '[pytest]\n\u00a0x = 1\n', 2, 'unexpected value continuation'],
    ['line without = or :', '[pytest]\nxyz\n', 2, "unexpected line: 'xyz'"],
    ['unexpected line holding a quote', "[pytest]\nit's\n", 2, 'unexpected line: "it\'s"'],
    ['a BOM is not stripped (Python reads utf-8, not utf-8-sig)', '\ufeff[pytest]\n', 1, "unexpected line: '\\ufeff[pytest]'"],
    ['empty section name', '[]\n', 1, 'empty section name'],
    ['shape errors come before structure errors, even later in the file', 'a=1\n[pytest]\nbad line\n', 3, "unexpected line: 'bad line'"],
  ];
  for (const [name, text, line, detail] of cases) {
    it(name, () => {
      assert.throws(() => parseIni(text, 'conf/memory.ini'), (error: unknown) => {
        assert.ok(error instanceof IniError);
        assert.equal(error.message, `conf/memory.ini:${line}: ${detail}`);
        assert.equal(error.line, line);
        assert.equal(error.detail, detail);
        assert.equal(error.path, 'conf/memory.ini');
        return true;
      });
    });
  }
});

describe('Python string helpers', () => {
  const reprs: Array<[string, string]> = [
    ['abc', "'abc'"], ["it's", '"it\'s"'], ['say "hi"', '\'say "hi"\''], ['both \' and "', "'both \\' and \"'"],
    ['a\\b', "'a\\\\b'"], ['\t\n\r', "'\\t\\n\\r'"], ['\x00\x7f', "'\\x00\\x7f'"], ['\u00a0', "'\\xa0'"],
    ['\ufeff', "'\\ufeff'"], ['é中😀', "'é中😀'"], ['\u{e0001}', "'\\U000e0001'"], ['', "''"], [' ', "' '"],
  ];
  for (const [input, expected] of reprs) {
    it(`pyRepr(${JSON.stringify(input)}) is ${expected}`, () => assert.equal(pyRepr(input), expected));
  }

  const splits: Array<[string, string[]]> = [
    ['a\nb\n', ['a', 'b']], ['a\r\nb', ['a', 'b']], ['a\rb', ['a', 'b']], ['a\n\nb', ['a', '', 'b']],
    ['a\x0cb\x1cc\x85d\u2028e', ['a', 'b', 'c', 'd', 'e']], ['', []], ['\n', ['']],
  ];
  for (const [input, expected] of splits) {
    it(`splitPythonLines(${JSON.stringify(input)})`, () => assert.deepEqual(splitPythonLines(input), expected));
  }
});

describe('shlexSplit matches shlex.split', () => {
  const cases: Array<[string, string[] | string]> = [
    ['a b', ['a', 'b']], ['a"b c"d', ['ab cd']], ["'a\\b'", ['a\\b']], ['"a\\"b"', ['a"b']], ['"a\\$b"', ['a\\$b']],
    ['a\\ b', ['a b']], ['""', ['']], ["''", ['']], ['x#y', ['x#y']], ['a\\\nb', ['a\nb']], ['\t a\r\nb ', ['a', 'b']],
    ['\u00a0a', ['\u00a0a']], ['"\\\\"', ['\\']], ["a'\"'b", ['a"b']],
    ['-v --tb=short --strict-markers --disable-warnings -p no:cacheprovider',
      ['-v', '--tb=short', '--strict-markers', '--disable-warnings', '-p', 'no:cacheprovider']],
    ['-m "not slow"', ['-m', 'not slow']],
    ['a\\', 'No escaped character'], ['"a\\', 'No escaped character'], ['"abc', 'No closing quotation'],
    ['"a\\"', 'No closing quotation'], ["'abc", 'No closing quotation'],
  ];
  for (const [input, expected] of cases) {
    it(JSON.stringify(input), () => {
      if (typeof expected === 'string') {
        assert.throws(() => shlexSplit(input), (error: unknown) => error instanceof ShlexError && error.message === expected);
      } else assert.deepEqual(shlexSplit(input), expected);
    });
  }
});

describe('Python int() and float()', () => {
  const ints: Array<[string, number | undefined]> = [
    ['3', 3], ['+3', 3], ['-1', -1], ['-0', 0], [' 7 ', 7], ['007', 7], ['1_0', 10], ['３', 3], ['١٢', 12],
    ['', undefined], ['3.0', undefined], ['0x3', undefined], ['1__0', undefined], ['_1', undefined], ['1_', undefined],
    ['abc', undefined], ['+', undefined], ['1e3', undefined],
  ];
  for (const [input, expected] of ints) {
    it(`int(${JSON.stringify(input)}) -> ${expected}`, () => assert.equal(parsePythonInt(input), expected));
  }
  const floats: Array<[string, number | undefined]> = [
    ['1', 1], ['1.5', 1.5], ['.5', 0.5], ['5.', 5], ['1e3', 1000], ['1.e3', 1000], ['-2.5E-1', -0.25], [' 7200 ', 7200],
    ['1_000.5', 1000.5], ['inf', Infinity], ['-Infinity', -Infinity], ['+inf', Infinity],
    ['.', undefined], ['e5', undefined], ['1_.5', undefined], ['7200  # 2 hours', undefined], ['0x10', undefined],
    ['', undefined], ['infinit', undefined],
  ];
  for (const [input, expected] of floats) {
    it(`float(${JSON.stringify(input)}) -> ${expected}`, () => assert.equal(parsePythonFloat(input), expected));
  }
  it('float("nan") is NaN', () => assert.ok(Number.isNaN(parsePythonFloat('NaN'))));
});
