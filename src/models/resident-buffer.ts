// Memory a stand-in model holds, on the device or on the host, as real tfjs tensors.
//
// On the device the bytes are a DeviceAllocation, so they count against the budget, and moving them there goes through
// `device.run` so that an injected `CUDA error: ...` surfaces exactly where PyTorch's `.cuda()` would raise it. On the
// host they are ordinary tfjs tensors outside any budget. A move allocates the destination before releasing the
// source, like a real copy: when the destination cannot be had, nothing changes.
import * as tf from '@tensorflow/tfjs';
import type { Device, DeviceAllocation } from '../device/types.js';
import { cpuTensorModule } from '../device/tfjs.js';

export type Placement = 'cuda' | 'cpu';

/** Host tensors are split like the device's, so no single TypedArray nears its length limit. */
const HOST_PIECE_BYTES = 256 * 1024 * 1024;
/** The value the device fills its blocks with; host copies use the same, so the math is identical on both sides. */
export const WEIGHT_FILL_VALUE = 1;

/** Real host tensors of `bytes` (rounded up to whole float32s). A fill value of 0 leaves pages untouched (calloc). */
export function allocateHostTensors(bytes: number, fillValue: number): tf.Tensor[] {
  cpuTensorModule(); // silences the "install the node backend" advice before the first tensor is written
  const tensors: tf.Tensor[] = [];
  try {
    for (let left = Math.ceil(bytes / 4) * 4; left > 0; left -= HOST_PIECE_BYTES) {
      const elements = Math.min(left, HOST_PIECE_BYTES) / 4;
      tensors.push(fillValue === 0 ? tf.zeros([elements], 'float32') : tf.fill([elements], fillValue, 'float32'));
    }
  } catch (error) {
    for (const tensor of tensors) tensor.dispose();
    throw error;
  }
  return tensors;
}

export class ResidentBuffer {
  private onDevice: DeviceAllocation | undefined;
  private onHost: tf.Tensor[] | undefined;
  private where: Placement | 'none' = 'none';

  constructor(
    private readonly owner: Device,
    readonly tag: string,
    private size: number,
  ) {
    if (!(size >= 0) || !Number.isFinite(size)) throw new RangeError(`${tag}: size must be a non-negative number of bytes, got ${size}`);
  }

  get bytes(): number {
    return this.size;
  }

  get placement(): Placement | 'none' {
    return this.where;
  }

  /** The first tensor of whichever copy is live (the weights the math reads); undefined when empty or released. */
  firstTensor(): tf.Tensor | undefined {
    const tensors = this.where === 'cuda' ? this.onDevice?.tensors : this.onHost;
    return tensors?.[0] as tf.Tensor | undefined;
  }

  /** Places the bytes on the device (throws the device's OOM or CUDA error and changes nothing) or on the host. */
  place(target: Placement): void {
    if (this.where === target) return;
    if (target === 'cuda') {
      const allocation = this.owner.run(() => this.owner.allocate(this.size, this.tag), `${this.tag} to device`);
      this.releaseHost();
      this.onDevice = allocation;
    } else {
      const host = allocateHostTensors(this.size, WEIGHT_FILL_VALUE);
      this.releaseDevice();
      this.onHost = host;
    }
    this.where = target;
  }

  /**
   * Changes the size where the buffer lives now. Growing on the device gets the new block before the old one goes
   * (an OOM changes nothing); shrinking lets the old one go first, because shrinking is what a full device needs.
   */
  resize(bytes: number): void {
    if (!(bytes >= 0) || !Number.isFinite(bytes)) throw new RangeError(`${this.tag}: size must be a non-negative number of bytes, got ${bytes}`);
    if (bytes === this.size) return;
    const where = this.where;
    if (where === 'cuda' && bytes < this.size) {
      this.releaseDevice();
      this.onDevice = this.owner.allocate(bytes, this.tag); // fits: it is smaller than what was just given back
    } else if (where === 'cuda') {
      const allocation = this.owner.allocate(bytes, this.tag);
      this.releaseDevice();
      this.onDevice = allocation;
    } else if (where === 'cpu') {
      const host = allocateHostTensors(bytes, WEIGHT_FILL_VALUE);
      this.releaseHost();
      this.onHost = host;
    }
    this.size = bytes;
  }

  /** Frees both copies; the buffer can be placed again afterwards. */
  release(): void {
    this.releaseDevice();
    this.releaseHost();
    this.where = 'none';
  }

  private releaseDevice(): void {
    if (this.onDevice) this.owner.free(this.onDevice);
    this.onDevice = undefined;
  }

  private releaseHost(): void {
    for (const tensor of this.onHost ?? []) tensor.dispose();
    this.onHost = undefined;
  }
}
