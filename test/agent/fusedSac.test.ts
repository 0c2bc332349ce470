/**
 * The fused SAC update (src/agent/fusedSac.ts) against the tfjs update it mirrors (sac.ts,
 * tfjs autodiff), for v1 and v2, on each GEMM provider it runs on, at HalfCheetah shapes
 * (obs 17, act 6, 2x256, batch 256): one update from the same weights, batch and noise gives
 * the same losses and gradients to 1e-5 relative, and the same parameters and Adam moments.
 *
 * Tolerances as in sacProviders.test.ts: float32 GEMMs summing in different orders agree to
 * ~1e-6 of a result's scale; gradients are compared by norm per variable (a single entry can
 * differ more where terms cancel, or where a ReLU or the twin min sits within rounding of its
 * switch), losses by value. Parameters after the step: Adam's first step is lr sign(g) for
 * every entry, so an entry whose gradient is within rounding of 0 may step the other way;
 * parameters are compared by norm per variable to 1e-5 as well.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { SoftActorCritic, type SacHyperparameters, type SacMetrics } from '../../src/agent/sac.js';
import { initCompute } from '../../src/compute/backend.js';
import { installGemm } from '../../src/compute/gemmKernels.js';
import { loadOpenBlas, SPLIT_ABI } from '../../src/compute/gemmProviders.js';
import { Rng } from '../../src/util/rng.js';
import { ACT, B, batchOf, OBS } from './batches.js';

await initCompute('wasm');

function relNorm(a: Float32Array, ref: Float32Array): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - ref[i]!) ** 2;
    n += ref[i]! ** 2;
  }
  return n === 0 ? Math.sqrt(d) : Math.sqrt(d / n);
}

interface Run {
  metrics: SacMetrics[];
  arrays: Map<string, Float32Array>;
  kind: string;
}

/** `updates` updates of a fresh SAC with the given update path, on fixed batches and noise. */
function run(update: 'tfjs' | 'fused', hp: Partial<SacHyperparameters>, updates = 1): Run {
  const sac = new SoftActorCritic(OBS, ACT, { batchSize: B, hidden: [256, 256], initialAlpha: 0.2, ...hp }, 3, update);
  const rng = new Rng(17);
  const metrics: SacMetrics[] = [];
  for (let i = 0; i < updates; i++) {
    const batch = batchOf(rng);
    metrics.push(sac.updateWithNoise(batch, sac.drawNoise(B, rng), sac.drawNoise(B, rng)));
  }
  const arrays = new Map(sac.exportState().arrays.map((a) => [a.name, a.data]));
  const kind = sac.updateKind;
  sac.dispose();
  return { metrics, arrays, kind };
}

const providers = [...(loadOpenBlas().ok ? (['openblas'] as const) : []), 'wasm-simd'] as const;

for (const variant of ['v2', 'v1'] as const) {
  for (const provider of providers) {
    test(`SAC ${variant}, fused on ${provider}: one update equals tfjs autodiff's to 1e-5 relative (losses, gradients, parameters)`, () => {
      installGemm(provider);
      const ref = run('tfjs', { variant });
      const fused = run('fused', { variant });
      assert.equal(ref.kind, 'tfjs');
      assert.equal(fused.kind, `fused (${provider})`);
      const m = fused.metrics[0]!;
      const r = ref.metrics[0]!;
      for (const key of Object.keys(r) as (keyof SacMetrics)[]) {
        const a = m[key]!;
        const b = r[key]!;
        assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(Math.abs(b), 1e-3), `${key}: fused ${a}, tfjs ${b}`);
      }
      assert.deepEqual([...fused.arrays.keys()].sort(), [...ref.arrays.keys()].sort());
      let worstGrad = 0;
      let worstParam = 0;
      for (const [name, data] of ref.arrays) {
        const mine = fused.arrays.get(name)!;
        assert.equal(mine.length, data.length, name);
        // Adam's first moment after one step is (1 - beta1) g: it carries the gradient.
        const e = relNorm(mine, data);
        if (/_adam\/m\//.test(name)) worstGrad = Math.max(worstGrad, e);
        else if (!/_adam\/v\//.test(name)) worstParam = Math.max(worstParam, e);
        assert.ok(e <= 1e-5, `${name}: relative difference ${e.toExponential(2)}`);
      }
      console.log(`# ${variant} ${provider}: worst gradient ${worstGrad.toExponential(2)}, worst parameter ${worstParam.toExponential(2)} (relative, by norm)`);
    });
  }
}

test('policyFrequency 2 (a second actor step on a fresh forward pass): three fused updates follow tfjs', () => {
  installGemm(providers[0]);
  const ref = run('tfjs', { policyFrequency: 2 }, 3);
  const fused = run('fused', { policyFrequency: 2 }, 3);
  for (let i = 0; i < 3; i++) {
    for (const key of ['qf1_loss', 'actor_loss', 'alpha', 'entropy'] as const) {
      const a = fused.metrics[i]![key];
      const b = ref.metrics[i]![key];
      assert.ok(Math.abs(a - b) <= 1e-4 * Math.max(Math.abs(b), 1e-3), `update ${i} ${key}: fused ${a}, tfjs ${b}`);
    }
  }
  for (const [name, data] of ref.arrays) {
    if (/_adam\//.test(name)) continue;
    const e = relNorm(fused.arrays.get(name)!, data);
    assert.ok(e <= 1e-4, `${name}: relative difference ${e.toExponential(2)} after 3 updates`);
  }
});

test('fused: a checkpoint (the tfjs state) resumes bit-identically, act() samples from the fused actor, nothing leaks', () => {
  installGemm(providers[0]);
  const hp = { batchSize: B, hidden: [64, 64] };
  const a = new SoftActorCritic(OBS, ACT, hp, 5, 'fused');
  const rng = new Rng(1);
  a.update(batchOf(rng));
  const tensors = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) a.update(batchOf(rng));
  assert.equal(tf.memory().numTensors, tensors, 'fused updates create no tensors');
  const state = a.exportState();
  const b = new SoftActorCritic(OBS, ACT, hp, 99, 'fused');
  b.importState(state);
  const batch = batchOf(rng);
  const ma = a.update(batch);
  const mb = b.update(batch);
  assert.deepEqual(mb, ma);
  const sa = new Map(a.exportState().arrays.map((x) => [x.name, x.data]));
  for (const x of b.exportState().arrays) assert.deepEqual(x.data, sa.get(x.name), x.name);

  // act(): tanh(mean) from the flat weights equals the tfjs actor's (a tfjs-path SAC on the same state).
  const t = new SoftActorCritic(OBS, ACT, hp, 7, 'tfjs');
  t.importState(a.exportState());
  const obs = Float32Array.from({ length: OBS }, () => rng.normal());
  const outF = new Float32Array(ACT);
  const outT = new Float32Array(ACT);
  a.act(obs, true, outF);
  t.act(obs, true, outT);
  for (let j = 0; j < ACT; j++) assert.ok(Math.abs(outF[j]! - outT[j]!) <= 1e-5, `action ${j}: ${outF[j]} vs ${outT[j]}`);
  a.act(obs, false, outF);
  t.act(obs, false, outT);
  for (let j = 0; j < ACT; j++) assert.ok(Math.abs(outF[j]! - outT[j]!) <= 1e-5, `sampled action ${j}: ${outF[j]} vs ${outT[j]}`);
  const wf = a.actorWeights();
  const wt = t.actorWeights();
  assert.deepEqual(wf.mean.kernel, wt.mean.kernel);
  assert.deepEqual(wf.logStd.bias, wt.logStd.bias);
  assert.deepEqual(wf.hidden[1]!.kernel, wt.hidden[1]!.kernel);
  for (const s of [a, b, t]) s.dispose();
});

test('fused: a batch of another size than batchSize is refused, naming both', () => {
  installGemm(providers[0]);
  const sac = new SoftActorCritic(OBS, ACT, { batchSize: 128, hidden: [32] }, 1, 'fused');
  const rng = new Rng(2);
  const batch = batchOf(rng);
  assert.throws(() => sac.updateWithNoise(batch, sac.drawNoise(B, rng), sac.drawNoise(B, rng)), /fused SAC update: batch has 256 rows, batchSize is 128/);
  sac.dispose();
});

const blas = loadOpenBlas();

test('fused on 2 cores (the OpenBLAS addon splits each GEMM with its helper thread): bit-identical to 1 core over several updates, v2 and v1', () => {
  // An addon built from older source cannot split: test/compute/addonSplit.test.ts names the rebuild.
  if (blas.ok) assert.ok(blas.value.abi >= SPLIT_ABI, `the OpenBLAS addon was built from older source (ABI ${blas.value.abi}, 2 cores need ${SPLIT_ABI}): run node scripts/build-native.mjs`);
  if (!blas.ok) {
    // Without the addon there is nothing to split: asking for 2 cores names why.
    installGemm('wasm-simd');
    const sac = new SoftActorCritic(OBS, ACT, { batchSize: B, hidden: [64, 64] }, 1, 'fused');
    assert.match(sac.twoCoresUnavailable ?? '', /wasm-simd GEMM runs on one core/);
    assert.throws(() => (sac.updateCores = 2), /cannot use 2 cores/);
    sac.dispose();
    return;
  }
  installGemm('openblas');
  for (const variant of ['v2', 'v1'] as const) {
    const states = [1, 2].map((cores) => {
      const sac = new SoftActorCritic(OBS, ACT, { batchSize: B, hidden: [256, 256], variant }, 4, 'fused');
      assert.equal(sac.twoCoresUnavailable, null);
      sac.updateCores = cores;
      assert.equal(sac.updateCores, cores);
      const rng = new Rng(8);
      const metrics: SacMetrics[] = [];
      for (let i = 0; i < 5; i++) metrics.push(sac.update(batchOf(rng)));
      const arrays = new Map(sac.exportState().arrays.map((a) => [a.name, a.data]));
      sac.dispose();
      return { metrics, arrays };
    });
    assert.deepEqual(states[1]!.metrics, states[0]!.metrics, `${variant}: metrics`);
    for (const [name, data] of states[0]!.arrays) assert.deepEqual(states[1]!.arrays.get(name), data, `${variant}: ${name}`);
  }
  const sac = new SoftActorCritic(OBS, ACT, { batchSize: B, hidden: [32] }, 1, 'fused');
  assert.throws(() => (sac.updateCores = 3), /cores must be 1 or 2, not 3/);
  sac.dispose();
});
