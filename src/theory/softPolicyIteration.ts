/**
 * Tabular soft policy iteration, the theory of Haarnoja et al. 2018 ("Soft Actor-Critic",
 * section 4.1), written out on finite MDPs so that Lemma 1, Lemma 2 and Theorem 1 can be
 * checked numerically.
 *
 * Maximum-entropy objective with temperature alpha (the paper takes alpha = 1 and scales the
 * reward instead; a general alpha is the same thing with r / alpha):
 *   Q^pi(s,a) = r(s,a) + gamma * E_{s'~P(.|s,a)} [ V^pi(s') ]
 *   V^pi(s)   = E_{a~pi(.|s)} [ Q^pi(s,a) - alpha * log pi(a|s) ]
 *
 * Layout: everything is a flat Float64Array, row-major.
 *   P[(s * nA + a) * nS + s2]  transition probability s --a--> s2
 *   r[s * nA + a]              reward
 *   Q[s * nA + a], pi[s * nA + a] (a policy is one distribution over actions per state)
 *   V[s]
 * alpha = 0 is allowed for evaluation (ordinary, entropy-free RL); the soft improvement and
 * soft value iteration need alpha > 0.
 */
import { Rng } from '../util/rng.js';

export interface FiniteMdp {
  readonly nS: number;
  readonly nA: number;
  /** P[(s * nA + a) * nS + s2]; each (s, a) row is a distribution over s2. */
  readonly P: Float64Array;
  /** r[s * nA + a]. */
  readonly r: Float64Array;
  /** Discount in [0, 1). */
  readonly gamma: number;
  /** Entropy temperature, >= 0. */
  readonly alpha: number;
}

/** pi[s * nA + a] = pi(a|s). */
export type Policy = Float64Array;
/** Q[s * nA + a]. */
export type QTable = Float64Array;

// ---------------------------------------------------------------------------------------------
// Validation: a clear error naming what is wrong and where.

const SUM_TOLERANCE = 1e-9;

export function validateMdp(mdp: FiniteMdp): void {
  const { nS, nA, P, r, gamma, alpha } = mdp;
  if (!Number.isInteger(nS) || nS < 1) throw new Error(`MDP: nS must be a positive integer, got ${nS}`);
  if (!Number.isInteger(nA) || nA < 1) throw new Error(`MDP: nA must be a positive integer, got ${nA}`);
  if (!(gamma >= 0 && gamma < 1)) throw new Error(`MDP: gamma must be in [0, 1), got ${gamma}`);
  if (!(alpha >= 0 && Number.isFinite(alpha))) throw new Error(`MDP: alpha must be finite and >= 0, got ${alpha}`);
  if (P.length !== nS * nA * nS) throw new Error(`MDP: P has length ${P.length}, expected nS*nA*nS = ${nS * nA * nS}`);
  if (r.length !== nS * nA) throw new Error(`MDP: r has length ${r.length}, expected nS*nA = ${nS * nA}`);
  for (let sa = 0; sa < nS * nA; sa++) {
    const [s, a] = [Math.floor(sa / nA), sa % nA];
    if (!Number.isFinite(r[sa])) throw new Error(`MDP: r[s=${s}][a=${a}] is ${r[sa]}, not finite`);
    let sum = 0;
    for (let s2 = 0; s2 < nS; s2++) {
      const p = P[sa * nS + s2];
      if (!(p >= 0 && p <= 1)) throw new Error(`MDP: P[s=${s}][a=${a}][s'=${s2}] = ${p} is not a probability`);
      sum += p;
    }
    if (Math.abs(sum - 1) > SUM_TOLERANCE) throw new Error(`MDP: P[s=${s}][a=${a}] sums to ${sum}, not 1`);
  }
}

export function validatePolicy(pi: Policy, nS: number, nA: number): void {
  if (pi.length !== nS * nA) throw new Error(`policy has length ${pi.length}, expected nS*nA = ${nS * nA}`);
  for (let s = 0; s < nS; s++) {
    let sum = 0;
    for (let a = 0; a < nA; a++) {
      const p = pi[s * nA + a];
      if (!(p >= 0 && p <= 1)) throw new Error(`policy: pi(a=${a}|s=${s}) = ${p} is not a probability`);
      sum += p;
    }
    if (Math.abs(sum - 1) > SUM_TOLERANCE) throw new Error(`policy: pi(.|s=${s}) sums to ${sum}, not 1`);
  }
}

// ---------------------------------------------------------------------------------------------
// Small numerical helpers.

/** log sum_i exp(x[offset + i]) for i < length, shifted by the max so nothing overflows. */
export function logSumExp(x: Float64Array, offset = 0, length = x.length - offset, scale = 1): number {
  let max = -Infinity;
  for (let i = 0; i < length; i++) max = Math.max(max, x[offset + i] * scale);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < length; i++) sum += Math.exp(x[offset + i] * scale - max);
  return max + Math.log(sum);
}

/** p log p with the limit 0 log 0 = 0 (a deterministic policy has zero entropy). */
function xLogX(p: number): number {
  return p > 0 ? p * Math.log(p) : 0;
}

/** max(1, max |x|): tolerances are relative to this, as Q reaches r_max / (1 - gamma). */
export function magnitude(x: Float64Array): number {
  let m = 1;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

export function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length} differ`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * Solves A x = b in place (A is n x n row-major, destroyed; b becomes x). Gaussian elimination
 * with partial pivoting; the matrices here (I - gamma P_pi) are strictly diagonally dominant.
 */
export function solveLinearSystem(A: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(A[row * n + col]) > Math.abs(A[pivot * n + col])) pivot = row;
    if (A[pivot * n + col] === 0) throw new Error(`solveLinearSystem: matrix is singular at column ${col}`);
    if (pivot !== col) {
      for (let k = 0; k < n; k++) [A[col * n + k], A[pivot * n + k]] = [A[pivot * n + k], A[col * n + k]];
      [b[col], b[pivot]] = [b[pivot], b[col]];
    }
    const diag = A[col * n + col];
    for (let row = col + 1; row < n; row++) {
      const f = A[row * n + col] / diag;
      if (f === 0) continue;
      for (let k = col; k < n; k++) A[row * n + k] -= f * A[col * n + k];
      b[row] -= f * b[col];
    }
  }
  for (let row = n - 1; row >= 0; row--) {
    let acc = b[row];
    for (let k = row + 1; k < n; k++) acc -= A[row * n + k] * b[k];
    b[row] = acc / A[row * n + row];
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// Random MDPs and policies (seeded).

export interface RandomMdpOptions {
  nS: number;
  nA: number;
  gamma: number;
  alpha: number;
  /** Rewards are rewardScale * N(0, 1). */
  rewardScale?: number;
  /** Number of possible next states per (s, a); nS (dense) by default. */
  branching?: number;
}

/** Rewards Gaussian; each (s, a) moves to `branching` random states with Dirichlet(1) weights. */
export function randomMdp(rng: Rng, options: RandomMdpOptions): FiniteMdp {
  const { nS, nA, gamma, alpha, rewardScale = 1 } = options;
  const branching = Math.min(options.branching ?? nS, nS);
  if (!Number.isInteger(branching) || branching < 1) throw new Error(`randomMdp: branching must be a positive integer, got ${options.branching}`);
  const P = new Float64Array(nS * nA * nS);
  const r = new Float64Array(nS * nA);
  const order = Array.from({ length: nS }, (_, i) => i);
  for (let sa = 0; sa < nS * nA; sa++) {
    r[sa] = rewardScale * rng.normal();
    // Partial Fisher-Yates: the first `branching` entries of `order` are the successors.
    for (let i = 0; i < branching; i++) {
      const j = i + rng.int(nS - i);
      [order[i], order[j]] = [order[j], order[i]];
    }
    let sum = 0;
    for (let i = 0; i < branching; i++) {
      const w = -Math.log(1 - rng.uniform()); // Exp(1): normalised, a Dirichlet(1) draw
      P[sa * nS + order[i]] = w;
      sum += w;
    }
    for (let i = 0; i < branching; i++) P[sa * nS + order[i]] /= sum;
  }
  const mdp = { nS, nA, P, r, gamma, alpha };
  validateMdp(mdp);
  return mdp;
}

export function uniformPolicy(nS: number, nA: number): Policy {
  return new Float64Array(nS * nA).fill(1 / nA);
}

/** softmax(sharpness * N(0,1)) per state: sharpness 0 is uniform, large is near-deterministic. */
export function randomPolicy(rng: Rng, nS: number, nA: number, sharpness = 1): Policy {
  const logits = new Float64Array(nS * nA);
  for (let i = 0; i < logits.length; i++) logits[i] = sharpness * rng.normal();
  return softmaxRows(logits, nS, nA, 1);
}

/** A deterministic policy choosing actions[s] in state s. */
export function deterministicPolicy(actions: ArrayLike<number>, nA: number): Policy {
  const pi = new Float64Array(actions.length * nA);
  for (let s = 0; s < actions.length; s++) pi[s * nA + actions[s]] = 1;
  return pi;
}

/**
 * Row-wise softmax(scale * x), shifted by the row max so large |x * scale| neither overflows nor
 * NaNs. Normalised by division rather than exp(x - logSumExp): when |x * scale| is ~1e4 (small
 * alpha) the latter leaves rows summing to 1 +- 1e-12, and that stray mass, amplified by
 * 1 / (1 - gamma) in evaluation, moves Q by ~1e-9 and breaks monotonicity at that level.
 */
function softmaxRows(x: Float64Array, nS: number, nA: number, scale: number): Policy {
  const out = new Float64Array(nS * nA);
  for (let s = 0; s < nS; s++) {
    let max = -Infinity;
    for (let a = 0; a < nA; a++) max = Math.max(max, x[s * nA + a] * scale);
    let sum = 0;
    for (let a = 0; a < nA; a++) sum += out[s * nA + a] = Math.exp(x[s * nA + a] * scale - max);
    for (let a = 0; a < nA; a++) out[s * nA + a] /= sum;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Soft policy evaluation (Lemma 1).

/** V(s) = E_{a~pi}[Q(s,a) - alpha log pi(a|s)] = E_pi[Q] + alpha * H(pi(.|s)). */
export function softStateValue(mdp: FiniteMdp, pi: Policy, Q: QTable): Float64Array {
  const { nS, nA, alpha } = mdp;
  const V = new Float64Array(nS);
  for (let s = 0; s < nS; s++) {
    let v = 0;
    for (let a = 0; a < nA; a++) v += pi[s * nA + a] * Q[s * nA + a] - alpha * xLogX(pi[s * nA + a]);
    V[s] = v;
  }
  return V;
}

/** Q'(s,a) = r(s,a) + gamma * sum_s' P(s'|s,a) V(s'). */
export function backupFromStateValue(mdp: FiniteMdp, V: Float64Array): QTable {
  const { nS, nA, P, r, gamma } = mdp;
  const Q = new Float64Array(nS * nA);
  for (let sa = 0; sa < nS * nA; sa++) {
    let ev = 0;
    for (let s2 = 0; s2 < nS; s2++) ev += P[sa * nS + s2] * V[s2];
    Q[sa] = r[sa] + gamma * ev;
  }
  return Q;
}

/** The soft Bellman backup operator T^pi of the paper's equation (2). */
export function softBellmanBackup(mdp: FiniteMdp, pi: Policy, Q: QTable): QTable {
  return backupFromStateValue(mdp, softStateValue(mdp, pi, Q));
}

export interface IterativeEvaluation {
  Q: QTable;
  iterations: number;
  converged: boolean;
  /** gaps[k] = max |Q_{k+1} - Q_k|: T^pi is a gamma-contraction, so gaps[k+1] <= gamma gaps[k]. */
  gaps: number[];
}

export interface IterativeOptions {
  /** Stop once the sup-norm distance to the fixed point is guaranteed below tolerance * max(1, |Q|). */
  tolerance?: number;
  maxIterations?: number;
  /** Starting Q (zeros by default); any start converges to the same fixed point. */
  Q0?: QTable;
}

/**
 * Lemma 1: Q_{k+1} = T^pi Q_k converges to Q^pi from any start. Stops by the contraction bound
 * |Q_{k+1} - Q^pi| <= gamma / (1 - gamma) * |Q_{k+1} - Q_k|, so `tolerance` bounds the true
 * relative error (up to floating-point rounding).
 */
export function softPolicyEvaluationIterative(mdp: FiniteMdp, pi: Policy, options: IterativeOptions = {}): IterativeEvaluation {
  validatePolicy(pi, mdp.nS, mdp.nA);
  const { tolerance = 1e-10, maxIterations = 100_000 } = options;
  let Q: QTable = options.Q0 ? Float64Array.from(options.Q0) : new Float64Array(mdp.nS * mdp.nA);
  const gaps: number[] = [];
  const bound = mdp.gamma / (1 - mdp.gamma);
  for (let k = 0; k < maxIterations; k++) {
    const next = softBellmanBackup(mdp, pi, Q);
    const gap = maxAbsDiff(next, Q);
    gaps.push(gap);
    Q = next;
    if (bound * gap <= tolerance * magnitude(Q)) return { Q, iterations: k + 1, converged: true, gaps };
  }
  return { Q, iterations: maxIterations, converged: false, gaps };
}

/**
 * Q^pi in closed form: V = r_pi + alpha H_pi + gamma P_pi V is linear in V, so solve
 * (I - gamma P_pi) V = r_pi + alpha H_pi, then Q = r + gamma P V.
 */
export function softPolicyEvaluationExact(mdp: FiniteMdp, pi: Policy): QTable {
  validatePolicy(pi, mdp.nS, mdp.nA);
  const { nS, nA, P, r, gamma, alpha } = mdp;
  const A = new Float64Array(nS * nS);
  const b = new Float64Array(nS);
  for (let s = 0; s < nS; s++) {
    A[s * nS + s] = 1;
    for (let a = 0; a < nA; a++) {
      const p = pi[s * nA + a];
      if (p === 0) continue;
      b[s] += p * r[s * nA + a] - alpha * xLogX(p);
      for (let s2 = 0; s2 < nS; s2++) A[s * nS + s2] -= gamma * p * P[(s * nA + a) * nS + s2];
    }
  }
  return backupFromStateValue(mdp, solveLinearSystem(A, b, nS));
}

// ---------------------------------------------------------------------------------------------
// Soft policy improvement (Lemma 2) and policy classes.

/**
 * A set Pi of policies, per state (a product over states). Improvement picks, in each state,
 * the member closest in KL to the Gibbs policy exp(Q/alpha)/Z: the paper's information projection.
 */
export interface PolicyClass {
  readonly name: string;
  /** out = argmin_{p in class} KL(p || target), for one distribution over nA actions. */
  project(target: Float64Array, out: Float64Array): void;
  /** Whether one state's action distribution belongs to the class. */
  contains(dist: Float64Array): boolean;
}

/** All policies: the projection is the identity, so improvement is exactly exp(Q/alpha)/Z. */
export const allPolicies: PolicyClass = {
  name: 'all policies',
  project(target, out) {
    out.set(target);
  },
  contains() {
    return true;
  },
};

/**
 * Policies giving every action at least `floor` probability (an epsilon-soft class). The KL
 * projection has the closed form p(a) = max(floor, c * target(a)) with c set so sum p = 1
 * (the KKT conditions of the convex problem: free coordinates keep target's ratios).
 */
export function floorPolicies(floor: number, nA: number): PolicyClass {
  if (!(floor >= 0 && floor * nA <= 1)) throw new Error(`floorPolicies: floor must be in [0, 1/nA] = [0, ${1 / nA}], got ${floor}`);
  return {
    name: `policies with pi(a|s) >= ${floor}`,
    project(target, out) {
      // Clamp actions below the floor until the rest, rescaled, all stay above it. Each round
      // lowers c, so the clamped set only grows and the loop ends in at most nA rounds.
      const clamped = new Uint8Array(nA);
      let c = 1;
      for (let round = 0; round <= nA; round++) {
        let freeMass = 0;
        let nClamped = 0;
        for (let a = 0; a < nA; a++) {
          if (clamped[a]) nClamped++;
          else freeMass += target[a];
        }
        if (freeMass <= 0) {
          out.fill(1 / nA); // floor * nA = 1 leaves only the uniform policy
          return;
        }
        c = (1 - nClamped * floor) / freeMass;
        let changed = false;
        for (let a = 0; a < nA; a++) {
          if (!clamped[a] && c * target[a] < floor) {
            clamped[a] = 1;
            changed = true;
          }
        }
        if (!changed) break;
      }
      for (let a = 0; a < nA; a++) out[a] = clamped[a] ? floor : c * target[a];
    },
    contains(dist) {
      return dist.every((p) => p >= floor - 1e-12);
    },
  };
}

export function policyInClass(pi: Policy, nS: number, nA: number, policyClass: PolicyClass): boolean {
  for (let s = 0; s < nS; s++) if (!policyClass.contains(pi.subarray(s * nA, (s + 1) * nA))) return false;
  return true;
}

/** KL(p || q) for two distributions over actions (infinite when p puts mass where q has none). */
export function klDivergence(p: Float64Array, q: Float64Array): number {
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) continue;
    if (q[i] === 0) return Infinity;
    kl += p[i] * (Math.log(p[i]) - Math.log(q[i]));
  }
  return kl;
}

/** The Gibbs policy exp(Q(s,.)/alpha) / Z(s), shifted by the row max so it never overflows. */
export function gibbsPolicy(mdp: FiniteMdp, Q: QTable): Policy {
  if (!(mdp.alpha > 0)) throw new Error(`gibbsPolicy: needs alpha > 0, got ${mdp.alpha}`);
  return softmaxRows(Q, mdp.nS, mdp.nA, 1 / mdp.alpha);
}

/** Soft policy improvement, the paper's equation (4): per state, project the Gibbs policy onto the class. */
export function softPolicyImprovement(mdp: FiniteMdp, Q: QTable, policyClass: PolicyClass = allPolicies): Policy {
  const { nS, nA } = mdp;
  const gibbs = gibbsPolicy(mdp, Q);
  if (policyClass === allPolicies) return gibbs;
  const pi = new Float64Array(nS * nA);
  for (let s = 0; s < nS; s++) policyClass.project(gibbs.subarray(s * nA, (s + 1) * nA), pi.subarray(s * nA, (s + 1) * nA));
  return pi;
}

/**
 * Ordinary (hard) improvement: argmax_a Q(s,a), ties to the lowest action. The optimal step for
 * alpha = 0; under an entropy bonus it is NOT soft policy improvement (it discards the entropy).
 */
export function greedyPolicyImprovement(mdp: Pick<FiniteMdp, 'nS' | 'nA'>, Q: QTable): Policy {
  const { nS, nA } = mdp;
  const actions = new Int32Array(nS);
  for (let s = 0; s < nS; s++) {
    let best = 0;
    for (let a = 1; a < nA; a++) if (Q[s * nA + a] > Q[s * nA + best]) best = a;
    actions[s] = best;
  }
  return deterministicPolicy(actions, nA);
}

// ---------------------------------------------------------------------------------------------
// Soft policy iteration (Theorem 1) and soft value iteration.

export interface PolicyIterationStep {
  policy: Policy;
  /** Q of `policy` (exact). */
  Q: QTable;
}

export interface PolicyIterationResult {
  policy: Policy;
  Q: QTable;
  iterations: number;
  converged: boolean;
  /** Every evaluated policy in order, history[0] being the start. */
  history: PolicyIterationStep[];
}

export interface PolicyIterationOptions {
  /** Start policy (uniform by default). It must lie in the class for Lemma 2 to apply. */
  initialPolicy?: Policy;
  /** Stop when Q changes by at most tolerance * max(1, |Q|) (sup norm) between iterations. */
  tolerance?: number;
  maxIterations?: number;
}

/** Generic policy iteration: exact evaluation, then `improve`, until Q stops moving. */
export function policyIteration(
  mdp: FiniteMdp,
  improve: (Q: QTable) => Policy,
  options: PolicyIterationOptions = {},
): PolicyIterationResult {
  validateMdp(mdp);
  const { tolerance = 1e-11, maxIterations = 1000 } = options;
  let policy = options.initialPolicy ?? uniformPolicy(mdp.nS, mdp.nA);
  let Q = softPolicyEvaluationExact(mdp, policy);
  const history: PolicyIterationStep[] = [{ policy, Q }];
  for (let k = 1; k <= maxIterations; k++) {
    const nextPolicy = improve(Q);
    const nextQ = softPolicyEvaluationExact(mdp, nextPolicy);
    history.push({ policy: nextPolicy, Q: nextQ });
    const change = maxAbsDiff(nextQ, Q);
    policy = nextPolicy;
    Q = nextQ;
    if (change <= tolerance * magnitude(Q)) return { policy, Q, iterations: k, converged: true, history };
  }
  return { policy, Q, iterations: maxIterations, converged: false, history };
}

/** Soft policy iteration (section 4.1): alternate exact soft evaluation and soft improvement. */
export function softPolicyIteration(
  mdp: FiniteMdp,
  options: PolicyIterationOptions & { policyClass?: PolicyClass } = {},
): PolicyIterationResult {
  const policyClass = options.policyClass ?? allPolicies;
  if (options.initialPolicy && !policyInClass(options.initialPolicy, mdp.nS, mdp.nA, policyClass)) {
    throw new Error(`softPolicyIteration: the initial policy is not in the class (${policyClass.name})`);
  }
  const initialPolicy = options.initialPolicy ?? softPolicyImprovement(mdp, new Float64Array(mdp.nS * mdp.nA), policyClass);
  return policyIteration(mdp, (Q) => softPolicyImprovement(mdp, Q, policyClass), { ...options, initialPolicy });
}

export interface ValueIterationResult {
  Q: QTable;
  V: Float64Array;
  /** The policy attaining V: the projected Gibbs policy of Q. */
  policy: Policy;
  iterations: number;
  converged: boolean;
}

/**
 * Soft value iteration: Q <- r + gamma P V with V(s) = max_{pi in class} E_pi[Q - alpha log pi].
 * Over all policies that maximum is alpha * log sum_a exp(Q(s,a)/alpha) (Gibbs' variational
 * principle); over a class it is attained by the class's KL projection of the Gibbs policy.
 * A gamma-contraction, stopped by the same bound as iterative evaluation.
 */
export function softValueIteration(
  mdp: FiniteMdp,
  options: Omit<IterativeOptions, 'Q0'> & { policyClass?: PolicyClass } = {},
): ValueIterationResult {
  validateMdp(mdp);
  if (!(mdp.alpha > 0)) throw new Error(`softValueIteration: needs alpha > 0, got ${mdp.alpha}`);
  const { tolerance = 1e-10, maxIterations = 100_000, policyClass = allPolicies } = options;
  const { nS, nA, alpha } = mdp;
  const optimalValue = (Q: QTable): Float64Array => {
    if (policyClass !== allPolicies) return softStateValue(mdp, softPolicyImprovement(mdp, Q, policyClass), Q);
    const V = new Float64Array(nS);
    for (let s = 0; s < nS; s++) V[s] = alpha * logSumExp(Q, s * nA, nA, 1 / alpha);
    return V;
  };
  const bound = mdp.gamma / (1 - mdp.gamma);
  let Q: QTable = new Float64Array(nS * nA);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    const next = backupFromStateValue(mdp, optimalValue(Q));
    const gap = maxAbsDiff(next, Q);
    Q = next;
    iterations++;
    if (bound * gap <= tolerance * magnitude(Q)) {
      converged = true;
      break;
    }
  }
  return { Q, V: optimalValue(Q), policy: softPolicyImprovement(mdp, Q, policyClass), iterations, converged };
}
