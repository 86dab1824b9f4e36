// The stress harness's command line (SPEC C.4): its flags in argparse's manner, with the same defaults and units as
// the Python original (hours, MB, MB, seconds), and one usage error naming the flag at fault.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { DevicePreference } from '../../src/device/index.js';
import type { SttPresetName } from '../../src/models/stt-model.js';

export const MODEL_CHOICES = { fp16: 'FP16', fp32: 'FP32', test: 'TEST' } as const satisfies Record<string, SttPresetName>;
export type ModelChoice = keyof typeof MODEL_CHOICES;

export interface HarnessSettings {
  durationHours: number;
  gpuPressureMB: number;
  cpuPressureMB: number;
  toggleIntervalS: number;
  model: ModelChoice;
  budgetMB: number;
  device: DevicePreference;
  out: string;
  simulateLeakMBps: number;
}

export const HARNESS_HELP = `usage: npx tsx suites/test_memory_protection.ts [options]

Runs the recording daemon on synthetic speech (5 s tone, 2.5 s silence) with memory held on the device and on the
host, toggles recording every interval, samples memory once a second after a forced GC, and ends with the leak
verdict on process RSS and device memory: slope < 1 MB/s and growth < 100 MB each. Exit 0 on PASS, 1 on FAIL.

options:
  --duration HOURS         how long to run, fractions allowed (0.01 = 36 s)          [default: 1.0]
  --gpu-pressure MB        device memory held throughout (MB = 10^6 bytes)           [default: 1000]
  --cpu-pressure MB        host memory held throughout, every page written           [default: 500]
  --toggle-interval SEC    stop and restart recording this often                     [default: 30.0]
  --model fp16|fp32|test   STT stand-in size: fp16 1,792.6 MB, fp32 3,600 MB (plus a 400 MB streaming context),
                           test 4 MB                                                 [default: fp16]
  --budget-mb MB           device size (the original card: 4096); a GPU is capped at its own size [default: 4096]
  --device auto|cpu|cuda   auto: a CUDA GPU when @tensorflow/tfjs-node-gpu sees one, else tfjs on the CPU [default: auto]
  --out PATH               where the samples and the verdict go, as JSON, written atomically
                                                                  [default: ./stress-harness-<date>-<time>.json]
  --simulate-leak MB/S     self-check: also hold this many more MB on the device every second, which must FAIL
  -h, --help               show this text

The run fails fast (exit 1, one line) when the pressure cannot fit: everything resident on the device must stay below
its CRITICAL line (85%), and the host must have the memory the run needs. A progress bar is drawn on a terminal;
otherwise one progress line is printed per minute. Ctrl-C stops early, still writes the JSON, and exits 130.`;

export class HarnessUsageError extends Error {
  override name = 'HarnessUsageError';
}

function numberFlag(name: string, raw: string | undefined, fallback: number, rule: 'positive' | 'non-negative'): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const ok = raw.trim() !== '' && Number.isFinite(value) && (rule === 'positive' ? value > 0 : value >= 0);
  if (!ok) throw new HarnessUsageError(`--${name}: expected a ${rule === 'positive' ? 'number greater than 0' : 'number of 0 or more'}, got '${raw}'`);
  return value;
}

function defaultOutPath(now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  return resolve(`stress-harness-${stamp}.json`);
}

const VALUE_FLAGS = new Set(['--duration', '--gpu-pressure', '--cpu-pressure', '--toggle-interval', '--model', '--budget-mb', '--device', '--out', '--simulate-leak']);

/** `--duration -1` as argparse reads it: node:util would call the value ambiguous, and the range check says more. */
function attachNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (VALUE_FLAGS.has(argv[i]!) && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${argv[i]}=${next}`);
      i++;
    } else out.push(argv[i]!);
  }
  return out;
}

/** The harness's flags; `help` when -h/--help was given. Throws HarnessUsageError naming the flag at fault. */
export function parseHarnessArgs(argv: readonly string[]): HarnessSettings | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: attachNegativeValues(argv),
      allowPositionals: false,
      strict: true,
      options: {
        duration: { type: 'string' },
        'gpu-pressure': { type: 'string' },
        'cpu-pressure': { type: 'string' },
        'toggle-interval': { type: 'string' },
        model: { type: 'string' },
        'budget-mb': { type: 'string' },
        device: { type: 'string' },
        out: { type: 'string' },
        'simulate-leak': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    // node:util's messages run on with advice about '--'; the first sentence is the useful part.
    const first = (error instanceof Error ? error.message : String(error)).split(/\.\s/)[0]!.replace(/\.$/, '');
    throw new HarnessUsageError(`${first.charAt(0).toLowerCase()}${first.slice(1)} (see --help)`);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const model = (v.model ?? 'fp16').toLowerCase();
  if (!(model in MODEL_CHOICES)) throw new HarnessUsageError(`--model: expected fp16, fp32 or test, got '${v.model}'`);
  const device = v.device ?? 'auto';
  if (device !== 'auto' && device !== 'cpu' && device !== 'cuda') throw new HarnessUsageError(`--device: expected auto, cpu or cuda, got '${device}'`);
  if (v.out !== undefined && v.out.trim() === '') throw new HarnessUsageError('--out: expected a file path, got an empty string');
  return {
    durationHours: numberFlag('duration', v.duration, 1.0, 'positive'),
    gpuPressureMB: numberFlag('gpu-pressure', v['gpu-pressure'], 1000, 'non-negative'),
    cpuPressureMB: numberFlag('cpu-pressure', v['cpu-pressure'], 500, 'non-negative'),
    toggleIntervalS: numberFlag('toggle-interval', v['toggle-interval'], 30.0, 'positive'),
    model: model as ModelChoice,
    budgetMB: numberFlag('budget-mb', v['budget-mb'], 4096, 'positive'),
    device,
    out: v.out === undefined ? defaultOutPath() : resolve(v.out),
    simulateLeakMBps: numberFlag('simulate-leak', v['simulate-leak'], 0, 'non-negative'),
  };
}
