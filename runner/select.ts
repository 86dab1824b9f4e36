// Selection after collection, in pytest's order: --deselect (a node-id prefix), then -k, then -m.

import { UsageError } from './exit-codes.js';
import { KeywordCallError, keywordMatcher, markMatcher, type Expression } from './expression.js';
import type { Item } from './nodes.js';

export interface Selection {
  deselect: readonly string[];
  keyword: Expression | null;
  markexpr: Expression | null;
}

export interface SelectResult {
  selected: Item[];
  deselected: Item[];
}

export function selectItems(items: readonly Item[], selection: Selection): SelectResult {
  const selected: Item[] = [];
  const deselected: Item[] = [];
  for (const item of items) {
    if (isSelected(item, selection)) selected.push(item);
    else deselected.push(item);
  }
  return { selected, deselected };
}

function isSelected(item: Item, { deselect, keyword, markexpr }: Selection): boolean {
  // A plain string prefix, no normalisation, no `::` boundary: exactly what pytest does.
  for (const prefix of deselect) if (item.nodeid.startsWith(prefix)) return false;
  if (keyword) {
    try {
      if (!keyword.evaluate(keywordMatcher(item.keywords))) return false;
    } catch (error) {
      if (error instanceof KeywordCallError) throw new UsageError(error.message);
      throw error;
    }
  }
  if (markexpr && !markexpr.evaluate(markMatcher(item.marks))) return false;
  return true;
}
