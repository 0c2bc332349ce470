/**
 * Shared by the theory tests: seeded random MDP cases of many shapes, random policies, and the
 * checks themselves (so the "tests can fail" file runs the very same checks on broken steps).
 */
import { Rng } from '../../src/util/rng.js';
import {
  FiniteMdp,
  Policy,
  QTable,
  deterministicPolicy,
  randomMdp,
  randomPolicy,
  uniformPolicy,
} from '../../src/theory/softPolicyIteration.js';

export const GAMMAS = [0, 0.5, 0.8, 0.9, 0.95, 0.99];
export const ALPHAS = [0.01, 0.1, 0.5, 1, 3];

export interface MdpCase {
  label: string;
  mdp: FiniteMdp;
  /** Standard deviation of the rewards. */
  rewardScale: number;
  rng: Rng;
}

/** `count` random MDPs, 1..9 states, 1..5 actions, sparse to dense transitions, all gammas and alphas. */
export function randomCases(seed: number, count: number): MdpCase[] {
  const rng = new Rng(seed);
  const cases: MdpCase[] = [];
  for (let i = 0; i < count; i++) {
    const nS = 1 + rng.int(9);
    // nA = 1 is a legal edge case (zero entropy everywhere) but says little; keep it rare.
    const nA = i % 25 === 0 ? 1 : 2 + rng.int(4);
    const gamma = GAMMAS[i % GAMMAS.length];
    const alpha = ALPHAS[Math.floor(i / GAMMAS.length) % ALPHAS.length];
    const branching = 1 + rng.int(nS);
    const rewardScale = [0.1, 1, 10][rng.int(3)];
    const mdp = randomMdp(rng, { nS, nA, gamma, alpha, branching, rewardScale });
    cases.push({
      label: `case ${i} (seed ${seed}): nS=${nS} nA=${nA} gamma=${gamma} alpha=${alpha} branching=${branching} rewardScale=${rewardScale}`,
      mdp,
      rewardScale,
      rng: new Rng(seed * 1000 + i),
    });
  }
  return cases;
}

/** A spread of policies: uniform, random of several sharpnesses, and a deterministic one. */
export function somePolicies(rng: Rng, mdp: FiniteMdp): Policy[] {
  const { nS, nA } = mdp;
  const actions = Array.from({ length: nS }, () => rng.int(nA));
  return [
    uniformPolicy(nS, nA),
    randomPolicy(rng, nS, nA, 0.5),
    randomPolicy(rng, nS, nA, 2),
    randomPolicy(rng, nS, nA, 8),
    deterministicPolicy(actions, nA),
  ];
}

/** max over (s,a) of Q_before - Q_after: positive means some soft Q went DOWN. */
export function worstDecrease(before: QTable, after: QTable): number {
  let worst = -Infinity;
  for (let i = 0; i < before.length; i++) worst = Math.max(worst, before[i] - after[i]);
  return worst;
}

/** Where Q_before - Q_after is largest, for error messages. */
export function describeWorstDecrease(mdp: FiniteMdp, before: QTable, after: QTable): string {
  let worstIndex = 0;
  for (let i = 1; i < before.length; i++) if (before[i] - after[i] > before[worstIndex] - after[worstIndex]) worstIndex = i;
  const s = Math.floor(worstIndex / mdp.nA);
  const a = worstIndex % mdp.nA;
  return `Q(s=${s}, a=${a}) went from ${before[worstIndex]} to ${after[worstIndex]}`;
}

/** A random member of the floor class: (1 - nA floor) * q + floor. */
export function randomFloorPolicy(rng: Rng, mdp: FiniteMdp, floor: number, sharpness: number): Policy {
  const q = randomPolicy(rng, mdp.nS, mdp.nA, sharpness);
  return q.map((p) => (1 - mdp.nA * floor) * p + floor);
}
