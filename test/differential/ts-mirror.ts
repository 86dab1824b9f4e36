// The TypeScript rendering of a mirror suite (mirror-suite.ts): the same modules, classes, tests and marks as the
// Python mirror, written as a pytest-ts project, so that one list of CLI cases can be put to both runners.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MirrorMark, MirrorSuite, MirrorTest, MirrorValue } from './mirror-suite.js';

/** Absolute path of the runner's public surface: the mirror must import the runner under test. */
export const RUNNER_INDEX = fileURLToPath(new URL('../../runner/index.ts', import.meta.url));

/** A TypeScript literal for a value; JSON is valid TypeScript for every MirrorValue. */
export function tsLiteral(value: MirrorValue): string {
  return JSON.stringify(value);
}

const IDENTIFIER = /^[\p{L}_$][\p{L}\p{N}_$]*$/u;

/** `mark.gpu`, or `mark['gpu-1']` where the name is not an identifier. */
function markAccess(name: string): string {
  return IDENTIFIER.test(name) ? `mark.${name}` : `mark[${JSON.stringify(name)}]`;
}

/**
 * A decorator may only be a dotted name or a call on one unless parenthesised: `@mark['x']` would parse as `@mark`
 * on a computed class member, so a bracketed access is written `@(mark['x'](...))`.
 */
function tsDecorator(m: MirrorMark): string {
  return IDENTIFIER.test(m.name) ? `@${tsMarkExpression(m)}` : `@(${tsMarkExpression(m)})`;
}

/** `@mark.custom('arg', { key: 1 })`: positional arguments, then the kwargs as one trailing plain object. */
function tsMarkExpression(m: MirrorMark): string {
  if (!m.args && !m.kwargs) return markAccess(m.name);
  const args = (m.args ?? []).map(tsLiteral);
  if (m.kwargs) args.push(`{ ${Object.entries(m.kwargs).map(([k, v]) => `${JSON.stringify(k)}: ${tsLiteral(v)}`).join(', ')} }`);
  return `${markAccess(m.name)}(${args.join(', ')})`;
}

function parametrizeMark(fn: MirrorTest): string[] {
  const p = fn.parametrize;
  return p ? [`mark.parametrize(${tsLiteral(p.argname)}, ${tsLiteral(p.values)}, { ids: ${tsLiteral(p.ids)} })`] : [];
}

function tsMethod(fn: MirrorTest): string[] {
  const decorators = [...(fn.marks ?? []).map(tsDecorator), ...parametrizeMark(fn).map((p) => `@${p}`)].map((d) => `  ${d}`);
  const parameter = fn.parametrize ? `{ ${fn.parametrize.argname} }: Record<string, unknown>` : '';
  return [...decorators, `  ${fn.name}(${parameter}) {${fn.parametrize ? ` void ${fn.parametrize.argname};` : ''} }`, ''];
}

/**
 * A module-level test function: function declarations take no decorators in TypeScript, so marks are applied by
 * calling the decorator on the function (`mark.slow(fn)`), innermost first, as Python applies stacked decorators.
 */
function tsFunction(fn: MirrorTest): string[] {
  const marks = [...(fn.marks ?? []).map(tsMarkExpression), ...parametrizeMark(fn)];
  if (marks.length === 0) return [`export function ${fn.name}() {}`, ''];
  const lines = [`export function ${fn.name}() {}`];
  for (const m of [...marks].reverse()) lines.push(`applyMark(${m}, ${fn.name});`);
  lines.push('');
  return lines;
}

/** The files of the TypeScript mirror, path -> content, with a pytest.ini that makes `.ts` files test modules. */
export function tsMirrorFiles(suite: MirrorSuite, runnerIndex = RUNNER_INDEX): Map<string, string> {
  const files = new Map<string, string>();
  files.set(
    'pytest.ini',
    ['[pytest]', 'python_files = test_*.ts', 'python_classes = Test', 'python_functions = test', 'markers =', ...suite.markers.map((m) => `    ${m}: mirror marker`), ''].join('\n'),
  );
  for (const module of suite.modules) {
    const lines = [`import { mark, type MarkDecorator } from ${JSON.stringify(runnerIndex)};`, ''];
    // pytest's MarkDecorator stores the mark on a lone function whatever arguments the mark already carries.
    lines.push(
      '/** Attach a mark to a plain function (a TC39 function decorator does not exist). */',
      'function applyMark(decorator: MarkDecorator, fn: Function): void {',
      "  decorator(fn, { kind: 'method', name: fn.name, addInitializer() {} });",
      '}',
      'void applyMark;',
      '',
    );
    if (module.marks?.length) lines.push(`export const pytestmark = [${module.marks.map(tsMarkExpression).join(', ')}];`, '');
    for (const member of module.members) {
      if (member.kind === 'test') {
        lines.push(...tsFunction(member));
        continue;
      }
      lines.push(...(member.marks ?? []).map(tsDecorator), `export class ${member.name} {`);
      if (member.collected === false) lines.push('  static __test__ = false;', '');
      for (const fn of member.tests) lines.push(...tsMethod(fn));
      lines.push('}', '');
    }
    files.set(`${module.path}.ts`, lines.join('\n'));
  }
  return files;
}

/** Writes the TypeScript mirror of `suite` into a fresh directory; returns its path (the rootdir). */
export function writeTsMirror(suite: MirrorSuite, parent = tmpdir()): string {
  const rootdir = mkdtempSync(join(parent, 'pytest-ts-mirror-'));
  for (const [path, content] of tsMirrorFiles(suite)) {
    mkdirSync(dirname(join(rootdir, path)), { recursive: true });
    writeFileSync(join(rootdir, path), content);
  }
  return rootdir;
}
