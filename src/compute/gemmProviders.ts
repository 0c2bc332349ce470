/**
 * GEMM providers that compute directly on tfjs-wasm's linear memory (selected by backend.ts).
 * Each takes one call description (an Int32Array, layout below) whose offsets are byte
 * addresses in that memory, and writes C, which is always a freshly allocated tfjs output: never
 * a live tensor, because XNNPACK caches packed weights by tensor id.
 *
 *   openblas        cblas_sgemm through the optional N-API addon (build/sacbridge_sgemm.node).
 *   wasm-simd       our own WebAssembly SIMD kernel (src/compute/wasm/sgemm_simd.c), instantiated
 *                   on tfjs's own memory so it works in place.
 *   wasm-simd-copy  the same kernel on a private memory, copying operands in and C out; kept to
 *                   measure what sharing the memory saves.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../util/packageRoot.js';
import { WebAssemblyApi, type WasmMemory, type WasmModule } from './webAssembly.js';

/** Indices into the call description shared by every provider (and sgemm_addon.c). */
export const P = {
  transA: 0,
  transB: 1,
  m: 2,
  n: 3,
  k: 4,
  batch: 5,
  aOff: 6,
  aStride: 7,
  bOff: 8,
  bStride: 9,
  cOff: 10,
  biasOff: 11,
  biasMode: 12,
  act: 13,
  /** Bytes between batch items' biases (0: one bias for all). */
  biasStride: 14,
  /** 2: the addon splits the call with its helper thread (ABI 3); others ignore it. */
  cores: 15,
  /** act 2 (ReLU gradient): the ReLU outputs masking C (ABI 4). */
  maskOff: 16,
} as const;
export const PARAM_COUNT = 17;

/** The parameter layout the fused update needs; an addon built from older source reports less (or nothing). */
export const GEMM_ABI = 2;
/** The first addon ABI that splits a call over two cores (P.cores). */
export const SPLIT_ABI = 3;
/** The first addon ABI that applies a ReLU's gradient after the product (act 2, P.maskOff). */
export const MASK_ABI = 4;

export const BiasMode = { none: 0, perColumn: 1, scalar: 2, full: 3 } as const;
export const Act = { linear: 0, relu: 1 } as const;

/** What a provider needs from tfjs-wasm's Emscripten module. */
export interface WasmHeap {
  readonly memory: WasmMemory;
  malloc(bytes: number): number;
  free(offset: number): void;
}

export interface HeapGemm {
  readonly name: HeapGemmName;
  /** The parameter layout it understands (GEMM_ABI; an older addon reports less). */
  readonly abi: number;
  /** Run the call described by `p` on `heap`. */
  run(heap: WasmHeap, p: Int32Array): void;
  /** The fused update's squashed-Gaussian sample in native code (the addon's `sample`, ABI 3), if this provider has it. */
  sample?(heap: WasmHeap, q: Int32Array, c: Float64Array): void;
  /** Release what the provider allocated in the heap. */
  dispose(): void;
}

export type HeapGemmName = 'openblas' | 'wasm-simd' | 'wasm-simd-copy';

export const DEFAULT_ADDON_PATH = (): string => join(packageRoot(), 'build', 'sacbridge_sgemm.node');
export const WASM_GEMM_PATH = (): string => join(packageRoot(), 'src', 'compute', 'wasm', 'sgemm_simd.wasm');

interface SgemmAddon {
  gemm(heap: ArrayBuffer, p: Int32Array): void;
  abi?(): number;
  setThreads(n: number): void;
  config(): string;
  sample?(heap: ArrayBuffer, q: Int32Array, c: Float64Array): void;
}

/** Result of trying to load a provider: the provider, or why it is not available. */
export type Loaded<T> = { ok: true; value: T; detail: string } | { ok: false; why: string };

/** Whether some call has loaded the addon (and with it OpenBLAS) into this process. */
let openBlasLoaded = false;

/**
 * The OpenBLAS addon, if it was built at install time and loads. `coreType` (an
 * OPENBLAS_CORETYPE value, see kernelChoice.ts) takes effect only if OpenBLAS is not loaded yet
 * and the environment does not already name one: the library reads it once, when it loads.
 */
export function loadOpenBlas(addonPath: string = DEFAULT_ADDON_PATH(), threads = 1, coreType: string | null = null): Loaded<HeapGemm> {
  if (!existsSync(addonPath)) {
    return { ok: false, why: `native addon not built (${addonPath} missing: install libopenblas-dev and a C compiler, then npm install)` };
  }
  if (coreType !== null && !openBlasLoaded && process.env.OPENBLAS_CORETYPE === undefined) process.env.OPENBLAS_CORETYPE = coreType;
  let addon: SgemmAddon;
  try {
    addon = createRequire(import.meta.url)(addonPath) as SgemmAddon;
    openBlasLoaded = true;
  } catch (err) {
    return { ok: false, why: `native addon ${addonPath} does not load: ${firstLine(err)}` };
  }
  if (typeof addon.gemm !== 'function') return { ok: false, why: `${addonPath} is not the sacbridge GEMM addon` };
  // An addon built from older source ignores the parameters it does not know (biasStride): fine
  // for tfjs's kernels, which never set them, but not for the fused update (FlatKernels checks).
  const abi = typeof addon.abi === 'function' ? addon.abi() : 1;
  const stale = abi >= MASK_ABI ? '' : `; built from older source (GEMM ABI ${abi}, not ${MASK_ABI}: npm install rebuilds it)`;
  // One thread by default (the addon's own default too). Measured here on 256^3: two threads take
  // 0.15 ms instead of 0.28 ms when the second core is idle, but 0.7-0.95 ms (median) when other
  // work holds it, since OpenBLAS's threads then wait for a core. Training in lockstep with the
  // simulator on an otherwise idle machine may set 2; the robot learner should keep 1.
  addon.setThreads(threads);
  return {
    ok: true,
    detail: `${addon.config()}${stale}`,
    value: {
      name: 'openblas',
      abi,
      run: (heap, p) => addon.gemm(heap.memory.buffer as ArrayBuffer, p),
      ...(typeof addon.sample === 'function' ? { sample: (heap: WasmHeap, q: Int32Array, c: Float64Array) => addon.sample!(heap.memory.buffer as ArrayBuffer, q, c) } : {}),
      dispose: () => undefined,
    },
  };
}

type WasmGemmFn = (
  ta: number, tb: number, m: number, n: number, k: number, batch: number,
  aOff: number, aStride: number, bOff: number, bStride: number, cOff: number,
  biasOff: number, biasMode: number, act: number, scratch: number, biasStride: number,
) => void;

let compiledWasmGemm: WasmModule | null = null;

function wasmGemmModule(path: string): WasmModule {
  if (compiledWasmGemm === null) compiledWasmGemm = new WebAssemblyApi.Module(readFileSync(path));
  return compiledWasmGemm;
}

function instantiateGemm(module: WasmModule, memory: WasmMemory): WasmGemmFn {
  const instance = new WebAssemblyApi.Instance(module, { env: { memory } });
  return instance.exports.gemm as WasmGemmFn;
}

/** sgemm_simd.wasm's Adam step (see the C source): byte offsets, count, then the coefficients. */
export type WasmAdamFn = (
  p: number, g: number, m: number, v: number, pOut: number, mOut: number, vOut: number, n: number,
  b1: number, c1: number, b2: number, c2: number, step: number, eps: number,
) => void;

/** sgemm_simd.wasm's Polyak average: target, source and output offsets, count, tau, 1 - tau. */
export type WasmPolyakFn = (t: number, s: number, out: number, n: number, tau: number, keep: number) => void;

/** The Polyak kernel of our WebAssembly module, instantiated on `memory`. */
export function wasmPolyakOn(memory: WasmMemory, wasmPath: string = WASM_GEMM_PATH()): WasmPolyakFn {
  const instance = new WebAssemblyApi.Instance(wasmGemmModule(wasmPath), { env: { memory } });
  return instance.exports.polyak as WasmPolyakFn;
}

/** sgemm_simd.wasm's ReLU gradient, in place: d = y > 0 ? d : 0 over n floats (byte offsets). */
export type WasmReluBackwardFn = (d: number, y: number, n: number) => void;

/** The ReLU-gradient kernel of our WebAssembly module, instantiated on `memory`. */
export function wasmReluBackwardOn(memory: WasmMemory, wasmPath: string = WASM_GEMM_PATH()): WasmReluBackwardFn {
  const instance = new WebAssemblyApi.Instance(wasmGemmModule(wasmPath), { env: { memory } });
  return instance.exports.relu_backward as WasmReluBackwardFn;
}

/** The Adam kernel of our WebAssembly module, instantiated on `memory` (e.g. tfjs-wasm's). */
export function wasmAdamOn(memory: WasmMemory, wasmPath: string = WASM_GEMM_PATH()): WasmAdamFn {
  const instance = new WebAssemblyApi.Instance(wasmGemmModule(wasmPath), { env: { memory } });
  return instance.exports.adam as WasmAdamFn;
}

/** Bytes of scratch a call needs: a repacked copy of B when B is transposed. */
function scratchBytes(p: Int32Array): number {
  return p[P.transB] ? p[P.k] * p[P.n] * 4 : 0;
}

/**
 * Our SIMD kernel on tfjs's own memory: no copies. The only allocation is a scratch area for
 * repacking a transposed B, taken from tfjs's allocator and kept (grown when needed).
 */
export function loadWasmSimdShared(heap: WasmHeap, wasmPath: string = WASM_GEMM_PATH()): Loaded<HeapGemm> {
  let gemm: WasmGemmFn;
  try {
    gemm = instantiateGemm(wasmGemmModule(wasmPath), heap.memory);
  } catch (err) {
    return { ok: false, why: `WebAssembly GEMM ${wasmPath} does not load: ${firstLine(err)}` };
  }
  let scratch = 0;
  let scratchSize = 0;
  return {
    ok: true,
    detail: 'SIMD128 kernel sharing tfjs-wasm memory',
    value: {
      name: 'wasm-simd',
      abi: GEMM_ABI,
      run(h, p) {
        const need = scratchBytes(p);
        if (need > scratchSize) {
          if (scratch !== 0) h.free(scratch);
          scratchSize = Math.max(need, 2 * scratchSize);
          scratch = h.malloc(scratchSize) >>> 0;
        }
        gemm(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], scratch, p[14]);
      },
      dispose() {
        if (scratch !== 0) heap.free(scratch);
        scratch = 0;
        scratchSize = 0;
      },
    },
  };
}

const align16 = (x: number): number => (x + 15) & ~15;

/** Our SIMD kernel on a private memory: operands are copied in and C copied out on every call. */
export function loadWasmSimdCopy(wasmPath: string = WASM_GEMM_PATH()): Loaded<HeapGemm> {
  const memory = new WebAssemblyApi.Memory({ initial: 16 });
  let gemm: WasmGemmFn;
  try {
    gemm = instantiateGemm(wasmGemmModule(wasmPath), memory);
  } catch (err) {
    return { ok: false, why: `WebAssembly GEMM ${wasmPath} does not load: ${firstLine(err)}` };
  }
  return {
    ok: true,
    detail: 'SIMD128 kernel on its own memory (copy in/out)',
    value: {
      name: 'wasm-simd-copy',
      abi: GEMM_ABI,
      run(h, p) {
        const [m, n, k, batch] = [p[P.m], p[P.n], p[P.k], p[P.batch]];
        const aBytes = (p[P.aStride] === 0 ? 1 : batch) * m * k * 4;
        const bBytes = (p[P.bStride] === 0 ? 1 : batch) * k * n * 4;
        const biasMode = p[P.biasMode];
        const oneBias = biasMode === BiasMode.none ? 0 : biasMode === BiasMode.perColumn ? n * 4 : biasMode === BiasMode.scalar ? 4 : m * n * 4;
        const biasBytes = oneBias === 0 ? 0 : oneBias + p[P.biasStride] * (batch - 1);
        const cBytes = batch * m * n * 4;
        const aAt = 0;
        const bAt = align16(aAt + aBytes);
        const biasAt = align16(bAt + bBytes);
        const cAt = align16(biasAt + biasBytes);
        const scratchAt = align16(cAt + cBytes);
        const total = scratchAt + scratchBytes(p);
        if (total > memory.buffer.byteLength) memory.grow(Math.ceil((total - memory.buffer.byteLength) / 65536));
        const src = new Uint8Array(h.memory.buffer);
        const dst = new Uint8Array(memory.buffer);
        dst.set(src.subarray(p[P.aOff], p[P.aOff] + aBytes), aAt);
        dst.set(src.subarray(p[P.bOff], p[P.bOff] + bBytes), bAt);
        if (biasBytes > 0) dst.set(src.subarray(p[P.biasOff], p[P.biasOff] + biasBytes), biasAt);
        gemm(p[0], p[1], m, n, k, batch, aAt, p[P.aStride], bAt, p[P.bStride], cAt, biasAt, biasMode, p[P.act], scratchAt, p[P.biasStride]);
        src.set(dst.subarray(cAt, cAt + cBytes), p[P.cOff]);
      },
      dispose: () => undefined,
    },
  };
}

export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}
