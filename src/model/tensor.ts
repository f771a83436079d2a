/** Checked views of transformers.js tensors: shapes and data as the model code expects them. */
import { Tensor } from '@huggingface/transformers';
import { ModelError } from './types';

/** The dims of a tensor of rank 3, or a runtime error naming what was expected. */
export function dims3(t: Tensor, what: string): [number, number, number] {
  const [a, b, c, ...rest] = t.dims;
  if (a === undefined || b === undefined || c === undefined || rest.length > 0)
    throw new ModelError('runtime', `${what}: expected 3 dims, got [${t.dims.join(', ')}]`);
  return [a, b, c];
}

export function dims4(t: Tensor, what: string): [number, number, number, number] {
  const [a, b, c, d, ...rest] = t.dims;
  if (a === undefined || b === undefined || c === undefined || d === undefined || rest.length > 0)
    throw new ModelError('runtime', `${what}: expected 4 dims, got [${t.dims.join(', ')}]`);
  return [a, b, c, d];
}

/** A value the runtime returned, checked to be a tensor. */
export function tensor(value: unknown, what: string): Tensor {
  if (!(value instanceof Tensor)) throw new ModelError('runtime', `${what}: not a tensor`);
  return value;
}

/** float32 data of a tensor converted to float32. */
export function float32(t: Tensor, what: string): Float32Array {
  const data: unknown = t.data;
  if (!(data instanceof Float32Array))
    throw new ModelError('runtime', `${what}: expected float32 data, got ${t.type}`);
  return data;
}
