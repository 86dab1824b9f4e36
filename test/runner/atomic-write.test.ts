// Atomic writes: the target is always the old complete file or the new complete one, even when the writer is killed.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../support/prng.js';
import { XMLValidator } from 'fast-xml-parser';
import { writeFileAtomic, writeFileAtomicSync, type AtomicWriteOptions } from '../../runner/atomic-write.js';

const scratch = mkdtempSync(join(tmpdir(), 'atomic-write-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

let dirCount = 0;
const freshDir = (): string => {
  const dir = join(scratch, `d${dirCount++}`);
  mkdirSync(dir);
  return dir;
};

type Writer = (path: string, data: string | Uint8Array, options?: AtomicWriteOptions) => void | Promise<void>;
const WRITERS: Array<[string, Writer]> = [['writeFileAtomicSync', writeFileAtomicSync], ['writeFileAtomic', writeFileAtomic]];

for (const [label, write] of WRITERS) {
  describe(label, () => {
    it('creates the file with exactly the given bytes and no leftovers', async () => {
      const dir = freshDir();
      const text = 'é中😀\x00<xml/>'.repeat(1000);
      await write(join(dir, 'a.xml'), text);
      await write(join(dir, 'b.bin'), new Uint8Array([0, 255, 1, 254]));
      await write(join(dir, 'empty'), '');
      assert.equal(readFileSync(join(dir, 'a.xml'), 'utf8'), text);
      assert.deepEqual([...readFileSync(join(dir, 'b.bin'))], [0, 255, 1, 254]);
      assert.equal(readFileSync(join(dir, 'empty'), 'utf8'), '');
      assert.deepEqual(readdirSync(dir).sort(), ['a.xml', 'b.bin', 'empty']);
    });

    it('replaces an existing file', async () => {
      const dir = freshDir();
      const path = join(dir, 'r.xml');
      writeFileSync(path, 'old content that is longer than the new one');
      await write(path, 'new', { fsyncDir: false });
      assert.equal(readFileSync(path, 'utf8'), 'new');
      assert.deepEqual(readdirSync(dir), ['r.xml']);
    });

    it('creates files 0644 by default and with the given mode, both under the umask', async () => {
      const dir = freshDir();
      const previous = process.umask(0o027);
      try {
        await write(join(dir, 'default'), 'x');
        await write(join(dir, 'private'), 'x', { mode: 0o600 });
      } finally {
        process.umask(previous);
      }
      assert.equal(statSync(join(dir, 'default')).mode & 0o777, 0o640);
      assert.equal(statSync(join(dir, 'private')).mode & 0o777, 0o600);
    });

    it('on failure rethrows, leaves the target alone and removes its temp file', async () => {
      const dir = freshDir();
      const blocker = join(dir, 'is-a-dir');
      mkdirSync(join(blocker, 'child'), { recursive: true });
      await assert.rejects(async () => write(blocker, 'x'), /EISDIR|ENOTEMPTY|EEXIST/);
      assert.deepEqual(readdirSync(dir), ['is-a-dir'], 'no temp file left behind');
      assert.deepEqual(readdirSync(blocker), ['child']);

      await assert.rejects(async () => write(join(dir, 'missing', 'x.xml'), 'x'), { code: 'ENOENT' });
      assert.equal(existsSync(join(dir, 'missing')), false);
    });
  });
}

describe('killed writer', () => {
  // The child rewrites `target` forever, alternating between two large documents; we SIGKILL it at seeded random
  // moments and check that the target is, every time, exactly one of the two complete documents.
  const CHILD = `
    import { readFileSync, writeSync } from 'node:fs';
    const { writeFileAtomicSync } = await import(process.env.ATOMIC_MODULE);
    const docs = [readFileSync(process.env.DOC_A), readFileSync(process.env.DOC_B)];
    // One write before 'ready' (a warm loop), then nothing but writes until the SIGKILL lands.
    for (let i = 0; ; i++) {
      writeFileAtomicSync(process.env.TARGET, docs[i % 2]);
      writeSync(1, i === 0 ? 'ready\\n' : 'w\\n');
    }
  `;
  const atomicModule = fileURLToPath(new URL('../../runner/atomic-write.ts', import.meta.url));


  function bigReport(tag: string): string {
    const cases: string[] = [];
    for (let i = 0; i < 12_000; i++) cases.push(`<testcase classname="suites.test_${tag}" name="test_${i}" time="0.001" />`);
    return `<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="${tag}">${cases.join('')}</testsuite></testsuites>`;
  }

  /** Start a writer, let it run `delayMs` after it is ready, SIGKILL it; resolves with the writes it finished. */
  function killWriterAfter(env: NodeJS.ProcessEnv, delayMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
        env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let timer: NodeJS.Timeout | undefined;
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk;
        if (timer === undefined && stdout.startsWith('ready\n')) {
          timer = setTimeout(() => process.kill(child.pid!, 'SIGKILL'), delayMs);
        }
      });
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (_code, signal) => {
        clearTimeout(timer);
        // The writer never stops on its own, so a SIGKILL exit proves the kill landed inside the write loop.
        if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own (${signal ?? _code}): ${stderr}`));
        else resolve(stdout.split('\n').filter((line) => line === 'w').length);
      });
    });
  }

  it('leaves the old or the new complete report at every kill', { timeout: 30_000 }, async () => {
    const dir = freshDir();
    const docA = bigReport('A');
    const docB = bigReport('B');
    writeFileSync(join(dir, 'doc-a'), docA);
    writeFileSync(join(dir, 'doc-b'), docB);
    const random = seededRandom(20261128);
    const TRIALS = 12;
    let completedWrites = 0;
    for (let trial = 0; trial < TRIALS; trial += 2) {
      // Two writers at a time, each on its own target: the machine has two cores.
      const lanes = [0, 1].map(async (lane) => {
        const target = join(dir, `report-${lane}.xml`);
        writeFileSync(target, docA);
        const delay = Math.floor(random() * 150);
        completedWrites += await killWriterAfter({ ATOMIC_MODULE: atomicModule, DOC_A: join(dir, 'doc-a'), DOC_B: join(dir, 'doc-b'), TARGET: target }, delay);
        const content = readFileSync(target, 'utf8');
        assert.ok(content === docA || content === docB, `trial ${trial + lane} (kill after ${delay} ms): target is ${content.length} bytes, neither document`);
        assert.equal(XMLValidator.validate(content), true);
      });
      await Promise.all(lanes);
    }
    // Only temp files may be left by a killed writer, and only with the documented name.
    const stray = readdirSync(dir).filter((name) => !['doc-a', 'doc-b', 'report-0.xml', 'report-1.xml'].includes(name));
    for (const name of stray) assert.match(name, /^\.report-[01]\.xml\.tmp-\d+-[0-9a-f]{12}$/);
    console.log(`# ${TRIALS} kills, ${completedWrites} complete rewrites between them, ${stray.length} temp files left by killed writers`);
  });
});
