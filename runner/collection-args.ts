// Positional arguments as pytest 9 reads them: `path::Class::test[param]` -> a checked path, the name parts and the
// parametrization; overlapping arguments folded together; and the walk down the collection tree that turns the
// name parts into nodes or into pytest's "not found" message (main.py: resolve_collection_argument,
// normalize_collection_arguments, Session.collect).

import { existsSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { UsageError } from './exit-codes.js';
import type { Item } from './nodes.js';

export interface CollectionArgument {
  /** The argument as the user wrote it, for messages. */
  readonly arg: string;
  /** Absolute, normalised path. */
  readonly path: string;
  /** Names after the path (`Class`, `test`); an empty string for a trailing `::`. */
  readonly parts: readonly string[];
  /** Everything from the first `[` on (`[1MB]`), which only the last name part may carry. */
  readonly parametrization: string | undefined;
  readonly index: number;
}

/**
 * Split and check one argument, in pytest's order: `[` before any `::` is an error, then the path must exist, then
 * a directory may not carry names. Each problem is a UsageError with pytest's wording.
 */
export function resolveCollectionArgument(arg: string, base: string, index: number): CollectionArgument {
  const bracket = arg.indexOf('[');
  const beforeBracket = bracket < 0 ? arg : arg.slice(0, bracket);
  const parametrization = bracket < 0 ? undefined : arg.slice(bracket);
  const [pathPart, ...parts] = beforeBracket.split('::');
  if (parametrization !== undefined && parts.length === 0) throw new UsageError(`path cannot contain [] parametrization: ${arg}`);
  const path = resolve(base, pathPart!);
  if (!existsSync(path)) throw new UsageError(`file or directory not found: ${arg}`);
  if (parts.length > 0 && statSync(path).isDirectory()) throw new UsageError(`directory argument cannot contain :: selection parts: ${arg}`);
  return { arg, path, parts, parametrization, index };
}

/** Python's str ordering (by code point), which differs from JavaScript's UTF-16 order above U+FFFF. */
function compareText(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function compareLists(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = compareText(a[i]!, b[i]!);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

const pathSegments = (path: string) => path.split(sep).filter((s, i) => s !== '' || i === 0);

function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** pytest's is_collection_argument_subsumed_by: `by` already collects everything `arg` names. */
function subsumedBy(arg: CollectionArgument, by: CollectionArgument): boolean {
  if (by.path !== arg.path) return by.parts.length === 0 && isWithin(arg.path, by.path);
  if (by.parts.length > arg.parts.length || by.parts.some((p, i) => arg.parts[i] !== p)) return false;
  return by.parametrization === undefined || by.parametrization === arg.parametrization;
}

/**
 * Drop arguments that another one already covers (a file inside a directory given too, a test inside a class given
 * too, a duplicate), keeping the rest in argument order. Sorted first, as pytest does, so that an argument directly
 * follows the one that covers it.
 */
export function normalizeCollectionArguments(args: readonly CollectionArgument[]): CollectionArgument[] {
  const sorted = [...args].sort(
    (a, b) => compareLists(pathSegments(a.path), pathSegments(b.path)) || compareLists(a.parts, b.parts) || compareText(a.parametrization ?? '', b.parametrization ?? ''),
  );
  const kept: CollectionArgument[] = [];
  let last: CollectionArgument | undefined;
  for (const arg of sorted) {
    if (last === undefined || !subsumedBy(arg, last)) {
      kept.push(arg);
      last = arg;
    }
  }
  return kept.sort((a, b) => a.index - b.index);
}

/** A node of the collection tree as the node-id walk sees it: a collector has children, an item has none. */
export interface TreeNode {
  readonly name: string;
  /** How pytest prints the node in "no match in any of [...]": `<Module test_x.ts>`, `<Class TestX>`. */
  readonly repr: string;
  readonly children?: readonly TreeNode[];
  /** The test items at or below this node, in collection order. */
  readonly items: readonly Item[];
}

export interface NodeIdMatch {
  /** The nodes the names selected, in collection order. */
  readonly matched: readonly TreeNode[];
  /** Collectors where a name matched no child: the `(no match in any of [...])` list. */
  readonly missedIn: readonly TreeNode[];
}

/**
 * A module as a tree for node-id lookup: its classes (also those that yield no tests, such as a harness class with
 * `static __test__ = false`, which a node id can still name) and module-level functions, then their items.
 * `classNames` are the module's exported classes that match python_classes.
 */
export function moduleTree(fileName: string, items: readonly Item[], classNames: readonly string[]): TreeNode {
  const itemNode = (item: Item): TreeNode => ({ name: item.name, repr: `<Function ${item.name}>`, items: [item] });
  const children: TreeNode[] = [];
  const classItems = new Map<string, Item[]>();
  for (const item of items) {
    if (!item.cls) {
      children.push(itemNode(item));
      continue;
    }
    let members = classItems.get(item.cls.name);
    if (!members) {
      const list: Item[] = [];
      members = list;
      classItems.set(item.cls.name, list);
      children.push({
        name: item.cls.name,
        repr: `<Class ${item.cls.name}>`,
        get children() {
          return list.map(itemNode);
        },
        items: list,
      });
    }
    members.push(item);
  }
  for (const name of classNames) if (!classItems.has(name)) children.push({ name, repr: `<Class ${name}>`, children: [], items: [] });
  return { name: fileName, repr: `<Module ${fileName}>`, children, items };
}

/**
 * Walk from `root` down the name parts. The last part matches a node's name without its `[param]` suffix, or,
 * when the argument has a parametrization, the name with exactly that suffix; earlier parts match whole names. An
 * item reached with parts left over is dropped silently (pytest: "found no collectors" when nothing else matched).
 */
export function matchNodeId(root: TreeNode, parts: readonly string[], parametrization: string | undefined): NodeIdMatch {
  const matched: TreeNode[] = [];
  const missedIn: TreeNode[] = [];
  const visit = (node: TreeNode, rest: readonly string[]): void => {
    if (rest.length === 0) {
      matched.push(node);
      return;
    }
    if (!node.children) return;
    const [wanted, ...deeper] = rest;
    const last = deeper.length === 0;
    let any = false;
    for (const child of node.children) {
      const isMatch = !last
        ? child.name === wanted
        : parametrization !== undefined
          ? child.name === wanted + parametrization
          : child.name.split('[')[0] === wanted;
      if (isMatch) {
        any = true;
        visit(child, deeper);
      }
    }
    if (!any) missedIn.push(node);
  };
  visit(root, parts);
  return { matched, missedIn };
}

/** pytest's message for a node id that selected nothing. */
export function notFoundMessage(arg: CollectionArgument, missedIn: readonly TreeNode[]): string {
  const shown = [arg.path, ...arg.parts].join('::');
  return missedIn.length > 0 ? `not found: ${shown}\n(no match in any of [${missedIn.map((n) => n.repr).join(', ')}])` : `found no collectors for ${shown}`;
}

/** Node-id problems of a whole invocation; `collected` is what pytest still counts in "N tests collected". */
export class NodeIdNotFound extends UsageError {
  constructor(
    messages: readonly string[],
    readonly collected: number,
  ) {
    super(messages.join('\n\nERROR: '));
  }
}
