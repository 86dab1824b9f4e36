// The recording daemon (SPEC A.4): the pipeline that ties the memory-protection library together. Audio comes in
// through `feedAudio` (the capture path), is judged block by block by the VAD, cut into segments at pauses, queued,
// transcribed by the stand-in STT and typed through the injector. Around it: the MemoryManager (pressure levels,
// offload/restore, the CUDA-error tally), the PerformanceMonitor (segment latency), the recovery ladder with the
// daemon's own steps, and the EmergencyPreserver, which gets every held sample before the daemon gives anything up.
//
// States: idle → recording → processing → idle via `toggle()`; processing ignores a toggle, error refuses it.
import type { TranscriptionState } from './checkpoint.js';
import { systemClock, type Clock, type Timer } from './clock.js';
import { CaptureBuffers } from './daemon-audio.js';
import { CapturePath } from './daemon-capture.js';
import { checkResumable, chunkCount } from './daemon-batch.js';
import { DeviceErrorPolicy } from './daemon-device-errors.js';
import { DaemonEvents, type DaemonListener, type DaemonState } from './daemon-events.js';
import { checkEmergencyDirOutside, resolveDaemonSettings, type DaemonOptions, type DaemonSettings } from './daemon-options.js';
import { TranscriptionProgress } from './daemon-progress.js';
import { buildDaemonParts, loadModels, type DaemonParts } from './daemon-parts.js';
import { deleteWavFiles, formatStatusLine, waitAtMost } from './daemon-housekeeping.js';
import type { TranscriptionWork } from './daemon-processing.js';
import { followPressure, reduceBuffers, type BufferReduction } from './daemon-pressure.js';
import { HeldAudioSaver } from './daemon-saver.js';
import { describeDaemonStatus, type DaemonStatus } from './daemon-status.js';
import { selectDevice } from './device/select.js';
import type { Device } from './device/types.js';
import { ensurePrivateDirectory } from './durable-fs.js';
import { CollectingInjector, type Injector } from './injector.js';
import { IpcServer, type IpcAction } from './ipc.js';
import { createLogger, type Logger } from './log.js';
import type { MemoryManager } from './memory-manager.js';
import type { SttModel } from './models/stt-model.js';
import type { VadModel } from './models/vad-model.js';
import type { PerformanceMonitor } from './performance-monitor.js';
import type { RecoveryLadder } from './recovery/ladder.js';
import type { RecoveryNotifier } from './recovery/notifier.js';
import { EmergencyPreserver, type PreserveResult } from './preservation.js';
import { errorMessage } from './recovery/classifier.js';

export type { DaemonEvent, DaemonListener, DaemonState } from './daemon-events.js';
export type { DaemonMode, DaemonOptions, OomHandling } from './daemon-options.js';
export type { DaemonStatus } from './daemon-status.js';
export { SEGMENT_LATENCY } from './daemon-processing.js';
export { CollectingInjector, type Injector } from './injector.js';
export { sendIpcCommand } from './ipc.js';
export { SttModel, STT_PRESETS, type TranscriptionResult } from './models/stt-model.js';
export { VadModel } from './models/vad-model.js';
export { toneAmplitudeForWord, VOCABULARY } from './models/transcript.js';

export interface ToggleResult {
  accepted: boolean;
  state: DaemonState;
  message: string;
}

type Lifecycle = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

export class Daemon {
  readonly settings: DaemonSettings;
  readonly injector: Injector;
  readonly preserver: EmergencyPreserver;
  readonly progress: TranscriptionProgress;
  readonly buffers: CaptureBuffers;
  private readonly options: DaemonOptions;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly events: DaemonEvents;
  private parts: DaemonParts | undefined;
  private ownsDevice = false;
  private ipc: IpcServer | undefined;
  private lifecycle: Lifecycle = 'new';
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private current: DaemonState = 'idle';
  private captureOpen = true;
  private readonly capture: CapturePath;
  private readonly saver: HeldAudioSaver;
  private statusTimer: Timer | undefined;
  private errorTimer: Timer | undefined;
  private vadEnabled: boolean;
  /** Silence left at the end of a recording with no speech in it: not a segment. */
  discardedSilenceSamples = 0;

  constructor(options: DaemonOptions = {}) {
    this.options = options;
    this.settings = resolveDaemonSettings(options);
    this.logger = options.logger ?? createLogger('daemon');
    this.clock = options.clock ?? systemClock;
    this.events = new DaemonEvents(this.logger);
    this.injector = options.injector ?? new CollectingInjector();
    this.preserver = options.preserver ?? new EmergencyPreserver({ dir: options.emergencyDir, clock: this.clock });
    checkEmergencyDirOutside(this.preserver.dir, this.settings.tempDir);
    this.progress = new TranscriptionProgress(this.settings.sampleRate);
    this.vadEnabled = this.settings.vadEnabled;
    this.buffers = new CaptureBuffers({ ...this.settings, windowSamples: options.vadModel?.windowSamples ?? options.vad?.windowSamples ?? 8192 });
    this.capture = new CapturePath({
      ...this.settings,
      buffers: this.buffers,
      progress: this.progress,
      logger: this.logger,
      vad: () => this.need().vad,
      policy: () => this.need().policy,
      work: () => this.need().work,
      vadEnabled: () => this.vadEnabled,
      accepting: () => this.current === 'recording' && this.captureOpen,
      open: () => this.captureOpen,
    });
    const notifier = () => this.parts?.notifier;
    this.saver = new HeldAudioSaver({ preserver: this.preserver, logger: this.logger, events: this.events, sampleRate: this.settings.sampleRate, notifier });
    if (options.device) this.wire(options.device);
  }

  // ---- parts (available once a device is known: at construction when one is given, else after start) ---------
  get state(): DaemonState { return this.current; }
  get running(): boolean { return this.lifecycle === 'running'; }
  get device(): Device { return this.need().device; }
  get memoryManager(): MemoryManager { return this.need().memoryManager; }
  get performanceMonitor(): PerformanceMonitor { return this.need().performance; }
  get notifier(): RecoveryNotifier { return this.need().notifier; }
  get recovery(): RecoveryLadder { return this.need().ladder; }
  get sttModel(): SttModel { return this.need().stt; }
  get vadModel(): VadModel { return this.need().vad; }
  get errorPolicy(): DeviceErrorPolicy { return this.need().policy; }
  get work(): TranscriptionWork { return this.need().work; }
  get isVadEnabled(): boolean { return this.vadEnabled; }
  /** Samples taken while recording, and samples ignored because the daemon was not recording. */
  get captureCounters(): Readonly<{ capturedSamples: number; ignoredSamples: number }> { return this.capture.counters; }
  get saveCounters(): Readonly<{ saves: number; failedSaves: number }> { return this.saver.counters; }
  /** The last emergency save written (null before the first). */
  get lastPreservation(): PreserveResult | null { return this.saver.lastResult; }

  subscribe(listener: DaemonListener): () => void {
    return this.events.subscribe(listener);
  }

  // ---- lifecycle ---------------------------------------------------------------------------------------------

  /** Loads VAD then STT (paths 1a/1b), then IPC, the performance monitor and the memory monitor; state idle. */
  start(): Promise<void> {
    if (this.lifecycle !== 'new') {
      return Promise.reject(new Error(`start(): the daemon is ${this.lifecycle}; a stopped daemon cannot be started again, create a new one`));
    }
    this.lifecycle = 'starting';
    this.starting = this.startUp().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async startUp(): Promise<void> {
    try {
      if (!this.parts) {
        this.wire(await selectDevice(this.options.deviceSelection));
        this.ownsDevice = true;
      }
      const parts = this.need();
      this.vadEnabled = loadModels(parts, { vadEnabled: this.vadEnabled, registerModels: this.settings.registerModels, logger: this.logger });
      ensurePrivateDirectory(this.settings.tempDir);
      if (this.settings.socketPath !== null) {
        this.ipc = new IpcServer({
          socketPath: this.settings.socketPath,
          handle: (action) => this.handleIpc(action),
          afterReply: (action) => {
            if (action === 'stop') void this.stop();
          },
          logger: this.logger,
        });
        await this.ipc.start();
      }
      this.lifecycle = 'running';
      if (this.settings.startMonitors) {
        parts.performance.start(this.settings.performanceIntervalMs);
        parts.memoryManager.start();
      }
      this.scheduleStatusReport();
      this.current = 'idle';
      this.logger.info(`Daemon started (${this.settings.mode} mode; STT on ${parts.stt.device}, VAD ${this.vadEnabled ? `on ${parts.vad.device}` : 'disabled'})`);
    } catch (error) {
      this.lifecycle = 'stopping';
      await this.release();
      this.lifecycle = 'stopped';
      throw error;
    }
  }

  /**
   * Stops everything and leaves nothing behind: no timers, no socket, no temp WAVs, no tensors of the daemon's. A
   * transcription in flight gets `stopTimeoutMs` to finish; audio still unprocessed after that is saved, not dropped.
   */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (this.lifecycle === 'new' || this.lifecycle === 'stopped') return Promise.resolve();
    const starting = this.starting ?? Promise.resolve();
    // A stop during start() waits for it: a half-built daemon is released by start() itself if it fails.
    this.stopping = starting.then(
      () => (this.lifecycle === 'stopped' ? undefined : this.shutdown(false)),
      () => undefined,
    );
    return this.stopping;
  }

  private async shutdown(emergency: boolean): Promise<void> {
    this.lifecycle = 'stopping';
    this.captureOpen = false;
    this.cancelTimers();
    await this.ipc?.stop();
    const parts = this.need();
    if (!emergency) {
      const limit = this.settings.stopTimeoutMs;
      const finished = (await waitAtMost(this.capture.settled(), limit)) && (await waitAtMost(parts.work.whenDrained(), limit));
      if (!finished) this.logger.warning(`stop(): processing did not finish within ${limit} ms; what it held is saved instead`);
    }
    if (this.heldSampleCount() > 0) this.preserveHeld('stopped with unprocessed audio');
    parts.work.abandon();
    this.buffers.reset();
    await this.release();
    this.lifecycle = 'stopped';
    this.logger.info('Daemon stopped');
  }

  /** Frees what start() took; safe on a partly started daemon. */
  private async release(): Promise<void> {
    const parts = this.parts;
    if (parts) {
      this.saver.retryPending();
      await parts.performance.stop();
      await parts.memoryManager.stop();
      this.logger.info(parts.memoryManager.getStatusReport());
      for (const model of [parts.stt, parts.vad]) parts.memoryManager.unregisterModel(model.name);
      parts.stt.dispose();
      parts.vad.dispose();
      if (parts.device.isAvailable()) parts.device.emptyCache(); // cached blocks are tensors too
      if (this.ownsDevice) parts.device.close();
    }
    await this.ipc?.stop();
    deleteWavFiles(this.settings.tempDir, this.logger);
  }

  // ---- the state machine -------------------------------------------------------------------------------------

  /** idle → recording; recording → processing → idle (resolves when the recording is transcribed). */
  async toggle(): Promise<ToggleResult> {
    if (!this.running) return { accepted: false, state: this.current, message: 'the daemon is not running' };
    switch (this.current) {
      case 'idle':
        this.startRecording();
        return { accepted: true, state: this.current, message: 'recording' };
      case 'recording':
        await this.stopRecording();
        return { accepted: true, state: this.current, message: this.state === 'idle' ? 'transcribed' : 'transcription failed' };
      case 'processing':
        this.logger.info('Toggle ignored: already processing');
        return { accepted: false, state: 'processing', message: 'already processing' };
      case 'error':
        return { accepted: false, state: 'error', message: 'refused: the daemon is in the error state' };
    }
  }

  private startRecording(): void {
    this.progress.reset();
    this.buffers.reset();
    this.captureOpen = true;
    this.setState('recording');
  }

  private async stopRecording(): Promise<void> {
    this.setState('processing');
    await this.capture.settled();
    await this.capture.pump(true); // the last, partial block is judged too
    const { audio, speechSeen } = this.buffers.takeRemainder();
    const work = this.need().work;
    if (this.settings.mode === 'batch') {
      await this.processBatch(audio);
      return;
    }
    if (speechSeen && audio.length > 0) work.enqueue(audio);
    else this.discardedSilenceSamples += audio.length;
    await work.whenDrained();
    if (this.current === 'processing') this.setState('idle');
  }

  private async processBatch(audio: Float32Array): Promise<void> {
    this.progress.chunkIndex = 0;
    this.progress.totalChunks = chunkCount(audio.length, this.chunking());
    try {
      await this.need().work.runChunks(audio);
      if (this.current === 'processing') this.setState('idle');
    } catch (error) {
      this.enterErrorState(`batch transcription failed: ${errorMessage(error)}`);
    }
  }

  /** The original: a failed batch sets `error`, waits (1 s), then goes back to `idle`. */
  private enterErrorState(reason: string): void {
    this.logger.error(`Daemon error: ${reason}`);
    this.setState('error');
    this.errorTimer = this.clock.setTimer(() => {
      this.errorTimer = undefined;
      if (this.current === 'error' && this.running) this.setState('idle');
    }, this.settings.errorRecoveryDelayMs);
  }

  private setState(to: DaemonState): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.events.emit({ type: 'state', from, to });
  }

  // ---- the capture path --------------------------------------------------------------------------------------

  /**
   * The capture callback: audio is taken only while recording. Resolves once it has been through the VAD and the
   * segmenter. Calls are processed in order.
   */
  feedAudio(samples: Float32Array): Promise<void> {
    return this.capture.feed(samples);
  }

  /** Resolves once fed audio has been judged and every queued segment is transcribed. */
  async whenIdle(): Promise<void> {
    await this.capture.settled();
    await this.parts?.work.whenDrained();
  }

  // ---- batch resume ------------------------------------------------------------------------------------------

  /**
   * Carries on from a checkpoint: transcribes chunks `chunkIndex .. totalChunks-1` of `audio` (the recording the
   * checkpoint belongs to) and types only what `lastInjected` does not already hold. Returns the chunks done.
   */
  async resume(checkpoint: TranscriptionState, audio: Float32Array): Promise<number[]> {
    if (!this.running) throw new Error('resume(): the daemon is not running; call start() first');
    if (this.current !== 'idle') throw new Error(`resume(): the daemon must be idle, but it is ${this.current}`);
    checkResumable(checkpoint, audio.length, this.chunking());
    this.progress.restore(checkpoint, 'resume()');
    this.setState('processing');
    try {
      const done = await this.need().work.runChunks(audio);
      if (this.state === 'processing') this.setState('idle');
      return done;
    } catch (error) {
      this.enterErrorState(`resume failed: ${errorMessage(error)}`);
      throw error;
    }
  }

  // ---- pressure, recovery and emergencies --------------------------------------------------------------------

  /** The recovery ladder's reduce_buffer step: halve the audio ring and the device-side streaming context. */
  reduceBuffers(): BufferReduction {
    return reduceBuffers(this.buffers, this.need().stt, this.logger);
  }

  /** Starts the emergency shutdown through the MemoryManager (which calls back into the daemon, then exits). */
  async emergencyShutdown(): Promise<void> {
    await this.need().memoryManager.emergencyShutdown();
  }

  /** The MemoryManager's emergency_shutdown callback: save first, then stop capture, then stop everything. */
  private async onEmergencyShutdown(): Promise<void> {
    this.logger.error('EMERGENCY SHUTDOWN: saving held audio and state before stopping');
    this.preserveHeld('emergency shutdown');
    this.captureOpen = false;
    this.need().work.abandon();
    this.buffers.reset();
    this.setState('error');
    if (!this.stopping && this.lifecycle !== 'new' && this.lifecycle !== 'stopped') {
      this.stopping = this.shutdown(true);
      await this.stopping;
    }
  }

  /**
   * Saves everything held (in order: the work in flight and queued, the streaming buffer, the ring) with the live
   * transcription state. A failed save is announced and kept in memory for a retry. Never throws.
   */
  preserveHeld(reason: string): PreserveResult | null {
    const audio = [...(this.parts?.work.held() ?? []), ...this.buffers.held()];
    return this.saver.save(reason, audio, this.getTranscriptionState());
  }

  // ---- status ------------------------------------------------------------------------------------------------

  /**
   * The live transcription state. Outside a running batch, while audio is held, the chunk fields describe that audio
   * as batch chunks: it is what an emergency save stores, so `resume()` can take any save.
   */
  getTranscriptionState(): TranscriptionState {
    const state = this.progress.snapshot();
    const held = this.heldSampleCount();
    if (!this.parts?.work.batchActive && held > 0) {
      state.chunkIndex = 0;
      state.totalChunks = chunkCount(held, this.chunking());
    }
    return state;
  }

  /** Answers at any time, also while a recovery is running. */
  getStatus(): DaemonStatus {
    return describeDaemonStatus(this, this.parts, this.heldSampleCount());
  }

  private heldSampleCount(): number {
    return (this.parts?.work.heldSamples() ?? 0) + this.buffers.heldSamples;
  }

  // ---- wiring and housekeeping -------------------------------------------------------------------------------

  private wire(device: Device): void {
    this.parts = buildDaemonParts(device, this.options, this.settings, {
      logger: this.logger,
      clock: this.clock,
      progress: this.progress,
      injector: this.injector,
      events: this.events,
      chunking: this.chunking(),
      onLevel: (status) => followPressure(this.buffers, this.need().memoryManager, this.need().notifier, status, this.logger),
      onEmergencyShutdown: () => this.onEmergencyShutdown(),
      reduceBuffers: () => void this.reduceBuffers(),
      preserve: (reason) => void this.preserveHeld(reason),
    });
  }

  private need(): DaemonParts {
    if (!this.parts) throw new Error('the daemon has no device yet: pass `device` to the constructor or call start() first');
    return this.parts;
  }

  private chunking() {
    return { sampleRate: this.settings.sampleRate, chunkSeconds: this.settings.chunkSeconds, overlapSeconds: this.settings.overlapSeconds };
  }

  private async handleIpc(action: IpcAction): Promise<Record<string, unknown>> {
    if (action === 'toggle') return { ...(await this.toggle()) };
    if (action === 'status') return { ...this.getStatus() };
    return { state: this.current, message: 'stopping' };
  }

  private scheduleStatusReport(): void {
    const interval = this.settings.statusReportIntervalMs;
    if (interval === null) return;
    this.statusTimer = this.clock.setTimer(() => {
      this.logger.info(this.statusLine());
      if (this.running) this.scheduleStatusReport();
    }, interval);
  }

  /** The periodic status line (the original's 5-minute report). */
  statusLine(): string {
    return formatStatusLine(this.current, this.need().performance);
  }

  private cancelTimers(): void {
    this.statusTimer?.cancel();
    this.statusTimer = undefined;
    this.errorTimer?.cancel();
    this.errorTimer = undefined;
  }
}
