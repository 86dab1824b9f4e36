// Write a file so that readers only ever see the old complete file or the new complete one, never a prefix.
//
// The recipe is the classic one: write a temporary file in the *same directory* (a rename is only atomic within one
// file system), fsync it so its bytes are on disk before the name points at them, rename it over the target, then
// fsync the directory so the rename itself survives a power cut. A process killed at any moment leaves at worst a
// stray `.<name>.tmp-<pid>-<random>` file next to an intact target.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants as fsConstants,
  fsyncSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

export interface AtomicWriteOptions {
  /** Permission bits of a newly written file, before the umask is applied. Default 0o644. */
  mode?: number;
  /** fsync the directory after the rename so the new name is durable. Default true. */
  fsyncDir?: boolean;
}

const DEFAULT_MODE = 0o644;
// O_EXCL: never reuse (or follow a symlink planted at) an existing temp name.
const TEMP_FLAGS = fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY;
// Some platforms and file systems cannot fsync a directory; the rename has still happened, so these are not errors.
const DIR_FSYNC_UNSUPPORTED = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EISDIR', 'EPERM', 'EBADF', 'EACCES']);

/** The temp file that will be renamed over `target`: hidden, in the same directory, unique per process and call. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

export function writeFileAtomicSync(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const target = resolve(path);
  const temp = tempPathFor(target);
  const bytes = toBytes(data);
  let fd = openSync(temp, TEMP_FLAGS, options.mode ?? DEFAULT_MODE);
  try {
    // writeSync may write fewer bytes than asked (large buffers, some file systems): loop until all are out.
    for (let offset = 0; offset < bytes.length; ) {
      offset += writeSync(fd, bytes, offset, bytes.length - offset);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(temp, target);
  } catch (error) {
    if (fd >= 0) closeQuietly(fd);
    removeQuietly(temp);
    throw error;
  }
  if (options.fsyncDir ?? true) fsyncDirectorySync(dirname(target));
}

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const target = resolve(path);
  const temp = tempPathFor(target);
  const bytes = toBytes(data);
  const handle = await open(temp, TEMP_FLAGS, options.mode ?? DEFAULT_MODE);
  let closed = false;
  try {
    await handle.writeFile(bytes);
    await handle.sync();
    closed = true;
    await handle.close();
    await rename(temp, target);
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  if (options.fsyncDir ?? true) await fsyncDirectory(dirname(target));
}

function fsyncDirectorySync(directory: string): void {
  let fd: number;
  try {
    fd = openSync(directory, fsConstants.O_RDONLY);
  } catch (error) {
    if (isUnsupported(error)) return;
    throw error;
  }
  try {
    fsyncSync(fd);
  } catch (error) {
    if (!isUnsupported(error)) throw error;
  } finally {
    closeQuietly(fd);
  }
}

async function fsyncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, fsConstants.O_RDONLY);
  } catch (error) {
    if (isUnsupported(error)) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!isUnsupported(error)) throw error;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function isUnsupported(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && DIR_FSYNC_UNSUPPORTED.has(code);
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // The original error is the one worth reporting.
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or never created: nothing to clean up.
  }
}
