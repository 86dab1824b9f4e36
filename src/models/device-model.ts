// The part the stand-in VAD and STT models share: weights (and any other resident buffers) that live on the device
// or on the host, moved in place as a PyTorch module moves (SPEC A.2 "In-place move"): the daemon's reference and the
// MemoryManager's are the same object, so an offload is seen by both at once.
import type * as tf from '@tensorflow/tfjs';
import type { Device } from '../device/types.js';
import type { ManagedModel } from '../memory-models.js';
import { allocateHostTensors, ResidentBuffer, type Placement } from './resident-buffer.js';

export type { Placement } from './resident-buffer.js';

export const MB = 1_000_000;

export interface ModelMoves {
  toGpu: number;
  toCpu: number;
}

export abstract class DeviceModel implements ManagedModel {
  readonly moves: ModelMoves = { toGpu: 0, toCpu: 0 };
  protected readonly weights: ResidentBuffer;
  private readonly buffers: ResidentBuffer[];
  private placement: Placement = 'cpu';
  private loaded = false;
  private disposed = false;

  constructor(
    readonly name: string,
    protected readonly owner: Device,
    weightBytes: number,
  ) {
    this.weights = new ResidentBuffer(owner, `${name}.weights`, weightBytes);
    this.buffers = [this.weights];
  }

  get device(): Placement {
    return this.placement;
  }

  get isLoaded(): boolean {
    return this.loaded && !this.disposed;
  }

  get weightBytes(): number {
    return this.weights.bytes;
  }

  /** Device bytes this model holds now (0 on the CPU). */
  residentDeviceBytes(): number {
    return this.placement === 'cuda' ? this.buffers.reduce((total, buffer) => total + buffer.bytes, 0) : 0;
  }

  /**
   * Loads the model where asked. Loading onto the device allocates there directly (no host copy first, so a large
   * preset never needs twice its size); if that fails the model is loaded on the CPU instead and the device's error
   * is rethrown, for the caller to judge (the daemon's load paths 1a/1b).
   */
  load(target: Placement): void {
    this.ensureUsable('load');
    if (this.loaded) throw new Error(`${this.name} is already loaded (on ${this.placement})`);
    this.loaded = true;
    if (target === 'cuda') {
      try {
        this.placeAll('cuda');
        this.placement = 'cuda';
        return;
      } catch (error) {
        this.placeAll('cpu');
        this.placement = 'cpu';
        throw error;
      }
    }
    this.placeAll('cpu');
    this.placement = 'cpu';
  }

  /** Moves this same object to the host. Already there: nothing to do. */
  toCpu(): void {
    this.ensureUsable('toCpu');
    if (this.placement === 'cpu') return;
    this.placeAll('cpu');
    this.placement = 'cpu';
    this.moves.toCpu++;
  }

  /** Moves this same object onto the device. May throw an OOM or a CUDA error; the model then stays on the CPU. */
  toGpu(): void {
    this.ensureUsable('toGpu');
    if (this.placement === 'cuda') return;
    this.placeAll('cuda');
    this.placement = 'cuda';
    this.moves.toGpu++;
  }

  /** Frees everything, on both sides. Further use throws. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const buffer of this.buffers) buffer.release();
  }

  /** Registers another buffer that moves with the weights (the STT's streaming context). */
  protected addResidentBuffer(tag: string, bytes: number): ResidentBuffer {
    if (this.loaded) throw new Error(`${this.name}: resident buffers must be added before load()`);
    const buffer = new ResidentBuffer(this.owner, `${this.name}.${tag}`, bytes);
    this.buffers.push(buffer);
    return buffer;
  }

  /**
   * Runs `op` with a transient buffer of `bytes` where the model is: on the device it counts against the budget (an
   * OOM surfaces here) and `op` runs through `device.run` (an injected CUDA error surfaces there); on the host it is
   * a lazily backed tensor. The buffer is freed whatever happens.
   */
  protected withScratch<T>(bytes: number, label: string, op: () => T): T {
    this.ensureUsable(label);
    if (this.placement === 'cuda') {
      const scratch = this.owner.allocate(bytes, `${this.name}.${label}`);
      try {
        return this.owner.run(op, `${this.name}.${label}`);
      } finally {
        this.owner.free(scratch);
      }
    }
    const scratch = allocateHostTensors(bytes, 0);
    try {
      return op();
    } finally {
      for (const tensor of scratch) tensor.dispose();
    }
  }

  /** The resident weights the math reads: the first `count` values, wherever the weights live now. */
  protected weightRow(tfModule: typeof tf, count: number): tf.Tensor1D {
    const tensor = this.weights.firstTensor();
    if (!tensor) throw new Error(`${this.name}: the weights are not resident`);
    if (tensor.size < count) throw new Error(`${this.name}: ${this.weights.bytes} bytes of weights hold fewer than the ${count} values the math needs`);
    return tfModule.slice(tensor as tf.Tensor1D, [0], [count]);
  }

  protected ensureUsable(what: string): void {
    if (this.disposed) throw new Error(`${this.name}.${what}: the model was disposed`);
  }

  private placeAll(target: Placement): void {
    const moved: ResidentBuffer[] = [];
    try {
      for (const buffer of this.buffers) {
        buffer.place(target);
        moved.push(buffer);
      }
    } catch (error) {
      // All or nothing: put back what already moved, so the model is never split between device and host.
      const back: Placement = target === 'cuda' ? 'cpu' : 'cuda';
      for (const buffer of moved) buffer.place(back);
      throw error;
    }
  }
}
