/**
 * Lemma 1 (soft policy evaluation): for a fixed policy, Q_{k+1} = T^pi Q_k converges to the soft
 * Q-function of pi, the unique fixed point of the soft Bellman backup, from any start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import {
  magnitude,
  maxAbsDiff,
  randomMdp,
  softBellmanBackup,
  softPolicyEvaluationExact,
  softPolicyEvaluationIterative,
  validateMdp,
} from '../../src/theory/softPolicyIteration.js';
import { randomCases, somePolicies } from './cases.js';

const CASES = randomCases(1, 120);

test('Lemma 1: the linear-system solution is a fixed point of the soft Bellman backup', () => {
  for (const { label, mdp, rng } of CASES) {
    for (const pi of somePolicies(rng, mdp)) {
      const Q = softPolicyEvaluationExact(mdp, pi);
      const residual = maxAbsDiff(softBellmanBackup(mdp, pi, Q), Q);
      assert.ok(residual <= 1e-12 * magnitude(Q), `${label}: |T^pi Q - Q| = ${residual}`);
    }
  }
});

test('Lemma 1: repeated soft backups from zero and from a random start converge to the linear-system solution', () => {
  let backups = 0;
  for (const { label, mdp, rng } of CASES) {
    for (const pi of somePolicies(rng, mdp)) {
      const exact = softPolicyEvaluationExact(mdp, pi);
      const scale = magnitude(exact);
      const randomStart = new Float64Array(mdp.nS * mdp.nA);
      for (let i = 0; i < randomStart.length; i++) randomStart[i] = 10 * scale * rng.normal();
      for (const Q0 of [undefined, randomStart]) {
        const run = softPolicyEvaluationIterative(mdp, pi, { Q0, tolerance: 1e-10 });
        backups += run.iterations;
        assert.ok(run.converged, `${label}: did not converge in ${run.iterations} backups`);
        const error = maxAbsDiff(run.Q, exact);
        assert.ok(error <= 2e-10 * scale, `${label}: iterative vs exact differ by ${error} (scale ${scale})`);
      }
    }
  }
  assert.ok(backups > 10_000, 'the cases include slow (gamma near 1) evaluations');
});

test('Lemma 1: the backup is a gamma-contraction: gaps and errors shrink geometrically by gamma', () => {
  let checkedSteps = 0;
  for (const { label, mdp, rng } of CASES) {
    const { gamma } = mdp;
    for (const pi of somePolicies(rng, mdp)) {
      const exact = softPolicyEvaluationExact(mdp, pi);
      const scale = magnitude(exact);
      const rounding = 1e-12 * scale;
      let Q: Float64Array = new Float64Array(mdp.nS * mdp.nA);
      for (let i = 0; i < Q.length; i++) Q[i] = 5 * scale * rng.normal();
      const initialError = maxAbsDiff(Q, exact);
      let previousGap = Infinity;
      for (let k = 1; k <= 60; k++) {
        const next = softBellmanBackup(mdp, pi, Q);
        const gap = maxAbsDiff(next, Q);
        Q = next;
        // |Q_k - Q^pi| <= gamma^k |Q_0 - Q^pi| and |Q_{k+1} - Q_k| <= gamma |Q_k - Q_{k-1}|.
        const error = maxAbsDiff(Q, exact);
        assert.ok(error <= gamma ** k * initialError + rounding, `${label}: step ${k} error ${error} > gamma^k * ${initialError}`);
        if (k > 1) assert.ok(gap <= gamma * previousGap + rounding, `${label}: step ${k} gap ${gap} > gamma * ${previousGap}`);
        previousGap = gap;
        checkedSteps++;
      }
    }
  }
  assert.ok(checkedSteps > 0);
});

test('Lemma 1: the iterative gap history itself shrinks by gamma per backup', () => {
  for (const { label, mdp, rng } of CASES.slice(0, 40)) {
    const [pi] = somePolicies(rng, mdp);
    const run = softPolicyEvaluationIterative(mdp, pi, { tolerance: 1e-9 });
    const rounding = 1e-12 * magnitude(run.Q);
    for (let k = 1; k < run.gaps.length; k++) {
      assert.ok(run.gaps[k] <= mdp.gamma * run.gaps[k - 1] + rounding, `${label}: gap ${k} = ${run.gaps[k]}, previous ${run.gaps[k - 1]}`);
    }
  }
});

test('a general temperature is the paper\'s alpha = 1 with reward scaled by 1/alpha: Q_alpha = alpha * Q_1(r / alpha)', () => {
  for (const { label, mdp, rng } of CASES.slice(0, 60)) {
    const scaled = { ...mdp, alpha: 1, r: mdp.r.map((x) => x / mdp.alpha) };
    for (const pi of somePolicies(rng, mdp)) {
      const Q = softPolicyEvaluationExact(mdp, pi);
      const Q1 = softPolicyEvaluationExact(scaled, pi).map((q) => q * mdp.alpha);
      assert.ok(maxAbsDiff(Q, Q1) <= 1e-11 * magnitude(Q), `${label}: ${maxAbsDiff(Q, Q1)}`);
    }
  }
});

test('bad MDPs and policies are refused with an error naming the entry', () => {
  const mdp = randomMdp(new Rng(2), { nS: 3, nA: 2, gamma: 0.9, alpha: 1 });
  const P = Float64Array.from(mdp.P);
  P[0] += 0.5;
  assert.throws(() => validateMdp({ ...mdp, P }), /P\[s=0\]\[a=0\]\[s'=0\] = .* is not a probability|P\[s=0\]\[a=0\] sums to/);
  assert.throws(() => validateMdp({ ...mdp, gamma: 1 }), /gamma must be in \[0, 1\), got 1/);
  assert.throws(() => validateMdp({ ...mdp, alpha: -1 }), /alpha must be finite and >= 0, got -1/);
  const r = Float64Array.from(mdp.r);
  r[mdp.nA + 1] = NaN;
  assert.throws(() => validateMdp({ ...mdp, r }), /r\[s=1\]\[a=1\] is NaN/);
  const pi = new Float64Array(mdp.nS * mdp.nA).fill(0.9);
  assert.throws(() => softPolicyEvaluationExact(mdp, pi), /pi\(\.\|s=0\) sums to/);
  assert.throws(() => softPolicyEvaluationExact(mdp, new Float64Array(3)), /policy has length 3, expected/);
});
