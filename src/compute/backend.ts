import * as tf from '@tensorflow/tfjs-core';
import { installAdamKernel } from './adam.js';
import { existsSync } from 'node:fs';
import { DEFAULT_ADDON_PATH, firstLine, GEMM_ABI } from './gemmProviders.js';
import { chooseKernel } from './kernelChoice.js';
import { installPolyakKernel } from './polyak.js';
import { gemmAbi, gemmProvider, installGemm, type GemmChoice, type GemmProviderName } from './gemmKernels.js';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface ComputeInfo {
  /** The tfjs backend that runs: 'tensorflow' (tfjs-node / -gpu), 'wasm' or 'cpu'. */
  backend: string;
  /** One line for the log: what runs and why the others did not. */
  reason: string;
  /** On the wasm backend: the GEMM provider behind BatchMatMul and _FusedMatMul. */
  gemm?: GemmProviderName;
  /** OPENBLAS_CORETYPE chosen by measurement, if one was forced. */
  coreType?: string | null;
  /** Which SAC update SoftActorCritic runs by default (see sacUpdateSelection). */
  sacUpdate: 'fused' | 'tfjs';
}

/** compute.sacUpdate: 'auto' = fused where it runs on sacbridge's GEMM kernels, else tfjs. */
export type SacUpdateChoice = 'auto' | 'fused' | 'tfjs';

export interface ComputeOptions {
  /** GEMM provider for the wasm backend (default auto: openblas, wasm-simd, transpose). */
  gemm?: GemmChoice;
  /** Path of the OpenBLAS addon (default build/sacbridge_sgemm.node). */
  addonPath?: string;
  /** OpenBLAS threads (default 1: see src/compute/gemmProviders.ts for the measurement). */
  blasThreads?: number;
  /** Where the measured kernel choice is cached (default build/kernel-choice.json). */
  kernelChoicePath?: string;
  /** The SAC update SoftActorCritic runs by default (default auto). */
  sacUpdate?: SacUpdateChoice;
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
    active = { backend: 'cpu', sacUpdate: 'tfjs', reason: 'compute: tfjs cpu backend (compute.backend=cpu; plain JavaScript, slowest)' };
  } else if (choice === 'tensorflow' || choice === 'auto') {
    if (await tryTensorflow(notes)) {
      active = { backend: 'tensorflow', sacUpdate: 'tfjs', reason: `compute: tfjs-node TensorFlow backend (${notes.join('; ')})` };
    } else if (choice === 'tensorflow') {
      throw new Error(`compute.backend=tensorflow but no TensorFlow binding loads: ${notes.join('; ')}`);
    }
  }
  if (active === null) {
    await startWasm();
    const kernel = await measuredKernel(options);
    const gemmOptions = {
      ...(options.addonPath === undefined ? {} : { addonPath: options.addonPath }),
      ...(options.blasThreads === undefined ? {} : { blasThreads: options.blasThreads }),
      coreType: kernel.coreType,
    };
    const gemm = installGemm(kernel.gemm, gemmOptions);
    installAdamKernel();
    installPolyakKernel();
    const others = notes.length > 0 ? `; ${notes.join('; ')}` : '';
    const core = gemm.provider === 'openblas' && kernel.coreType !== null ? ` with OPENBLAS_CORETYPE=${kernel.coreType}` : '';
    const chosen = kernel.note === '' ? '' : `; kernel ${kernel.note}`;
    // The fused update runs on the same GEMM kernels, outside tfjs (src/agent/fusedSac.ts).
    const fusedRuns = (gemm.provider === 'openblas' && gemmAbi() >= GEMM_ABI) || gemm.provider === 'wasm-simd';
    const sacUpdate = options.sacUpdate === 'tfjs' || (options.sacUpdate !== 'fused' && !fusedRuns) ? 'tfjs' : 'fused';
    const update = sacUpdate === 'fused' ? '; SAC update fused over one flat buffer' : '; SAC update on tfjs';
    active = { backend: 'wasm', gemm: gemm.provider, coreType: kernel.coreType, sacUpdate, reason: `compute: tfjs wasm backend, ${gemm.reason}${core}${chosen}${update}${others}` };
  }
  await tf.ready();
  return active;
}

/**
 * With `gemm: auto` and the OpenBLAS addon built: the provider and core type chosen by
 * measurement (kernelChoice.ts), unless OPENBLAS_CORETYPE already names one.
 */
async function measuredKernel(options: ComputeOptions): Promise<{ gemm: GemmChoice; coreType: string | null; note: string }> {
  const choice = options.gemm ?? 'auto';
  const addonPath = options.addonPath ?? DEFAULT_ADDON_PATH();
  if (choice !== 'auto' || !existsSync(addonPath)) return { gemm: choice, coreType: null, note: '' };
  const fromEnv = process.env.OPENBLAS_CORETYPE;
  if (fromEnv !== undefined && fromEnv !== '') return { gemm: 'auto', coreType: null, note: `OPENBLAS_CORETYPE=${fromEnv} from the environment (not measured)` };
  const { choice: c, note } = await chooseKernel({ addonPath, openBlasAvailable: true, ...(options.kernelChoicePath === undefined ? {} : { cachePath: options.kernelChoicePath }) });
  return { gemm: c.provider === 'openblas' ? 'auto' : c.provider, coreType: c.coreType, note: `${c.provider === 'openblas' ? `OpenBLAS ${c.coreType ?? c.timings.find((t) => t.coreType === null)?.runs ?? ''}` : c.provider} ${note}` };
}

/**
 * The SAC update a SoftActorCritic asked for `choice` runs: 'auto' follows initCompute (fused
 * while tfjs runs on the wasm backend with sacbridge's GEMM kernels; tfjs before initCompute,
 * on other backends or providers, and with compute.sacUpdate=tfjs),
 * 'fused' runs on the GEMM provider installed for tfjs-wasm (OpenBLAS, else the WebAssembly
 * kernel), 'tfjs' is the tfjs update.
 */
export function sacUpdateSelection(choice: SacUpdateChoice): { kind: 'tfjs' } | { kind: 'fused'; provider: 'openblas' | 'wasm-simd'; coreType: string | null } {
  const provider = gemmProvider();
  const onKernels = tf.getBackend() === 'wasm' && ((provider === 'openblas' && gemmAbi() >= GEMM_ABI) || provider === 'wasm-simd');
  if (choice === 'tfjs' || (choice === 'auto' && (active?.sacUpdate !== 'fused' || !onKernels))) return { kind: 'tfjs' };
  return { kind: 'fused', provider: provider === 'openblas' && gemmAbi() >= GEMM_ABI ? 'openblas' : 'wasm-simd', coreType: active?.coreType ?? null };
}

/** Forget the selection so a test can initialise again (the tfjs backends stay registered). */
export function resetComputeForTests(): void {
  active = null;
}
