// Capture, phase by phase: every phase gets exactly what was written during it, however many phases came before.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Capture } from '../../runner/capture.js';

test('each phase returns its own stdout, stderr and console output, the tenth as well as the first', () => {
  const capture = new Capture('fd');
  capture.install();
  const results = [];
  try {
    for (let i = 0; i < 10; i++) {
      capture.begin(`t.ts::test_${i}`, 'call');
      console.log(`log ${i}`);
      process.stdout.write(`out ${i}\n`);
      process.stderr.write(Buffer.from(`err ${i}\n`));
      console.warn(`warn ${i}`);
      results.push(capture.end());
    }
  } finally {
    capture.uninstall();
  }
  results.forEach((r, i) => {
    assert.equal(r.out, `log ${i}\nout ${i}\n`);
    assert.equal(r.err, `err ${i}\n`);
    assert.deepEqual(r.records.map((rec) => [rec.levelName, rec.message, rec.nodeid]), [['WARNING', `warn ${i}`, `t.ts::test_${i}`]]);
  });
});

test('between phases and after uninstall, writes reach the real stream; during a phase they do not', () => {
  const real = process.stdout.write;
  const reached: string[] = [];
  // A spy stands in for the real stream's write before Capture looks at it.
  process.stdout.write = ((chunk: string) => reached.push(String(chunk)) > 0) as typeof process.stdout.write;
  try {
    const capture = new Capture('fd');
    capture.install();
    process.stdout.write('before\n');
    capture.begin('t.ts::a', 'call');
    process.stdout.write('inside\n');
    const inside = capture.end();
    process.stdout.write('between\n');
    capture.uninstall();
    process.stdout.write('after\n');
    assert.equal(inside.out, 'inside\n');
    assert.deepEqual(reached, ['before\n', 'between\n', 'after\n']);
  } finally {
    process.stdout.write = real;
  }
});
