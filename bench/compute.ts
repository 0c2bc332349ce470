/**
 * Compute-path figures for `npm run bench`: GEMM throughput per provider, single-observation
 * action latency of the fast policy, and SAC update time (a SAC-shaped update written plainly
 * in tfjs here, and a helper that times the real update once the lead wires it in).
 *
 * Run alone: `node dist/bench/compute.js [--json]`.
 */
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { FastPolicy } from '../src/agent/fastPolicy.js';
import { LOG_STD_MAX, LOG_STD_MIN, type ActorWeights, type DenseWeights } from '../src/agent/policy.js';
import { adamStep } from '../src/compute/adam.js';
import { initCompute } from '../src/compute/backend.js';
import { installGemm, type GemmProviderName } from '../src/compute/gemmKernels.js';
import { loadOpenBlas } from '../src/compute/gemmProviders.js';
import { Rng } from '../src/util/rng.js';
import { registerTestGradients } from '../test/compute/grads.js';

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

function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** SAC-relevant GEMM shapes: M x K x N with transpose flags, as the update issues them. */
export const GEMM_SHAPES: { name: string; m: number; k: number; n: number; transA: boolean; transB: boolean }[] = [
  { name: '256x17x256', m: 256, k: 17, n: 256, transA: false, transB: false },
  { name: '256x23x256', m: 256, k: 23, n: 256, transA: false, transB: false },
  { name: '256x256x256', m: 256, k: 256, n: 256, transA: false, transB: false },
  { name: '256x256x1', m: 256, k: 256, n: 1, transA: false, transB: false },
  { name: '256x256x6', m: 256, k: 256, n: 6, transA: false, transB: false },
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

function randomDense(rng: Rng, inSize: number, outSize: number): DenseWeights {
  const kernel = new Float32Array(inSize * outSize).map(() => rng.normal() / Math.sqrt(inSize));
  const bias = new Float32Array(outSize).map(() => rng.normal() * 0.1);
  return { inSize, outSize, kernel, bias };
}

/** A HalfCheetah-shaped actor (obs 17, act 6, 2x256) with random weights. */
export function halfCheetahActor(seed = 1): ActorWeights {
  const rng = new Rng(seed);
  return {
    hidden: [randomDense(rng, 17, 256), randomDense(rng, 256, 256)],
    mean: randomDense(rng, 256, 6),
    logStd: randomDense(rng, 256, 6),
  };
}

/** policy_action_us: one sampled action for one observation, p50 and p99 over `count` calls. */
export function policyActionUs(count = 20000): { p50: number; p99: number; deterministic_p50: number } {
  const policy = new FastPolicy(halfCheetahActor(), new Rng(3));
  const rng = new Rng(4);
  const obs = new Float32Array(17);
  const out = new Float32Array(6);
  const timeCalls = (deterministic: boolean): Float64Array => {
    const times = new Float64Array(count);
    for (let i = 0; i < 2000 + count; i++) {
      for (let j = 0; j < 17; j++) obs[j] = rng.normal();
      const t0 = process.hrtime.bigint();
      policy.act(obs, deterministic, out);
      const t1 = process.hrtime.bigint();
      if (i >= 2000) times[i - 2000] = Number(t1 - t0) / 1000;
    }
    return times.sort();
  };
  const sampled = timeCalls(false);
  const det = timeCalls(true);
  return { p50: round(percentile(sampled, 0.5)), p99: round(percentile(sampled, 0.99)), deterministic_p50: round(percentile(det, 0.5)) };
}

/**
 * Median milliseconds of `updateFn` (one SAC update; it must finish its work before returning,
 * e.g. read a loss) after `warmup` untimed calls.
 */
export interface UpdateTiming {
  /** Wall-clock median and 90th percentile. */
  median_ms: number;
  p90_ms: number;
  /** Median CPU time of this process per update: robust when other processes load the machine. */
  cpu_median_ms: number;
}

export async function sacUpdateBench(updateFn: () => void | Promise<void>, options: { warmup?: number; iterations?: number } = {}): Promise<UpdateTiming> {
  const warmup = options.warmup ?? 10;
  const iterations = options.iterations ?? 50;
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < warmup + iterations; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await updateFn();
    const t1 = performance.now();
    const c1 = process.cpuUsage(c0);
    if (i >= warmup) {
      wall.push(t1 - t0);
      cpu.push((c1.user + c1.system) / 1000);
    }
  }
  wall.sort((a, b) => a - b);
  return { median_ms: round(wall[wall.length >> 1]!), p90_ms: round(wall[Math.floor(0.9 * wall.length)]!), cpu_median_ms: round(median(cpu)) };
}

/**
 * A SAC update (v2: twin critics with Polyak targets, tanh-Gaussian actor, learned temperature,
 * Adam) on HalfCheetah shapes, batch 256, written plainly in tfjs: fused dense layers, tfjs's own
 * matmul gradients (with transpose flags), and Adam either as src/compute/adam.ts's one-kernel
 * step ('fused') or tf.train.adam ('tfjs'). It stands in for src/agent/sac.ts to measure the
 * compute path; the returned function runs one update and reads the critic loss.
 */
export type AdamChoice = 'fused' | 'tfjs';

export function sacShapedUpdate(seed = 1, adam: AdamChoice = 'fused'): { update: () => number; dispose: () => void } {
  registerTestGradients();
  const obsSize = 17;
  const actSize = 6;
  const hidden = 256;
  const batch = 256;
  const gamma = 0.99;
  const tau = 0.005;
  const rng = new Rng(seed);
  const tensor = (shape: number[], scale: number): tf.Tensor => tf.tensor(new Float32Array(shape.reduce((x, y) => x * y, 1)).map(() => rng.normal() * scale), shape);
  const layer = (i: number, o: number): [tf.Variable, tf.Variable] => [tf.variable(tensor([i, o], 1 / Math.sqrt(i))), tf.variable(tf.zeros([o]))];
  const mlp = (i: number, o: number): tf.Variable[] => [...layer(i, hidden), ...layer(hidden, hidden), ...layer(hidden, o)];
  const forward = (vars: tf.Variable[], x: tf.Tensor, heads = 1): tf.Tensor2D[] => {
    let h = x as tf.Tensor2D;
    for (let l = 0; l < 2; l++) h = tf.fused.matMul({ a: h, b: vars[2 * l] as tf.Tensor as tf.Tensor2D, bias: vars[2 * l + 1], activation: 'relu' }) as tf.Tensor2D;
    const outs: tf.Tensor2D[] = [];
    for (let k = 0; k < heads; k++) outs.push(tf.fused.matMul({ a: h, b: vars[4 + 2 * k] as tf.Tensor as tf.Tensor2D, bias: vars[5 + 2 * k] }) as tf.Tensor2D);
    return outs;
  };
  const actor = [...layer(obsSize, hidden), ...layer(hidden, hidden), ...layer(hidden, actSize), ...layer(hidden, actSize)];
  const q1 = mlp(obsSize + actSize, 1);
  const q2 = mlp(obsSize + actSize, 1);
  const q1t = q1.map((v) => tf.variable(v.clone(), false));
  const q2t = q2.map((v) => tf.variable(v.clone(), false));
  const logAlpha = tf.variable(tf.scalar(0));
  const targetEntropy = -actSize;
  const optimizer = (vars: tf.Variable[]): { minimize: (f: () => tf.Scalar, returnCost: boolean) => tf.Scalar | null; dispose: () => void } => {
    if (adam === 'tfjs') {
      const opt = tf.train.adam(3e-4);
      return { minimize: (f, returnCost) => opt.minimize(f, returnCost, vars), dispose: () => opt.dispose() };
    }
    const m = vars.map((v) => tf.variable(tf.zerosLike(v), false));
    const v2 = vars.map((v) => tf.variable(tf.zerosLike(v), false));
    let t = 0;
    return {
      minimize: (f, returnCost) => {
        const { value, grads } = tf.variableGrads(f, vars);
        t++;
        const c1 = 1 - 0.9 ** t;
        const c2 = 1 - 0.999 ** t;
        adamStep(vars, vars.map((x) => grads[x.name]!), m, v2, { beta1: 0.9, beta2: 0.999, stepSize: (3e-4 * Math.sqrt(c2)) / c1, epsHat: 1e-8 * Math.sqrt(c2) });
        tf.dispose(grads);
        if (returnCost) return value;
        value.dispose();
        return null;
      },
      dispose: () => tf.dispose([...m, ...v2]),
    };
  };
  const criticOpt = optimizer([...q1, ...q2]);
  const actorOpt = optimizer(actor);
  const alphaOpt = optimizer([logAlpha]);
  const obs = tensor([batch, obsSize], 1);
  const act = tf.tanh(tensor([batch, actSize], 1));
  const rew = tensor([batch, 1], 1);
  const next = tensor([batch, obsSize], 1);
  const notDone = tf.onesLike(rew);
  const halfLog2Pi = 0.5 * Math.log(2 * Math.PI);

  /** Action and log-probability of the tanh-Gaussian policy with reparameterised noise. */
  const sample = (o: tf.Tensor): { a: tf.Tensor2D; logp: tf.Tensor2D } => {
    const [mean, raw] = forward(actor, o, 2) as [tf.Tensor2D, tf.Tensor2D];
    const logStd = tf.add(LOG_STD_MIN, tf.mul(0.5 * (LOG_STD_MAX - LOG_STD_MIN), tf.add(tf.tanh(raw), 1)));
    const eps = tf.randomNormal([batch, actSize]);
    const a = tf.tanh(tf.add(mean, tf.mul(tf.exp(logStd), eps))) as tf.Tensor2D;
    const perDim = tf.sub(tf.sub(tf.mul(-0.5, tf.square(eps)), tf.add(logStd, halfLog2Pi)), tf.log(tf.add(tf.sub(1, tf.square(a)), 1e-6)));
    return { a, logp: tf.sum(perDim, 1, true) as tf.Tensor2D };
  };
  const q = (vars: tf.Variable[], o: tf.Tensor, a: tf.Tensor): tf.Tensor2D => forward(vars, tf.concat([o, a], 1))[0]!;

  const update = (): number => {
    const alpha = tf.tidy(() => tf.exp(logAlpha));
    const target = tf.tidy(() => {
      const { a, logp } = sample(next);
      const minQ = tf.sub(tf.minimum(q(q1t, next, a), q(q2t, next, a)), tf.mul(alpha, logp));
      return tf.add(rew, tf.mul(gamma, tf.mul(notDone, minQ)));
    });
    const criticLoss = criticOpt.minimize(
      () => tf.add(tf.mean(tf.square(tf.sub(q(q1, obs, act), target))), tf.mean(tf.square(tf.sub(q(q2, obs, act), target)))) as tf.Scalar,
      true,
    ) as tf.Scalar;
    let logpMean: tf.Scalar | null = null;
    actorOpt.minimize(() => {
      const { a, logp } = sample(obs);
      logpMean = tf.keep(tf.mean(logp)) as tf.Scalar;
      return tf.mean(tf.sub(tf.mul(alpha, logp), tf.minimum(q(q1, obs, a), q(q2, obs, a)))) as tf.Scalar;
    }, false);
    const entropyGap = tf.add(logpMean as unknown as tf.Scalar, targetEntropy);
    alphaOpt.minimize(() => tf.neg(tf.mul(logAlpha, entropyGap)) as tf.Scalar, false);
    tf.tidy(() => {
      [...q1t, ...q2t].forEach((t, i) => t.assign(tf.add(tf.mul([...q1, ...q2][i]!, tau), tf.mul(t, 1 - tau))));
    });
    const loss = criticLoss.dataSync()[0]!;
    tf.dispose([alpha, target, criticLoss, logpMean as unknown as tf.Scalar, entropyGap]);
    return loss;
  };
  const dispose = (): void => {
    tf.dispose([...actor, ...q1, ...q2, ...q1t, ...q2t, logAlpha, obs, act, rew, next, notDone]);
    criticOpt.dispose();
    actorOpt.dispose();
    alphaOpt.dispose();
  };
  return { update, dispose };
}

/** Kernels one SAC-shaped update dispatches (tf.profile), and the tensors it leaks (should be 0). */
export async function sacShapedKernelCount(adam: AdamChoice = 'fused'): Promise<{ kernels: number; leakedTensors: number }> {
  const sac = sacShapedUpdate(1, adam);
  sac.update();
  const before = tf.memory().numTensors;
  const info = await tf.profile(() => {
    sac.update();
  });
  const leaked = tf.memory().numTensors - before;
  sac.dispose();
  return { kernels: info.kernels.length, leakedTensors: leaked };
}

/** sac_update_ms for the SAC-shaped update above, per wasm GEMM provider (and optionally cpu). */
export async function sacShapedUpdateMs(providers: GemmProviderName[] = availableProviders(), options: { iterations?: number } = {}): Promise<Record<string, UpdateTiming>> {
  await initCompute('wasm');
  const result: Record<string, UpdateTiming> = {};
  for (const provider of providers) {
    installGemm(provider);
    const slow = provider === 'tfjs' || provider === 'transpose';
    for (const adam of slow ? (['fused'] as const) : (['fused', 'tfjs'] as const)) {
      const sac = sacShapedUpdate(1, adam);
      result[`wasm/${provider}${adam === 'tfjs' ? ' (tf.train.adam)' : ''}`] = await sacUpdateBench(() => void sac.update(), { warmup: slow ? 3 : 10, iterations: slow ? 10 : options.iterations ?? 50 });
      sac.dispose();
    }
  }
  return result;
}

/** Everything above as one object (keys as in issue 3's bench table). */
export async function benchCompute(): Promise<Record<string, unknown>> {
  const info = await initCompute('wasm');
  const providers = availableProviders();
  const gemm_gflops = await gemmGflops(providers);
  const policy_action_us = policyActionUs();
  installGemm(providers[0]!);
  const sac_kernels_per_update = { fused_adam: await sacShapedKernelCount('fused'), tf_train_adam: await sacShapedKernelCount('tfjs') };
  const sac_update_ms = await sacShapedUpdateMs(providers);
  return { compute: info.reason, gemm_gflops, policy_action_us, sac_shaped_update_ms: sac_update_ms, sac_kernels_per_update };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchCompute();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(result));
  } else {
    console.log(result.compute);
    console.table(result.gemm_gflops);
    console.log('policy_action_us', result.policy_action_us);
    console.log('kernels per SAC-shaped update', result.sac_kernels_per_update);
    console.table(result.sac_shaped_update_ms);
  }
}
