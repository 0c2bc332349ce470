/**
 * FastPolicy against a tfjs actor built from the same weights (tfjs cpu backend, written out in
 * tfjs ops here): deterministic and sampled actions, normaliser, weight swaps, bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { FastPolicy } from '../../src/agent/fastPolicy.js';
import { LOG_STD_MAX, LOG_STD_MIN, type ActorWeights, type DenseWeights } from '../../src/agent/policy.js';
import { Rng } from '../../src/util/rng.js';

function dense(rng: Rng, inSize: number, outSize: number, scale: number): DenseWeights {
  const kernel = new Float32Array(inSize * outSize);
  const bias = new Float32Array(outSize);
  for (let i = 0; i < kernel.length; i++) kernel[i] = rng.normal() * scale;
  for (let i = 0; i < bias.length; i++) bias[i] = rng.normal() * 0.1;
  return { inSize, outSize, kernel, bias };
}

/** HalfCheetah-shaped actor: 17 -> 256 -> 256 -> (6 mean, 6 log-std). */
function actor(rng: Rng, withNormalizer: boolean, obs = 17, act = 6, hidden = [256, 256]): ActorWeights {
  const sizes = [obs, ...hidden];
  const w: ActorWeights = {
    hidden: hidden.map((h, i) => dense(rng, sizes[i]!, h, 1 / Math.sqrt(sizes[i]!))),
    mean: dense(rng, sizes[sizes.length - 1]!, act, 1 / Math.sqrt(256)),
    logStd: dense(rng, sizes[sizes.length - 1]!, act, 1 / Math.sqrt(256)),
  };
  if (!withNormalizer) return w;
  const mean = new Float32Array(obs).map(() => rng.normal());
  const std = new Float32Array(obs).map(() => 0.5 + rng.uniform());
  return { ...w, normalizer: { mean, std, clip: 2 } };
}

/** The tfjs actor: returns [tanh(mean), mean, logStd] for a batch of observations. */
function tfjsActor(w: ActorWeights, obs: Float32Array, count: number): { mean: Float32Array; logStd: Float32Array } {
  return tf.tidy(() => {
    const inSize = w.hidden.length > 0 ? w.hidden[0]!.inSize : w.mean.inSize;
    let h: tf.Tensor2D = tf.tensor2d(obs, [count, inSize]);
    if (w.normalizer !== undefined) {
      const n = w.normalizer;
      h = tf.clipByValue(tf.div(tf.sub(h, tf.tensor1d(n.mean)), tf.tensor1d(n.std)), -n.clip, n.clip) as tf.Tensor2D;
    }
    const layer = (x: tf.Tensor2D, d: DenseWeights): tf.Tensor2D => tf.add(tf.matMul(x, tf.tensor2d(d.kernel, [d.inSize, d.outSize])), tf.tensor1d(d.bias));
    for (const d of w.hidden) h = tf.relu(layer(h, d));
    const mean = layer(h, w.mean);
    const raw = layer(h, w.logStd);
    const logStd = tf.add(LOG_STD_MIN, tf.mul(0.5 * (LOG_STD_MAX - LOG_STD_MIN), tf.add(tf.tanh(raw), 1)));
    return { mean: mean.dataSync() as Float32Array, logStd: logStd.dataSync() as Float32Array };
  });
}

function observations(rng: Rng, count: number, size: number): Float32Array {
  const out = new Float32Array(count * size);
  for (let i = 0; i < out.length; i++) out[i] = rng.normal() * 2;
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

await tf.setBackend('cpu');

for (const withNormalizer of [false, true]) {
  test(`deterministic and sampled actions equal the tfjs actor to 1e-5${withNormalizer ? ' (with normaliser)' : ''}`, () => {
    const rng = new Rng(11);
    const w = actor(rng, withNormalizer);
    const count = 64;
    const obs = observations(rng, count, 17);
    const ref = tfjsActor(w, obs, count);
    const policy = new FastPolicy(w, new Rng(5));
    const noise = new Rng(5);
    const out = new Float32Array(6);
    const mean = new Float32Array(6);
    const logStd = new Float32Array(6);
    for (let s = 0; s < count; s++) {
      const o = obs.subarray(s * 17, (s + 1) * 17);
      const m = ref.mean.subarray(s * 6, (s + 1) * 6);
      const ls = ref.logStd.subarray(s * 6, (s + 1) * 6);
      policy.act(o, true, out);
      assertClose(out, Array.from(m, Math.tanh), 1e-5, `deterministic action ${s}`);
      policy.lastHeads(mean, logStd);
      assertClose(mean, m, 1e-5, `mean ${s}`);
      assertClose(logStd, ls, 1e-5, `logStd ${s}`);
      // Sampled: tanh(mean + std * eps) with eps drawn from the same seeded stream, in order.
      policy.act(o, false, out);
      const expected = Array.from(m, (mu, j) => Math.tanh(mu + Math.exp(ls[j]!) * noise.normal()));
      assertClose(out, expected, 1e-5, `sampled action ${s}`);
    }
  });
}

test('no hidden layers and odd sizes (heads straight off the observation)', () => {
  const rng = new Rng(3);
  const w = actor(rng, false, 5, 3, []);
  const obs = observations(rng, 4, 5);
  const ref = tfjsActor(w, obs, 4);
  const policy = new FastPolicy(w, new Rng(1));
  const out = new Float32Array(3);
  for (let s = 0; s < 4; s++) {
    policy.act(obs.subarray(s * 5, (s + 1) * 5), true, out);
    assertClose(out, Array.from(ref.mean.subarray(s * 3, (s + 1) * 3), Math.tanh), 1e-5, `action ${s}`);
  }
});

test('swap installs new weights whole and counts versions; the caller may reuse its arrays', () => {
  const rng = new Rng(21);
  const w1 = actor(rng, true);
  const w2 = actor(rng, true);
  const obs = observations(rng, 1, 17);
  const policy = new FastPolicy(w1, new Rng(0), 7);
  assert.equal(policy.version, 7);
  const out = new Float32Array(6);
  policy.swap(w2);
  assert.equal(policy.version, 8);
  policy.act(obs, true, out);
  assertClose(out, Array.from(tfjsActor(w2, obs, 1).mean, Math.tanh), 1e-5, 'after swap');
  // FastPolicy copied the weights: overwriting the caller's arrays changes nothing.
  const before = Float32Array.from(out);
  w2.hidden[0]!.kernel.fill(0);
  policy.act(obs, true, out);
  assert.deepEqual(out, before);
  policy.swap(w1, 42);
  assert.equal(policy.version, 42);
  policy.act(obs, true, out);
  assertClose(out, Array.from(tfjsActor(w1, obs, 1).mean, Math.tanh), 1e-5, 'after second swap');
});

test('bad weights and inputs are rejected with a message naming the problem', () => {
  const rng = new Rng(1);
  const w = actor(rng, false);
  const policy = new FastPolicy(w, new Rng(0));
  assert.throws(() => policy.swap(actor(rng, false, 17, 6, [64, 64])), /different layer sizes/);
  assert.throws(() => policy.swap(actor(rng, true)), /normaliser presence/);
  const broken = { ...w, mean: { ...w.mean, bias: new Float32Array(5) } };
  assert.throws(() => new FastPolicy(broken, new Rng(0)), /mean head bias has 5 values, expected 6/);
  const gap = { ...w, hidden: [w.hidden[0]!, dense(rng, 100, 256, 0.1)] };
  assert.throws(() => new FastPolicy(gap, new Rng(0)), /hidden layer 1 takes 100 inputs, the previous layer gives 256/);
  assert.throws(() => policy.act(new Float32Array(16), true, new Float32Array(6)), /observation has 16 values, expected 17/);
  assert.throws(() => policy.act(new Float32Array(17), true, new Float32Array(5)), /needs 6/);
});
