// How the daemon's buffers follow memory pressure (SPEC A.5 item 4, and the ladder's reduce_buffer step).
import type { CaptureBuffers } from './daemon-audio.js';
import type { Logger } from './log.js';
import type { MemoryManager, MemoryStatus } from './memory-manager.js';
import type { SttModel } from './models/stt-model.js';
import type { RecoveryNotifier } from './recovery/notifier.js';

export interface BufferReduction {
  ringSeconds: number;
  contextSeconds: number;
  freedContextBytes: number;
}

/**
 * The MemoryManager's level callback: the ring halves on each rise into WARNING or above and doubles back on NORMAL.
 * The manager announces MEMORY_PRESSURE itself when it has a notifier; otherwise this does.
 */
export function followPressure(buffers: CaptureBuffers, manager: MemoryManager, notifier: RecoveryNotifier, status: MemoryStatus, logger: Logger): void {
  const from = manager.lastPressureLevel; // still the old level while level callbacks run
  const change = buffers.ring.onPressureChange(from, status.level);
  if (!manager.notifier) {
    notifier.notify('MEMORY_PRESSURE', { message: `memory pressure ${status.level} at ${(status.usage * 100).toFixed(1)}%`, level: status.level });
  }
  if (change.action !== 'none') {
    const rate = buffers.ring.sampleRate;
    logger.info(`Audio ring ${change.action}: ${change.capacityBefore / rate} s -> ${change.capacityAfter / rate} s`);
  }
}

/** Halves the audio ring (its excess spills into the streaming buffer, nothing is lost) and the device-side context. */
export function reduceBuffers(buffers: CaptureBuffers, stt: SttModel, logger: Logger): BufferReduction {
  const ring = buffers.ring.shrink();
  const context = stt.reduceContext();
  const ringSeconds = ring.capacityAfter / buffers.ring.sampleRate;
  logger.info(`Buffers reduced: ring ${ringSeconds} s, context ${context.afterSeconds} s`);
  return { ringSeconds, contextSeconds: context.afterSeconds, freedContextBytes: context.freedBytes };
}
