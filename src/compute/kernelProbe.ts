/**
 * Child-process entry that times one GEMM provider on the shapes of a SAC update (see
 * kernelChoice.ts, which spawns it). OpenBLAS reads OPENBLAS_CORETYPE once, when the library
 * loads, so each core type has to be timed in a process of its own.
 *
 *   node kernelProbe.js openblas ADDON_PATH    (OPENBLAS_CORETYPE in the environment)
 *   node kernelProbe.js wasm-simd
 *
 * Prints one JSON line: { provider, config, ms } where ms is this process's CPU time for the
 * whole shape list, the best of several rounds (the least disturbed by other processes).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadOpenBlas, loadWasmSimdShared, P, PARAM_COUNT, type HeapGemm, type WasmHeap } from './gemmProviders.js';
import { updateGemmShapes, type GemmShape } from './gemmShapes.js';
import { WebAssemblyApi } from './webAssembly.js';

/** A bump allocator over a private memory large enough for the largest shape's operands. */
type ProbeHeap = WasmHeap & { alloc(bytes: number): number };

function privateHeap(shapes: readonly GemmShape[]): ProbeHeap {
  const floats = shapes.reduce((n, s) => Math.max(n, s.batch * (s.m * s.k + s.k * s.n + s.m * s.n) + s.k * s.n + s.n * s.batch), 0);
  const bytes = floats * 4 + (1 << 20);
  const memory = new WebAssemblyApi.Memory({ initial: Math.ceil(bytes / 65536) + 1 });
  let top = 64;
  const alloc = (n: number): number => {
    const at = top;
    top = (top + n + 63) & ~63;
    if (top > memory.buffer.byteLength) throw new Error('kernelProbe: private heap exhausted');
    return at;
  };
  return { memory, malloc: alloc, free: () => undefined, alloc };
}

/** Milliseconds for one pass over `shapes` with `gemm`: best of `rounds` after `warmup`. */
export function timeShapes(gemm: HeapGemm, heap: ProbeHeap, shapes: readonly GemmShape[], rounds = 9, warmup = 3): number {
  const maxA = Math.max(...shapes.map((s) => s.batch * s.m * s.k));
  const maxB = Math.max(...shapes.map((s) => s.batch * s.k * s.n));
  const maxC = Math.max(...shapes.map((s) => s.batch * s.m * s.n));
  const maxBias = Math.max(...shapes.map((s) => s.batch * s.n));
  const a = heap.alloc(maxA * 4);
  const b = heap.alloc(maxB * 4);
  const c = heap.alloc(maxC * 4);
  const bias = heap.alloc(maxBias * 4);
  const f = new Float32Array(heap.memory.buffer);
  for (let i = 0; i < f.length; i++) f[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const p = new Int32Array(PARAM_COUNT);
  const pass = (): void => {
    for (const s of shapes) {
      p[P.transA] = s.transA ? 1 : 0;
      p[P.transB] = s.transB ? 1 : 0;
      p[P.m] = s.m;
      p[P.n] = s.n;
      p[P.k] = s.k;
      p[P.batch] = s.batch;
      p[P.aOff] = a;
      p[P.aStride] = s.broadcastA ? 0 : s.m * s.k * 4;
      p[P.bOff] = b;
      p[P.bStride] = s.k * s.n * 4;
      p[P.cOff] = c;
      p[P.biasOff] = bias;
      p[P.biasMode] = s.bias ? 1 : 0;
      p[P.act] = s.relu ? 1 : 0;
      gemm.run(heap, p);
    }
  };
  for (let i = 0; i < warmup; i++) pass();
  // CPU time, not wall time: other processes take the cores away mid-pass on a shared machine,
  // which wall time would count against whichever kernel ran then.
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    pass();
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000);
  }
  return best;
}

function main(argv: readonly string[]): void {
  const [provider, addonPath] = argv;
  const shapes = updateGemmShapes();
  const heap = privateHeap(shapes);
  let gemm: HeapGemm;
  let config: string;
  if (provider === 'openblas') {
    const loaded = loadOpenBlas(resolve(addonPath ?? ''), 1);
    if (!loaded.ok) throw new Error(loaded.why);
    gemm = loaded.value;
    config = loaded.detail;
  } else if (provider === 'wasm-simd') {
    const loaded = loadWasmSimdShared(heap);
    if (!loaded.ok) throw new Error(loaded.why);
    gemm = loaded.value;
    config = loaded.detail;
  } else {
    throw new Error(`kernelProbe: unknown provider ${JSON.stringify(provider)} (openblas or wasm-simd)`);
  }
  const ms = timeShapes(gemm, heap, shapes);
  process.stdout.write(`${JSON.stringify({ provider, config, ms })}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
