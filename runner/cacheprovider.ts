// --lf / --ff / --nf / --cache-clear with a cache directory of its own (pytest's cacheprovider), off under
// `-p no:cacheprovider`. The layout is pytest's: <cache_dir>/v/cache/lastfailed and .../nodeids, JSON.

import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Options } from './args.js';
import { writeFileAtomicSync } from './atomic-write.js';
import { makeDirs } from './make-dirs.js';
import { LastFailedCollection, lastFailedPaths } from './last-failed.js';
import type { Item } from './nodes.js';
import type { CollectReport, Reporter, TestReport } from './reports.js';

const plural = (n: number) => `${n} failure${n === 1 ? '' : 's'}`;

/** pytest's _get_increasing_order: newest file (mtime) first, stable within a file. */
function newestFileFirst(items: readonly Item[]): Item[] {
  const mtimes = new Map<string, number>();
  const mtime = (path: string) => {
    let t = mtimes.get(path);
    if (t === undefined) {
      t = statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? 0;
      mtimes.set(path, t);
    }
    return t;
  };
  return [...items].sort((a, b) => mtime(b.module.path) - mtime(a.module.path));
}

export class CacheProvider implements Reporter {
  private readonly dir: string;
  private readonly lastfailed: Record<string, true>;
  private readonly previousNodeids: Set<string>;
  private readonly seenNodeids = new Set<string>();
  private changed = false;
  private collection: LastFailedCollection | undefined;
  /** The line pytest prints after "collected N items" for --lf / --ff. */
  collectionLine: string | undefined;

  constructor(
    private readonly rootdir: string,
    cacheDir: string,
    private readonly options: Pick<Options, 'lf' | 'ff' | 'nf' | 'cacheClear' | 'lfnf' | 'collectOnly'>,
  ) {
    this.dir = resolve(rootdir, cacheDir);
    if (options.cacheClear && existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
    this.lastfailed = (this.read('lastfailed') as Record<string, true> | undefined) ?? {};
    this.previousNodeids = new Set((this.read('nodeids') as string[] | undefined) ?? []);
  }

  /** The cache directory as pytest's header shows it: relative to rootdir when inside it. */
  displayPath(): string {
    const rel = relative(this.rootdir, this.dir);
    return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? this.dir : rel.split(sep).join('/');
  }

  private read(key: string): unknown {
    try {
      return JSON.parse(readFileSync(join(this.dir, 'v', 'cache', key), 'utf8'));
    } catch {
      return undefined;
    }
  }

  private write(key: string, value: unknown): void {
    try {
      const dir = join(this.dir, 'v', 'cache');
      if (!existsSync(this.dir)) {
        makeDirs(this.dir);
        // Same courtesy files pytest writes, so tools and .gitignore treat the directory alike.
        writeFileSync(join(this.dir, '.gitignore'), '# Created by pytest-ts automatically.\n*\n');
        writeFileSync(join(this.dir, 'README.md'), '# pytest-ts cache directory #\n\nThis directory contains data from pytest-ts\'s cache plugin (--lf, --ff, --nf).\n\n**Do not** commit this to version control.\n');
      }
      makeDirs(dir);
      writeFileAtomicSync(join(dir, key), JSON.stringify(value, null, 2), { fsyncDir: false });
    } catch {
      // A read-only checkout still runs tests; pytest warns here, the cache is only a convenience.
    }
  }

  /**
   * The --lf rules for the collector (lastfailed is shared, so the collect-report step updates what is saved).
   * `initialPaths`: the absolute paths named on the command line.
   */
  collectionFilter(initialPaths: readonly string[]): LastFailedCollection {
    const lfPaths = this.options.lf ? lastFailedPaths(this.lastfailed, this.rootdir, (p) => existsSync(p)) : new Set<string>();
    this.collection = new LastFailedCollection(this.lastfailed, lfPaths, this.options.lf, new Set(initialPaths), () => (this.changed = true));
    return this.collection;
  }

  /**
   * After -k, -m and --deselect, as pytest's LFPlugin then NFPlugin: --lf keeps the last failures (the other tests
   * are deselected), --ff puts them first, --nf puts new tests first; both --nf groups newest file first.
   */
  modifySelected(selected: readonly Item[]): { items: Item[]; deselected: Item[] } {
    let items = [...selected];
    let deselected: Item[] = [];
    if (this.options.lf || this.options.ff) {
      const known = Object.keys(this.lastfailed).length;
      if (known > 0) {
        const failed = items.filter((i) => this.lastfailed[i.nodeid]);
        const passed = items.filter((i) => !this.lastfailed[i.nodeid]);
        if (failed.length === 0) {
          this.collectionLine = `${known} known failures not in selected tests`;
        } else {
          if (this.options.lf) {
            items = failed;
            deselected = passed;
          } else {
            items = [...failed, ...passed];
          }
          this.collectionLine = `rerun previous ${plural(failed.length)}${this.options.ff ? ' first' : ''}`;
        }
        const skipped = this.collection?.skippedFiles ?? 0;
        if (skipped > 0) this.collectionLine += ` (skipped ${skipped} file${skipped === 1 ? '' : 's'})`;
      } else if (this.options.lf && this.options.lfnf === 'none') {
        this.collectionLine = 'no previously failed tests, deselecting all items.';
        deselected = items;
        items = [];
      } else {
        this.collectionLine = 'no previously failed tests, not deselecting items.';
      }
      this.collectionLine = `run-last-failure: ${this.collectionLine}`;
    }
    if (this.options.nf) {
      const fresh = items.filter((i) => !this.previousNodeids.has(i.nodeid));
      const known = items.filter((i) => this.previousNodeids.has(i.nodeid));
      items = [...newestFileFirst(fresh), ...newestFileFirst(known)];
    }
    for (const item of items) this.seenNodeids.add(item.nodeid);
    return { items, deselected };
  }

  collectReport(report: CollectReport): void {
    if (report.outcome === 'failed') {
      this.lastfailed[report.nodeid] = true;
      this.changed = true;
    }
  }

  report(report: TestReport): void {
    if ((report.phase === 'call' && report.outcome === 'passed') || report.outcome === 'skipped') {
      if (this.lastfailed[report.nodeid]) {
        delete this.lastfailed[report.nodeid];
        this.changed = true;
      }
    } else if (report.outcome === 'failed') {
      this.lastfailed[report.nodeid] = true;
      this.changed = true;
    }
  }

  sessionFinish(): void {
    if (this.changed || existsSync(join(this.dir, 'v', 'cache', 'lastfailed'))) this.write('lastfailed', this.lastfailed);
    // pytest's NFPlugin leaves the known node ids alone under --collect-only.
    if (this.seenNodeids.size > 0 && !this.options.collectOnly) this.write('nodeids', [...new Set([...this.previousNodeids, ...this.seenNodeids])].sort());
  }
}
