/**
 * Theorem 1 (soft policy iteration): alternating soft evaluation and soft improvement from any
 * policy in Pi converges to pi* in Pi with Q^{pi*}(s,a) >= Q^pi(s,a) for every pi in Pi and every
 * (s,a). Over all policies, pi* is the maximum-entropy optimum that soft value iteration finds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import {
  FiniteMdp,
  Policy,
  deterministicPolicy,
  floorPolicies,
  greedyPolicyImprovement,
  magnitude,
  maxAbsDiff,
  policyIteration,
  randomPolicy,
  softPolicyEvaluationExact,
  softPolicyImprovement,
  softPolicyIteration,
  softStateValue,
  softValueIteration,
} from '../../src/theory/softPolicyIteration.js';
import { describeWorstDecrease, randomCases, randomFloorPolicy, somePolicies, worstDecrease } from './cases.js';

const CASES = randomCases(5, 150);
const SLACK = 1e-9;

/** Every deterministic policy when there are at most `limit` of them. */
function allDeterministicPolicies(mdp: FiniteMdp, limit: number): Policy[] {
  const count = mdp.nA ** mdp.nS;
  if (count > limit) return [];
  return Array.from({ length: count }, (_, index) => {
    const actions = Array.from({ length: mdp.nS }, (_, s) => Math.floor(index / mdp.nA ** s) % mdp.nA);
    return deterministicPolicy(actions, mdp.nA);
  });
}

/** pi* mixed with a random policy: nearby rivals, where a wrong optimum would show first. */
function perturbations(rng: Rng, mdp: FiniteMdp, optimal: Policy): Policy[] {
  return [1e-3, 1e-2, 0.1, 0.5].map((weight) => {
    const other = randomPolicy(rng, mdp.nS, mdp.nA, 2);
    return optimal.map((p, i) => (1 - weight) * p + weight * other[i]);
  });
}

test('Theorem 1: soft policy iteration converges, and pi* is a fixed point of soft improvement', () => {
  const iterations: number[] = [];
  for (const { label, mdp, rng } of CASES) {
    const run = softPolicyIteration(mdp, { initialPolicy: randomPolicy(rng, mdp.nS, mdp.nA, 3) });
    assert.ok(run.converged, `${label}: no convergence in ${run.iterations} iterations`);
    iterations.push(run.iterations);
    const improved = softPolicyImprovement(mdp, run.Q);
    assert.ok(maxAbsDiff(improved, run.policy) <= 1e-8, `${label}: pi* moves under improvement by ${maxAbsDiff(improved, run.policy)}`);
  }
  // Soft policy iteration with exact evaluation is Newton's method on the soft Bellman
  // optimality equation: a handful of iterations, never hundreds.
  assert.ok(Math.max(...iterations) < 50, `iterations: max ${Math.max(...iterations)}`);
});

test('Theorem 1: Q^{pi*} >= Q^pi for every policy tried (random, deterministic, uniform, nearby, earlier iterates)', () => {
  let comparisons = 0;
  for (const { label, mdp, rng } of CASES) {
    const run = softPolicyIteration(mdp);
    const rivals = [
      ...somePolicies(rng, mdp),
      ...Array.from({ length: 10 }, (_, i) => randomPolicy(rng, mdp.nS, mdp.nA, 0.5 * i)),
      ...allDeterministicPolicies(mdp, 256),
      ...perturbations(rng, mdp, run.policy),
      ...run.history.map((step) => step.policy),
    ];
    for (const rival of rivals) {
      const rivalQ = softPolicyEvaluationExact(mdp, rival);
      assert.ok(worstDecrease(rivalQ, run.Q) <= SLACK, `${label}: a rival beats pi*: ${describeWorstDecrease(mdp, rivalQ, run.Q)}`);
      comparisons++;
    }
  }
  assert.ok(comparisons > 20 * CASES.length);
});

test('Theorem 1: soft policy iteration and soft value iteration find the same optimum (Q, V and policy)', () => {
  for (const { label, mdp, rng } of CASES) {
    const spi = softPolicyIteration(mdp, { initialPolicy: randomPolicy(rng, mdp.nS, mdp.nA, 1) });
    const svi = softValueIteration(mdp, { tolerance: 1e-12 });
    assert.ok(svi.converged, `${label}: soft value iteration did not converge`);
    const scale = magnitude(spi.Q);
    assert.ok(maxAbsDiff(spi.Q, svi.Q) <= 1e-9 * scale, `${label}: Q differs by ${maxAbsDiff(spi.Q, svi.Q)}`);
    // The log-sum-exp value equals the soft value E_pi*[Q - alpha log pi*] of the optimal policy.
    const V = softStateValue(mdp, spi.policy, spi.Q);
    assert.ok(maxAbsDiff(V, svi.V) <= 1e-9 * scale, `${label}: V differs by ${maxAbsDiff(V, svi.V)}`);
    // pi = exp((Q - V)/alpha): a Q error e moves pi by about e/alpha, relatively.
    const policyTolerance = Math.max(1e-9, (1e-9 * scale) / mdp.alpha);
    assert.ok(maxAbsDiff(spi.policy, svi.policy) <= policyTolerance, `${label}: policy differs by ${maxAbsDiff(spi.policy, svi.policy)}`);
  }
});

test('Theorem 1 over a restricted class (pi(a|s) >= floor): optimal within the class, equal to projected soft value iteration', () => {
  for (const { label, mdp, rng } of CASES.filter((c) => c.mdp.nA > 1).slice(0, 80)) {
    const floor = [0.02, 0.1, 0.25][rng.int(3)] / mdp.nA;
    const policyClass = floorPolicies(floor, mdp.nA);
    const run = softPolicyIteration(mdp, { policyClass });
    assert.ok(run.converged, `${label}: no convergence`);
    const svi = softValueIteration(mdp, { policyClass, tolerance: 1e-12 });
    const scale = magnitude(run.Q);
    assert.ok(maxAbsDiff(run.Q, svi.Q) <= 1e-9 * scale, `${label}: restricted SPI vs SVI Q differ by ${maxAbsDiff(run.Q, svi.Q)}`);
    for (let i = 0; i < 10; i++) {
      const member = randomFloorPolicy(rng, mdp, floor, i);
      const rivalQ = softPolicyEvaluationExact(mdp, member);
      assert.ok(worstDecrease(rivalQ, run.Q) <= SLACK, `${label}: a class member beats pi*_Pi: ${describeWorstDecrease(mdp, rivalQ, run.Q)}`);
    }
    // Restricting the class can only cost value.
    const unrestricted = softPolicyIteration(mdp);
    assert.ok(worstDecrease(unrestricted.Q, run.Q) >= -SLACK, `${label}: restricted optimum above the unrestricted one`);
  }
});

test('as alpha -> 0 the soft optimum approaches the ordinary one: 0 <= Q*_soft - Q*_hard <= gamma alpha log(nA) / (1 - gamma)', () => {
  for (const { label, mdp } of CASES) {
    const hard = policyIteration({ ...mdp, alpha: 0 }, (Q) => greedyPolicyImprovement(mdp, Q));
    assert.ok(hard.converged, `${label}: ordinary policy iteration did not converge`);
    const soft = softValueIteration(mdp, { tolerance: 1e-12 });
    const bound = (mdp.gamma * mdp.alpha * Math.log(mdp.nA)) / (1 - mdp.gamma);
    const rounding = 1e-9 * magnitude(soft.Q);
    for (let i = 0; i < soft.Q.length; i++) {
      const gap = soft.Q[i] - hard.Q[i];
      assert.ok(gap >= -rounding && gap <= bound + rounding, `${label}: entry ${i}: soft - hard = ${gap}, bound ${bound}`);
    }
  }
});
