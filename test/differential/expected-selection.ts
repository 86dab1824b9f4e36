// What pytest 9 selects for a -k / -m case, computed from the mirror suite's data with expression.ts alone: the
// expectation both differential tests hold each runner to (keyword deselection runs first, then -m).

import {
  compileKeywordOption, compileMarkOption, ExpressionError, formatExpressionError, KeywordCallError, keywordMatcher, markMatcher,
} from '../../runner/expression.js';
import type { ExpressionCase } from './expression-cases.js';
import type { MirrorItem } from './mirror-suite.js';

export interface Outcome {
  readonly exit: number;
  readonly ids: readonly string[];
  readonly stderr: string;
}

/** What pytest does with -k then -m (keyword deselection runs first), computed with expression.ts alone. */
export function expressionOutcome(c: ExpressionCase, items: readonly MirrorItem[]): Outcome {
  let option: '-k' | '-m' = '-k';
  try {
    let remaining = items;
    if (c.k !== undefined) {
      const expression = compileKeywordOption(c.k);
      if (expression) remaining = remaining.filter((item) => expression.evaluate(keywordMatcher(item.keywordNames)));
    }
    option = '-m';
    if (c.m !== undefined) {
      const expression = compileMarkOption(c.m);
      if (expression) remaining = remaining.filter((item) => expression.evaluate(markMatcher(item.marks)));
    }
    return { exit: remaining.length > 0 ? 0 : 5, ids: remaining.map((item) => item.nodeid), stderr: '' };
  } catch (err) {
    // pytest writes `ERROR: <message>` plus a blank line.
    if (err instanceof ExpressionError) return { exit: 4, ids: [], stderr: `ERROR: ${formatExpressionError(option, err)}\n\n` };
    if (err instanceof KeywordCallError) return { exit: 4, ids: [], stderr: `ERROR: ${err.message}\n\n` };
    throw err;
  }
}
