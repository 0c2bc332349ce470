import * as tf from '@tensorflow/tfjs-core';
import { installAdamKernel } from './adam.js';
import { firstLine } from './gemmProviders.js';
import { installPolyakKernel } from './polyak.js';
import { installGemm, type GemmChoice, type GemmProviderName } from './gemmKernels.js';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface ComputeInfo {
  /** The tfjs backend that runs: 'tensorflow' (tfjs-node / -gpu), 'wasm' or 'cpu'. */
  backend: string;
  /** One line for the log: what runs and why the others did not. */
  reason: string;
  /** On the wasm backend: the GEMM provider behind BatchMatMul and _FusedMatMul. */
  gemm?: GemmProviderName;
}

export interface ComputeOptions {
  /** GEMM provider for the wasm backend (default auto: openblas, wasm-simd, transpose). */
  gemm?: GemmChoice;
  /** Path of the OpenBLAS addon (default build/sacbridge_sgemm.node). */
  addonPath?: string;
  /** OpenBLAS threads (default 1: see src/compute/gemmProviders.ts for the measurement). */
  blasThreads?: number;
}

let active: ComputeInfo | null = null;

/** The native TensorFlow bindings, in the order `auto` tries them. */
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/**
 * Import a package that may not be installed. The specifier is a variable, so tsc does not look
 * for its types: these packages are optional and picked up only at run time.
 */
async function tryImport(name: string): Promise<string | null> {
  try {
    await import(name);
    return null;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return 'not installed';
    return `failed to load: ${firstLine(err)}`;
  }
}

/** tfjs-node(-gpu) registers the 'tensorflow' backend on import; returns why not, or null. */
async function tryTensorflow(notes: string[]): Promise<boolean> {
  for (const name of NATIVE_PACKAGES) {
    const why = await tryImport(name);
    if (why === null && tf.findBackend('tensorflow') != null && (await tf.setBackend('tensorflow'))) {
      notes.unshift(`${name} loaded`);
      return true;
    }
    notes.push(`${name} ${why ?? 'loaded but registered no tensorflow backend with this @tensorflow/tfjs-core (versions must match 4.22.0)'}`);
  }
  return false;
}

async function startWasm(): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend failed to initialise');
}

/**
 * Select and initialise the tfjs backend once per process.
 * auto: tfjs-node-gpu, then tfjs-node, then wasm with the best GEMM provider. Explicit choices
 * fail with a clear error when their backend cannot start.
 */
export async function initCompute(choice: BackendChoice = 'auto', options: ComputeOptions = {}): Promise<ComputeInfo> {
  if (active !== null) return active;
  const notes: string[] = [];
  if (choice === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu'))) throw new Error('the tfjs cpu backend failed to initialise');
    active = { backend: 'cpu', reason: 'compute: tfjs cpu backend (compute.backend=cpu; plain JavaScript, slowest)' };
  } else if (choice === 'tensorflow' || choice === 'auto') {
    if (await tryTensorflow(notes)) {
      active = { backend: 'tensorflow', reason: `compute: tfjs-node TensorFlow backend (${notes.join('; ')})` };
    } else if (choice === 'tensorflow') {
      throw new Error(`compute.backend=tensorflow but no TensorFlow binding loads: ${notes.join('; ')}`);
    }
  }
  if (active === null) {
    await startWasm();
    const gemmOptions = {
      ...(options.addonPath === undefined ? {} : { addonPath: options.addonPath }),
      ...(options.blasThreads === undefined ? {} : { blasThreads: options.blasThreads }),
    };
    const gemm = installGemm(options.gemm ?? 'auto', gemmOptions);
    installAdamKernel();
    installPolyakKernel();
    const others = notes.length > 0 ? `; ${notes.join('; ')}` : '';
    active = { backend: 'wasm', gemm: gemm.provider, reason: `compute: tfjs wasm backend, ${gemm.reason}${others}` };
  }
  await tf.ready();
  return active;
}

/** Forget the selection so a test can initialise again (the tfjs backends stay registered). */
export function resetComputeForTests(): void {
  active = null;
}
