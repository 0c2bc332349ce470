/**
 * A stand-in learner that costs what a SAC update costs on the CPU, for benchmarks and for
 * exercising the worker plumbing before SoftActorCritic is wired in: each update runs
 * `gemmsPerUpdate` dense float32 matrix products of `gemmSize`^3 (plain loops, one thread),
 * then nudges the actor weights so every published version is distinct: all floats of
 * version v equal v (so a torn read is detectable).
 */
import type { ActorWeights, DenseWeights } from '../agent/policy.js';
import type { CreateLearner, Learner, LearnerInit } from './learnerApi.js';
import type { TransitionView } from './transitionRing.js';

function zeroActor(init: LearnerInit): ActorWeights {
  const dense = (inSize: number, outSize: number): DenseWeights => ({ inSize, outSize, kernel: new Float32Array(inSize * outSize), bias: new Float32Array(outSize) });
  const hidden: DenseWeights[] = [];
  let inSize = init.actor.observationSize;
  for (const h of init.actor.hiddenSizes) { hidden.push(dense(inSize, h)); inSize = h; }
  const w: ActorWeights = { hidden, mean: dense(inSize, init.actor.actionSize), logStd: dense(inSize, init.actor.actionSize) };
  if (!init.actor.normalizer) return w;
  return { ...w, normalizer: { mean: new Float32Array(init.actor.observationSize), std: new Float32Array(init.actor.observationSize), clip: 0 } };
}

/** C += A B for n x n row-major matrices (i-k-j order, contiguous inner loop). */
export function gemm(n: number, a: Float32Array, b: Float32Array, c: Float32Array): void {
  for (let i = 0; i < n; i++) {
    const ci = i * n;
    for (let k = 0; k < n; k++) {
      const aik = a[ci + k];
      const bk = k * n;
      for (let j = 0; j < n; j++) c[ci + j] += aik * b[bk + j];
    }
  }
}

export const createLearner: CreateLearner = (init) => {
  const n = Number(init.options.gemmSize ?? 128);
  const reps = Number(init.options.gemmsPerUpdate ?? 6);
  const a = new Float32Array(n * n).fill(0.001), b = new Float32Array(n * n).fill(0.002), c = new Float32Array(n * n);
  const weights = zeroActor(init);
  let observed = 0, updates = 0, rewardSum = 0;
  const fillAll = (v: number): void => {
    const layers = [...weights.hidden, weights.mean, weights.logStd];
    for (const d of layers) { (d.kernel as Float32Array).fill(v); (d.bias as Float32Array).fill(v); }
    if (weights.normalizer) {
      (weights.normalizer.mean as Float32Array).fill(v);
      (weights.normalizer.std as Float32Array).fill(v);
      (weights.normalizer as { clip: number }).clip = v;
    }
  };
  const learner: Learner = {
    observe(t: TransitionView): void {
      observed++;
      rewardSum += t.reward;
    },
    update(): Record<string, number> {
      for (let r = 0; r < reps; r++) gemm(n, a, b, c);
      updates++;
      fillAll(updates);
      return { observed, updates, meanReward: rewardSum / Math.max(1, observed), checksum: c[0] };
    },
    actorWeights: () => weights,
  };
  return learner;
};
