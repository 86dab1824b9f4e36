// Shared set-up for the daemon tests: a real daemon on a small budgeted device, in a private temp directory, with a
// recording logger, a collecting injector and an exit hook that only records. Each rig is torn down after its test.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon, type DaemonOptions } from '../../src/daemon.js';
import { createCpuDevice, type DeviceAllocation, type TensorDevice } from '../../src/device/index.js';
import { CollectingInjector } from '../../src/injector.js';
import { createRecordingLogger } from '../../src/log.js';
import type { RecoveryNotification } from '../../src/recovery/notifier.js';
import { SttModel, type TranscriptionResult } from '../../src/models/stt-model.js';
import type { EmergencyPreserver } from '../../src/preservation.js';
import { toneAmplitudeForWord } from '../../src/models/transcript.js';
import { concatAudio, silence, tone } from '../../src/synthetic-audio.js';

export const MB = 1_000_000;
export const RATE = 16000;

const teardowns: (() => Promise<void> | void)[] = [];

/** Runs every registered teardown, newest first; call from afterEach. */
export async function tearDownRigs(): Promise<void> {
  for (const teardown of teardowns.splice(0).reverse()) await teardown();
}

export interface RigOptions extends DaemonOptions {
  budgetMB?: number;
  /** Give the daemon a socket in the rig's directory. */
  withSocket?: boolean;
  /** Builds the preserver for the rig's emergency directory (e.g. over a FaultyFs). */
  preserverFor?: (emergencyDir: string) => EmergencyPreserver;
  /** Builds the STT model on the rig's device (a stand-in with test behaviour). */
  sttModelFor?: (device: TensorDevice) => SttModel;
}

export function daemonRig(options: RigOptions = {}) {
  const root = mkdtempSync(join(tmpdir(), 'daemon-test-'));
  const device: TensorDevice = createCpuDevice({ budgetMB: options.budgetMB ?? 64 });
  const logger = createRecordingLogger();
  const injector = new CollectingInjector();
  const exits: number[] = [];
  const tempDir = join(root, 'tmp');
  const emergencyDir = join(root, 'emergency');
  const socketPath = options.withSocket ? join(root, 'd.sock') : null;
  const daemon = new Daemon({
    device,
    tempDir,
    emergencyDir,
    socketPath,
    logger,
    injector,
    exitHook: (code) => void exits.push(code),
    stt: { preset: 'TEST' },
    startMonitors: false,
    statusReportIntervalMs: null,
    errorRecoveryDelayMs: 0,
    ...options,
    sttModel: options.sttModelFor ? options.sttModelFor(device) : options.sttModel,
    preserver: options.preserverFor ? options.preserverFor(emergencyDir) : options.preserver,
  });
  const notifications: RecoveryNotification[] = [];
  const unsubscribe = daemon.notifier.subscribe((event) => notifications.push(event));
  let ballast: DeviceAllocation | undefined;
  teardowns.push(async () => {
    unsubscribe();
    await daemon.stop();
    device.close();
    rmSync(root, { recursive: true, force: true });
  });
  return {
    daemon,
    device,
    logger,
    injector,
    exits,
    tempDir,
    emergencyDir,
    socketPath,
    notifications,
    ofType: (type: RecoveryNotification['type']) => notifications.filter((n) => n.type === type),
    /** Holds exactly `mb` of extra device memory (replacing the previous ballast). */
    setBallast(mb: number) {
      if (ballast) device.free(ballast);
      device.emptyCache();
      ballast = mb > 0 ? device.allocate(Math.round(mb * MB), 'ballast') : undefined;
    },
    emergencyFiles: () => listDir(emergencyDir),
    tempFiles: () => listDir(tempDir),
  };
}

export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Audio that transcribes to `words`, one per tone, each followed by enough silence to cut a segment. */
export function spokenWords(words: readonly string[], options: { toneSeconds?: number; silenceSeconds?: number } = {}): Float32Array {
  const { toneSeconds = 1, silenceSeconds = 2.5 } = options;
  return concatAudio(words.flatMap((word) => [tone({ seconds: toneSeconds, amplitude: toneAmplitudeForWord(word) }), silence(silenceSeconds)]));
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** An STT stand-in that holds each call until the test lets it go. */
export class GatedStt extends SttModel {
  private gates: (() => void)[] = [];
  calls = 0;
  override async transcribe(audio: Float32Array): Promise<TranscriptionResult> {
    this.calls++;
    await new Promise<void>((resolve) => this.gates.push(resolve));
    return super.transcribe(audio);
  }
  releaseOne(): void {
    this.gates.shift()?.();
  }
  get waiting(): number {
    return this.gates.length;
  }
}
