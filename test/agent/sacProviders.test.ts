/**
 * The real SoftActorCritic on every compute path gives the same update: losses and gradients
 * with the wasm backend on each GEMM provider (openblas when built, wasm-simd, transpose) equal
 * those of the tfjs cpu backend, at HalfCheetah shapes (obs 17, act 6, 2x256, batch 256). And
 * FastPolicy, the tfjs-free actor, equals the real SAC's tfjs actor to 1e-5.
 *
 * Tolerances. Float32 GEMMs that sum K <= 256 products in different orders (blocking, SIMD
 * lanes, FMA) differ by a few 2^-24 relative rounding steps per dot product, ~1e-6 of the
 * result's scale; an update chains ~10 of them forward and back, so gradients agree to ~1e-6 of
 * their norm. A single entry can differ more where its terms cancel or where a ReLU or the
 * min of the twin Qs sits within rounding of its switch point, so gradients are compared by
 * norm: ||g - g_cpu|| <= 1e-5 ||g_cpu|| per variable, losses to 1e-5 relative. Measured here:
 * at most 5e-7 (gradients) and 4e-7 (losses), so the bounds leave a 20x margin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { FastPolicy } from '../../src/agent/fastPolicy.js';
import { ObservationNormalizer } from '../../src/agent/normalizer.js';
import { SoftActorCritic, type SacMetrics, type SampleNoise } from '../../src/agent/sac.js';
import { initCompute } from '../../src/compute/backend.js';
import { installGemm, type GemmProviderName } from '../../src/compute/gemmKernels.js';
import { loadOpenBlas } from '../../src/compute/gemmProviders.js';
import { Rng } from '../../src/util/rng.js';
import { ACT, B, batchOf, OBS } from './batches.js';

await initCompute('wasm');

const HP = { batchSize: B, hidden: [256, 256], initialAlpha: 0.2 };

interface UpdateResult {
  metrics: SacMetrics;
  /** Gradients of the first update, from Adam's first moment after one step: m = (1 - beta1) g. */
  grads: Map<string, Float32Array>;
}

/** One update of a fresh SAC (same seed, batch and noise every time) on the active backend. */
function oneUpdate(): UpdateResult {
  // The tfjs update (the fused one is checked against it in fusedSac.test.ts).
  const sac = new SoftActorCritic(OBS, ACT, HP, 3, 'tfjs');
  const rng = new Rng(17);
  const batch = batchOf(rng);
  const tNoise: SampleNoise = sac.drawNoise(B, rng);
  const aNoise: SampleNoise = sac.drawNoise(B, rng);
  const metrics = sac.updateWithNoise(batch, tNoise, aNoise);
  const grads = new Map<string, Float32Array>();
  for (const a of sac.exportState().arrays) {
    const m = /^(critic|actor)_adam\/m\/(.*)$/.exec(a.name);
    if (m !== null) grads.set(`${m[1]}:${m[2]}`, a.data.map((x) => x / (1 - 0.9)));
  }
  sac.dispose();
  return { metrics, grads };
}

function norm(a: Float32Array, b?: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - (b === undefined ? 0 : b[i]!)) ** 2;
  return Math.sqrt(s);
}

test('SAC update: losses and gradients on every wasm GEMM provider equal the tfjs cpu backend', async () => {
  await tf.setBackend('cpu');
  const reference = oneUpdate();
  await tf.setBackend('wasm');
  const providers: GemmProviderName[] = [...(loadOpenBlas().ok ? (['openblas'] as const) : []), 'wasm-simd', 'transpose'];
  // The actor (two hidden layers and the merged heads) and both critics: 6 variables each.
  assert.equal(reference.grads.size, 18);
  try {
    for (const provider of providers) {
      installGemm(provider);
      const got = oneUpdate();
      for (const key of ['qf1_loss', 'qf2_loss', 'actor_loss', 'alpha_loss', 'entropy', 'qf1_mean'] as const) {
        const want = reference.metrics[key];
        assert.ok(Math.abs(got.metrics[key] - want) <= 1e-5 * Math.max(1, Math.abs(want)), `${provider}: ${key} ${got.metrics[key]} vs cpu ${want}`);
      }
      for (const [name, want] of reference.grads) {
        const g = got.grads.get(name)!;
        const scale = norm(want);
        assert.ok(scale > 0, `${name}: the reference gradient is not zero, so the check is not vacuous`);
        const rel = norm(g, want) / scale;
        assert.ok(rel <= 1e-5, `${provider}: gradient ${name} differs from cpu by ${rel.toExponential(2)} of its norm`);
      }
    }
  } finally {
    installGemm('auto');
  }
});

test('FastPolicy on a real SAC\'s exported weights equals its tfjs actor to 1e-5 (with observation normalisation)', () => {
  const sac = new SoftActorCritic(OBS, ACT, HP, 5);
  const rng = new Rng(8);
  const batch = batchOf(rng);
  // A few updates so the weights (and both heads) are no longer the initial ones.
  for (let i = 0; i < 3; i++) sac.update(batch);
  const normalizer = new ObservationNormalizer(OBS, 3);
  normalizer.update(batch.observations, B);
  sac.setNormalizer(normalizer);
  const policy = new FastPolicy(sac.actorWeights(), new Rng(0), sac.version);
  const fast = new Float32Array(ACT);
  const slow = new Float32Array(ACT);
  const obs = new Float32Array(OBS);
  const normalized = new Float32Array(OBS);
  let largest = 0;
  for (let n = 0; n < 50; n++) {
    for (let j = 0; j < OBS; j++) obs[j] = 2 * rng.normal();
    // Deterministic: tanh(mean).
    policy.act(obs, true, fast);
    sac.act(obs, true, slow);
    for (let j = 0; j < ACT; j++) {
      assert.ok(Math.abs(fast[j]! - slow[j]!) <= 1e-5, `deterministic action ${n}[${j}]: fast ${fast[j]} vs tfjs ${slow[j]}`);
      largest = Math.max(largest, Math.abs(slow[j]!));
    }
    // Sampled, with the same noise: FastPolicy draws eps from its Rng as drawNoise does from one of the same seed.
    const seeded = new FastPolicy(sac.actorWeights(), new Rng(100 + n), sac.version);
    seeded.act(obs, false, fast);
    normalizer.normalize(obs, normalized, 1);
    const tfjs = tf.tidy(() => sac.sampleActionTensors(tf.tensor2d(normalized, [1, OBS]), sac.drawNoise(1, new Rng(100 + n))).action.dataSync());
    for (let j = 0; j < ACT; j++) assert.ok(Math.abs(fast[j]! - tfjs[j]!) <= 1e-5, `sampled action ${n}[${j}]: fast ${fast[j]} vs tfjs ${tfjs[j]}`);
  }
  assert.ok(largest > 0.01, 'actions are not all zero, so the comparison is not vacuous');
  sac.dispose();
});
