// pytest's PytestUnknownMarkWarning: without --strict-markers, each use of a mark that is neither registered nor
// built in is a warning at the decorator's line ("Unknown pytest.mark.foo - is this a typo?"), in source order, as
// Python evaluates the decorators. The text is pytest's own, so filters written for pytest match it.

import { unregisteredMark } from './markers.js';
import { ownMarks, type Mark } from './marks.js';
import type { Item, ModuleNode } from './nodes.js';

export interface UnknownMarkUse {
  module: ModuleNode;
  name: string;
  /** 1-based line of the decorator (or of `pytestmark`). */
  line: number;
}

export function unknownMarkMessage(name: string): string {
  return `Unknown pytest.mark.${name} - is this a typo?  You can register custom marks to avoid this warning - for details, see https://docs.pytest.org/en/stable/how-to/mark.html`;
}

/** The line of `mark.name` / `mark['name']` at or after `from` (0-based), within the decorators above a declaration. */
function decoratorLine(lines: readonly string[], from: number, name: string): number {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`\\bmark\\s*(?:\\.\\s*${escaped}\\b|\\[\\s*(['"\`])${escaped}\\1\\s*\\])`);
  for (let i = from; i < Math.min(lines.length, from + 50); i++) if (pattern.test(lines[i]!)) return i + 1;
  return from + 1;
}

/** Every use of an unregistered mark among the items' modules, classes and test functions, by module, in line order. */
export function unknownMarkUses(items: readonly Item[], registered: ReadonlySet<string>): UnknownMarkUse[] {
  const seen = new Set<Mark>();
  const byModule = new Map<ModuleNode, UnknownMarkUse[]>();
  // The decorator's line is looked up only for an unknown mark: on a clean suite this loop is a set lookup per mark.
  const consider = (module: ModuleNode, marks: readonly Mark[], from: () => number | undefined) => {
    for (const mark of marks) {
      if (seen.has(mark) || !unregisteredMark([mark], registered)) continue;
      seen.add(mark);
      let uses = byModule.get(module);
      if (!uses) byModule.set(module, (uses = []));
      uses.push({ module, name: mark.name, line: decoratorLine(module.source.lines, from() ?? 0, mark.name) });
    }
  };
  for (const item of items) {
    const mod = item.module;
    consider(mod, mod.marks, () => mod.source.exportLine('pytestmark'));
    if (item.cls) consider(mod, ownMarks(item.cls.cls), () => mod.source.classLine(item.cls!.name));
    consider(mod, ownMarks(item.fn), () => mod.source.memberLine(item.cls?.name, item.originalName));
  }
  return [...byModule.values()].flatMap((uses) => uses.sort((a, b) => a.line - b.line));
}
