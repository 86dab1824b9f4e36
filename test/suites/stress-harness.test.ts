// The stress harness (TestMemoryStressHarness, SPEC C.4): its flags and fit check as pure functions, and the CLI run
// for real as a child process, `tsx suites/test_memory_protection.ts ...`, for a few seconds with small pressures.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessUsageError, parseHarnessArgs, type HarnessSettings } from '../../suites/support/harness-args.js';
import { LoopingAudio } from '../../suites/support/soak.js';
import { planFit, writeFileAtomic } from '../../suites/support/stress-harness.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const SUITE = 'suites/test_memory_protection.ts';
const MB = 1e6;

function harness(args: string[], timeoutMs = 60_000) {
  const run = spawnSync(TSX, [SUITE, ...args], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, NO_COLOR: '1' } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr, lines: (text: string) => text.split('\n').filter((l) => l.trim() !== '') };
}

function settings(overrides: Partial<HarnessSettings> = {}): HarnessSettings {
  const parsed = parseHarnessArgs([]);
  assert.notEqual(parsed, 'help');
  return { ...(parsed as HarnessSettings), ...overrides };
}

describe('parseHarnessArgs', () => {
  it('has the documented defaults: 1.0 h, 1000 MB, 500 MB, 30.0 s, fp16 on a 4096 MB device', () => {
    const s = settings();
    assert.deepEqual(
      [s.durationHours, s.gpuPressureMB, s.cpuPressureMB, s.toggleIntervalS, s.model, s.budgetMB, s.device, s.simulateLeakMBps],
      [1.0, 1000, 500, 30.0, 'fp16', 4096, 'auto', 0],
    );
    assert.match(s.out, /stress-harness-\d{8}-\d{6}\.json$/);
  });

  it("reads the issue's command, hours with fractions, and the extra flags", () => {
    const s = parseHarnessArgs(['--duration', '4.0', '--gpu-pressure', '2000', '--cpu-pressure', '1000', '--toggle-interval', '60']) as HarnessSettings;
    assert.deepEqual([s.durationHours, s.gpuPressureMB, s.cpuPressureMB, s.toggleIntervalS], [4, 2000, 1000, 60]);
    const t = parseHarnessArgs(['--duration=0.01', '--model', 'FP32', '--budget-mb', '8192', '--device', 'cpu', '--out', 'x.json', '--simulate-leak', '2.5']) as HarnessSettings;
    assert.equal(t.durationHours * 3600, 36, '0.01 h is 36 s');
    assert.deepEqual([t.model, t.budgetMB, t.device, t.out, t.simulateLeakMBps], ['fp32', 8192, 'cpu', resolve('x.json'), 2.5]);
    assert.equal(parseHarnessArgs(['-h']), 'help');
    assert.equal(parseHarnessArgs(['--gpu-pressure', '0', '--help']), 'help');
  });

  const bad: [string[], RegExp][] = [
    [['--duration', '0'], /^--duration: expected a number greater than 0, got '0'$/],
    [['--duration', '-1'], /^--duration: expected a number greater than 0, got '-1'$/],
    [['--duration', 'abc'], /^--duration: expected a number greater than 0, got 'abc'$/],
    [['--duration', ''], /^--duration: expected a number greater than 0, got ''$/],
    [['--gpu-pressure', '-0.5'], /^--gpu-pressure: expected a number of 0 or more, got '-0.5'$/],
    [['--cpu-pressure', 'Infinity'], /^--cpu-pressure: expected a number of 0 or more, got 'Infinity'$/],
    [['--toggle-interval', '0'], /^--toggle-interval: expected a number greater than 0/],
    [['--budget-mb', '0'], /^--budget-mb: expected a number greater than 0/],
    [['--simulate-leak', 'x'], /^--simulate-leak: expected a number of 0 or more/],
    [['--model', 'fp8'], /^--model: expected fp16, fp32 or test, got 'fp8'$/],
    [['--device', 'tpu'], /^--device: expected auto, cpu or cuda, got 'tpu'$/],
    [['--out', ' '], /^--out: expected a file path/],
    [['--bogus'], /^unknown option '--bogus' \(see --help\)$/],
    [['--duration'], /^option '--duration <value>' argument missing \(see --help\)$/],
    [['stray'], /^unexpected argument 'stray' \(see --help\)$/],
  ];
  for (const [argv, message] of bad) {
    it(`rejects ${argv.join(' ') || '(empty)'} with one sentence naming the flag`, () => {
      assert.throws(() => parseHarnessArgs(argv), (error: unknown) => error instanceof HarnessUsageError && message.test(error.message));
    });
  }
  it('accepts 0 where 0 is meaningful (no pressure)', () => {
    const s = parseHarnessArgs(['--gpu-pressure', '0', '--cpu-pressure', '0']) as HarnessSettings;
    assert.deepEqual([s.gpuPressureMB, s.cpuPressureMB], [0, 0]);
  });
});

describe('planFit', () => {
  const device4g = { totalBytes: 4096 * MB, kind: 'cuda' as const };
  // FP16: 1792.6 + 400 (context) + 2.2 (VAD) + 8.5 + 0.032768 (per call) = 2203.332768 MB; the line is 0.85 x 4096.
  const fp16Resident = 1792.6 + 400 + 2.2 + 8.5 + 0.032768;
  const line = 4096 * 0.85;
  const cases: [string, Partial<HarnessSettings>, boolean][] = [
    ['fp32 with 2000 MB (the issue: cannot fit)', { model: 'fp32', gpuPressureMB: 2000 }, false],
    ['fp32 with 3000 MB', { model: 'fp32', gpuPressureMB: 3000 }, false],
    ['fp32 with nothing else: the model alone is over the line', { model: 'fp32', gpuPressureMB: 0 }, false],
    ['fp16 with the default 1000 MB', { model: 'fp16', gpuPressureMB: 1000 }, true],
    ['fp16 just below the line', { model: 'fp16', gpuPressureMB: line - fp16Resident - 0.01 }, true],
    ['fp16 exactly at the line (must stay below it)', { model: 'fp16', gpuPressureMB: line - fp16Resident }, false],
    ['test with 2000 MB', { model: 'test', gpuPressureMB: 2000 }, true],
    ['fp32 on an 8 GB budget', { model: 'fp32', gpuPressureMB: 2000, budgetMB: 8192 }, true],
  ];
  for (const [name, overrides, fits] of cases) {
    it(`${name}: ${fits ? 'fits' : 'does not fit'}`, () => {
      const s = settings(overrides);
      const plan = planFit(s, { ...device4g, totalBytes: s.budgetMB * MB }, null);
      assert.equal(plan.fits, fits, plan.reason);
      if (!fits) {
        assert.match(plan.reason!, /^cannot fit on the device: .* not below 85% of the .* device/);
        assert.doesNotMatch(plan.reason!, /\n/);
      }
    });
  }

  it('says how much pressure would fit, or that the model alone does not', () => {
    assert.match(planFit(settings({ model: 'fp16', gpuPressureMB: 2000 }), device4g, null).reason!, /use --gpu-pressure below 1278 MB/);
    assert.match(planFit(settings({ model: 'fp32', gpuPressureMB: 10 }), device4g, null).reason!, /the model alone does not fit/);
  });

  it('counts a simulated leak over the whole run', () => {
    const fits = planFit(settings({ model: 'test', gpuPressureMB: 0, durationHours: 0.01, simulateLeakMBps: 90 }), device4g, null);
    assert.equal(fits.device.simulatedLeakMB, 36 * 90);
    assert.equal(fits.fits, true, '3,240 MB of leak plus the test model stays below 3,481.6 MB');
    const over = planFit(settings({ model: 'test', gpuPressureMB: 0, durationHours: 0.01, simulateLeakMBps: 100 }), device4g, null);
    assert.equal(over.fits, false);
    assert.match(over.reason!, /\+ simulated leak 3600 MB =/);
  });

  it('on the CPU device, device tensors are host memory: the host must hold them and the CPU pressure', () => {
    const cpu = { totalBytes: 4096 * MB, kind: 'cpu' as const };
    const s = settings({ model: 'test', gpuPressureMB: 1000, cpuPressureMB: 1000 });
    const needed = planFit(s, cpu, null).host.neededMB;
    assert.ok(needed > 2000 && needed < 2010, `${needed}`);
    assert.equal(planFit(s, cpu, (needed + 512) * MB).fits, true);
    const short = planFit(s, cpu, (needed + 511) * MB);
    assert.equal(short.fits, false);
    assert.match(short.reason!, /^cannot fit on the host: the run needs .* device tensors, which live in host memory/);
    assert.equal(planFit(s, { ...cpu, kind: 'cuda' }, (1000 + 512) * MB).fits, true, 'on a GPU only the CPU pressure is host memory');
  });
});

describe('LoopingAudio', () => {
  it('serves the pattern endlessly, in pieces of any size, with no gap or overlap at the seams', () => {
    const pattern = Float32Array.from({ length: 7 }, (_, i) => i);
    const audio = new LoopingAudio(pattern);
    const served = [3, 5, 7, 1, 13].flatMap((n) => [...audio.next(n)]);
    assert.deepEqual(served, Array.from({ length: 29 }, (_, i) => i % 7));
    assert.throws(() => new LoopingAudio(new Float32Array(0)), /non-empty/);
  });
});

describe('writeFileAtomic', () => {
  it('leaves the complete file and no temp file behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'harness-write-'));
    try {
      const path = join(dir, 'out.json');
      writeFileAtomic(path, 'first');
      writeFileAtomic(path, '{"second":true}\n');
      assert.equal(readFileSync(path, 'utf8'), '{"second":true}\n');
      assert.deepEqual(readdirSync(dir), ['out.json']);
      assert.throws(() => writeFileAtomic(join(dir, 'missing', 'x.json'), 'x'), /ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the harness CLI, run for real', () => {
  const small = ['--gpu-pressure', '50', '--cpu-pressure', '20', '--model', 'test', '--budget-mb', '512'];

  it('a 7 s run writes the samples and the verdict as JSON and exits 0 on PASS, 1 on FAIL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'harness-run-'));
    try {
      const out = join(dir, 'run.json');
      const run = harness(['--duration', '0.002', '--toggle-interval', '3', ...small, '--out', out]);
      assert.ok(existsSync(out), `no JSON written; stderr: ${run.stderr}`);
      const report = JSON.parse(readFileSync(out, 'utf8'));
      assert.equal(run.code, report.verdict.pass ? 0 : 1, `exit ${run.code} for pass=${report.verdict.pass}: ${report.verdict.failures}`);
      assert.deepEqual(report.verdict.series.map((s: { metric: string }) => s.metric), ['process_memory', 'gpu_memory_allocated']);
      const [rss, deviceSeries] = report.verdict.series;
      // Device memory is exact bookkeeping: constant, so it must pass. Seven seconds of RSS is too short to judge a
      // 1 MB/s slope reliably, so only its consistency with the exit code is asserted.
      assert.equal(deviceSeries.pass, true, JSON.stringify(deviceSeries));
      assert.equal(deviceSeries.totalGrowthMB, 0);
      assert.deepEqual(report.verdict.failures, rss.failures, 'nothing but RSS noise could fail a clean run');
      assert.ok(report.samples.length >= 7 && report.samples.length <= 9, `${report.samples.length} samples for 7.2 s at 1 Hz`);
      assert.ok(report.samples.every((s: { deviceAllocatedMB: number }) => s.deviceAllocatedMB >= 50), 'the 50 MB of device pressure was held');
      assert.equal(report.run.toggles.refused, 0);
      assert.ok(report.run.toggles.accepted >= 2 + 2 * 2, 'toggled (off and on) at 3 s and 6 s, after the start and warm-up');
      assert.equal(report.run.segmentsFailed, 0);
      assert.ok(report.run.segmentsDone >= 1, 'the daemon transcribed');
      assert.deepEqual(report.settings.durationHours, 0.002);
      assert.equal(report.device.totalMB, 512);
      assert.match(run.stdout, /^process RSS: slope .* MB\/s/m);
      assert.match(run.stdout, /^device allocated: slope 0\.000 MB\/s/m);
      assert.match(run.stdout, /^00:00:01 \/ 00:00:07 {2}rss /m, 'a progress line (not a terminal: no bar)');
      assert.deepEqual(readdirSync(dir), ['run.json'], 'written atomically: no temp file left');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--simulate-leak 5 grows device memory 5 MB/s: the verdict is FAIL and the exit code 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'harness-leak-'));
    try {
      const out = join(dir, 'leak.json');
      const run = harness(['--duration', '0.002', ...small, '--simulate-leak', '5', '--out', out]);
      assert.equal(run.code, 1, run.stderr);
      const report = JSON.parse(readFileSync(out, 'utf8'));
      const deviceSeries = report.verdict.series[1];
      assert.equal(deviceSeries.pass, false);
      assert.ok(deviceSeries.slopeMBps > 4.5 && deviceSeries.slopeMBps < 5.5, `slope ${deviceSeries.slopeMBps}`);
      // The slope itself is checked above (4.5 to 5.5 MB/s); here only that the verdict names the device series.
      assert.ok(report.verdict.failures.some((f: string) => /^device allocated grows \d+\.\d+ MB\/s/.test(f)), report.verdict.failures.join('; '));
      assert.match(run.stdout, /^FAIL: .*device allocated grows/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails fast when the pressure cannot fit: exit 1, one line saying why, nothing written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'harness-fit-'));
    try {
      const out = join(dir, 'never.json');
      const run = harness(['--duration', '4.0', '--gpu-pressure', '2000', '--cpu-pressure', '1000', '--toggle-interval', '60', '--model', 'fp32', '--out', out]);
      assert.equal(run.code, 1);
      assert.equal(run.stdout, '');
      assert.equal(run.lines(run.stderr).length, 1, run.stderr);
      assert.match(run.stderr, /^stress harness: cannot fit on the device: FP32 model 3600 MB .* --gpu-pressure 2000 MB = 6010\.7 MB, not below 85% of the 4096 MB device/);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bad flag is one line and exit 2; --help documents every flag and exits 0', () => {
    const bad = harness(['--gpu-pressure', 'lots']);
    assert.equal(bad.code, 2);
    assert.deepEqual(bad.lines(bad.stderr), ["stress harness: --gpu-pressure: expected a number of 0 or more, got 'lots'"]);
    const help = harness(['--help']);
    assert.equal(help.code, 0);
    for (const flag of ['--duration', '--gpu-pressure', '--cpu-pressure', '--toggle-interval', '--model', '--budget-mb', '--device', '--out', '--simulate-leak']) {
      assert.ok(help.stdout.includes(flag), `--help does not mention ${flag}`);
    }
  });

  it('importing the file as a suite does not start the harness', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `const m = await import('./${SUITE}'); console.log(typeof m.TestMemoryStressHarness, m.TestMemoryStressHarness.__test__);`], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'function false\n');
  });
});
