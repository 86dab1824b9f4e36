// --lf / --ff / --nf / --cache-clear with a cache directory of its own (pytest's cacheprovider), off under
// `-p no:cacheprovider`. The layout is pytest's: <cache_dir>/v/cache/lastfailed and .../nodeids, JSON.

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Options } from './args.js';
import { writeFileAtomicSync } from './atomic-write.js';
import { makeDirs } from './make-dirs.js';
import type { Item } from './nodes.js';
import type { CollectReport, Reporter, TestReport } from './reports.js';

const plural = (n: number) => `${n} failure${n === 1 ? '' : 's'}`;

export class CacheProvider implements Reporter {
  private readonly dir: string;
  private readonly lastfailed: Record<string, true>;
  private readonly previousNodeids: Set<string>;
  private readonly seenNodeids = new Set<string>();
  private changed = false;
  /** The line pytest prints after "collected N items" for --lf / --ff. */
  collectionLine: string | undefined;

  constructor(
    rootdir: string,
    cacheDir: string,
    private readonly options: Pick<Options, 'lf' | 'ff' | 'nf' | 'cacheClear' | 'lfnf'>,
  ) {
    this.dir = resolve(rootdir, cacheDir);
    if (options.cacheClear && existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
    this.lastfailed = (this.read('lastfailed') as Record<string, true> | undefined) ?? {};
    this.previousNodeids = new Set((this.read('nodeids') as string[] | undefined) ?? []);
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

  /** --lf: only the tests that failed last time (all of them when none did, unless --lfnf=none). */
  filterCollected(items: Item[]): Item[] {
    if (!this.options.lf) return items;
    const failed = items.filter((i) => this.lastfailed[i.nodeid] || this.lastfailed[i.module.nodeid]);
    if (failed.length > 0) {
      this.collectionLine = `run-last-failure: rerun previous ${plural(failed.length)}`;
      return failed;
    }
    if (this.options.lfnf === 'none') {
      this.collectionLine = 'run-last-failure: no previously failed tests, deselecting all items.';
      return [];
    }
    this.collectionLine = 'run-last-failure: no previously failed tests, not deselecting items.';
    return items;
  }

  /** --ff: last failures first; --nf: tests new since the last run first. */
  reorder(selected: Item[]): Item[] {
    for (const item of selected) this.seenNodeids.add(item.nodeid);
    if (this.options.ff) {
      const failed = selected.filter((i) => this.lastfailed[i.nodeid] || this.lastfailed[i.module.nodeid]);
      if (failed.length > 0) {
        this.collectionLine = `run-last-failure: rerun previous ${plural(failed.length)} first`;
        return [...failed, ...selected.filter((i) => !failed.includes(i))];
      }
      this.collectionLine = 'run-last-failure: no previously failed tests, not deselecting items.';
    }
    if (this.options.nf) {
      const fresh = selected.filter((i) => !this.previousNodeids.has(i.nodeid));
      return [...fresh, ...selected.filter((i) => this.previousNodeids.has(i.nodeid))];
    }
    return selected;
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
    if (this.seenNodeids.size > 0) this.write('nodeids', [...new Set([...this.previousNodeids, ...this.seenNodeids])].sort());
  }
}
