import * as tf from '@tensorflow/tfjs-core';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface ComputeInfo {
  /** The tfjs backend that runs: 'tensorflow' (tfjs-node / -gpu), 'wasm' or 'cpu'. */
  backend: string;
  /** One line for the log: what runs and why the others did not. */
  reason: string;
}

let active: ComputeInfo | null = null;

/**
 * Select and initialise the tfjs backend once per process (see DESIGN.md, "The compute path").
 * Minimal version: wasm, else cpu. The compute path work extends this with the native
 * backends and the GEMM providers behind the same signature.
 */
export async function initCompute(choice: BackendChoice = 'auto'): Promise<ComputeInfo> {
  if (active !== null) return active;
  if (choice === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    active = { backend: 'cpu', reason: 'compute.backend=cpu' };
  } else {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend failed to initialise');
    active = { backend: 'wasm', reason: `compute.backend=${choice}: WebAssembly backend` };
  }
  await tf.ready();
  return active;
}
