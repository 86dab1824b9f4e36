import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DURABLE_STEPS,
  DurableWriteError,
  type DurableStep,
  FaultyFs,
  type FsLayer,
  SimulatedCrash,
  describeErrno,
  isTempFileName,
  makeErrnoError,
  readFileNoFollow,
  tempFileOwnerPid,
  tempNameFor,
  writeFileDurable,
} from '../../src/durable-fs.js';

const root = fs.mkdtempSync(join(tmpdir(), 'durable-fs-test-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let dirCounter = 0;

/** A fresh, not yet existing directory path under the test root. */
function freshDir(): string {
  dirCounter += 1;
  return join(root, `case-${dirCounter}`);
}

/** A fresh private directory holding `target` with `content`. */
function dirWithFile(content: string): { dir: string; target: string } {
  const dir = freshDir();
  fs.mkdirSync(dir, { mode: 0o700 });
  const target = join(dir, 'save.wav');
  fs.writeFileSync(target, content, { mode: 0o600 });
  return { dir, target };
}

const bytes = (text: string) => new TextEncoder().encode(text);
const modeOf = (path: string) => fs.lstatSync(path).mode & 0o777;
const tempFilesIn = (dir: string) => fs.readdirSync(dir).filter(isTempFileName);

function withUmask<T>(mask: number, action: () => T): T {
  const previous = process.umask(mask);
  try {
    return action();
  } finally {
    process.umask(previous);
  }
}

test('writes the content, creating the directory with missing parents', () => {
  const dir = join(freshDir(), 'state', 'emergency');
  const target = join(dir, 'a.json');
  writeFileDurable(target, bytes('{"ok":true}'));
  assert.equal(fs.readFileSync(target, 'utf8'), '{"ok":true}');
  assert.deepEqual(tempFilesIn(dir), []);
});

for (const umask of [0o000, 0o022, 0o077, 0o277]) {
  test(`file is 0600 and the new directory 0700 under umask ${umask.toString(8).padStart(3, '0')}`, () => {
    const dir = freshDir();
    const target = join(dir, 'x.wav');
    withUmask(umask, () => writeFileDurable(target, bytes('data')));
    assert.equal(modeOf(target).toString(8), '600');
    assert.equal(modeOf(dir).toString(8), '700');
    assert.equal(fs.readFileSync(target, 'utf8'), 'data');
  });
}

test('the mode and dirMode options are honoured', () => {
  const dir = freshDir();
  const target = join(dir, 'x');
  writeFileDurable(target, bytes('1'), { mode: 0o640, dirMode: 0o750 });
  assert.equal(modeOf(target).toString(8), '640');
  assert.equal(modeOf(dir).toString(8), '750');
});

test('replaces an existing file and leaves no temp file behind', () => {
  const { dir, target } = dirWithFile('old');
  writeFileDurable(target, bytes('new'));
  assert.equal(fs.readFileSync(target, 'utf8'), 'new');
  assert.deepEqual(fs.readdirSync(dir), ['save.wav']);
});

test('keeps writing after short writes until every byte is out', () => {
  const shortWrites: FsLayer = { ...fs, writeSync: (fd, buffer, offset, length) => fs.writeSync(fd, buffer, offset, Math.min(3, length)) };
  const dir = freshDir();
  writeFileDurable(join(dir, 'x'), bytes('0123456789abcdef'), { fs: shortWrites });
  assert.equal(fs.readFileSync(join(dir, 'x'), 'utf8'), '0123456789abcdef');
});

test('a symlink planted at the target is replaced, never followed', () => {
  const { dir } = dirWithFile('unused');
  const victim = join(root, `victim-${dirCounter}.txt`);
  fs.writeFileSync(victim, 'precious');
  const target = join(dir, 'linked.wav');
  fs.symlinkSync(victim, target);
  writeFileDurable(target, bytes('saved'));
  assert.equal(fs.readFileSync(victim, 'utf8'), 'precious');
  assert.ok(fs.lstatSync(target).isFile(), 'the link itself was replaced by a regular file');
  assert.equal(fs.readFileSync(target, 'utf8'), 'saved');
});

test('a symlink planted at the temp name is left alone and another name is used', () => {
  const { dir, target } = dirWithFile('old');
  const victim = join(root, `temp-victim-${dirCounter}.txt`);
  fs.writeFileSync(victim, 'precious');
  const planted: string[] = [];
  // An attacker that wins the race: a link appears at the exact temp name just before we open it.
  const racing: FsLayer = {
    ...fs,
    openSync(path, flags, mode) {
      if (planted.length === 0 && isTempFileName(path.split('/').pop()!)) {
        fs.symlinkSync(victim, path);
        planted.push(path);
      }
      return fs.openSync(path, flags, mode);
    },
  };
  writeFileDurable(target, bytes('new'), { fs: racing });
  assert.equal(fs.readFileSync(victim, 'utf8'), 'precious');
  assert.equal(fs.readFileSync(target, 'utf8'), 'new');
  assert.ok(fs.lstatSync(planted[0]!).isSymbolicLink(), 'the planted link was not touched');
});

test('gives up with EEXIST after eight taken temp names', () => {
  const { target } = dirWithFile('old');
  const alwaysTaken: FsLayer = { ...fs, openSync: (path) => { throw makeErrnoError('EEXIST', 'open', path); } };
  assert.throws(() => writeFileDurable(target, bytes('new'), { fs: alwaysTaken }), /^DurableWriteError: EEXIST while creating a temporary file for .*save\.wav: file already exists$/);
  assert.equal(fs.readFileSync(target, 'utf8'), 'old');
});

const UNSAFE_DIRECTORIES: [name: string, prepare: (dir: string) => void, reason: RegExp][] = [
  ['a symbolic link to a directory', (dir) => { const real = `${dir}-real`; fs.mkdirSync(real, { mode: 0o700 }); fs.symlinkSync(real, dir); }, /is a symbolic link/],
  ['a regular file', (dir) => fs.writeFileSync(dir, ''), /is not a directory/],
  ['world-writable (0777)', (dir) => { fs.mkdirSync(dir); fs.chmodSync(dir, 0o777); }, /is writable by group or others \(mode 0777\)/],
  ['group-writable (0720)', (dir) => { fs.mkdirSync(dir); fs.chmodSync(dir, 0o720); }, /mode 0720/],
  ['others-writable (0702)', (dir) => { fs.mkdirSync(dir); fs.chmodSync(dir, 0o702); }, /mode 0702/],
  ['owned by another user', (dir) => { fs.mkdirSync(dir, { mode: 0o700 }); fs.chownSync(dir, 4242, 4242); }, /is owned by uid 4242, not by this user \(uid \d+\)/],
];
for (const [name, prepare, reason] of UNSAFE_DIRECTORIES) {
  test(`refuses a directory that is ${name}, and writes nothing anywhere`, (t) => {
    if (name.includes('another user') && process.getuid?.() !== 0) return t.skip('changing ownership needs root');
    const dir = freshDir();
    prepare(dir);
    const target = join(dir, 'x.wav');
    const before = fs.existsSync(`${dir}-real`) ? fs.readdirSync(`${dir}-real`) : [];
    assert.throws(
      () => writeFileDurable(target, bytes('x')),
      (error: unknown) => error instanceof DurableWriteError && error.code === 'UNSAFE_DIRECTORY' && error.step === 'mkdir' && reason.test(error.message),
    );
    if (fs.existsSync(`${dir}-real`)) assert.deepEqual(fs.readdirSync(`${dir}-real`), before, 'nothing was written through the link');
    if (fs.lstatSync(dir).isDirectory()) assert.deepEqual(fs.readdirSync(dir), []);
  });
}

test('an existing directory of ours that others can read is tightened to 0700', () => {
  const dir = freshDir();
  fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o755);
  writeFileDurable(join(dir, 'x'), bytes('x'));
  assert.equal(modeOf(dir).toString(8), '700');
});

const FAILING_STEPS = DURABLE_STEPS.filter((step) => step !== 'mkdir');
const STEP_WORDING: Record<DurableStep, string> = {
  mkdir: 'preparing the directory for',
  open: 'creating a temporary file for',
  write: 'writing',
  fsync: 'flushing',
  close: 'closing the temporary file for',
  rename: 'moving the temporary file onto',
  'dir-fsync': 'flushing the directory entry of',
};

for (const step of FAILING_STEPS) {
  for (const errno of ['ENOSPC', 'EIO']) {
    test(`${errno} at '${step}': clear error, temp file removed, target ${step === 'dir-fsync' ? 'already new' : 'still old'}`, () => {
      const { dir, target } = dirWithFile('old complete content');
      const faulty = new FaultyFs(fs, { step, errno });
      assert.throws(
        () => writeFileDurable(target, bytes('new complete content'), { fs: faulty }),
        (error: unknown) => {
          assert.ok(error instanceof DurableWriteError);
          assert.equal(error.step, step);
          assert.equal(error.code, errno);
          assert.equal(error.message, `${errno} while ${STEP_WORDING[step]} ${target}: ${describeErrno(errno)}`);
          return true;
        },
      );
      assert.equal(faulty.faultsFired, 1);
      // The rename is the commit point: before it the old file stands, after it the new one.
      const expected = step === 'dir-fsync' ? 'new complete content' : 'old complete content';
      assert.equal(fs.readFileSync(target, 'utf8'), expected);
      assert.deepEqual(tempFilesIn(dir), []);
    });
  }
}

test('ENOSPC at mkdir for a missing directory names the step and the path', () => {
  const target = join(freshDir(), 'x.wav');
  const faulty = new FaultyFs(fs, { step: 'mkdir', errno: 'ENOSPC' });
  assert.throws(() => writeFileDurable(target, bytes('x'), { fs: faulty }), {
    message: `ENOSPC while preparing the directory for ${target}: no space left on device`,
  });
});

for (const step of DURABLE_STEPS) {
  test(`a crash right after '${step}' leaves the old or the new complete file, and the next write succeeds`, () => {
    const { dir, target } = step === 'mkdir' ? { dir: freshDir(), target: '' } : dirWithFile('old complete content');
    const path = target || join(dir, 'save.wav');
    const faulty = new FaultyFs(fs, { step, kind: 'crash-after' });
    assert.throws(() => writeFileDurable(path, bytes('new complete content'), { fs: faulty }), SimulatedCrash);
    const content = fs.existsSync(path) ? fs.readFileSync(path, 'utf8') : undefined;
    const committed = step === 'rename' || step === 'dir-fsync';
    assert.equal(content, committed ? 'new complete content' : target ? 'old complete content' : undefined);
    // A crash cleans nothing up: a temp file survives from 'open' until the rename.
    const leftovers = tempFilesIn(dir);
    assert.equal(leftovers.length, ['open', 'write', 'fsync', 'close'].includes(step) ? 1 : 0);
    writeFileDurable(path, bytes('after restart'));
    assert.equal(fs.readFileSync(path, 'utf8'), 'after restart');
  });
}

test('a failed write has already written half the bytes into the temp file before failing', () => {
  const { target } = dirWithFile('old');
  const seen: number[] = [];
  const spying: FsLayer = { ...fs, writeSync: (fd, buffer, offset, length) => { const n = fs.writeSync(fd, buffer, offset, length); seen.push(n); return n; } };
  const faulty = new FaultyFs(spying, { step: 'write', errno: 'ENOSPC' });
  assert.throws(() => writeFileDurable(target, bytes('0123456789'), { fs: faulty }), /ENOSPC while writing/);
  assert.deepEqual(seen, [5]);
  assert.equal(fs.readFileSync(target, 'utf8'), 'old');
});

test('FaultyFs counts occurrences, fires `times` times and stops when disarmed', () => {
  const dir = freshDir();
  const faulty = new FaultyFs(fs, { step: 'fsync', errno: 'EIO', occurrence: 2, times: Infinity });
  writeFileDurable(join(dir, 'a'), bytes('a'), { fs: faulty }); // first fsync passes
  assert.throws(() => writeFileDurable(join(dir, 'b'), bytes('b'), { fs: faulty }), /EIO while flushing/);
  assert.throws(() => writeFileDurable(join(dir, 'b'), bytes('b'), { fs: faulty }), /EIO while flushing/);
  assert.equal(faulty.faultsFired, 2);
  faulty.disarm();
  writeFileDurable(join(dir, 'b'), bytes('b'), { fs: faulty });
  assert.equal(fs.readFileSync(join(dir, 'b'), 'utf8'), 'b');
  // The first write created the directory; later ones find it in place.
  assert.deepEqual(faulty.stepLog.slice(0, 8), ['mkdir', 'open', 'write', 'fsync', 'close', 'rename', 'dir-fsync', 'open']);
  assert.throws(() => faulty.arm({ step: 'sync' as DurableStep }), /unknown durable-write step "sync"/);
});

test('temp names are hidden, marked, and carry the pid', () => {
  const name = tempNameFor('save.wav');
  assert.ok(name.startsWith('.save.wav.tmp-'));
  assert.ok(isTempFileName(name));
  assert.equal(tempFileOwnerPid(name), process.pid);
  assert.notEqual(tempNameFor('save.wav'), name);
  for (const ordinary of ['save.wav', '.hidden', 'x.tmp-1-2']) assert.equal(isTempFileName(ordinary), false, ordinary);
  assert.equal(tempFileOwnerPid('.x.tmp-abc'), undefined);
});

test('makeErrnoError looks like an error from node:fs', () => {
  const error = makeErrnoError('ENOSPC', 'write', '/x');
  assert.equal(error.code, 'ENOSPC');
  assert.equal(error.errno, -28);
  assert.equal(error.message, "ENOSPC: no space left on device, write '/x'");
  assert.equal(describeErrno('NOT_AN_ERRNO'), undefined);
});

test('readFileNoFollow reads files and refuses a link', () => {
  const { dir, target } = dirWithFile('content');
  assert.equal(readFileNoFollow(target).toString(), 'content');
  fs.symlinkSync(target, join(dir, 'link'));
  assert.throws(() => readFileNoFollow(join(dir, 'link')), { code: 'ELOOP' });
});
