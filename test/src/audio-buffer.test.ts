import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { AdaptiveAudioBuffer, type PressureLevel, SpillError, SpillFile } from '../../src/audio-buffer.js';

/** Samples whose values are their positions in the stream: any loss, duplicate or reordering shows. */
function counterBlock(start: number, length: number): Float32Array {
  return Float32Array.from({ length }, (_, i) => start + i);
}

function concat(parts: Float32Array[]): number[] {
  return parts.flatMap((part) => Array.from(part));
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}

/** A buffer whose spilled blocks are collected in `spilled`. */
function collectingBuffer(options: Partial<ConstructorParameters<typeof AdaptiveAudioBuffer>[0]> = {}) {
  const spilled: Float32Array[] = [];
  const buffer = new AdaptiveAudioBuffer({ spill: (samples) => spilled.push(samples), ...options });
  return { buffer, spilled };
}

function assertAccounting(buffer: AdaptiveAudioBuffer): void {
  const { written, consumed, spilled, held } = buffer.stats();
  assert.equal(written, consumed + spilled + held, 'written == consumed + spilled + held');
  assert.equal(held, buffer.length);
}

// The binding thresholds (SPEC Decisions 1), here only to turn the suite's usage steps into levels.
function levelFor(usage: number): PressureLevel {
  return usage >= 0.95 ? 'emergency' : usage >= 0.85 ? 'critical' : usage >= 0.75 ? 'warning' : 'normal';
}

test('suite test 13: usage 0.50 -> 0.70 -> 0.85 -> 0.95 gives 30, 30, 15, 7.5 s and loses nothing', () => {
  const { buffer, spilled } = collectingBuffer();
  const blockSize = 1024;
  const total = 480_000;
  let next = 0;
  let level: PressureLevel = 'normal';
  const capacities: number[] = [];
  const usages = [0.5, 0.7, 0.85, 0.95];
  for (const [step, usage] of usages.entries()) {
    const newLevel = levelFor(usage);
    if (newLevel !== level) buffer.onPressureChange(level, newLevel);
    level = newLevel;
    capacities.push(buffer.capacitySeconds);
    assert.ok(buffer.capacitySamples >= buffer.floorSamples && buffer.capacitySamples > 0);
    const phaseEnd = (total * (step + 1)) / usages.length;
    while (next < phaseEnd) {
      const length = Math.min(blockSize, phaseEnd - next);
      buffer.write(counterBlock(next, length));
      next += length;
      if (length === blockSize && next - blockSize === (total * step) / usages.length) {
        // The first block after each step is accepted and is the newest audio held.
        assert.equal(buffer.peek().at(-1), next - 1);
      }
      assert.ok(buffer.length <= buffer.capacitySamples);
    }
    assertAccounting(buffer);
  }
  assert.deepEqual(capacities, [30, 30, 15, 7.5]);
  const flushedPlusRetained = [...concat(spilled), ...Array.from(buffer.peek())];
  assert.equal(flushedPlusRetained.length, total);
  assert.deepEqual(flushedPlusRetained, range(0, total));
  assert.equal(buffer.length, 120_000, 'the buffer is full at 7.5 s');
});

test('repeated halving stops at the floor and stays above 0', () => {
  const { buffer } = collectingBuffer();
  const capacities = [buffer.capacitySamples];
  for (let i = 0; i < 7; i++) capacities.push(buffer.shrink().capacityAfter);
  assert.deepEqual(capacities, [480_000, 240_000, 120_000, 60_000, 30_000, 16_000, 16_000, 16_000]);
  assert.deepEqual(buffer.shrink(), { action: 'none', capacityBefore: 16_000, capacityAfter: 16_000, spilled: 0 });
});

test('growing doubles back up to the maximum', () => {
  const { buffer } = collectingBuffer({ capacitySeconds: 1 });
  const capacities = [buffer.capacitySamples];
  for (let i = 0; i < 6; i++) capacities.push(buffer.grow().capacityAfter);
  assert.deepEqual(capacities, [16_000, 32_000, 64_000, 128_000, 256_000, 480_000, 480_000]);
});

const LEVEL_CHANGES: [from: PressureLevel, to: PressureLevel, action: 'shrink' | 'grow' | 'none'][] = [
  ['normal', 'warning', 'shrink'],
  ['normal', 'critical', 'shrink'],
  ['normal', 'emergency', 'shrink'],
  ['warning', 'critical', 'shrink'],
  ['critical', 'emergency', 'shrink'],
  ['emergency', 'critical', 'none'],
  ['critical', 'warning', 'none'],
  ['warning', 'warning', 'none'],
  ['normal', 'normal', 'none'],
  ['warning', 'normal', 'grow'],
  ['critical', 'normal', 'grow'],
  ['emergency', 'normal', 'grow'],
];
for (const [from, to, action] of LEVEL_CHANGES) {
  test(`pressure ${from} -> ${to}: ${action}`, () => {
    const { buffer } = collectingBuffer({ capacitySeconds: 8, maxSeconds: 30 });
    const expected = { shrink: 64_000, grow: 256_000, none: 128_000 }[action];
    const change = buffer.onPressureChange(from, to);
    assert.deepEqual(change, { action, capacityBefore: 128_000, capacityAfter: expected, spilled: 0 });
    assert.equal(buffer.capacitySamples, expected);
  });
}

test('growOnNormal: false keeps the reduced capacity', () => {
  const { buffer } = collectingBuffer({ capacitySeconds: 8, growOnNormal: false });
  assert.equal(buffer.onPressureChange('warning', 'normal').action, 'none');
  assert.equal(buffer.capacitySeconds, 8);
});

test('shrinking spills exactly the oldest samples that no longer fit', () => {
  const { buffer, spilled } = collectingBuffer({ sampleRate: 10, capacitySeconds: 2, floorSeconds: 0.1, maxSeconds: 2 });
  buffer.write(counterBlock(0, 17));
  const change = buffer.shrink();
  assert.deepEqual(change, { action: 'shrink', capacityBefore: 20, capacityAfter: 10, spilled: 7 });
  assert.deepEqual(concat(spilled), range(0, 7));
  assert.deepEqual(Array.from(buffer.peek()), range(7, 17));
  assertAccounting(buffer);
});

const OVERFLOWS: [name: string, writes: number[], spilledCounts: number[], held: [number, number]][] = [
  ['fits exactly', [4, 6], [], [0, 10]],
  ['overflow by one', [10, 1], [1], [1, 11]],
  ['overflow from the middle of the ring', [7, 6], [3], [3, 13]],
  ['a block larger than the capacity spills held samples and its own head', [3, 25], [18], [18, 28]],
  ['a block exactly the capacity replaces everything', [5, 10], [5], [5, 15]],
  ['an empty write changes nothing', [5, 0], [], [0, 5]],
];
for (const [name, writes, spilledCounts, [heldStart, heldEnd]] of OVERFLOWS) {
  test(`write overflow: ${name}`, () => {
    const { buffer, spilled } = collectingBuffer({ sampleRate: 10, capacitySeconds: 1, floorSeconds: 0.1, maxSeconds: 1 });
    let next = 0;
    for (const count of writes) {
      buffer.write(counterBlock(next, count));
      next += count;
    }
    assert.deepEqual(spilled.map((block) => block.length), spilledCounts);
    assert.deepEqual(concat(spilled), range(0, heldStart));
    assert.deepEqual(Array.from(buffer.peek()), range(heldStart, heldEnd));
    assertAccounting(buffer);
  });
}

test('read consumes from the oldest end, across the wrap-around, and peek does not consume', () => {
  const { buffer } = collectingBuffer({ sampleRate: 10, capacitySeconds: 1, floorSeconds: 0.1, maxSeconds: 1 });
  buffer.write(counterBlock(0, 8));
  assert.deepEqual(Array.from(buffer.read(6)), range(0, 6));
  buffer.write(counterBlock(8, 7)); // wraps past the end of the ring
  assert.deepEqual(Array.from(buffer.peek()), range(6, 15));
  assert.deepEqual(Array.from(buffer.read(100)), range(6, 15));
  assert.deepEqual(Array.from(buffer.read()), []);
  buffer.write(counterBlock(15, 3));
  assert.deepEqual(Array.from(buffer.clear()), range(15, 18));
  assert.deepEqual(buffer.stats(), { written: 18, consumed: 18, spilled: 0, held: 0 });
  assert.throws(() => buffer.read(-1), /non-negative integer count, got -1/);
});

test('a failing spill sink rejects the operation and leaves the buffer exactly as it was', () => {
  let failing = true;
  const spilled: Float32Array[] = [];
  const buffer = new AdaptiveAudioBuffer({
    sampleRate: 10, capacitySeconds: 1, floorSeconds: 0.1, maxSeconds: 1,
    spill: (samples) => {
      if (failing) throw new Error('disk full');
      spilled.push(samples);
    },
  });
  buffer.write(counterBlock(0, 8));
  assert.throws(() => buffer.write(counterBlock(8, 5)), (error: unknown) => error instanceof SpillError && /nothing was dropped/.test(error.message) && (error.cause as Error).message === 'disk full');
  assert.throws(() => buffer.shrink(), SpillError);
  assert.equal(buffer.capacitySamples, 10);
  assert.deepEqual(Array.from(buffer.peek()), range(0, 8));
  assert.deepEqual(buffer.stats(), { written: 8, consumed: 0, spilled: 0, held: 8 });
  failing = false;
  buffer.write(counterBlock(8, 5));
  assert.deepEqual([...concat(spilled), ...Array.from(buffer.peek())], range(0, 13));
});

test('the sink receives copies it may keep, not views of the ring', () => {
  const { buffer, spilled } = collectingBuffer({ sampleRate: 10, capacitySeconds: 1, floorSeconds: 0.1, maxSeconds: 1 });
  buffer.write(counterBlock(0, 10));
  buffer.write(counterBlock(10, 4));
  buffer.write(counterBlock(14, 10)); // overwrites the ring slots the first spill came from
  assert.deepEqual(Array.from(spilled[0]!), range(0, 4));
});

test('random operation sequences never lose, duplicate or reorder a sample (property)', () => {
  const operation = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), count: fc.integer({ min: 0, max: 45 }) }),
    fc.record({ kind: fc.constant('read' as const), count: fc.integer({ min: 0, max: 30 }) }),
    fc.record({ kind: fc.constantFrom('shrink' as const, 'grow' as const, 'peek' as const), count: fc.constant(0) }),
  );
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
      const { buffer, spilled } = collectingBuffer({ sampleRate: 10, capacitySeconds: 2, floorSeconds: 0.3, maxSeconds: 4 });
      const consumed: Float32Array[] = [];
      let next = 0;
      for (const { kind, count } of operations) {
        if (kind === 'write') {
          buffer.write(counterBlock(next, count));
          next += count;
        } else if (kind === 'read') consumed.push(buffer.read(count));
        else if (kind === 'peek') buffer.peek();
        else buffer[kind]();
        assert.ok(buffer.length <= buffer.capacitySamples && buffer.capacitySamples >= 3);
        assertAccounting(buffer);
      }
      // Everything that left, in whatever way, plus what is held, is the input stream; spills precede what is held.
      const out = [...concat(spilled), ...concat(consumed), ...Array.from(buffer.peek())].sort((a, b) => a - b);
      assert.deepEqual(out, range(0, next));
      const held = Array.from(buffer.peek());
      assert.deepEqual(held, range(next - held.length, next), 'the held samples are the newest ones, in order');
    }),
    { seed: 7, numRuns: 400 },
  );
});

const BAD_OPTIONS: [name: string, options: object, message: RegExp][] = [
  ['a floor of 0', { floorSeconds: 0 }, /floorSeconds must be above 0, got 0/],
  ['a capacity above the maximum', { capacitySeconds: 40 }, /floorSeconds <= capacitySeconds <= maxSeconds, got 1, 40, 30/],
  ['a floor above the capacity', { capacitySeconds: 0.5 }, /got 1, 0.5, 30/],
  ['a fractional sample rate', { sampleRate: 0.5 }, /sampleRate must be a positive integer, got 0.5/],
  ['no spill sink', { spill: undefined }, /needs a spill sink/],
];
for (const [name, options, message] of BAD_OPTIONS) {
  test(`rejects ${name}`, () => {
    assert.throws(() => new AdaptiveAudioBuffer({ spill: () => {}, ...options } as ConstructorParameters<typeof AdaptiveAudioBuffer>[0]), message);
  });
}

test('onPressureChange rejects an unknown level', () => {
  const { buffer } = collectingBuffer();
  assert.throws(() => buffer.onPressureChange('normal', 'high' as PressureLevel), /unknown pressure level in change normal -> high/);
});

const spoolRoot = fs.mkdtempSync(join(tmpdir(), 'spill-file-test-'));
after(() => fs.rmSync(spoolRoot, { recursive: true, force: true }));

test('SpillFile as the sink: a private file that reads back bit-exactly, NaN payloads included', () => {
  const path = join(spoolRoot, 'spool', 'capture.f32');
  const spool = SpillFile.create(path);
  const buffer = new AdaptiveAudioBuffer({ spill: spool, sampleRate: 10, capacitySeconds: 1, floorSeconds: 0.1, maxSeconds: 1 });
  const nanBits = new Float32Array(new Uint32Array([0x7fc00123, 0x7f800001, 0x80000000]).buffer);
  buffer.write(nanBits);
  buffer.write(counterBlock(0, 12));
  buffer.shrink();
  spool.close();
  assert.equal(spool.samplesWritten, 10);
  assert.equal(fs.statSync(path).mode & 0o777, 0o600);
  assert.equal(fs.statSync(join(spoolRoot, 'spool')).mode & 0o777, 0o700);
  const back = SpillFile.read(path);
  assert.deepEqual(Array.from(new Uint32Array(back.buffer).subarray(0, 3)), [0x7fc00123, 0x7f800001, 0x80000000]);
  assert.deepEqual(Array.from(back.subarray(3)), range(0, 7));
  assert.deepEqual(Array.from(buffer.peek()), range(7, 12));
  assert.throws(() => spool.write(new Float32Array(1)), /is closed/);
});

test('SpillFile refuses an existing file or a planted link', () => {
  const existing = join(spoolRoot, 'existing.f32');
  fs.writeFileSync(existing, 'keep');
  assert.throws(() => SpillFile.create(existing), { code: 'EEXIST' });
  const link = join(spoolRoot, 'link.f32');
  fs.symlinkSync(existing, link);
  assert.throws(() => SpillFile.create(link), { code: 'EEXIST' });
  assert.equal(fs.readFileSync(existing, 'utf8'), 'keep');
  fs.writeFileSync(join(spoolRoot, 'odd.f32'), 'abc');
  assert.throws(() => SpillFile.read(join(spoolRoot, 'odd.f32')), /must hold whole float32 samples, but it has 3 bytes/);
});
