import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, systemClock } from '../../src/clock.js';
import { defaultGcHook, nativeGcAvailable } from '../../src/gc.js';
import { createLogger, createRecordingLogger, silentLogger } from '../../src/log.js';

describe('createLogger', () => {
  const original = { debug: console.debug, info: console.info, warn: console.warn, error: console.error };
  afterEach(() => Object.assign(console, original));

  it('writes "name: message" through the console method of each level', () => {
    const lines: [string, string][] = [];
    for (const method of ['debug', 'info', 'warn', 'error'] as const) {
      console[method] = (text: string) => void lines.push([method, text]);
    }
    const logger = createLogger('memory_manager');
    logger.debug('d');
    logger.info('i');
    logger.warning('w');
    logger.error('e');
    assert.deepEqual(lines, [['debug', 'memory_manager: d'], ['info', 'memory_manager: i'], ['warn', 'memory_manager: w'], ['error', 'memory_manager: e']]);
  });

  it('appends an error stack, or the value, to error lines', () => {
    const lines: string[] = [];
    console.error = (text: string) => void lines.push(text);
    createLogger('x').error('failed', new Error('boom'));
    createLogger('x').error('failed', 'a string');
    assert.match(lines[0]!, /^x: failed\nError: boom\n\s+at /);
    assert.equal(lines[1], 'x: failed\na string');
  });
});

describe('recording and silent loggers', () => {
  it('records by level', () => {
    const logger = createRecordingLogger();
    logger.info('a');
    logger.warning('b');
    logger.debug('c');
    logger.error('d', new TypeError('t'));
    assert.deepEqual(logger.messages('info'), ['a']);
    assert.deepEqual(logger.messages().length, 4);
    assert.match(logger.messages('error')[0]!, /^d\nTypeError: t/);
    silentLogger.info('nothing happens');
  });
});

describe('FakeClock', () => {
  it('fires due timers in order during advance, including ones they schedule', () => {
    const clock = new FakeClock(1000);
    const fired: string[] = [];
    clock.setTimer(() => fired.push('b@30'), 30);
    clock.setTimer(() => {
      fired.push('a@10');
      clock.setTimer(() => fired.push('c@15'), 5);
    }, 10);
    const cancelled = clock.setTimer(() => fired.push('never'), 20);
    cancelled.cancel();
    clock.advance(25);
    assert.deepEqual(fired, ['a@10', 'c@15']);
    assert.equal(clock.now(), 1025);
    assert.equal(clock.pendingTimers(), 1);
    clock.advance(5);
    assert.deepEqual(fired, ['a@10', 'c@15', 'b@30']);
  });

  it('fires timers due at the same moment in the order they were set', () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    for (const n of [1, 2, 3]) clock.setTimer(() => fired.push(n), 10);
    clock.advance(10);
    assert.deepEqual(fired, [1, 2, 3]);
  });

  it('advanceAsync lets async work started by a timer schedule its next timer', async () => {
    const clock = new FakeClock(0);
    let runs = 0;
    const loop = () =>
      clock.setTimer(async () => {
        runs++;
        await Promise.resolve();
        loop();
      }, 100);
    loop();
    await clock.advanceAsync(1000);
    assert.equal(runs, 10);
  });

  it('set moves time without firing, and advance rejects negative steps', async () => {
    const clock = new FakeClock(0);
    let fired = false;
    clock.setTimer(() => (fired = true), 10);
    clock.set(50);
    assert.equal(fired, false);
    assert.equal(clock.monotonic(), 50);
    assert.throws(() => clock.advance(-1), /non-negative/);
    await assert.rejects(clock.advanceAsync(-1), /non-negative/);
  });
});

describe('systemClock', () => {
  it('tells real time and runs real timers', async () => {
    const before = Date.now();
    assert.ok(Math.abs(systemClock.now() - before) < 1000);
    assert.ok(systemClock.monotonic() > 0);
    await new Promise<void>((resolve) => systemClock.setTimer(resolve, 5, true));
    let fired = false;
    systemClock.setTimer(() => (fired = true), 1).cancel();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(fired, false);
  });
});

describe('gc', () => {
  it('calls globalThis.gc when Node exposes it and is a no-op otherwise', () => {
    const globals = globalThis as { gc?: () => void };
    const original = globals.gc;
    try {
      delete globals.gc;
      assert.equal(nativeGcAvailable(), false);
      defaultGcHook();
      let calls = 0;
      globals.gc = () => void calls++;
      assert.equal(nativeGcAvailable(), true);
      defaultGcHook();
      assert.equal(calls, 1);
    } finally {
      if (original) globals.gc = original;
      else delete globals.gc;
    }
  });
});
