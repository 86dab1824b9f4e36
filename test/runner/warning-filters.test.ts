// Python's warning filter specs as pytest reads them from filterwarnings and -W: parsing, matching by category (and
// base class), message (a case-insensitive regex from the start) and module, and the last matching filter winning.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../../runner/exit-codes.js';
import { WarningFilters } from '../../runner/warning-filters.js';

const MARK = 'Unknown pytest.mark.foo - is this a typo?';

test('category, base class, message and module decide; no filter means show', () => {
  const table: Array<[string[], string[], string, string | undefined, 'ignore' | 'error' | 'show']> = [
    [[], [], 'PytestUnknownMarkWarning', undefined, 'show'],
    [['ignore::pytest.PytestUnknownMarkWarning'], [], 'PytestUnknownMarkWarning', undefined, 'ignore'],
    [['ignore::_pytest.warning_types.PytestWarning'], [], 'PytestUnknownMarkWarning', undefined, 'ignore'],
    [['ignore::UserWarning'], [], 'PytestConfigWarning', undefined, 'ignore'],
    [['ignore::DeprecationWarning'], [], 'PytestUnknownMarkWarning', undefined, 'show'],
    [['ignore::pytest.PytestConfigWarning'], [], 'PytestUnknownMarkWarning', undefined, 'show'],
    [['ignore:unknown PYTEST.mark'], [], 'PytestUnknownMarkWarning', undefined, 'ignore'],
    [['ignore:pytest.mark'], [], 'PytestUnknownMarkWarning', undefined, 'show'], // matched from the start only
    [['error'], [], 'PytestUnknownMarkWarning', undefined, 'error'],
    [['e'], [], 'PytestUnknownMarkWarning', undefined, 'error'], // actions may be abbreviated
    [['ignore:::test_w'], [], 'PytestUnknownMarkWarning', 'test_w', 'ignore'],
    [['ignore:::test_w'], [], 'PytestUnknownMarkWarning', 'test_wx', 'show'],
    [['ignore:::test_w'], [], 'PytestUnknownMarkWarning', undefined, 'show'],
    [['ignore'], ['default'], 'PytestUnknownMarkWarning', undefined, 'show'], // -W comes after the ini and wins
    [['error', 'ignore:Unknown pytest.mark.f'], [], 'PytestUnknownMarkWarning', undefined, 'ignore'], // the last match wins
    [['ignore::sqlalchemy.exc.SAWarning'], [], 'PytestUnknownMarkWarning', undefined, 'show'], // unknown to us: matches nothing
  ];
  for (const [ini, cmdline, category, module, expected] of table) {
    assert.equal(new WarningFilters(ini, cmdline).actionFor(category, MARK, module), expected, JSON.stringify([ini, cmdline, module]));
  }
});

test('specs pytest rejects are usage errors naming the spec', () => {
  const table: Array<[string, RegExp]> = [
    ['nonsense', /nonsense: invalid action: 'nonsense'$/],
    ['ignore::NoSuchWarning', /unknown warning category: 'NoSuchWarning'$/],
    ['ignore:a:Warning:m:x', /invalid lineno 'x'$/],
    ['a:b:c:d:e:f', /too many fields \(max 5\)/],
  ];
  for (const [spec, message] of table) {
    assert.throws(() => new WarningFilters([], [spec]), (e: unknown) => e instanceof UsageError && message.test(e.message) && e.message.startsWith('while parsing the following warning configuration: '), spec);
  }
});
