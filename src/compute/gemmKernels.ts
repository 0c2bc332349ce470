/**
 * Replacement `BatchMatMul` and `_FusedMatMul` kernels for tfjs's wasm backend.
 *
 * Stock tfjs-wasm reaches XNNPACK only when neither operand is transposed and the batch is 1;
 * otherwise it runs a scalar loop (~190 ms per SAC update). These kernels hand every float32
 * matmul to a GEMM provider that works on tfjs-wasm's memory, or (provider `transpose`) make
 * operands explicit transposes so that the stock kernel takes its XNNPACK path.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import {
  Act,
  BiasMode,
  loadOpenBlas,
  loadWasmSimdCopy,
  loadWasmSimdShared,
  P,
  PARAM_COUNT,
  type HeapGemm,
  type HeapGemmName,
  type Loaded,
  type WasmHeap,
} from './gemmProviders.js';
import type { WasmMemory } from './webAssembly.js';

/** The parts of tfjs-wasm's backend object these kernels use (not in its public typings). */
interface WasmBackendInternals {
  wasm: {
    asm: { memory: WasmMemory };
    _malloc(bytes: number): number;
    _free(offset: number): void;
  };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

export type GemmProviderName = HeapGemmName | 'transpose' | 'tfjs';
export type GemmChoice = 'auto' | GemmProviderName;

export interface GemmInfo {
  provider: GemmProviderName;
  /** One line: what runs and why the providers before it in the `auto` order did not. */
  reason: string;
}

export interface GemmOptions {
  /** Where the OpenBLAS addon lives (tests point this at a missing file to check the fallback). */
  addonPath?: string;
  /** OpenBLAS threads (default 1; see loadOpenBlas). */
  blasThreads?: number;
  /** OPENBLAS_CORETYPE chosen by measurement (kernelChoice.ts); null: OpenBLAS's own pick. */
  coreType?: string | null;
}

interface StockKernels {
  batchMatMul: KernelConfig;
  fusedMatMul: KernelConfig;
  sum: KernelConfig;
}

let stock: StockKernels | null = null;
let current: { provider: GemmProviderName; heapGemm: HeapGemm | null } | null = null;

function wasmBackend(): WasmBackendInternals {
  const backend = tf.findBackend('wasm') as unknown as Partial<WasmBackendInternals> | null;
  if (backend == null || backend.wasm?.asm?.memory == null || backend.dataIdMap == null) {
    throw new Error('the tfjs wasm backend is not initialised (await tf.setBackend("wasm") first)');
  }
  return backend as WasmBackendInternals;
}

function heapOf(backend: WasmBackendInternals): WasmHeap {
  return {
    memory: backend.wasm.asm.memory,
    malloc: (bytes) => backend.wasm._malloc(bytes),
    free: (offset) => backend.wasm._free(offset),
  };
}

/**
 * Install the GEMM kernels with the given provider (`auto`: openblas, then wasm-simd, then
 * transpose). Can be called again to switch; `tfjs` restores the stock kernels.
 */
export function installGemm(choice: GemmChoice = 'auto', options: GemmOptions = {}): GemmInfo {
  const backend = wasmBackend();
  if (stock === null) {
    const batchMatMul = tf.getKernel('BatchMatMul', 'wasm');
    const fusedMatMul = tf.getKernel('_FusedMatMul', 'wasm');
    const sum = tf.getKernel('Sum', 'wasm');
    if (batchMatMul === undefined || fusedMatMul === undefined || sum === undefined) throw new Error('tfjs wasm has no BatchMatMul/_FusedMatMul/Sum kernel');
    stock = { batchMatMul, fusedMatMul, sum };
  }
  const heap = heapOf(backend);
  const skipped: string[] = [];
  let chosen: { provider: GemmProviderName; heapGemm: HeapGemm | null; detail: string } | null = null;

  const attempt = (name: HeapGemmName, load: () => Loaded<HeapGemm>): boolean => {
    const loaded = load();
    if (loaded.ok) {
      chosen = { provider: name, heapGemm: loaded.value, detail: loaded.detail };
      return true;
    }
    skipped.push(`${name}: ${loaded.why}`);
    return false;
  };
  const loaders: Record<HeapGemmName, () => Loaded<HeapGemm>> = {
    openblas: () => loadOpenBlas(options.addonPath, options.blasThreads ?? 1, options.coreType ?? null),
    'wasm-simd': () => loadWasmSimdShared(heap),
    'wasm-simd-copy': () => loadWasmSimdCopy(),
  };

  if (choice === 'auto') {
    if (!attempt('openblas', loaders.openblas) && !attempt('wasm-simd', loaders['wasm-simd'])) {
      chosen = { provider: 'transpose', heapGemm: null, detail: 'explicit transposes onto tfjs XNNPACK' };
    }
  } else if (choice === 'transpose' || choice === 'tfjs') {
    chosen = { provider: choice, heapGemm: null, detail: choice === 'tfjs' ? 'stock tfjs-wasm kernels' : 'explicit transposes onto tfjs XNNPACK' };
  } else if (!attempt(choice, loaders[choice])) {
    throw new Error(`GEMM provider ${choice} is not available: ${skipped.join('; ')}`);
  }
  const picked = chosen as unknown as { provider: GemmProviderName; heapGemm: HeapGemm | null; detail: string };

  current?.heapGemm?.dispose();
  register(picked.provider, picked.heapGemm, stock, backend);
  current = { provider: picked.provider, heapGemm: picked.heapGemm };
  const why = skipped.length > 0 ? ` (skipped ${skipped.join('; ')})` : '';
  return { provider: picked.provider, reason: `GEMM ${picked.provider}: ${picked.detail}${why}` };
}

/** The installed provider's parameter layout version (0 when no heap provider is installed). */
export function gemmAbi(): number {
  return current?.heapGemm?.abi ?? 0;
}

/** The provider now installed, or null if installGemm was never called. */
export function gemmProvider(): GemmProviderName | null {
  return current?.provider ?? null;
}

function register(provider: GemmProviderName, heapGemm: HeapGemm | null, kernels: StockKernels, backend: WasmBackendInternals): void {
  let batchMatMul: KernelFunc;
  let fusedMatMul: KernelFunc;
  let sum = kernels.sum.kernelFunc;
  if (provider === 'tfjs') {
    batchMatMul = kernels.batchMatMul.kernelFunc;
    fusedMatMul = kernels.fusedMatMul.kernelFunc;
  } else if (provider === 'transpose') {
    batchMatMul = transposingKernel(kernels.batchMatMul.kernelFunc);
    fusedMatMul = transposingKernel(kernels.fusedMatMul.kernelFunc);
  } else {
    const gemm = heapGemm as HeapGemm;
    const heap = heapOf(backend);
    batchMatMul = heapKernel(gemm, heap, false, kernels.batchMatMul.kernelFunc);
    fusedMatMul = heapKernel(gemm, heap, true, kernels.fusedMatMul.kernelFunc);
    sum = columnSumKernel(gemm, heap, kernels.sum.kernelFunc);
  }
  // The stock kernels' setup already ran when the backend initialised; ours need none.
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: batchMatMul });
  tf.unregisterKernel('_FusedMatMul', 'wasm');
  tf.registerKernel({ kernelName: '_FusedMatMul', backendName: 'wasm', kernelFunc: fusedMatMul });
  tf.unregisterKernel('Sum', 'wasm');
  tf.registerKernel({ kernelName: 'Sum', backendName: 'wasm', kernelFunc: sum });
}

/**
 * `Sum` over all leading axes of a float32 tensor (column sums of an [R, N] matrix): every bias
 * gradient is one. Stock tfjs-wasm transposes first to reduce an inner axis (~0.2 ms at 256x256);
 * as a GEMM, ones[1, R] x X[R, N], it is a few microseconds. Other reductions go to the stock kernel.
 */
function columnSumKernel(gemm: HeapGemm, heap: WasmHeap, stockKernel: KernelFunc): KernelFunc {
  const p = new Int32Array(PARAM_COUNT);
  let ones = 0;
  let onesLength = 0;
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const attrs = args.attrs as NamedAttrMap;
    const rank = x.shape.length;
    if (x.dtype !== 'float32' || rank < 2) return stockKernel(args);
    const axes = tf.util.parseAxisParam(attrs.axis as number | number[], x.shape).sort((a, b) => a - b);
    if (axes.length !== rank - 1 || axes.some((a, i) => a !== i)) return stockKernel(args);
    const backend = args.backend as unknown as WasmBackendInternals;
    const n = x.shape[rank - 1]!;
    const rows = tf.util.sizeFromShape(x.shape.slice(0, -1));
    const out = backend.makeOutput(attrs.keepDims === true ? [...x.shape.slice(0, -1).map(() => 1), n] : [n], 'float32');
    if (rows > onesLength) {
      // A private buffer of ones (not a tensor), grown when a taller matrix comes.
      if (ones !== 0) heap.free(ones);
      onesLength = Math.max(rows, 2 * onesLength);
      ones = heap.malloc(onesLength * 4) >>> 0;
      new Float32Array(heap.memory.buffer, ones, onesLength).fill(1);
    }
    const offset = (t: TensorInfo): number => (backend.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset;
    p.fill(0);
    p[P.m] = 1;
    p[P.n] = n;
    p[P.k] = rows;
    p[P.batch] = 1;
    p[P.aOff] = ones;
    p[P.bOff] = offset(x);
    p[P.cOff] = offset(out);
    gemm.run(heap, p);
    return out;
  };
}

/** Matmul geometry shared by both kernels, following tfjs's BatchMatMul semantics. */
interface Geometry {
  m: number;
  n: number;
  k: number;
  outOuter: number[];
  aOuter: number[];
  bOuter: number[];
  batch: number;
}

function geometry(a: TensorInfo, b: TensorInfo, transA: boolean, transB: boolean): Geometry {
  const ar = a.shape.length;
  const br = b.shape.length;
  if (ar < 2 || br < 2) throw new Error(`matMul needs rank >= 2 operands, got shapes [${a.shape}] and [${b.shape}]`);
  const kA = transA ? a.shape[ar - 2]! : a.shape[ar - 1]!;
  const kB = transB ? b.shape[br - 1]! : b.shape[br - 2]!;
  if (kA !== kB) {
    throw new Error(`matMul: inner sizes ${kA} and ${kB} of shapes [${a.shape}] and [${b.shape}] (transposeA=${transA}, transposeB=${transB}) must match`);
  }
  const aOuter = a.shape.slice(0, -2);
  const bOuter = b.shape.slice(0, -2);
  const outOuter = tf.broadcast_util.assertAndGetBroadcastShape(aOuter, bOuter);
  return {
    m: transA ? a.shape[ar - 1]! : a.shape[ar - 2]!,
    n: transB ? b.shape[br - 2]! : b.shape[br - 1]!,
    k: kA,
    outOuter,
    aOuter,
    bOuter,
    batch: tf.util.sizeFromShape(outOuter),
  };
}

/** Index of the input batch item that output batch item `index` reads under broadcasting. */
function broadcastSource(index: number, outOuter: number[], inOuter: number[]): number {
  let source = 0;
  let inStride = 1;
  let rest = index;
  for (let d = outOuter.length - 1; d >= 0; d--) {
    const outDim = outOuter[d]!;
    const coord = rest % outDim;
    rest = (rest - coord) / outDim;
    const inD = d - (outOuter.length - inOuter.length);
    if (inD < 0) continue;
    const inDim = inOuter[inD]!;
    if (inDim !== 1) source += coord * inStride;
    inStride *= inDim;
  }
  return source;
}

type Activation = 'linear' | 'relu' | 'relu6' | 'leakyrelu' | 'elu' | 'sigmoid' | 'prelu';

function heapKernel(gemm: HeapGemm, heap: WasmHeap, fused: boolean, stockKernel: KernelFunc): KernelFunc {
  const p = new Int32Array(PARAM_COUNT);
  return (args) => {
    const backend = args.backend as unknown as WasmBackendInternals;
    const { a, b, bias } = args.inputs as { a: TensorInfo; b: TensorInfo; bias?: TensorInfo };
    const attrs = args.attrs as NamedAttrMap;
    const transA = attrs.transposeA === true;
    const transB = attrs.transposeB === true;
    const activation = (fused ? (attrs.activation as Activation | undefined) ?? 'linear' : 'linear');
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || activation === 'prelu') return stockKernel(args);

    const g = geometry(a, b, transA, transB);
    let biasMode: number = BiasMode.none;
    if (fused && bias != null) {
      biasMode = biasModeOf(bias, g);
      if (biasMode < 0) return stockKernel(args);
    }
    const out = backend.makeOutput([...g.outOuter, g.m, g.n], 'float32');
    if (g.batch * g.m * g.n === 0) return out;

    const offset = (t: TensorInfo): number => (backend.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset;
    const batchA = tf.util.sizeFromShape(g.aOuter);
    const batchB = tf.util.sizeFromShape(g.bOuter);
    const aBytes = g.m * g.k * 4;
    const bBytes = g.k * g.n * 4;
    const cBytes = g.m * g.n * 4;
    p[P.transA] = transA ? 1 : 0;
    p[P.transB] = transB ? 1 : 0;
    p[P.m] = g.m;
    p[P.n] = g.n;
    p[P.k] = g.k;
    p[P.biasOff] = bias != null && biasMode !== BiasMode.none ? offset(bias) : 0;
    p[P.biasMode] = biasMode;
    p[P.act] = activation === 'relu' ? Act.relu : Act.linear;
    const aBase = offset(a);
    const bBase = offset(b);
    const cBase = offset(out);
    if ((batchA === 1 || batchA === g.batch) && (batchB === 1 || batchB === g.batch)) {
      p[P.batch] = g.batch;
      p[P.aOff] = aBase;
      p[P.aStride] = batchA === 1 ? 0 : aBytes;
      p[P.bOff] = bBase;
      p[P.bStride] = batchB === 1 ? 0 : bBytes;
      p[P.cOff] = cBase;
      gemm.run(heap, p);
    } else {
      // Broadcast across several batch dimensions (e.g. [3,1] x [1,4]): one call per output item.
      p[P.batch] = 1;
      p[P.aStride] = 0;
      p[P.bStride] = 0;
      for (let i = 0; i < g.batch; i++) {
        p[P.aOff] = aBase + broadcastSource(i, g.outOuter, g.aOuter) * aBytes;
        p[P.bOff] = bBase + broadcastSource(i, g.outOuter, g.bOuter) * bBytes;
        p[P.cOff] = cBase + i * cBytes;
        gemm.run(heap, p);
      }
    }
    if (activation !== 'linear' && activation !== 'relu') {
      applyActivation(new Float32Array(heap.memory.buffer, cBase, g.batch * g.m * g.n), activation, Number(attrs.leakyreluAlpha ?? 0.2));
    }
    return out;
  };
}

/** How the fused bias broadcasts onto each [M, N] result, or -1 when our kernels do not cover it. */
function biasModeOf(bias: TensorInfo, g: Geometry): number {
  if (bias.dtype !== 'float32') return -1;
  const size = tf.util.sizeFromShape(bias.shape);
  const dims = bias.shape;
  const leadingOnes = (count: number): boolean => dims.slice(0, dims.length - count).every((d) => d === 1);
  if (size === 1) return BiasMode.scalar;
  if (dims[dims.length - 1] === g.n && size === g.n) return BiasMode.perColumn;
  if (dims.length >= 2 && dims[dims.length - 1] === g.n && dims[dims.length - 2] === g.m && leadingOnes(2)) return BiasMode.full;
  return -1;
}

/** Activations other than linear and relu, applied to a freshly written output. */
function applyActivation(out: Float32Array, activation: Activation, alpha: number): void {
  for (let i = 0; i < out.length; i++) {
    const x = out[i]!;
    switch (activation) {
      case 'relu6':
        out[i] = x < 0 ? 0 : x > 6 ? 6 : x;
        break;
      case 'leakyrelu':
        out[i] = x < 0 ? alpha * x : x;
        break;
      case 'elu':
        out[i] = x < 0 ? Math.expm1(x) : x;
        break;
      case 'sigmoid':
        out[i] = 1 / (1 + Math.exp(-x));
        break;
      default:
        throw new Error(`unsupported fused activation ${activation}`);
    }
  }
}

/**
 * Provider `transpose`: materialise transposed operands with tfjs's Transpose kernel, then run
 * the stock kernel without transposes (its XNNPACK path when the batch is 1).
 */
function transposingKernel(stockKernel: KernelFunc): KernelFunc {
  return (args) => {
    const attrs = args.attrs as NamedAttrMap;
    if (attrs.transposeA !== true && attrs.transposeB !== true) return stockKernel(args);
    const transpose = tf.getKernel('Transpose', 'wasm');
    if (transpose === undefined) throw new Error('tfjs wasm has no Transpose kernel');
    const backend = args.backend as unknown as WasmBackendInternals;
    const inputs = { ...(args.inputs as Record<string, TensorInfo>) };
    const temps: TensorInfo[] = [];
    for (const [name, flag] of [['a', 'transposeA'], ['b', 'transposeB']] as const) {
      if (attrs[flag] !== true) continue;
      const x = inputs[name]!;
      const perm = x.shape.map((_, i) => i);
      perm[perm.length - 1] = perm.length - 2;
      perm[perm.length - 2] = perm.length - 1;
      const t = transpose.kernelFunc({ inputs: { x }, backend: args.backend, attrs: { perm } }) as TensorInfo;
      temps.push(t);
      inputs[name] = t;
    }
    try {
      return stockKernel({ inputs, backend: args.backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };
}

