// Which errors are out-of-memory errors (SPEC A.5 item 1). Every backend words OOM differently, so the classifier
// knows each family by a pattern, and deliberately nothing more: a CUDA launch failure, an index "out of range" or
// a typed-array length error must never be mistaken for memory pressure (that would trigger offloading for nothing).
import { DeviceOutOfMemoryError } from '../device/errors.js';

/** Lower-case fragments, one per family. */
const OOM_PATTERNS: readonly string[] = [
  'out of memory', //               PyTorch / CUDA runtime: "CUDA out of memory. Tried to allocate ..."
  'oom when allocating', //          TensorFlow: "OOM when allocating tensor with shape[...]"
  'resource_exhausted', //           TensorFlow / gRPC status code name
  'resourceexhausted', //            ResourceExhaustedError (TF's Python and JS class names)
  'resource exhausted', //           TensorFlow's older status text: "Resource exhausted: OOM ..."
  'cuda_error_out_of_memory', //     CUDA driver API
  'cudaerrormemoryallocation', //    CUDA runtime API enum
  'array buffer allocation failed', // V8 could not back an ArrayBuffer (tfjs on the CPU)
];

/** The text an error is classified by: its name and message (a thrown string counts as a message). */
export function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object' && 'message' in error) return String((error as { message: unknown }).message);
  return String(error);
}

/** The message alone, for logs and notifications. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return errorText(error);
}

export function isOom(error: unknown): boolean {
  if (error instanceof DeviceOutOfMemoryError) return true;
  const text = errorText(error).toLowerCase();
  return OOM_PATTERNS.some((pattern) => text.includes(pattern));
}

/** A CUDA error as the original daemon judged it: "CUDA" in the message (case-sensitive), or any OOM. */
export function isCudaError(error: unknown): boolean {
  return errorMessage(error).includes('CUDA') || isOom(error);
}
