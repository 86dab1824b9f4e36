// Atomic, durable, private file writes, with a fault-injecting fs layer to prove it.
//
// writeFileDurable() follows the classic recipe: write a fresh temp file in the target's directory, fsync it, rename
// it over the target, fsync the directory. A reader (or the next start after a crash) therefore sees either the old
// complete file or the new complete one, never a torn one.
//
// It is synchronous on purpose: an emergency save must be able to finish inside a synchronous shutdown path, before
// an exit hook runs, and nothing else on the event loop (such as a temp-file cleanup) can interleave with it.
//
// Directory policy (decided here, documented for users):
//   - a missing directory is created (with missing parents) and chmod'ed to `dirMode` (0700), whatever the umask;
//   - an existing directory is refused if it is a symbolic link, not a directory, not owned by this user, or
//     writable by group or others (someone else could have planted files or links in it);
//   - an existing directory of ours that is merely readable by others is tightened to `dirMode`.
//   Only the last path component is checked: parents such as a symlinked /tmp on macOS are normal. A directory
//   swapped for a link between the check and the write needs write access to its parent, which we treat as trusted.
//
// Files are created with O_CREAT|O_EXCL|O_NOFOLLOW, so a link planted at the temp name is never followed (the open
// fails with EEXIST and another name is tried), and rename() replaces a link planted at the target rather than
// writing through it. The file mode is set with fchmod, so it is `mode` (0600) whatever the umask.

import * as nodeFs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { getSystemErrorMap } from 'node:util';

/** The steps of a durable write, in order. 'mkdir' covers preparing (and checking) the directory. */
export type DurableStep = 'mkdir' | 'open' | 'write' | 'fsync' | 'close' | 'rename' | 'dir-fsync';
export const DURABLE_STEPS: readonly DurableStep[] = ['mkdir', 'open', 'write', 'fsync', 'close', 'rename', 'dir-fsync'];

/** The part of node:fs that the durable writer uses. `node:fs` itself satisfies it; FaultyFs wraps it. */
export interface FsLayer {
  mkdirSync(path: string, options: { mode: number }): string | undefined;
  lstatSync(path: string): nodeFs.Stats;
  chmodSync(path: string, mode: number): void;
  openSync(path: string, flags: number, mode?: number): number;
  fchmodSync(fd: number, mode: number): void;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(oldPath: string, newPath: string): void;
  unlinkSync(path: string): void;
}

export interface DurableWriteOptions {
  /** File mode, applied with fchmod so the umask cannot weaken it. Default 0o600. */
  mode?: number;
  /** Mode of a directory we create or tighten. Default 0o700. */
  dirMode?: number;
  /** The fs layer (default: node:fs); tests pass a FaultyFs. */
  fs?: FsLayer;
}

/** A durable write failed at `step`; the temp file was removed and the target is untouched (unless step is 'dir-fsync'). */
export class DurableWriteError extends Error {
  override name = 'DurableWriteError';
  constructor(
    readonly step: DurableStep,
    readonly path: string,
    /** The errno name (ENOSPC, EACCES, ...) or UNSAFE_DIRECTORY for a directory we refuse to use. */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Thrown by FaultyFs to stand for the process dying right after a step: the writer must not clean up after it. */
export class SimulatedCrash extends Error {
  override name = 'SimulatedCrash';
  constructor(readonly step: DurableStep) {
    super(`simulated crash after the '${step}' step`);
  }
}

const { O_CREAT, O_EXCL, O_WRONLY, O_NOFOLLOW, O_RDONLY, O_DIRECTORY } = nodeFs.constants;
const TEMP_MARKER = '.tmp-';
const TEMP_NAME_ATTEMPTS = 8;
let tempCounter = 0;

/** Names a temp file for `targetName`: hidden, marked with `.tmp-`, and carrying our pid so a later cleanup can tell whose it is. */
export function tempNameFor(targetName: string): string {
  tempCounter += 1;
  return `.${targetName}${TEMP_MARKER}${process.pid}-${tempCounter}-${randomBytes(4).toString('hex')}`;
}

/** True for names produced by tempNameFor(). */
export function isTempFileName(name: string): boolean {
  return name.startsWith('.') && name.includes(TEMP_MARKER);
}

/** The pid that created a temp file, or undefined if the name does not carry one. */
export function tempFileOwnerPid(name: string): number | undefined {
  const match = /\.tmp-(\d+)-/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/** Writes `data` to `path` atomically and durably, as a private file; see the header comment for the guarantees. */
export function writeFileDurable(path: string, data: Uint8Array, options: DurableWriteOptions = {}): void {
  const fs = options.fs ?? nodeFs;
  const mode = options.mode ?? 0o600;
  const dir = dirname(path);
  let step: DurableStep = 'mkdir';
  let fd: number | undefined;
  let tempPath: string | undefined;
  let renamed = false;
  try {
    ensurePrivateDirectory(dir, options.dirMode ?? 0o700, fs, path);
    step = 'open';
    ({ fd, tempPath } = openFreshTempFile(dir, basename(path), fs));
    fs.fchmodSync(fd, mode);
    step = 'write';
    writeAll(fs, fd, data);
    step = 'fsync';
    fs.fsyncSync(fd);
    step = 'close';
    const closing = fd;
    fd = undefined; // a failed close has still released the descriptor
    fs.closeSync(closing);
    step = 'rename';
    fs.renameSync(tempPath, path);
    renamed = true;
    step = 'dir-fsync';
    fsyncDirectory(fs, dir);
  } catch (error) {
    if (error instanceof SimulatedCrash) throw error; // a dead process cleans nothing up
    if (fd !== undefined) ignoreErrors(() => fs.closeSync(fd!));
    if (tempPath !== undefined && !renamed) ignoreErrors(() => fs.unlinkSync(tempPath!));
    if (error instanceof DurableWriteError) throw error;
    throw wrapError(error, step, path);
  }
}

/** Reads a file without following a symbolic link at its last component (ELOOP if it is one). */
export function readFileNoFollow(path: string): Buffer {
  const fd = nodeFs.openSync(path, O_RDONLY | O_NOFOLLOW);
  try {
    return nodeFs.readFileSync(fd);
  } finally {
    nodeFs.closeSync(fd);
  }
}

/**
 * Creates `dir` as a private directory, or checks that an existing one is safe to write into (see the header
 * comment for the policy). `target` names the file about to be written, for the error message.
 */
export function ensurePrivateDirectory(dir: string, dirMode = 0o700, fs: FsLayer = nodeFs, target = dir): void {
  let stats = lstatOrUndefined(fs, dir);
  if (!stats) {
    // Level by level, not `recursive: true`: Node's recursive mkdir spins forever under /proc.
    const missing: string[] = [];
    for (let level = dir; !lstatOrUndefined(fs, level) && dirname(level) !== level; level = dirname(level)) missing.unshift(level);
    for (const level of missing) {
      try {
        fs.mkdirSync(level, { mode: dirMode });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    fs.chmodSync(dir, dirMode); // mkdir's mode is masked by the umask
    stats = fs.lstatSync(dir);
  }
  const refuse = (reason: string): never => {
    const message = target === dir ? `refusing to use the directory ${dir}: it ${reason}` : `refusing to write ${target}: the directory ${dir} ${reason}`;
    throw new DurableWriteError('mkdir', target, 'UNSAFE_DIRECTORY', message);
  };
  if (stats.isSymbolicLink()) refuse('is a symbolic link');
  if (!stats.isDirectory()) refuse('is not a directory');
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) refuse(`is owned by uid ${stats.uid}, not by this user (uid ${uid})`);
  const permissions = stats.mode & 0o777;
  if (permissions & 0o022) refuse(`is writable by group or others (mode ${octal(permissions)})`);
  if (permissions & ~dirMode & 0o777) fs.chmodSync(dir, dirMode);
}

function openFreshTempFile(dir: string, targetName: string, fs: FsLayer): { fd: number; tempPath: string } {
  for (let attempt = 1; ; attempt++) {
    const tempPath = join(dir, tempNameFor(targetName));
    try {
      // 0o600 here only narrows the window before fchmod; the umask may make it tighter, never looser.
      return { fd: fs.openSync(tempPath, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0o600), tempPath };
    } catch (error) {
      // EEXIST: something (perhaps a planted link) already has this name; it is left alone and another name is tried.
      if (errorCode(error) !== 'EEXIST' || attempt >= TEMP_NAME_ATTEMPTS) throw error;
    }
  }
}

function writeAll(fs: FsLayer, fd: number, data: Uint8Array): void {
  let written = 0;
  while (written < data.length) {
    written += fs.writeSync(fd, data, written, data.length - written);
  }
}

function fsyncDirectory(fs: FsLayer, dir: string): void {
  const dirFd = fs.openSync(dir, O_RDONLY | O_DIRECTORY);
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}

const STEP_DESCRIPTIONS: Record<DurableStep, string> = {
  mkdir: 'preparing the directory for',
  open: 'creating a temporary file for',
  write: 'writing',
  fsync: 'flushing',
  close: 'closing the temporary file for',
  rename: 'moving the temporary file onto',
  'dir-fsync': 'flushing the directory entry of',
};

function wrapError(error: unknown, step: DurableStep, path: string): DurableWriteError {
  const code = errorCode(error) ?? 'EIO';
  const explanation = describeErrno(code) ?? (error instanceof Error ? error.message : String(error));
  return new DurableWriteError(step, path, code, `${code} while ${STEP_DESCRIPTIONS[step]} ${path}: ${explanation}`, { cause: error });
}

let errnoDescriptions: Map<string, string> | undefined;

/** libuv's one-line description of an errno name ("no space left on device"), or undefined if unknown. */
export function describeErrno(code: string): string | undefined {
  errnoDescriptions ??= new Map([...getSystemErrorMap().values()].map(([name, description]) => [name, description]));
  return errnoDescriptions.get(code);
}

/** An Error shaped like the ones node:fs throws, for fault injection. */
export function makeErrnoError(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  const errno = [...getSystemErrorMap().entries()].find(([, [name]]) => name === code)?.[0];
  const where = path === undefined ? '' : ` '${path}'`;
  const error: NodeJS.ErrnoException = new Error(`${code}: ${describeErrno(code) ?? 'injected fault'}, ${syscall}${where}`);
  Object.assign(error, { code, errno, syscall, ...(path === undefined ? {} : { path }) });
  return error;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function lstatOrUndefined(fs: FsLayer, path: string): nodeFs.Stats | undefined {
  try {
    return fs.lstatSync(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function ignoreErrors(action: () => void): void {
  try {
    action();
  } catch {
    // Best-effort cleanup after a failure that is already being reported.
  }
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/** A fault to inject into one step of durable writes. */
export interface FaultPlan {
  step: DurableStep;
  /** 'fail' (default): the step throws `errno` instead of completing; 'crash-after': it completes, then SimulatedCrash is thrown. */
  kind?: 'fail' | 'crash-after';
  /** The errno name a failing step throws. Default 'EIO'. */
  errno?: string;
  /** Which occurrence of the step to hit, counting from 1 since the plan was armed. Default 1. */
  occurrence?: number;
  /** How many consecutive occurrences to hit (Infinity: until disarmed). Default 1. */
  times?: number;
}

/**
 * An FsLayer that forwards to a real one and injects one planned fault. Opening and closing the directory for the
 * directory fsync belong to the 'dir-fsync' step; lstat, chmod, fchmod and unlink are never faulted (cleanup must be
 * able to run). A failed write first writes half of its bytes, as a disk that fills up mid-write does.
 */
export class FaultyFs implements FsLayer {
  /** Every step attempted, in order, faulted or not. */
  readonly stepLog: DurableStep[] = [];
  private plan: Required<FaultPlan> | undefined;
  private occurrencesSeen = 0;
  private fired = 0;
  private readonly directoryFds = new Set<number>();

  constructor(private readonly base: FsLayer = nodeFs, plan?: FaultPlan) {
    if (plan) this.arm(plan);
  }

  /** Replaces the current plan; occurrences are counted afresh from now. */
  arm(plan: FaultPlan): void {
    if (!DURABLE_STEPS.includes(plan.step)) throw new RangeError(`unknown durable-write step ${JSON.stringify(plan.step)}`);
    this.plan = { kind: 'fail', errno: 'EIO', occurrence: 1, times: 1, ...plan };
    this.occurrencesSeen = 0;
    this.fired = 0;
  }

  /** Stops injecting faults (for example once the test has "freed space"). */
  disarm(): void {
    this.plan = undefined;
  }

  /** How many faults the current plan has injected. */
  get faultsFired(): number {
    return this.fired;
  }

  mkdirSync(path: string, options: { mode: number }): string | undefined {
    return this.step('mkdir', 'mkdir', path, () => this.base.mkdirSync(path, options));
  }
  lstatSync(path: string): nodeFs.Stats {
    return this.base.lstatSync(path);
  }
  chmodSync(path: string, mode: number): void {
    this.base.chmodSync(path, mode);
  }
  openSync(path: string, flags: number, mode?: number): number {
    if (flags & O_DIRECTORY) {
      const fd = this.base.openSync(path, flags, mode);
      this.directoryFds.add(fd);
      return fd;
    }
    return this.step('open', 'open', path, () => this.base.openSync(path, flags, mode));
  }
  fchmodSync(fd: number, mode: number): void {
    this.base.fchmodSync(fd, mode);
  }
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number {
    const writeHalf = () => void this.base.writeSync(fd, buffer, offset, Math.floor(length / 2));
    return this.step('write', 'write', undefined, () => this.base.writeSync(fd, buffer, offset, length), writeHalf);
  }
  fsyncSync(fd: number): void {
    const step = this.directoryFds.has(fd) ? 'dir-fsync' : 'fsync';
    this.step(step, 'fsync', undefined, () => this.base.fsyncSync(fd));
  }
  closeSync(fd: number): void {
    if (this.directoryFds.delete(fd)) return this.base.closeSync(fd);
    // On Linux a close that reports an error has still released the descriptor; mirror that.
    this.step('close', 'close', undefined, () => this.base.closeSync(fd), () => this.base.closeSync(fd));
  }
  renameSync(oldPath: string, newPath: string): void {
    this.step('rename', 'rename', newPath, () => this.base.renameSync(oldPath, newPath));
  }
  unlinkSync(path: string): void {
    this.base.unlinkSync(path);
  }

  private step<T>(step: DurableStep, syscall: string, path: string | undefined, action: () => T, beforeFailing?: () => void): T {
    this.stepLog.push(step);
    const plan = this.plan;
    let hit = false;
    if (plan && plan.step === step) {
      this.occurrencesSeen += 1;
      hit = this.occurrencesSeen >= plan.occurrence && this.occurrencesSeen < plan.occurrence + plan.times;
    }
    if (hit) this.fired += 1;
    if (hit && plan!.kind === 'fail') {
      beforeFailing?.();
      throw makeErrnoError(plan!.errno, syscall, path);
    }
    const result = action();
    if (hit) throw new SimulatedCrash(step);
    return result;
  }
}
