/** The fine-tuning session's pure math (src/finetune/measures.ts), on hand-sized actors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ActorWeights, DenseWeights } from '../../src/agent/policy.js';
import { copyActor, discountedReturn, flatActor, relativeDistance } from '../../src/finetune/measures.js';

const dense = (inSize: number, outSize: number, kernel: number[], bias: number[]): DenseWeights => ({
  inSize, outSize, kernel: Float32Array.from(kernel), bias: Float32Array.from(bias),
});

/** A 1-2-1 actor with distinct weights everywhere, scaled by `k`. */
const actor = (k = 1): ActorWeights => ({
  hidden: [dense(1, 2, [1, 2].map((x) => x * k), [3, 4].map((x) => x * k))],
  mean: dense(2, 1, [5, 6].map((x) => x * k), [7 * k]),
  logStd: dense(2, 1, [8, 9].map((x) => x * k), [10 * k]),
  normalizer: { mean: Float32Array.from([0.5]), std: Float32Array.from([2]), clip: 5 },
});

test('flatActor: kernel then bias per layer, hidden layers first, normaliser left out', () => {
  assert.deepEqual(Array.from(flatActor(actor())), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

test('relativeDistance: 0 to itself, 1 at twice the weights, absolute norm against an all-zero reference', () => {
  const ref = flatActor(actor());
  assert.equal(relativeDistance(actor(), ref), 0);
  assert.ok(Math.abs(relativeDistance(actor(2), ref) - 1) < 1e-9);
  assert.ok(Math.abs(relativeDistance(actor(), new Float32Array(10)) - Math.sqrt(385)) < 1e-9);
});

test('discountedReturn: sum of gamma^t r_t from the first reward', () => {
  assert.equal(discountedReturn([1, 2, 3], 0.5), 1 + 0.5 * 2 + 0.25 * 3);
  assert.equal(discountedReturn([], 0.99), 0);
  assert.equal(discountedReturn([1, 1, 1], 1), 3);
});

test('copyActor: equal weights in arrays of its own (writing the original leaves the copy)', () => {
  const a = actor();
  const c = copyActor(a);
  assert.deepEqual(Array.from(flatActor(c)), Array.from(flatActor(a)));
  assert.deepEqual(Array.from(c.normalizer!.mean), [0.5]);
  a.hidden[0]!.kernel[0] = 100;
  a.logStd.bias[0] = 100;
  a.normalizer!.std[0] = 100;
  assert.equal(c.hidden[0]!.kernel[0], 1);
  assert.equal(c.logStd.bias[0], 10);
  assert.equal(c.normalizer!.std[0], 2);
});
