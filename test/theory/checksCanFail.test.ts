/**
 * The Lemma and Theorem checks are not vacuous: run on deliberately wrong steps (ordinary greedy
 * improvement, an evaluation that forgets the entropy, improvement at the wrong temperature,
 * a projection that is not the KL one) the very same checks fail, on these same kinds of
 * random MDPs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  floorPolicies,
  gibbsPolicy,
  greedyPolicyImprovement,
  klDivergence,
  magnitude,
  maxAbsDiff,
  policyIteration,
  randomPolicy,
  softBellmanBackup,
  softPolicyEvaluationExact,
  softPolicyEvaluationIterative,
  softPolicyImprovement,
  softValueIteration,
} from '../../src/theory/softPolicyIteration.js';
import { randomCases, somePolicies, worstDecrease } from './cases.js';

// Only cases where the entropy matters: more than one action; gamma > 0 (at gamma = 0, Q^pi = r
// whatever pi is); alpha not tiny against the rewards (at alpha = 0.01 and rewards ~10 the soft
// optimum is deterministic to the last bit, exp(-1000) = 0, and equals the ordinary one).
const CASES = randomCases(7, 300).filter((c) => c.mdp.nA > 1 && c.mdp.gamma > 0 && c.mdp.alpha >= 0.05 * c.rewardScale);
const SLACK = 1e-9;

test('greedy (non-soft) improvement breaks Lemma 2: some soft Q(s,a) goes down', () => {
  let violations = 0;
  let steps = 0;
  for (const { mdp, rng } of CASES) {
    for (const oldPolicy of somePolicies(rng, mdp)) {
      const oldQ = softPolicyEvaluationExact(mdp, oldPolicy);
      const newQ = softPolicyEvaluationExact(mdp, greedyPolicyImprovement(mdp, oldQ));
      if (worstDecrease(oldQ, newQ) > SLACK) violations++;
      steps++;
    }
  }
  // It drops the entropy bonus, so from any stochastic policy with enough alpha it loses value.
  assert.ok(violations > steps / 4, `the monotonicity check flagged only ${violations} of ${steps} greedy steps`);
});

test('greedy policy iteration breaks Theorem 1: its limit is not the soft optimum of soft value iteration', () => {
  let wrong = 0;
  for (const { mdp } of CASES) {
    const greedy = policyIteration(mdp, (Q) => greedyPolicyImprovement(mdp, Q));
    const svi = softValueIteration(mdp, { tolerance: 1e-12 });
    if (maxAbsDiff(greedy.Q, svi.Q) > 1e-9 * magnitude(svi.Q)) wrong++;
    // ...and it is beaten by the soft optimum, never the other way round.
    assert.ok(worstDecrease(greedy.Q, svi.Q) <= 1e-9 * magnitude(svi.Q));
  }
  // A few MDPs remain where the soft optimum is deterministic to rounding (huge Q gaps over alpha).
  assert.ok(wrong >= 0.9 * CASES.length, `only ${wrong} of ${CASES.length} MDPs tell the greedy limit from the soft optimum`);
});

test('an evaluation that forgets the entropy term fails the Lemma 1 fixed-point comparison', () => {
  let flagged = 0;
  for (const { mdp, rng } of CASES) {
    const pi = randomPolicy(rng, mdp.nS, mdp.nA, 1);
    const exact = softPolicyEvaluationExact(mdp, pi);
    const entropyFree = softPolicyEvaluationIterative({ ...mdp, alpha: 0 }, pi, { tolerance: 1e-10 });
    // The check Lemma 1 applies: the result must be a fixed point of the true soft backup.
    const residual = maxAbsDiff(softBellmanBackup(mdp, pi, entropyFree.Q), entropyFree.Q);
    if (maxAbsDiff(entropyFree.Q, exact) > 2e-10 * magnitude(exact) && residual > 1e-12 * magnitude(exact)) flagged++;
  }
  assert.equal(flagged, CASES.length);
});

test('improvement at the wrong temperature (Gibbs at 2 alpha) converges to the wrong policy: Theorem 1 comparison fails', () => {
  let wrong = 0;
  for (const { mdp } of CASES) {
    const hot = { ...mdp, alpha: 2 * mdp.alpha };
    const run = policyIteration(mdp, (Q) => gibbsPolicy(hot, Q));
    const svi = softValueIteration(mdp, { tolerance: 1e-12 });
    if (maxAbsDiff(run.Q, svi.Q) > 1e-9 * magnitude(svi.Q)) wrong++;
  }
  assert.ok(wrong >= 0.9 * CASES.length, `only ${wrong} of ${CASES.length} MDPs tell the hot limit from the soft optimum`);
});

test('mixing with uniform is not the KL projection onto the floor class: the KL check tells them apart', () => {
  let worse = 0;
  let compared = 0;
  for (const { mdp, rng } of CASES) {
    const floor = 0.3 / mdp.nA;
    const policyClass = floorPolicies(floor, mdp.nA);
    const Q = softPolicyEvaluationExact(mdp, randomPolicy(rng, mdp.nS, mdp.nA, 1));
    const gibbs = gibbsPolicy(mdp, Q);
    const projected = softPolicyImprovement(mdp, Q, policyClass);
    for (let s = 0; s < mdp.nS; s++) {
      const target = gibbs.subarray(s * mdp.nA, (s + 1) * mdp.nA);
      // Mixing with the uniform policy always lands in the class, but is not the closest member.
      const naive = target.map((p) => (1 - mdp.nA * floor) * p + floor);
      assert.ok(policyClass.contains(naive));
      compared++;
      const best = klDivergence(projected.subarray(s * mdp.nA, (s + 1) * mdp.nA), target);
      if (klDivergence(naive, target) > best + 1e-9) worse++;
    }
  }
  assert.ok(compared > 0 && worse > compared / 10, `naive projection worse in ${worse} of ${compared} states`);
});
