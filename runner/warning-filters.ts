// Python's warning filters, `action:message:category:module:lineno`, as pytest applies them from the `filterwarnings`
// ini option and then `-W` (so a command-line filter overrides the ini): the last filter that matches decides.
// pytest-ts issues only pytest's own warning categories, so the category tree is pytest's; a category it does not
// know (`sqlalchemy.exc.SAWarning`) is accepted and simply matches nothing pytest-ts issues.

import { UsageError } from './exit-codes.js';
import { pyRepr } from './ini.js';

export type WarningAction = 'ignore' | 'error' | 'show';

/** Each category pytest-ts issues, with its base classes (Python's MRO below object). */
const CATEGORY_BASES: Record<string, readonly string[]> = {
  PytestUnknownMarkWarning: ['PytestUnknownMarkWarning', 'PytestWarning', 'UserWarning', 'Warning'],
  PytestConfigWarning: ['PytestConfigWarning', 'PytestWarning', 'UserWarning', 'Warning'],
  PytestCollectionWarning: ['PytestCollectionWarning', 'PytestWarning', 'UserWarning', 'Warning'],
};

/** Python's built-in warning classes: a filter may name them without a module. */
const BUILTIN_CATEGORIES = new Set([
  'Warning', 'UserWarning', 'DeprecationWarning', 'PendingDeprecationWarning', 'SyntaxWarning', 'RuntimeWarning',
  'FutureWarning', 'ImportWarning', 'UnicodeWarning', 'BytesWarning', 'ResourceWarning', 'EncodingWarning',
]);

/** Python's warnings._getaction: an action may be abbreviated (`i` is ignore). */
const ACTIONS = ['default', 'always', 'all', 'ignore', 'module', 'once', 'error'] as const;

interface WarningFilter {
  action: (typeof ACTIONS)[number];
  message: RegExp | undefined;
  /** The class name the filter names (`PytestWarning`), or undefined for any warning. */
  category: string | undefined;
  module: RegExp | undefined;
}

/** A filter's category as a class name pytest-ts can compare: `pytest.PytestWarning` and `_pytest.warning_types.X` are X. */
function categoryName(text: string, spec: string): string | undefined {
  if (!text) return undefined;
  const pytestClass = /^(?:pytest|_pytest\.warning_types)\.(Pytest\w*)$/.exec(text);
  if (pytestClass) return pytestClass[1];
  if (!text.includes('.') && !BUILTIN_CATEGORIES.has(text)) throw filterError(spec, `unknown warning category: ${pyRepr(text)}`);
  return text;
}

function filterError(spec: string, why: string): UsageError {
  return new UsageError(`while parsing the following warning configuration: ${spec}: ${why}`);
}

/** Python's re.compile(pattern, re.I), matched at the start; a pattern JavaScript cannot read is taken literally. */
function startRegex(pattern: string, flags: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})`, flags);
  } catch {
    return new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, flags);
  }
}

function parseFilter(spec: string): WarningFilter {
  const parts = spec.split(':');
  if (parts.length > 5) throw filterError(spec, `too many fields (max 5): ${pyRepr(spec)}`);
  while (parts.length < 5) parts.push('');
  const [actionText, message, category, module, lineno] = parts.map((p) => p.trim()) as [string, string, string, string, string];
  const action = actionText === '' ? 'default' : ACTIONS.find((a) => a.startsWith(actionText));
  if (!action) throw filterError(spec, `invalid action: ${pyRepr(actionText)}`);
  if (lineno && !/^\d+$/.test(lineno)) throw filterError(spec, `invalid lineno ${pyRepr(lineno)}`);
  return {
    action,
    message: message ? startRegex(message, 'i') : undefined,
    category: categoryName(category, spec),
    module: module ? startRegex(`${module}$`, '') : undefined,
  };
}

export class WarningFilters {
  private readonly filters: WarningFilter[];

  /** `ini`: the filterwarnings lines; `cmdline`: the -W values, which take precedence. Bad specs are usage errors. */
  constructor(ini: readonly string[], cmdline: readonly string[]) {
    this.filters = [...ini, ...cmdline].map(parseFilter).reverse();
  }

  actionFor(category: string, message: string, module?: string): WarningAction {
    const bases = CATEGORY_BASES[category] ?? [category, 'Warning'];
    for (const f of this.filters) {
      if (f.category !== undefined && !bases.includes(f.category)) continue;
      if (f.message && !f.message.test(message)) continue;
      if (f.module && (module === undefined || !f.module.test(module))) continue;
      return f.action === 'ignore' ? 'ignore' : f.action === 'error' ? 'error' : 'show';
    }
    return 'show';
  }
}
