import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCpuDevice, DeviceOutOfMemoryError } from '../../src/device/index.js';
import { errorMessage, isCudaError, isOom } from '../../src/recovery/classifier.js';

class ResourceExhaustedError extends Error {
  override name = 'ResourceExhaustedError';
}

describe('isOom', () => {
  const ooms: [string, unknown][] = [
    ['PyTorch CUDA', new Error('CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 4.00 GiB total capacity)')],
    ['lower case', new Error('out of memory')],
    ['upper case', new Error('OUT OF MEMORY')],
    ['TensorFlow', new Error('OOM when allocating tensor with shape[1024,1024,256] and type float')],
    ['tfjs-node status', new Error('Invalid TF_Status: 8\nMessage: OOM when allocating tensor')],
    ['RESOURCE_EXHAUSTED code', new Error('RESOURCE_EXHAUSTED: failed to allocate memory')],
    ['older TF status text', new Error('Resource exhausted: failed to allocate')],
    ['ResourceExhaustedError by name', new ResourceExhaustedError('failed to allocate 1.2GiB')],
    ['ResourceExhaustedError in text', new Error('tensorflow.python.framework.errors_impl.ResourceExhaustedError: ...')],
    ['CUDA driver API', new Error('CUDA_ERROR_OUT_OF_MEMORY')],
    ['CUDA runtime API', new Error('cudaErrorMemoryAllocation: out of device resources')],
    ['V8 ArrayBuffer', new RangeError('Array buffer allocation failed')],
    ['a thrown string', 'CUDA out of memory'],
    ['an error-like object', { message: 'OOM when allocating tensor' }],
  ];
  for (const [name, error] of ooms) it(`recognises ${name}`, () => assert.equal(isOom(error), true));

  it('recognises DeviceOutOfMemoryError, real and injected', () => {
    const device = createCpuDevice({ budgetMB: 1 });
    try {
      assert.throws(() => device.allocate(2e6), (e: unknown) => isOom(e));
      device.faults.failNextAllocations(1);
      assert.throws(() => device.allocate(1), (e: unknown) => e instanceof DeviceOutOfMemoryError && isOom(e));
    } finally {
      device.close();
    }
  });

  const nearMisses: [string, unknown][] = [
    ['the production launch failure', new Error('CUDA error: unspecified launch failure')],
    ['an index out of range', new RangeError('index 5 out of range')],
    ['a memory access violation', new Error('CUDA error: an illegal memory access was encountered (memory access violation)')],
    ['a typed-array length error', new RangeError('Invalid typed array length: 8589934592')],
    ['"memory" alone', new Error('memory usage is high')],
    ['"OOM" alone', new Error('OOM killer invoked')],
    ['"exhausted" alone', new Error('retries exhausted')],
    ['a split phrase', new Error('out of\nmemory')],
    ['a disposed tensor', new Error('Tensor is disposed.')],
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
  ];
  for (const [name, error] of nearMisses) it(`does not mistake ${name} for an OOM`, () => assert.equal(isOom(error), false));
});

describe('isCudaError', () => {
  const cases: [string, unknown, boolean][] = [
    ['a CUDA error', new Error('CUDA error: unspecified launch failure'), true],
    ['an OOM without "CUDA"', new Error('OOM when allocating tensor'), true],
    ['"cuda" in lower case only', new Error('cuda driver missing'), false],
    ['an unrelated error', new Error('file not found'), false],
  ];
  for (const [name, error, expected] of cases) it(`${name}: ${expected}`, () => assert.equal(isCudaError(error), expected));
});

describe('errorMessage', () => {
  it('uses the message of an Error and the text of anything else', () => {
    assert.equal(errorMessage(new Error('boom')), 'boom');
    assert.equal(errorMessage('plain'), 'plain');
    assert.equal(errorMessage({ message: 'shaped' }), 'shaped');
    assert.equal(errorMessage(7), '7');
  });
});
