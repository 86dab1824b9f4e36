// What a test function asks for, read from its source: the names it destructures (fixtures and parameters), and
// whether that list is exact enough to say "function uses no argument 'x'" as pytest does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exactArgumentNames, parseRequestedNames } from '../../runner/signature.js';

/* eslint-disable @typescript-eslint/no-unused-vars */
class Sample {
  none() {}
  pattern({ a, b: renamed, c = 1 }: { a: number; b: number; c?: number }) {}
  quoted({ 'x-y': z, w }: Record<string, number>) {}
  withRest({ a, ...others }: Record<string, number>) {}
  plain(args: { a: number }) {}
  computed({ ['a']: value }: Record<string, number>) {}
  commented(/* fixtures */ { tmpPath /* dir */, request }: Record<string, unknown>) {}
  async asyncPattern({ device }: { device: unknown }) {}
}
const sample = Sample.prototype;

test('requested names: the keys of the first object pattern, or none', () => {
  const table: Array<[Function, string[]]> = [
    [sample.none, []],
    [sample.pattern, ['a', 'b', 'c']],
    [sample.quoted, ['x-y', 'w']],
    [sample.withRest, ['a']],
    [sample.plain, []],
    [sample.commented, ['tmpPath', 'request']],
    [sample.asyncPattern, ['device']],
    [({ n }: { n: number }) => n, ['n']],
    [function named({ q }: { q: number }) { return q; }, ['q']],
  ];
  for (const [fn, names] of table) assert.deepEqual(parseRequestedNames(Function.prototype.toString.call(fn)), names, fn.toString());
});

test('exact argument names: undefined whenever the function could receive any name', () => {
  const table: Array<[Function, string[] | undefined]> = [
    [sample.none, []],
    [sample.pattern, ['a', 'b', 'c']],
    [sample.quoted, ['x-y', 'w']],
    [sample.withRest, undefined],
    [sample.plain, undefined],
    [sample.computed, undefined],
    [sample.commented, ['tmpPath', 'request']],
    [(x: unknown) => x, undefined],
    [() => 1, []],
  ];
  for (const [fn, names] of table) assert.deepEqual(exactArgumentNames(fn), names, fn.toString());
});
