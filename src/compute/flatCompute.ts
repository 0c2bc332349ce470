/**
 * Compute over one private WebAssembly memory, outside tfjs: the substrate of the fused SAC
 * update (src/agent/fusedSac.ts). Every buffer (parameters, gradients, Adam moments,
 * activations) is a region of one memory sized once at construction, so Float32Array views
 * stay valid, and each GEMM, Adam step or Polyak average is one direct call: no tensors, no
 * kernel dispatch, no allocation per update.
 *
 * GEMMs go to a provider of gemmProviders.ts working on this memory (OpenBLAS through the addon,
 * or the WebAssembly SIMD kernel instantiated on it); Adam and Polyak to the WebAssembly
 * module's `adam`, `polyak` and `relu_backward`, in place.
 */
import {
  DEFAULT_ADDON_PATH, GEMM_ABI, loadOpenBlas, MASK_ABI, SPLIT_ABI, loadWasmSimdShared, P, PARAM_COUNT, wasmAdamOn, wasmPolyakOn, wasmReluBackwardOn,
  type HeapGemm, type WasmAdamFn, type WasmHeap, type WasmPolyakFn, type WasmReluBackwardFn,
} from './gemmProviders.js';
import { WebAssemblyApi, type WasmMemory } from './webAssembly.js';

export type FlatGemmProvider = 'openblas' | 'wasm-simd';

/** A float32 region of the arena: `at` is its byte offset, `length` its float count. */
export interface Region {
  readonly at: number;
  readonly length: number;
}

/** One GEMM call: C[b] = op(A[b]) op(B[b]) (+ bias[b]) (relu) for b < batch (row-major). */
export interface GemmCall {
  transA?: boolean;
  transB?: boolean;
  m: number;
  n: number;
  k: number;
  /** Byte offsets. */
  a: number;
  b: number;
  c: number;
  bias?: number;
  relu?: boolean;
  /** Byte offset of ReLU outputs laid out like C: C = y > 0 ? C : 0 after the product (the gradient through that ReLU). */
  reluGradientBy?: number;
  batch?: number;
  /** Bytes between batch items; A's default 0 (shared), B's and bias's 0 unless given. */
  aStride?: number;
  bStride?: number;
  biasStride?: number;
}

/** One squashed-Gaussian sample over rows [row0, row0 + rows) of the heads (byte offsets). */
export interface SampleCall {
  heads: number;
  row0: number;
  rows: number;
  /** Action size A. */
  actions: number;
  eps: number;
  gaussTerm: number;
  action: number;
  logProb: number;
  save: boolean;
  saveTanh: number;
  saveSigma: number;
  saveEps: number;
}

const ALIGN = 64;

export class FlatArena {
  readonly memory: WasmMemory;
  readonly f32: Float32Array;
  private top = ALIGN;

  constructor(floats: number) {
    // Room for the regions' alignment padding and the SIMD kernel's transposition scratch.
    const bytes = floats * 4 + 4096 * ALIGN + (1 << 20);
    this.memory = new WebAssemblyApi.Memory({ initial: Math.ceil(bytes / 65536) });
    this.f32 = new Float32Array(this.memory.buffer);
  }

  /** A zeroed region of `length` floats, 64-byte aligned. */
  alloc(length: number): Region {
    const at = this.top;
    this.top = (at + length * 4 + ALIGN - 1) & ~(ALIGN - 1);
    if (this.top > this.memory.buffer.byteLength) throw new Error(`FlatArena: out of room (${this.top} of ${this.memory.buffer.byteLength} bytes)`);
    return { at, length };
  }

  /** A view of a region (or of its first `length` floats, from float `from`). */
  view(r: Region, from = 0, length = r.length - from): Float32Array {
    return this.f32.subarray(r.at / 4 + from, r.at / 4 + from + length);
  }

  /** What a provider needs: the memory and an allocator (for the SIMD kernel's scratch). */
  heap(): WasmHeap {
    return { memory: this.memory, malloc: (bytes) => this.alloc(Math.ceil(bytes / 4)).at, free: () => undefined };
  }
}

/** GEMM, Adam and Polyak on one arena. */
export class FlatKernels {
  readonly provider: FlatGemmProvider;
  readonly detail: string;
  private readonly gemmImpl: HeapGemm;
  private readonly heap: WasmHeap;
  private readonly p = new Int32Array(PARAM_COUNT);
  private readonly adamFn: WasmAdamFn;
  private readonly polyakFn: WasmPolyakFn;
  private readonly reluBackwardFn: WasmReluBackwardFn;
  private coreCount = 1;
  private readonly maskInGemm: boolean;
  private readonly sq = new Int32Array(12);
  private readonly sc = new Float64Array(2);

  constructor(readonly arena: FlatArena, provider: FlatGemmProvider, options: { addonPath?: string; coreType?: string | null } = {}) {
    this.heap = arena.heap();
    const loaded = provider === 'openblas' ? loadOpenBlas(options.addonPath ?? DEFAULT_ADDON_PATH(), 1, options.coreType ?? null) : loadWasmSimdShared(this.heap);
    if (!loaded.ok) throw new Error(`fused update: GEMM provider ${provider} is not available: ${loaded.why}`);
    if (loaded.value.abi < GEMM_ABI) throw new Error(`fused update: the OpenBLAS addon was built from older source (GEMM ABI ${loaded.value.abi}, needs ${GEMM_ABI}): run npm install (or node scripts/build-native.mjs)`);
    this.provider = provider;
    this.detail = loaded.detail;
    this.gemmImpl = loaded.value;
    this.maskInGemm = provider === 'openblas' && loaded.value.abi >= MASK_ABI;
    this.adamFn = wasmAdamOn(arena.memory);
    this.polyakFn = wasmPolyakOn(arena.memory);
    this.reluBackwardFn = wasmReluBackwardOn(arena.memory);
  }

  /** Why GEMM calls cannot use two cores here, or null when they can (OpenBLAS addon of ABI 3). */
  get splitUnavailable(): string | null {
    if (this.provider !== 'openblas') return `the ${this.provider} GEMM runs on one core only`;
    if (this.gemmImpl.abi < SPLIT_ABI) return `the OpenBLAS addon was built from older source (GEMM ABI ${this.gemmImpl.abi}, splitting needs ${SPLIT_ABI}): run npm install (or node scripts/build-native.mjs)`;
    return null;
  }

  /** Cores each GEMM call may use: 1, or 2 (the addon splits it with its helper thread; same results). */
  get cores(): number {
    return this.coreCount;
  }

  set cores(n: number) {
    if (n !== 1 && n !== 2) throw new Error(`fused update: cores must be 1 or 2, not ${n}`);
    const why = n === 2 ? this.splitUnavailable : null;
    if (why !== null) throw new Error(`fused update: cannot use 2 cores: ${why}`);
    this.coreCount = n;
  }

  /**
   * The fused update's squashed-Gaussian sample in native code (regions as byte offsets; see the
   * addon's `sample`), or false when the provider has none (the caller's loop runs instead).
   */
  sample(q: SampleCall, halfRange: number, mid: number): boolean {
    const fn = this.gemmImpl.sample;
    if (fn === undefined) return false;
    const p = this.sq;
    p[0] = q.heads; p[1] = q.row0; p[2] = q.rows; p[3] = q.actions; p[4] = q.eps; p[5] = q.gaussTerm;
    p[6] = q.action; p[7] = q.logProb; p[8] = q.save ? 1 : 0; p[9] = q.saveTanh; p[10] = q.saveSigma; p[11] = q.saveEps;
    this.sc[0] = halfRange;
    this.sc[1] = mid;
    fn(this.heap, p, this.sc);
    return true;
  }

  /** Gradient through a ReLU in place: d = y > 0 ? d : 0 for `n` floats at byte offsets d and y. */
  reluBackward(d: number, y: number, n: number): void {
    this.reluBackwardFn(d, y, n);
  }

  gemm(c: GemmCall): void {
    const p = this.p;
    p[P.transA] = c.transA === true ? 1 : 0;
    p[P.transB] = c.transB === true ? 1 : 0;
    p[P.m] = c.m;
    p[P.n] = c.n;
    p[P.k] = c.k;
    p[P.batch] = c.batch ?? 1;
    p[P.aOff] = c.a;
    p[P.aStride] = c.aStride ?? 0;
    p[P.bOff] = c.b;
    p[P.bStride] = c.bStride ?? 0;
    p[P.cOff] = c.c;
    p[P.biasOff] = c.bias ?? 0;
    p[P.biasMode] = c.bias === undefined ? 0 : 1;
    p[P.act] = c.relu === true ? 1 : 0;
    p[P.biasStride] = c.biasStride ?? 0;
    p[P.cores] = this.coreCount;
    const mask = c.reluGradientBy;
    // The OpenBLAS addon masks C while it is in cache; elsewhere a pass of relu_backward follows.
    p[P.maskOff] = mask !== undefined && this.maskInGemm ? mask : 0;
    if (p[P.maskOff] !== 0) p[P.act] = 2;
    this.gemmImpl.run(this.heap, p);
    if (mask !== undefined && !this.maskInGemm) this.reluBackwardFn(c.c, mask, (c.batch ?? 1) * c.m * c.n);
  }

  /**
   * One Adam step in place over `params` (the "epsilon hat" form of networks.ts's Adam: the
   * caller passes the bias-corrected step size and epsilon).
   */
  adam(params: Region, grads: Region, m: Region, v: Region, beta1: number, beta2: number, stepSize: number, epsHat: number): void {
    this.adamFn(params.at, grads.at, m.at, v.at, params.at, m.at, v.at, params.length, beta1, 1 - beta1, beta2, 1 - beta2, stepSize, epsHat);
  }

  /** target <- tau source + (1 - tau) target, in place. */
  polyak(target: Region, source: Region, tau: number): void {
    this.polyakFn(target.at, source.at, target.at, target.length, tau, 1 - tau);
  }

  dispose(): void {
    this.gemmImpl.dispose();
  }
}
