/**
 * Compute-path figures for `npm run bench`: GEMM throughput per provider, and (from bench/sac.ts)
 * the real SAC update time per backend and provider and the fast policy's action latency.
 *
 * Run alone: `node dist/bench/compute.js [--json]`.
 */
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initCompute } from '../src/compute/backend.js';
import { installGemm, type GemmProviderName } from '../src/compute/gemmKernels.js';
import { loadOpenBlas } from '../src/compute/gemmProviders.js';
import { Rng } from '../src/util/rng.js';
import { loadAverage, policyActionUs, sacUpdateMs } from './sac.js';

/** Providers that can run here, in the `auto` order, then the reference ones. */
export function availableProviders(): GemmProviderName[] {
  const list: GemmProviderName[] = [];
  if (loadOpenBlas().ok) list.push('openblas');
  list.push('wasm-simd', 'wasm-simd-copy', 'transpose', 'tfjs');
  return list;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** SAC-relevant GEMM shapes: M x K x N with transpose flags, as the update issues them. */
export const GEMM_SHAPES: { name: string; m: number; k: number; n: number; transA: boolean; transB: boolean }[] = [
  { name: '256x17x256', m: 256, k: 17, n: 256, transA: false, transB: false },
  { name: '256x23x256', m: 256, k: 23, n: 256, transA: false, transB: false },
  { name: '256x256x256', m: 256, k: 256, n: 256, transA: false, transB: false },
  { name: '256x256x1', m: 256, k: 256, n: 1, transA: false, transB: false },
  { name: '256x256x12 (merged actor heads)', m: 256, k: 256, n: 12, transA: false, transB: false },
  { name: '256x256x256 tB (dX = G W^T)', m: 256, k: 256, n: 256, transA: false, transB: true },
  { name: '256x256x256 tA (dW = X^T G)', m: 256, k: 256, n: 256, transA: true, transB: false },
  { name: '17x256x256 tA (dW layer 1)', m: 17, k: 256, n: 256, transA: true, transB: false },
];

/**
 * gemm_gflops: for each provider and shape, 2 M N K / (median time of one tf.matMul on the wasm
 * backend, kernel dispatch included).
 */
export async function gemmGflops(providers: GemmProviderName[] = availableProviders(), iterations = 60): Promise<Record<string, Record<string, number>>> {
  await initCompute('wasm');
  const rng = new Rng(1);
  const result: Record<string, Record<string, number>> = {};
  for (const provider of providers) {
    installGemm(provider);
    // V8 runs new WebAssembly code on its baseline compiler until it tiers up: warm up first.
    tf.tidy(() => {
      const w = tf.ones([256, 256]);
      for (let i = 0; i < 30; i++) tf.matMul(w, w, i % 2 === 0, i % 3 === 0).dataSync();
    });
    const row: Record<string, number> = {};
    for (const s of GEMM_SHAPES) {
      const a = tf.tensor(new Float32Array(s.m * s.k).map(() => rng.normal()), s.transA ? [s.k, s.m] : [s.m, s.k]);
      const b = tf.tensor(new Float32Array(s.k * s.n).map(() => rng.normal()), s.transB ? [s.n, s.k] : [s.k, s.n]);
      // The stock kernel's transposed path is a scalar loop: fewer iterations keep the bench short.
      const reps = provider === 'tfjs' && (s.transA || s.transB) ? 5 : iterations;
      const times: number[] = [];
      for (let i = 0; i < reps + 5; i++) {
        const t0 = performance.now();
        tf.matMul(a, b, s.transA, s.transB).dispose();
        if (i >= 5) times.push(performance.now() - t0);
      }
      row[s.name] = round((2 * s.m * s.n * s.k) / (median(times) * 1e6), 1);
      tf.dispose([a, b]);
    }
    result[provider] = row;
  }
  return result;
}

/** Everything above as one object (keys as in issue 3's bench table), with bench/sac.ts's figures. */
export async function benchCompute(): Promise<Record<string, unknown>> {
  const info = await initCompute('wasm');
  const load_average = loadAverage();
  const gemm_gflops = await gemmGflops(availableProviders());
  const sac_update_ms = await sacUpdateMs();
  const policy_action_us = await policyActionUs();
  installGemm('auto');
  return { compute: info.reason, load_average, gemm_gflops, sac_update_ms, policy_action_us };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchCompute();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(result));
  } else {
    console.log(result.compute);
    console.log('load average (1, 5, 15 min) at the start', result.load_average);
    console.table(result.gemm_gflops);
    console.table(result.sac_update_ms);
    console.log('policy_action_us', result.policy_action_us);
  }
}
