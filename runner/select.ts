// Selection after collection, in pytest's order: --deselect (a node-id prefix), then -k, then -m.

import { UsageError } from './exit-codes.js';
import { KeywordCallError, keywordMatcher, markMatcher, type Expression } from './expression.js';
import type { Item } from './nodes.js';

export interface Selection {
  deselect: readonly string[];
  keyword: Expression | null;
  /** A function when compiling it must wait until -k has been evaluated (pytest's error order). */
  markexpr: Expression | null | (() => Expression | null);
}

export interface SelectResult {
  selected: Item[];
  deselected: Item[];
}

/** --deselect, then -k over what is left, then -m over what is left after that: pytest's three passes. */
export function selectItems(items: readonly Item[], { deselect, keyword, markexpr }: Selection): SelectResult {
  const deselected: Item[] = [];
  const keep = (pass: (item: Item) => boolean) => (list: readonly Item[]) => {
    const kept: Item[] = [];
    for (const item of list) (pass(item) ? kept : deselected).push(item);
    return kept;
  };
  // A plain string prefix, no normalisation, no `::` boundary: exactly what pytest does.
  let selected = keep((item) => !deselect.some((prefix) => item.nodeid.startsWith(prefix)))(items);
  if (keyword) selected = keep((item) => matchesKeyword(keyword, item))(selected);
  const marks = typeof markexpr === 'function' ? markexpr() : markexpr;
  if (marks) selected = keep((item) => marks.evaluate(markMatcher(item.marks)))(selected);
  return { selected, deselected };
}

function matchesKeyword(keyword: Expression, item: Item): boolean {
  try {
    return keyword.evaluate(keywordMatcher(item.keywords));
  } catch (error) {
    if (error instanceof KeywordCallError) throw new UsageError(error.message);
    throw error;
  }
}
