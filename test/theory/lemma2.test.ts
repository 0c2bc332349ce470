/**
 * Lemma 2 (soft policy improvement): pi_new(.|s) = argmin_{pi' in Pi} KL(pi'(.|s) || exp(Q^{pi_old}(s,.)/alpha) / Z(s))
 * satisfies Q^{pi_new}(s,a) >= Q^{pi_old}(s,a) for every state-action pair, whenever pi_old is in Pi.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  magnitude,
  Policy,
  floorPolicies,
  gibbsPolicy,
  klDivergence,
  policyInClass,
  randomPolicy,
  softPolicyEvaluationExact,
  softPolicyImprovement,
  softPolicyIteration,
  softStateValue,
  validatePolicy,
} from '../../src/theory/softPolicyIteration.js';
import { describeWorstDecrease, randomCases, randomFloorPolicy, somePolicies, worstDecrease } from './cases.js';

const CASES = randomCases(3, 150);
const SLACK = 1e-9;

test('Lemma 2: one soft improvement step never lowers the soft Q of any state-action pair', () => {
  let strictlyImproved = 0;
  let steps = 0;
  for (const { label, mdp, rng } of CASES) {
    for (const oldPolicy of somePolicies(rng, mdp)) {
      const oldQ = softPolicyEvaluationExact(mdp, oldPolicy);
      const newPolicy = softPolicyImprovement(mdp, oldQ);
      validatePolicy(newPolicy, mdp.nS, mdp.nA);
      const newQ = softPolicyEvaluationExact(mdp, newPolicy);
      const worst = worstDecrease(oldQ, newQ);
      assert.ok(worst <= SLACK, `${label}: ${describeWorstDecrease(mdp, oldQ, newQ)}`);
      if (worst < -1e-6) strictlyImproved++;
      steps++;
    }
  }
  // Not vacuous: most steps raise every Q(s,a) by a visible margin (not just "no change").
  assert.ok(strictlyImproved > steps / 2, `only ${strictlyImproved} of ${steps} steps improved every pair by > 1e-6`);
});

test("Lemma 2's key inequality: in every state, E_{pi_new}[Q^{pi_old} - alpha log pi_new] >= V^{pi_old}", () => {
  for (const { label, mdp, rng } of CASES) {
    for (const oldPolicy of somePolicies(rng, mdp)) {
      const oldQ = softPolicyEvaluationExact(mdp, oldPolicy);
      const newPolicy = softPolicyImprovement(mdp, oldQ);
      const oldV = softStateValue(mdp, oldPolicy, oldQ);
      const newV = softStateValue(mdp, newPolicy, oldQ);
      for (let s = 0; s < mdp.nS; s++) {
        assert.ok(newV[s] >= oldV[s] - SLACK * magnitude(oldQ), `${label}: state ${s}: ${newV[s]} < ${oldV[s]}`);
      }
    }
  }
});

test('Lemma 2 along whole soft policy iteration runs: Q^{pi_k} is pointwise non-decreasing in k', () => {
  let iterations = 0;
  for (const { label, mdp, rng } of CASES) {
    const start = randomPolicy(rng, mdp.nS, mdp.nA, 4);
    const run = softPolicyIteration(mdp, { initialPolicy: start });
    for (let k = 1; k < run.history.length; k++) {
      const worst = worstDecrease(run.history[k - 1].Q, run.history[k].Q);
      assert.ok(worst <= SLACK, `${label}: iteration ${k}: ${describeWorstDecrease(mdp, run.history[k - 1].Q, run.history[k].Q)}`);
    }
    iterations += run.history.length - 1;
  }
  assert.ok(iterations >= 2 * CASES.length, `runs take more than one step (${iterations} steps in all)`);
});

test('the floor class: its projection is the KL-closest member (beats random members and naive clip-and-renormalise)', () => {
  for (const { label, mdp, rng } of CASES.filter((c) => c.mdp.nA > 1).slice(0, 60)) {
    const floor = 0.3 / mdp.nA;
    const policyClass = floorPolicies(floor, mdp.nA);
    const Q = softPolicyEvaluationExact(mdp, randomPolicy(rng, mdp.nS, mdp.nA, 1));
    const gibbs = gibbsPolicy(mdp, Q);
    const projected = softPolicyImprovement(mdp, Q, policyClass);
    validatePolicy(projected, mdp.nS, mdp.nA);
    assert.ok(policyInClass(projected, mdp.nS, mdp.nA, policyClass), `${label}: projection left the class`);
    const row = (pi: Policy, s: number): Float64Array => pi.subarray(s * mdp.nA, (s + 1) * mdp.nA);
    for (let s = 0; s < mdp.nS; s++) {
      const best = klDivergence(row(projected, s), row(gibbs, s));
      const naive = row(gibbs, s).map((p) => Math.max(p, floor));
      const naiveSum = naive.reduce((x, y) => x + y, 0);
      const clipped = naive.map((p) => p / naiveSum);
      const rivals = [clipped, ...Array.from({ length: 10 }, (_, i) => row(randomFloorPolicy(rng, mdp, floor, i), s))];
      for (const rival of rivals) {
        if (!policyClass.contains(rival)) continue; // clip-and-renormalise may dip below the floor
        const kl = klDivergence(rival, row(gibbs, s));
        assert.ok(best <= kl + 1e-12, `${label}: state ${s}: projection KL ${best} > rival KL ${kl}`);
      }
    }
  }
});

test('Lemma 2 for a restricted class: KL-projected improvement from a policy in the class never lowers Q', () => {
  let steps = 0;
  for (const { label, mdp, rng } of CASES.filter((c) => c.mdp.nA > 1)) {
    const floor = [0.05, 0.2, 0.9][steps % 3] / mdp.nA;
    const policyClass = floorPolicies(floor, mdp.nA);
    let policy = randomFloorPolicy(rng, mdp, floor, 3);
    let Q = softPolicyEvaluationExact(mdp, policy);
    for (let k = 0; k < 5; k++) {
      const next = softPolicyImprovement(mdp, Q, policyClass);
      assert.ok(policyInClass(next, mdp.nS, mdp.nA, policyClass), `${label}: step left the class`);
      const nextQ = softPolicyEvaluationExact(mdp, next);
      assert.ok(worstDecrease(Q, nextQ) <= SLACK, `${label}, floor ${floor}, step ${k}: ${describeWorstDecrease(mdp, Q, nextQ)}`);
      [policy, Q] = [next, nextQ];
      steps++;
    }
  }
  assert.ok(steps > 0);
});
