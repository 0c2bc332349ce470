import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initCompute } from '../../src/compute/backend.js';
import { SoftActorCritic, resolveHyperparameters } from '../../src/agent/sac.js';
import { initialLayer } from '../../src/agent/networks.js';
import { dropoutMask, LAYER_NORM_EPSILON, normalizedRelu } from '../../src/agent/regularization.js';
import type { TransitionBatch } from '../../src/agent/replayBuffer.js';
import { Rng } from '../../src/util/rng.js';

await initCompute();

const OBS = 3;
const ACT = 2;
const B = 6;

function randomBatch(rng: Rng): TransitionBatch {
  const f = (n: number, lo = -1, hi = 1): Float32Array => Float32Array.from({ length: n }, () => rng.range(lo, hi));
  const terminated = new Float32Array(B);
  terminated[2] = 1;
  return { size: B, observations: f(B * OBS), actions: f(B * ACT, -0.9, 0.9), rewards: f(B), nextObservations: f(B * OBS), terminated };
}

const named = (sac: SoftActorCritic, prefix: string): Map<string, Float32Array> =>
  new Map([...sac.namedVariables()].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k, v.dataSync() as Float32Array]));

test("initialisation: 'uniform-fan-in' draws kernel and bias from U(±1/sqrt(fan_in)); 'he-glorot' has zero biases", () => {
  const a = initialLayer(new Rng(1), 64, 32, 'relu', 'uniform-fan-in');
  const bound = 1 / 8;
  for (const v of [...a.kernel, ...a.bias]) assert.ok(Math.abs(v) <= bound, `${v} beyond ±${bound}`);
  // Spread over the whole range: the largest magnitude is near the bound, biases are not all zero.
  assert.ok(Math.max(...a.kernel.map(Math.abs)) > 0.95 * bound);
  assert.ok(a.bias.some((v) => v !== 0));
  const he = initialLayer(new Rng(1), 64, 32, 'relu', 'he-glorot');
  assert.ok(he.bias.every((v) => v === 0));
  assert.ok(Math.max(...he.kernel.map(Math.abs)) > 0.95 * Math.sqrt(6 / 64));
  const glorot = initialLayer(new Rng(1), 64, 32, 'linear', 'he-glorot');
  for (const v of glorot.kernel) assert.ok(Math.abs(v) <= Math.sqrt(6 / 96));
  // The agent's networks follow the hyperparameter.
  const sac = new SoftActorCritic(OBS, ACT, { hidden: [16], batchSize: B, initialization: 'uniform-fan-in' }, 3);
  const q = named(sac, 'qf1/');
  for (const v of q.get('qf1/l0/kernel')!) assert.ok(Math.abs(v) <= 1 / Math.sqrt(OBS + ACT));
  assert.ok(q.get('qf1/out/bias')![0] !== 0);
  sac.dispose();
  assert.throws(() => resolveHyperparameters({ initialization: 'xavier' as never }), /initialization="xavier": must be one of 'uniform-fan-in', 'he-glorot'/);
});

test('dropout mask: reproducible from the seed, 0 or 1/(1 - rate), dropped fraction near the rate', () => {
  const a = dropoutMask(200, 500, 0.1, new Rng(5));
  assert.deepEqual(a, dropoutMask(200, 500, 0.1, new Rng(5)));
  let zeros = 0;
  for (const v of a) {
    if (v === 0) zeros++;
    else assert.equal(v, Math.fround(1 / 0.9));
  }
  // Binomial(100000, 0.1): sd ~95; this seed's count is a fixed number, checked to be within 5 sd.
  assert.ok(Math.abs(zeros - 10_000) < 5 * 95, `${zeros} zeros of 100000`);
  assert.ok(dropoutMask(10, 10, 0, new Rng(1)).every((v) => v === 1));
});

/** relu(LayerNorm(z * mask) gain + bias) in double precision, for finite differences. */
function normalizedReluRef(z: number[][], gain: number[], bias: number[], mask: number[][]): number[][] {
  return z.map((row, i) => {
    const x = row.map((v, j) => v * mask[i]![j]!);
    const m = x.reduce((s, v) => s + v, 0) / x.length;
    const varr = x.reduce((s, v) => s + (v - m) ** 2, 0) / x.length;
    return x.map((v, j) => Math.max(0, ((v - m) / Math.sqrt(varr + LAYER_NORM_EPSILON)) * gain[j]! + bias[j]!));
  });
}

test('LayerNorm + dropout + ReLU op: value and gradients (input, gain, bias) equal finite differences of a double-precision reference', () => {
  const rng = new Rng(11);
  const R = 4;
  const H = 5;
  const z = Array.from({ length: R }, () => Array.from({ length: H }, () => rng.range(-2, 2)));
  const gain = Array.from({ length: H }, () => rng.range(0.5, 1.5));
  const bias = Array.from({ length: H }, () => rng.range(-0.3, 0.3));
  const mask = Array.from({ length: R }, (_, i) => Array.from({ length: H }, (_, j) => ((i + j) % 4 === 0 ? 0 : 1 / 0.75)));
  const c = Array.from({ length: R }, () => Array.from({ length: H }, () => rng.range(-1, 1)));
  const loss = (zz: number[][], g: number[], b: number[]): number => normalizedReluRef(zz, g, b, mask).reduce((s, row, i) => s + row.reduce((t, v, j) => t + v * c[i]![j]!, 0), 0);
  const tz = tf.tensor2d(z);
  const tg = tf.tensor1d(gain);
  const tb = tf.tensor1d(bias);
  const tm = tf.tensor2d(mask);
  const tc = tf.tensor2d(c);
  const value = tf.tidy(() => normalizedRelu(tz, tg, tb, tm).arraySync());
  const ref = normalizedReluRef(z, gain, bias, mask);
  value.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - ref[i]![j]!) < 1e-5, `y[${i}][${j}] ${v} vs ${ref[i]![j]}`)));
  const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(normalizedRelu(a as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, tm), tc)));
  const [dz, dg, db] = grads([tz, tg, tb]).map((t) => t.arraySync()) as [number[][], number[], number[]];
  const h = 1e-6;
  const fd = (f: (d: number) => number): number => (f(h) - f(-h)) / (2 * h);
  let checked = 0;
  for (let i = 0; i < R; i++) {
    for (let j = 0; j < H; j++) {
      const want = fd((d) => loss(z.map((row, a) => row.map((v, b2) => (a === i && b2 === j ? v + d : v))), gain, bias));
      assert.ok(Math.abs(dz[i]![j]! - want) < 1e-4 + 1e-3 * Math.abs(want), `dz[${i}][${j}] ${dz[i]![j]} vs ${want}`);
      checked++;
    }
  }
  for (let j = 0; j < H; j++) {
    const wg = fd((d) => loss(z, gain.map((v, k) => (k === j ? v + d : v)), bias));
    const wb = fd((d) => loss(z, gain, bias.map((v, k) => (k === j ? v + d : v))));
    assert.ok(Math.abs(dg[j]! - wg) < 1e-4 + 1e-3 * Math.abs(wg), `dgain[${j}] ${dg[j]} vs ${wg}`);
    assert.ok(Math.abs(db[j]! - wb) < 1e-4 + 1e-3 * Math.abs(wb), `dbias[${j}] ${db[j]} vs ${wb}`);
    checked += 2;
  }
  assert.equal(checked, R * H + 2 * H);
  tf.dispose([tz, tg, tb, tm, tc]);
});

test('DroQ-style critics: LayerNorm gains are trained, dropout draws from the checkpointed noise stream (export/import reproduces the next update)', () => {
  const hp = { hidden: [8, 8], batchSize: B, criticLayerNorm: true, criticDropout: 0.2 };
  const a = new SoftActorCritic(OBS, ACT, hp, 5);
  const batch = randomBatch(new Rng(2));
  const gains0 = named(a, 'qf1/ln0/gain').get('qf1/ln0/gain')!.slice();
  assert.deepEqual([...gains0], new Array(8).fill(1));
  for (let i = 0; i < 3; i++) a.update(batch);
  assert.notDeepEqual([...named(a, 'qf1/ln0/gain').get('qf1/ln0/gain')!], [...gains0], 'LayerNorm gain moved');
  assert.ok(named(a, 'qf1_target/').has('qf1_target/ln1/bias'), 'targets have the LayerNorm parameters too');
  const b = new SoftActorCritic(OBS, ACT, hp, 77);
  b.importState(a.exportState());
  assert.deepEqual(b.update(batch), a.update(batch));
  assert.deepEqual(named(b, ''), named(a, ''));
  // The same update without dropout differs: the masks are in use.
  const c = new SoftActorCritic(OBS, ACT, { ...hp, criticDropout: 0 }, 77);
  c.importState(a.exportState());
  assert.notDeepEqual(c.update(batch).qf1_loss, a.update(batch).qf1_loss);
  // A state of other critic shapes is refused by name.
  const d = new SoftActorCritic(OBS, ACT, { hidden: [8, 8], batchSize: B }, 1);
  assert.throws(() => d.importState(a.exportState()), /LayerNorm/);
  for (const x of [a, b, c, d]) x.dispose();
  // Dropout without LayerNorm: its own op; neither path leaks tensors.
  for (const reg of [{ criticDropout: 0.1 }, { criticLayerNorm: true, criticDropout: 0.1 }]) {
    const e = new SoftActorCritic(OBS, ACT, { hidden: [8], batchSize: B, ...reg }, 4);
    e.update(batch);
    const n0 = tf.memory().numTensors;
    const m = e.update(batch);
    assert.equal(tf.memory().numTensors, n0, `tensor count after an update with ${JSON.stringify(reg)}`);
    assert.ok(Number.isFinite(m.qf1_loss) && Number.isFinite(m.actor_loss));
    e.dispose();
  }
  assert.throws(() => resolveHyperparameters({ criticDropout: 1 }), /criticDropout=1: must be in \[0, 1\)/);
});

test('critic sizes apart from the actor; target update frequency; one actor step per policyFrequency updates without catch-up', () => {
  const sac = new SoftActorCritic(OBS, ACT, { hidden: [4], criticHidden: [7, 3], batchSize: B, targetUpdateFrequency: 2, policyFrequency: 3, policyCatchUp: false }, 8);
  assert.deepEqual(sac.namedVariables().get('qf2/l1/kernel')!.shape, [7, 3]);
  assert.deepEqual(sac.namedVariables().get('actor/l0/kernel')!.shape, [OBS, 4]);
  const batch = randomBatch(new Rng(3));
  const target = (): Map<string, Float32Array> => named(sac, 'qf1_target/');
  const actorSteps = (): number => sac.exportState().optimizerSteps.actor_adam;
  const t0 = target();
  sac.update(batch); // update 0: targets averaged, one actor step
  const t1 = target();
  assert.notDeepEqual(t1, t0);
  assert.equal(actorSteps(), 1);
  sac.update(batch); // update 1: no target update, no actor step
  assert.deepEqual(target(), t1);
  assert.equal(actorSteps(), 1);
  sac.update(batch); // update 2: targets again
  assert.notDeepEqual(target(), t1);
  assert.equal(actorSteps(), 1);
  sac.update(batch); // update 3: the second actor step
  assert.equal(actorSteps(), 2);
  sac.dispose();
  assert.throws(() => resolveHyperparameters({ targetUpdateFrequency: 0 }), /targetUpdateFrequency=0: must be an integer >= 1/);
  assert.throws(() => resolveHyperparameters({ criticHidden: [] }), /criticHidden=\[\]: must be a non-empty list/);
});
