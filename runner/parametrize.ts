// @mark.parametrize: one test becomes one item per parameter set, with pytest's ids.
//
//   @mark.parametrize('size', [1, 50, 500], { ids: ['1MB', '50MB', '500MB'] })
//   @mark.parametrize('a, b', [[1, 2], [3, 4]])
//   @mark.parametrize('x', [param(1, { id: 'one', marks: [mark.slow] })])
//
// Stacked decorators multiply: the decorator closest to the method names the first part of the id, and the
// outermost one varies fastest (what pytest 9 does).

import type { Mark } from './marks.js';
import { isMarkDecorator } from './marks.js';

const PARAM: unique symbol = Symbol.for('pytest-ts.param') as never;

export interface ParameterSet {
  readonly [PARAM]: true;
  readonly values: readonly unknown[];
  readonly id?: string;
  readonly marks: readonly Mark[];
}

/** pytest.param: one parameter set with its own id or marks. */
export function param(...args: unknown[]): ParameterSet {
  const last = args[args.length - 1];
  const hasOptions =
    args.length > 0 && typeof last === 'object' && last !== null && !Array.isArray(last) && Object.getPrototypeOf(last) === Object.prototype && ('id' in last || 'marks' in last);
  const options = (hasOptions ? last : {}) as { id?: string; marks?: unknown };
  const values = hasOptions ? args.slice(0, -1) : args;
  const markList = Array.isArray(options.marks) ? options.marks : options.marks === undefined ? [] : [options.marks];
  return { [PARAM]: true, values, id: options.id, marks: markList.map((m) => (isMarkDecorator(m) ? m.mark : (m as Mark))) };
}

function isParameterSet(value: unknown): value is ParameterSet {
  return typeof value === 'object' && value !== null && (value as ParameterSet)[PARAM] === true;
}

export interface CallSpec {
  /** Argument name -> value, merged over all parametrize marks. */
  params: Record<string, unknown>;
  /** The id inside the brackets: `1MB`, `a-1`, or '' (`test_x[]`); undefined when the test is not parametrized. */
  id: string | undefined;
  marks: Mark[];
}

/** A bad parametrization: a collection error shown as its message alone, as pytest's fail(..., pytrace=False). */
export class ParametrizeError extends Error {
  readonly pytrace = false;
}

function splitNames(argnames: unknown): string[] {
  if (Array.isArray(argnames)) return argnames.map(String);
  if (typeof argnames === 'string') return argnames.split(',').map((s) => s.trim()).filter(Boolean);
  throw new ParametrizeError(`parametrize: argnames must be a string or a list of strings, got ${typeof argnames}`);
}

/** pytest's automatic id for one value (`_idval`): scalars print, everything else is argname + index. */
function autoId(value: unknown, argname: string, index: number): string {
  if (typeof value === 'string') return asciiEscaped(value);
  if (typeof value === 'number') return pythonNumber(value);
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null || value === undefined) return 'None';
  if (value instanceof RegExp) return asciiEscaped(value.source);
  if (typeof value === 'function' && value.name) return value.name;
  return `${argname}${index}`;
}

/**
 * A number as Python's str() shows it in an id: integers as integers; other values as Python floats, with an
 * exponent below 1e-4 and from 1e16 on (`1e-05`, `1e+20`), and `inf`, `-inf`, `nan`.
 */
export function pythonNumber(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (Number.isSafeInteger(value)) return String(value);
  const [mantissa, exp] = value.toExponential().split('e') as [string, string];
  const exponent = Number(exp);
  if (exponent < -4 || exponent >= 16) return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  const fixed = String(value);
  return fixed.includes('.') ? fixed : `${fixed}.0`;
}

/** pytest escapes ids to ASCII (`é` -> `\xe9`, `中` -> `\u4e2d`, control characters as `\x1b`, `\t`, `\n`). */
export function asciiEscaped(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (code < 0x20 || (code >= 0x7f && code <= 0xff)) out += '\\x' + code.toString(16).padStart(2, '0');
    else if (code > 0xff && code <= 0xffff) out += '\\u' + code.toString(16).padStart(4, '0');
    else if (code > 0xffff) out += '\\U' + code.toString(16).padStart(8, '0');
    else out += ch;
  }
  return out;
}

interface OneMarkSets {
  names: string[];
  sets: Array<{ values: unknown[]; id: string; marks: Mark[] }>;
}

function expandOne(m: Mark): OneMarkSets {
  const [argnames, argvalues] = m.args;
  const names = splitNames(argnames);
  if (!Array.isArray(argvalues)) throw new ParametrizeError(`parametrize('${names.join(',')}'): argvalues must be a list`);
  const ids = m.kwargs.ids;
  const sets = argvalues.map((raw, index) => {
    const ps = isParameterSet(raw) ? raw : undefined;
    const values = ps ? [...ps.values] : names.length === 1 ? [raw] : Array.isArray(raw) ? [...raw] : [raw];
    if (values.length !== names.length) {
      throw new ParametrizeError(
        `parametrize('${names.join(',')}'): wrong number of values at index ${index}: expected ${names.length}, got ${values.length}`,
      );
    }
    let id: string | undefined = ps?.id;
    if (id === undefined && Array.isArray(ids) && ids[index] !== undefined && ids[index] !== null) id = String(ids[index]);
    if (id === undefined && typeof ids === 'function') {
      const parts = values.map((v, i) => {
        const given = (ids as (v: unknown) => unknown)(v);
        return given === undefined || given === null ? autoId(v, names[i]!, index) : String(given);
      });
      id = parts.join('-');
    }
    id ??= values.map((v, i) => autoId(v, names[i]!, index)).join('-');
    return { values, id, marks: [...(ps?.marks ?? [])] };
  });
  if (Array.isArray(ids) && ids.length !== argvalues.length) {
    throw new ParametrizeError(`parametrize('${names.join(',')}'): ${ids.length} ids for ${argvalues.length} parameter sets`);
  }
  // pytest's make_unique_parameterset_ids: a repeated id gets a counter, after a '_' when it ends in a digit, skipping
  // counters that would collide with another id.
  const counts = new Map<string, number>();
  for (const s of sets) counts.set(s.id, (counts.get(s.id) ?? 0) + 1);
  const taken = new Set(sets.map((s) => s.id));
  const next = new Map<string, number>();
  for (const s of sets) {
    if ((counts.get(s.id) ?? 0) <= 1) continue;
    const base = s.id;
    const suffix = /\d$/.test(base) ? '_' : '';
    let n = next.get(base) ?? 0;
    while (taken.has(`${base}${suffix}${n}`)) n++;
    s.id = `${base}${suffix}${n}`;
    taken.add(s.id);
    next.set(base, n + 1);
  }
  return { names, sets };
}

/**
 * The call specs of a test from its parametrize marks (closest first, as stored). No parametrize marks: one empty
 * spec without an id. An empty argvalues list gives no items (pytest would make one skipped item; we report it as a
 * collection error instead via the caller, which is clearer).
 */
export function expandParametrize(marks: readonly Mark[]): CallSpec[] {
  const parametrize = marks.filter((m) => m.name === 'parametrize');
  let specs: CallSpec[] = [{ params: {}, id: undefined, marks: [] }];
  for (const m of parametrize) {
    const { names, sets } = expandOne(m);
    const next: CallSpec[] = [];
    // Sets of the mark further out vary faster, so they are the inner loop.
    for (const spec of specs) {
      for (const set of sets) {
        const params = { ...spec.params };
        names.forEach((name, i) => {
          if (name in params) throw new ParametrizeError(`parametrize: duplicate argument name '${name}'`);
          params[name] = set.values[i];
        });
        next.push({ params, id: spec.id === undefined ? set.id : `${spec.id}-${set.id}`, marks: [...spec.marks, ...set.marks] });
      }
    }
    specs = next;
  }
  return specs;
}
