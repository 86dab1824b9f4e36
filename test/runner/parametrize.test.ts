// Parametrize ids as pytest makes them: values printed as Python prints them, repeated ids made unique with a
// counter (after '_' only when the id ends in a digit, skipping counters that collide), and '' kept as `[]`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mark } from '../../runner/index.js';
import { ownMarks } from '../../runner/marks.js';
import { expandParametrize, pythonNumber } from '../../runner/parametrize.js';

function ids(decorate: (fn: () => void) => unknown): Array<string | undefined> {
  const fn = () => {};
  decorate(fn);
  return expandParametrize(ownMarks(fn)).map((spec) => spec.id);
}

test('numbers print as Python str() prints them', () => {
  const table: Array<[number, string]> = [
    [1, '1'], [-2, '-2'], [1.5, '1.5'], [0.1, '0.1'], [1e20, '1e+20'], [1e16, '1e+16'], [1e-7, '1e-07'], [0.00001, '1e-05'],
    [0.0001, '0.0001'], [123456.789, '123456.789'], [Infinity, 'inf'], [-Infinity, '-inf'], [NaN, 'nan'], [2 ** 53, '9007199254740992.0'],
  ];
  for (const [value, expected] of table) assert.equal(pythonNumber(value), expected, String(value));
});

test('repeated ids get a counter; an empty id stays; no parametrize means no id', () => {
  assert.deepEqual(ids((fn) => mark.parametrize('a', [1, 2, 3], { ids: ['one', 'one', 'one0'] })(fn)), ['one1', 'one2', 'one0']);
  assert.deepEqual(ids((fn) => mark.parametrize('a', [1, 2], { ids: ['v1', 'v1'] })(fn)), ['v1_0', 'v1_1']);
  assert.deepEqual(ids((fn) => mark.parametrize('a, b', [[1, 'x'], [2, 'y'], [1, 'x']])(fn)), ['1-x0', '2-y', '1-x1']);
  assert.deepEqual(ids((fn) => mark.parametrize('s', ['', 'a'])(fn)), ['', 'a']);
  assert.deepEqual(ids(() => undefined), [undefined]);
});
