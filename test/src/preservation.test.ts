import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TranscriptionState } from '../../src/checkpoint.js';
import { DURABLE_STEPS, type DurableStep, FaultyFs, SimulatedCrash, isTempFileName } from '../../src/durable-fs.js';
import { EmergencyPreserver, PreservationError, daemonTempDir, defaultEmergencyDir } from '../../src/preservation.js';
import { decodeWav } from '../../src/wav.js';
import { seededRandom } from '../support/prng.js';

const root = fs.mkdtempSync(join(tmpdir(), 'preservation-test-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let dirCounter = 0;
function freshDir(): string {
  dirCounter += 1;
  return join(root, `case-${dirCounter}`, 'emergency');
}

/** Seeded samples spanning ±4 (beyond ±1, to catch clipping), from a 32-bit LCG. */
function seededAudio(length: number, seed: number): Float32Array {
  const samples = new Float32Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    samples[i] = (state / 0x100000000 - 0.5) * 8;
  }
  return samples;
}

function bytesOf(samples: Float32Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}

const STATE: TranscriptionState = {
  partialText: 'This is a partial transcription that should be',
  chunkIndex: 5,
  totalChunks: 10,
  lastTimestamp: 1732758960.5,
  confidence: 0.85,
  lastInjected: 'This is a partial',
  streamingFrames: 12,
  sampleRate: 16000,
};

/** A clock that advances one second per reading, so every save has a distinct, ordered time. */
function steppingClock(start = Date.parse('2025-11-28T01:00:00Z')) {
  let now = start;
  return { now: () => (now += 1000) };
}

const modeOf = (path: string) => fs.statSync(path).mode & 0o777;

test('suite tests 15/16: 10 s of audio in two parts and the state come back from disk bit for bit', () => {
  const dir = freshDir();
  const previousUmask = process.umask(0);
  let result;
  try {
    const audio = seededAudio(160_000, 15);
    const preserver = new EmergencyPreserver({ dir, clock: steppingClock() });
    result = preserver.preserve({ audio: [audio.subarray(0, 100_000), audio.subarray(100_000)], sampleRate: 16000, checkpoint: STATE });
    assert.deepEqual({ ...result, audioPath: undefined, checkpointPath: undefined }, { samples: 160_000, bytes: 640_044, audioPath: undefined, checkpointPath: undefined });
    const wav = fs.readFileSync(result.audioPath);
    assert.ok(wav.subarray(44).equals(bytesOf(audio)), 'the 640,000 data bytes are the samples, byte for byte');
    const decoded = decodeWav(wav);
    assert.deepEqual([decoded.sampleRate, decoded.channels, decoded.formatTag, decoded.bitsPerSample], [16000, 1, 3, 32]);
    const json = JSON.parse(fs.readFileSync(result.checkpointPath, 'utf8'));
    for (const [field, value] of Object.entries(STATE)) assert.deepEqual(json[field], value, field);
    assert.equal(json.audio.samples, 160_000);
  } finally {
    process.umask(previousUmask);
  }
  assert.equal(modeOf(result.audioPath).toString(8), '600');
  assert.equal(modeOf(result.checkpointPath).toString(8), '600');
  assert.equal(modeOf(dir).toString(8), '700');
});

test('recover() on a fresh preserver finds the newest complete save', () => {
  const dir = freshDir();
  const writer = new EmergencyPreserver({ dir, clock: steppingClock() });
  for (let i = 1; i <= 3; i++) writer.preserve({ audio: seededAudio(1000 * i, i), sampleRate: 16000, checkpoint: { ...STATE, chunkIndex: i } });
  const recovered = new EmergencyPreserver({ dir }).recover();
  assert.ok(recovered);
  assert.equal(recovered.checkpoint.chunkIndex, 3);
  assert.equal(recovered.sampleRate, 16000);
  assert.ok(bytesOf(recovered.audio).equals(bytesOf(seededAudio(3000, 3))));
  assert.equal(recovered.checkpoint.version, 1);
  assert.equal(recovered.checkpoint.createdAt, '2025-11-28T01:00:03.000Z');
});

test('saves with the same timestamp are ordered by their sequence number', () => {
  const dir = freshDir();
  const frozen = { now: () => Date.parse('2025-11-28T01:00:00Z') };
  const writer = new EmergencyPreserver({ dir, clock: frozen });
  for (let i = 1; i <= 12; i++) writer.preserve({ audio: seededAudio(10, i), sampleRate: 16000, checkpoint: { ...STATE, chunkIndex: i % 11 } });
  assert.equal(new EmergencyPreserver({ dir }).loadLatest()?.checkpoint.chunkIndex, 1);
});

test('NaN payloads, -0 and infinities survive preserve and recover', () => {
  const dir = freshDir();
  const special = new Float32Array(new Uint32Array([0x7fc00123, 0x7f800001, 0x80000000, 0x7f800000, 0xff800000, 0x00000001]).buffer);
  new EmergencyPreserver({ dir }).preserve({ audio: special, sampleRate: 16000, checkpoint: STATE });
  const recovered = new EmergencyPreserver({ dir }).recover()!;
  assert.deepEqual(Array.from(new Uint32Array(recovered.audio.buffer)), [0x7fc00123, 0x7f800001, 0x80000000, 0x7f800000, 0xff800000, 0x00000001]);
});

test('loading skips a missing WAV, a wrong checksum, a broken checkpoint and temp files, and scan() says why', () => {
  const dir = freshDir();
  const writer = new EmergencyPreserver({ dir, clock: steppingClock() });
  const good = writer.preserve({ audio: seededAudio(500, 1), sampleRate: 16000, checkpoint: { ...STATE, chunkIndex: 1 } });
  const missing = writer.preserve({ audio: seededAudio(500, 2), sampleRate: 16000, checkpoint: { ...STATE, chunkIndex: 2 } });
  const corrupt = writer.preserve({ audio: seededAudio(500, 3), sampleRate: 16000, checkpoint: { ...STATE, chunkIndex: 3 } });
  fs.unlinkSync(missing.audioPath);
  const bytes = fs.readFileSync(corrupt.audioPath);
  bytes[100]! ^= 1;
  fs.writeFileSync(corrupt.audioPath, bytes);
  fs.writeFileSync(join(dir, 'emergency-zzz.json'), '{"partialText": "torn');
  fs.writeFileSync(join(dir, '.emergency-zzz.wav.tmp-999999-1-abcd'), 'half a file');
  fs.writeFileSync(join(dir, 'emergency-orphan.wav'), 'x');

  const preserver = new EmergencyPreserver({ dir });
  const scan = preserver.scan();
  assert.deepEqual(scan.complete.map((c) => c.checkpointPath), [good.checkpointPath]);
  assert.deepEqual(
    scan.incomplete.map((entry) => [entry.path, entry.reason.replace(dir, '<dir>')]).sort(),
    [
      [corrupt.checkpointPath, `its audio file ${corrupt.audioPath.replace(dir, '<dir>')} does not match the checkpoint's SHA-256`],
      [missing.checkpointPath, `its audio file ${missing.audioPath.replace(dir, '<dir>')} cannot be read (ENOENT)`],
      [join(dir, 'emergency-zzz.json'), expectNotJson(join(dir, 'emergency-zzz.json')).replace(dir, '<dir>')],
    ].sort(),
  );
  assert.deepEqual(scan.orphanAudio, [join(dir, 'emergency-orphan.wav')]);
  assert.deepEqual(scan.tempFiles, [join(dir, '.emergency-zzz.wav.tmp-999999-1-abcd')]);
  assert.equal(preserver.loadLatest()?.checkpoint.chunkIndex, 1);
});

function expectNotJson(path: string): string {
  try {
    JSON.parse('{"partialText": "torn');
  } catch (error) {
    return `${path}: not valid JSON (${(error as Error).message})`;
  }
  throw new Error('unreachable');
}

test('recover() removes leftover temp files of dead processes and of this one, but not of a live process', () => {
  const dir = freshDir();
  new EmergencyPreserver({ dir }).preserve({ audio: seededAudio(10, 1), sampleRate: 16000, checkpoint: STATE });
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
  const names = {
    dead: `.a.wav.tmp-${deadPid}-1-aaaa`,
    ours: `.b.json.tmp-${process.pid}-1-bbbb`,
    live: '.c.wav.tmp-1-1-cccc', // pid 1 (init) is alive and not ours
  };
  for (const name of Object.values(names)) fs.writeFileSync(join(dir, name), 'partial');
  assert.ok(new EmergencyPreserver({ dir }).recover());
  assert.deepEqual(fs.readdirSync(dir).filter(isTempFileName), [names.live]);
});

test('an empty or missing directory recovers nothing', () => {
  assert.equal(new EmergencyPreserver({ dir: freshDir() }).recover(), null);
});

/** Steps that run for every write (mkdir only runs when the directory is missing). */
const WRITE_STEPS = DURABLE_STEPS.filter((step) => step !== 'mkdir');
const FILES: [name: string, occurrence: number][] = [['WAV', 1], ['checkpoint', 2]];

for (const [file, occurrence] of FILES) {
  for (const step of WRITE_STEPS) {
    test(`ENOSPC at '${step}' of the ${file}: clear error, audio held, older save intact, retry saves bit-exactly`, () => {
      const dir = freshDir();
      const faulty = new FaultyFs();
      const preserver = new EmergencyPreserver({ dir, fs: faulty, clock: steppingClock() });
      preserver.preserve({ audio: seededAudio(300, 1), sampleRate: 16000, checkpoint: { ...STATE, chunkIndex: 1 } });
      faulty.arm({ step, errno: 'ENOSPC', occurrence });
      const audio = seededAudio(16_000, 2);
      const extension = file === 'WAV' ? 'wav' : 'json';
      assert.throws(
        () => preserver.preserve({ audio, sampleRate: 16000, checkpoint: { ...STATE, chunkIndex: 2 } }),
        (error: unknown) => {
          assert.ok(error instanceof PreservationError);
          const pattern = new RegExp(
            `^emergency save of 16000 samples failed: ENOSPC while [a-z ]+ ${dir}/emergency-[^/]+\\.${extension}: no space left on device; ` +
              'the audio is still held in memory \\(1 save is pending\\), call retry\\(\\) once the problem is fixed$',
          );
          assert.match(error.message, pattern);
          return true;
        },
      );
      assert.equal(preserver.pendingCount(), 1);
      assert.ok(bytesOf(preserver.pendingAudio()[0]!).equals(bytesOf(audio)));
      assert.equal(new EmergencyPreserver({ dir }).loadLatest()?.checkpoint.chunkIndex, step === 'dir-fsync' && file === 'checkpoint' ? 2 : 1);
      assert.deepEqual(fs.readdirSync(dir).filter(isTempFileName), []);
      faulty.disarm(); // space was freed
      const [saved] = preserver.retry();
      assert.equal(preserver.pendingCount(), 0);
      assert.ok(fs.readFileSync(saved!.audioPath).subarray(44).equals(bytesOf(audio)));
      const recovered = new EmergencyPreserver({ dir }).recover()!;
      assert.equal(recovered.checkpoint.chunkIndex, 2);
      assert.ok(bytesOf(recovered.audio).equals(bytesOf(audio)));
    });

    test(`a crash right after '${step}' of the ${file}: recover() finds the last complete save`, () => {
      const dir = freshDir();
      const faulty = new FaultyFs();
      const preserver = new EmergencyPreserver({ dir, fs: faulty, clock: steppingClock() });
      preserver.preserve({ audio: seededAudio(300, 1), sampleRate: 16000, checkpoint: { ...STATE, chunkIndex: 1 } });
      faulty.arm({ step, kind: 'crash-after', occurrence });
      assert.throws(() => preserver.preserve({ audio: seededAudio(400, 2), sampleRate: 16000, checkpoint: { ...STATE, chunkIndex: 2 } }), SimulatedCrash);
      const fresh = new EmergencyPreserver({ dir });
      const scan = fresh.scan();
      assert.deepEqual(scan.incomplete, [], 'no checkpoint ever points at a missing or torn WAV');
      const committed = file === 'checkpoint' && (step === 'rename' || step === 'dir-fsync');
      const recovered = fresh.recover()!;
      assert.equal(recovered.checkpoint.chunkIndex, committed ? 2 : 1);
      assert.ok(bytesOf(recovered.audio).equals(bytesOf(seededAudio(committed ? 400 : 300, committed ? 2 : 1))));
      assert.deepEqual(fs.readdirSync(dir).filter(isTempFileName), [], 'recover() removed the temp files');
      for (const orphan of fresh.scan().orphanAudio) decodeWav(fs.readFileSync(orphan)); // an uncommitted WAV is still whole
    });
  }
}

test('several failed saves stay pending in order; retry stops at the first failure and keeps the rest', () => {
  const dir = freshDir();
  const faulty = new FaultyFs(fs, { step: 'write', errno: 'EACCES', times: Infinity });
  const preserver = new EmergencyPreserver({ dir, fs: faulty, clock: steppingClock() });
  for (let i = 1; i <= 3; i++) {
    assert.throws(() => preserver.preserve({ audio: seededAudio(10, i), sampleRate: 16000, checkpoint: { ...STATE, chunkIndex: i } }), /EACCES while writing .*: permission denied; .*\(\d saves? (is|are) pending\)/);
  }
  assert.equal(preserver.pendingCount(), 3);
  assert.throws(() => preserver.retry(), PreservationError);
  assert.equal(preserver.pendingCount(), 3);
  faulty.disarm();
  const results = preserver.retry();
  assert.deepEqual(results.map((r) => r.samples), [10, 10, 10]);
  assert.equal(preserver.pendingCount(), 0);
  assert.equal(new EmergencyPreserver({ dir }).recover()?.checkpoint.chunkIndex, 3);
});

test('a symlinked emergency directory is refused: nothing is written through it, the audio is held', () => {
  const base = join(root, `case-link-${++dirCounter}`);
  const elsewhere = join(base, 'elsewhere');
  fs.mkdirSync(elsewhere, { recursive: true, mode: 0o700 });
  const dir = join(base, 'emergency');
  fs.symlinkSync(elsewhere, dir);
  const preserver = new EmergencyPreserver({ dir });
  assert.throws(() => preserver.preserve({ audio: seededAudio(10, 1), sampleRate: 16000, checkpoint: STATE }), /refusing to write .*: the directory .*emergency is a symbolic link/);
  assert.deepEqual(fs.readdirSync(elsewhere), []);
  assert.equal(preserver.pendingCount(), 1);
});

test('a symlink planted at the next save\'s name is replaced, and the file it points to is untouched', () => {
  const dir = freshDir();
  const clock = { now: () => Date.parse('2025-11-28T02:00:00Z') };
  const preserver = new EmergencyPreserver({ dir, clock });
  const first = preserver.preserve({ audio: seededAudio(10, 1), sampleRate: 16000, checkpoint: STATE });
  const sequence = Number(/-(\d{4})\.wav$/.exec(first.audioPath)![1]);
  const nextBase = first.audioPath.replace(/\d{4}\.wav$/, String(sequence + 1).padStart(4, '0'));
  const victim = join(root, `victim-${dirCounter}`);
  fs.writeFileSync(victim, 'precious');
  fs.symlinkSync(victim, `${nextBase}.wav`);
  fs.symlinkSync(victim, `${nextBase}.json`);
  const second = preserver.preserve({ audio: seededAudio(20, 2), sampleRate: 16000, checkpoint: STATE });
  assert.equal(second.audioPath, `${nextBase}.wav`);
  assert.equal(fs.readFileSync(victim, 'utf8'), 'precious');
  assert.ok(fs.lstatSync(second.audioPath).isFile() && fs.lstatSync(second.checkpointPath).isFile());
  assert.equal(new EmergencyPreserver({ dir }).recover()?.audio.length, 20);
});

test('invalid input is refused before anything is written or held', () => {
  const dir = freshDir();
  const preserver = new EmergencyPreserver({ dir });
  assert.throws(() => preserver.preserve({ audio: new Float32Array(4), sampleRate: 16000, checkpoint: { ...STATE, chunkIndex: 11 } }), /the checkpoint to preserve: checkpoint field "chunkIndex" must be a whole number from 0 to 10, got 11/);
  assert.throws(() => preserver.preserve({ audio: new Float32Array(4), sampleRate: 0, checkpoint: STATE }), /sample rate must be a positive integer, got 0/);
  assert.throws(() => preserver.preserve({ audio: [new Float32Array(2), [1, 2] as unknown as Float32Array], sampleRate: 16000, checkpoint: STATE }), /Float32Array or an array of Float32Arrays/);
  assert.equal(preserver.pendingCount(), 0);
  assert.equal(fs.existsSync(dir), false);
});

const DEFAULT_DIRS: [name: string, env: NodeJS.ProcessEnv, expected: string][] = [
  ['XDG_STATE_HOME set', { XDG_STATE_HOME: '/var/state' }, '/var/state/swictation/emergency'],
  ['XDG_STATE_HOME unset', {}, '/home/u/.local/state/swictation/emergency'],
  ['XDG_STATE_HOME empty', { XDG_STATE_HOME: '' }, '/home/u/.local/state/swictation/emergency'],
  ['XDG_STATE_HOME relative (invalid by the XDG spec)', { XDG_STATE_HOME: 'state' }, '/home/u/.local/state/swictation/emergency'],
];
for (const [name, env, expected] of DEFAULT_DIRS) {
  test(`default emergency directory with ${name}`, () => assert.equal(defaultEmergencyDir(env, '/home/u'), expected));
}

test('the emergency directory may not be inside the daemon temp dir, whose *.wav files stop() deletes', () => {
  for (const dir of [daemonTempDir(), join(daemonTempDir(), 'emergency')]) {
    assert.throws(() => new EmergencyPreserver({ dir }), /is inside the daemon's temp dir .*swictation, whose \*\.wav files are deleted on every stop/);
  }
  assert.doesNotThrow(() => new EmergencyPreserver({ dir: `${daemonTempDir()}-emergency` }));
  assert.ok(!new EmergencyPreserver().dir.startsWith(daemonTempDir()));
});

test('ENOSPC on a real, tiny tmpfs: clear error, audio held, saved bit-exactly after space is freed', (t) => {
  const mountPoint = fs.mkdtempSync(join(tmpdir(), 'preservation-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mountPoint], { stdio: 'pipe' });
  } catch (error) {
    fs.rmdirSync(mountPoint);
    return t.skip(`cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]}); the FaultyFs ENOSPC tests cover this`);
  }
  try {
    const filler = join(mountPoint, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(700 * 1024));
    const dir = join(mountPoint, 'emergency');
    const preserver = new EmergencyPreserver({ dir });
    const audio = seededAudio(160_000, 99); // 640 KB: cannot fit in the ~324 KB left
    assert.throws(() => preserver.preserve({ audio, sampleRate: 16000, checkpoint: STATE }), /ENOSPC while writing .*\.wav: no space left on device; the audio is still held in memory/);
    assert.equal(preserver.pendingCount(), 1);
    assert.deepEqual(fs.readdirSync(dir), [], 'the partial temp file was removed');
    fs.unlinkSync(filler);
    preserver.retry();
    const recovered = new EmergencyPreserver({ dir }).recover()!;
    assert.ok(bytesOf(recovered.audio).equals(bytesOf(audio)));
    assert.deepEqual(recovered.checkpoint.partialText, STATE.partialText);
  } finally {
    execFileSync('umount', [mountPoint]);
    fs.rmdirSync(mountPoint);
  }
});


const CHILD_SAVER = `
const { EmergencyPreserver } = await import(process.env.PRESERVER_MODULE);
const preserver = new EmergencyPreserver({ dir: process.env.EMERGENCY_DIR });
process.stdout.write('ready\\n');
for (let i = Number(process.env.FIRST_INDEX); ; i++) {
  // Every sample of save i is i, so a recovered save proves its audio and its checkpoint belong together.
  const audio = new Float32Array(8000 + (i % 5) * 4000).fill(i);
  preserver.preserve({ audio, sampleRate: 16000, checkpoint: {
    partialText: 'save ' + i, chunkIndex: i % 10, totalChunks: 10, lastTimestamp: i, confidence: 0.5,
    lastInjected: '', streamingFrames: i } });
}
`;

async function runSaverAndKill(dir: string, firstIndex: number, delayMs: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD_SAVER], {
    env: { ...process.env, PRESERVER_MODULE: pathToFileURL(join(import.meta.dirname, '../../src/preservation.ts')).href, EMERGENCY_DIR: dir, FIRST_INDEX: String(firstIndex) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', () => reject(new Error('the saver child exited before it was ready')));
  });
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
}

test('SIGKILL at random moments: the directory only ever holds complete pairs, whole orphan WAVs and temp files', async (t) => {
  const dir = freshDir();
  const random = seededRandom(20251128);
  const rounds = 12;
  const leftovers = new Set<string>();
  let interruptedRounds = 0;
  for (let round = 0; round < rounds; round++) {
    await runSaverAndKill(dir, round * 1_000_000, Math.floor(random() * 150));
    const scan = new EmergencyPreserver({ dir }).scan();
    assert.deepEqual(scan.incomplete, [], `round ${round}: every checkpoint names a complete, matching WAV`);
    for (const orphan of scan.orphanAudio) decodeWav(fs.readFileSync(orphan), { source: orphan });
    for (const name of fs.readdirSync(dir)) assert.ok(/^emergency-.*\.(wav|json)$/.test(name) || isTempFileName(name), `unexpected file ${name}`);
    const newLeftovers = [...scan.tempFiles, ...scan.orphanAudio].filter((path) => !leftovers.has(path));
    if (newLeftovers.length > 0) interruptedRounds += 1;
    for (const path of newLeftovers) leftovers.add(path);
  }
  const preserver = new EmergencyPreserver({ dir });
  const saves = preserver.scan().complete.length;
  t.diagnostic(`${saves} complete saves over ${rounds} kills; ${interruptedRounds} kills interrupted a write (${leftovers.size} leftovers)`);
  assert.ok(saves > 0);
  const recovered = preserver.recover()!;
  const index = Number(recovered.checkpoint.partialText.split(' ')[1]);
  assert.ok(recovered.audio.every((sample) => sample === index), 'the recovered audio belongs to the recovered checkpoint');
  assert.equal(Math.floor(index / 1_000_000), rounds - 1, 'the newest save comes from the last run');
  assert.deepEqual(preserver.scan().tempFiles, [], 'recover() cleaned up the temp files');
});
