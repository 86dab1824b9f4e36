// Loading @tensorflow/tfjs quietly. Its CPU backend prints "install the node backend" at the first tensor write
// unless PROD is set; the embedded device is the CPU backend on purpose, so that advice is noise here.
import * as tf from '@tensorflow/tfjs';

/** The part of a tfjs module the device uses; both @tensorflow/tfjs and @tensorflow/tfjs-node-gpu provide it. */
export type TensorModule = Pick<typeof tf, 'fill' | 'memory' | 'env' | 'ready' | 'getBackend'>;

let quieted = false;

/** The CPU tfjs module with the Node-backend warning silenced. */
export function cpuTensorModule(): TensorModule {
  if (!quieted) {
    tf.env().set('PROD', true);
    quieted = true;
  }
  return tf;
}
