/** The numerical building blocks: log-sum-exp, Gibbs policies, the linear solve, the floor projection. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import {
  floorPolicies,
  gibbsPolicy,
  logSumExp,
  randomMdp,
  randomPolicy,
  solveLinearSystem,
  softStateValue,
} from '../../src/theory/softPolicyIteration.js';

test('logSumExp neither overflows nor underflows', () => {
  assert.equal(logSumExp(new Float64Array([1000, 1000])), 1000 + Math.log(2));
  assert.equal(logSumExp(new Float64Array([-1000, -1000])), -1000 + Math.log(2));
  assert.ok(Math.abs(logSumExp(new Float64Array([1, 2, 3]), 0, 3, 1e4) - 3e4) < 1e-9);
  assert.equal(logSumExp(new Float64Array([5, -Infinity]), 0, 2), 5);
  assert.ok(Math.abs(logSumExp(new Float64Array([9, 1, 2]), 1, 2) - Math.log(Math.E + Math.E ** 2)) < 1e-15);
});

test('Gibbs policies at tiny alpha: finite, rows summing to 1 within 1e-15, near-deterministic', () => {
  const mdp = { ...randomMdp(new Rng(1), { nS: 4, nA: 5, gamma: 0.9, alpha: 1e-4, rewardScale: 100 }) };
  const Q = mdp.r.map((x) => 10 * x);
  const pi = gibbsPolicy(mdp, Q);
  for (let s = 0; s < mdp.nS; s++) {
    const row = Array.from(pi.subarray(s * mdp.nA, (s + 1) * mdp.nA));
    assert.ok(row.every(Number.isFinite));
    assert.ok(Math.abs(row.reduce((x, y) => x + y, 0) - 1) <= 1e-15);
    assert.ok(Math.max(...row) > 1 - 1e-12);
  }
});

test("Gibbs' variational principle: alpha log sum exp(Q/alpha) = max_pi E_pi[Q - alpha log pi], attained by the Gibbs policy", () => {
  const rng = new Rng(2);
  for (const alpha of [0.01, 0.3, 1, 7]) {
    const mdp = randomMdp(rng, { nS: 5, nA: 4, gamma: 0.9, alpha });
    const Q = mdp.r.map((x) => 3 * x);
    const gibbsValue = softStateValue(mdp, gibbsPolicy(mdp, Q), Q);
    for (let s = 0; s < mdp.nS; s++) {
      const closedForm = alpha * logSumExp(Q, s * mdp.nA, mdp.nA, 1 / alpha);
      assert.ok(Math.abs(gibbsValue[s] - closedForm) <= 1e-12 * Math.max(1, Math.abs(closedForm)));
    }
    for (let i = 0; i < 20; i++) {
      const other = softStateValue(mdp, randomPolicy(rng, mdp.nS, mdp.nA, i / 4), Q);
      for (let s = 0; s < mdp.nS; s++) assert.ok(other[s] <= gibbsValue[s] + 1e-12);
    }
  }
});

test('solveLinearSystem solves a system that needs pivoting, and refuses a singular one', () => {
  // [0 2 1; 1 1 1; 2 1 0] x = b with x = (1, -2, 3).
  const A = new Float64Array([0, 2, 1, 1, 1, 1, 2, 1, 0]);
  const b = new Float64Array([-1, 2, 0]);
  const x = solveLinearSystem(A, b, 3);
  [1, -2, 3].forEach((v, i) => assert.ok(Math.abs(x[i] - v) < 1e-14));
  assert.throws(() => solveLinearSystem(new Float64Array([1, 2, 2, 4]), new Float64Array([1, 1]), 2), /singular at column 1/);
});

test('floor projection: closed-form edge cases', () => {
  const target = new Float64Array([0.7, 0.2, 0.1, 0]);
  const out = new Float64Array(4);
  floorPolicies(0, 4).project(target, out);
  target.forEach((v, i) => assert.ok(Math.abs(out[i] - v) < 1e-15, `${i}: ${out[i]}`));
  floorPolicies(0.25, 4).project(target, out);
  out.forEach((v) => assert.ok(Math.abs(v - 0.25) < 1e-15));
  floorPolicies(0.15, 4).project(target, out);
  // Two clamped at 0.15; the free pair keeps target's 7:2 ratio over the remaining 0.7.
  [0.7 * (7 / 9), 0.7 * (2 / 9), 0.15, 0.15].forEach((v, i) => assert.ok(Math.abs(out[i] - v) < 1e-15, `${i}: ${out[i]}`));
  assert.throws(() => floorPolicies(0.3, 4), /floor must be in \[0, 1\/nA\] = \[0, 0.25\], got 0.3/);
});
