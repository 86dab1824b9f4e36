// pytest's --lf at collection time (cacheprovider's LFPluginCollWrapper and LFPluginCollSkipfiles), for the collector:
//
// - every directory's entries, and the arguments themselves, are ordered with last-failed paths first (stable);
// - once a file whose own children (module-level tests, classes) include a last failure has been collected, later
//   files outside the last-failed paths are skipped without being imported, and counted ("skipped N files");
// - in a last-failed file, module-level tests that did not fail are not collected, unless the file was named on the
//   command line; classes are kept whole (their passing tests are deselected later, by the cache provider).
//
// Without --lf only pytest's collect-report step remains: a module (or class) that failed to collect last time and
// collects now is replaced, in the last failures, by what it contains.

import { dirname } from 'node:path';
import type { Item, ModuleNode } from './nodes.js';

/** The paths of the last failures' files and all their parent directories (pytest's _last_failed_paths). */
export function lastFailedPaths(lastfailed: Readonly<Record<string, true>>, rootdir: string, exists: (path: string) => boolean): Set<string> {
  const paths = new Set<string>();
  for (const nodeid of Object.keys(lastfailed)) {
    let path = `${rootdir}/${nodeid.split('::')[0]!}`.replace(/\/+$/, '');
    for (;;) {
      paths.add(path);
      const parent = dirname(path);
      if (parent === path) break;
      path = parent;
    }
  }
  return new Set([...paths].filter(exists));
}

export interface CollectionFilter {
  /** Stable order with last-failed paths first; the identity without --lf. */
  order<T>(entries: readonly T[], pathOf: (entry: T) => string): T[];
  /** Whether to import and collect this test file at all. */
  wantsFile(path: string): boolean;
  /** The module's items that count as collected. */
  moduleItems(mod: ModuleNode, items: Item[]): Item[];
}

export class LastFailedCollection implements CollectionFilter {
  skippedFiles = 0;
  /** pytest's _collected_at_least_one_failure: from then on, files outside the last-failed paths are skipped. */
  private skipping = false;

  constructor(
    /** Shared with the cache provider, which saves it: the collect-report step updates it in place. */
    private readonly lastfailed: Record<string, true>,
    private readonly lfPaths: ReadonlySet<string>,
    private readonly active: boolean,
    /** Absolute paths named on the command line (pytest's initial paths). */
    private readonly initialPaths: ReadonlySet<string>,
    private readonly onChange: () => void,
  ) {}

  order<T>(entries: readonly T[], pathOf: (entry: T) => string): T[] {
    if (!this.active || this.lfPaths.size === 0) return [...entries];
    return [...entries.filter((e) => this.lfPaths.has(pathOf(e))), ...entries.filter((e) => !this.lfPaths.has(pathOf(e)))];
  }

  wantsFile(path: string): boolean {
    if (!this.skipping || this.lfPaths.has(path)) return true;
    this.skippedFiles++;
    return false;
  }

  moduleItems(mod: ModuleNode, items: Item[]): Item[] {
    let kept = items;
    if (this.active && this.lfPaths.has(mod.path)) {
      const children = new Set(items.map((i) => (i.cls ? `${mod.nodeid}::${i.cls.name}` : i.nodeid)));
      if (this.skipping || [...children].some((id) => this.lastfailed[id])) {
        this.skipping = true;
        if (!this.initialPaths.has(mod.path)) kept = items.filter((i) => i.cls !== undefined || this.lastfailed[i.nodeid]);
      }
    }
    this.replaceCollectorFailures(mod.nodeid, kept);
    return kept;
  }

  /**
   * pytest_collectreport: a collector recorded as failed that collects now is replaced by its children. pytest
   * reports a collector after its children, so a class is looked at before its module, and a module that failed
   * last time is replaced by its module-level tests and its classes (whose own tests are not added this time).
   */
  private replaceCollectorFailures(moduleId: string, items: readonly Item[]): void {
    const classIds = [...new Set(items.filter((i) => i.cls).map((i) => `${moduleId}::${i.cls!.name}`))];
    for (const classId of classIds) {
      if (!this.lastfailed[classId]) continue;
      delete this.lastfailed[classId];
      for (const item of items) if (item.nodeid.startsWith(`${classId}::`)) this.lastfailed[item.nodeid] = true;
      this.onChange();
    }
    if (!this.lastfailed[moduleId]) return;
    delete this.lastfailed[moduleId];
    for (const classId of classIds) this.lastfailed[classId] = true;
    for (const item of items) if (!item.cls) this.lastfailed[item.nodeid] = true;
    this.onChange();
  }
}
