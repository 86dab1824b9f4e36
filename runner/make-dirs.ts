// mkdir -p without Node's `recursive: true`, which spins forever under /proc (a missing directory there reports
// ENOENT after every attempt to create it). Walks up to the nearest existing ancestor, then creates each level once.

import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export function makeDirs(path: string, mode?: number): void {
  const missing: string[] = [];
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(dir).isDirectory();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      missing.push(dir);
      if (dirname(dir) === dir) break;
      continue;
    }
    if (!isDirectory) {
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}' (${dir} is a file)`), { code: 'ENOTDIR' });
    }
    break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir, mode === undefined ? undefined : { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
