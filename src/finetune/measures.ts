/**
 * The fine-tuning session's pure math: copies and flat views of actor weights, the policy's
 * drift from the sim actor, the Monte Carlo return of an episode.
 */
import type { ActorWeights } from '../agent/policy.js';

/** A deep copy of actor weights (the learner's and the policy's arrays are reused). Pure. */
export function copyActor(w: ActorWeights): ActorWeights {
  const layer = (l: ActorWeights['mean']): ActorWeights['mean'] => ({ ...l, kernel: l.kernel.slice(), bias: l.bias.slice() });
  return {
    hidden: w.hidden.map(layer), mean: layer(w.mean), logStd: layer(w.logStd),
    ...(w.normalizer === undefined ? {} : { normalizer: { mean: w.normalizer.mean.slice(), std: w.normalizer.std.slice(), clip: w.normalizer.clip } }),
  };
}

/** Every weight and bias of an actor in one array (the normaliser apart). Pure. */
export function flatActor(w: ActorWeights): Float32Array {
  const layers = [...w.hidden, w.mean, w.logStd];
  const out = new Float32Array(layers.reduce((n, l) => n + l.kernel.length + l.bias.length, 0));
  let k = 0;
  for (const l of layers) {
    out.set(l.kernel, k);
    k += l.kernel.length;
    out.set(l.bias, k);
    k += l.bias.length;
  }
  return out;
}

/** sum_t gamma^t r_t: the discounted return of `rewards` from their first. Pure. */
export function discountedReturn(rewards: readonly number[], gamma: number): number {
  let g = 0;
  for (let t = rewards.length - 1; t >= 0; t--) g = rewards[t]! + gamma * g;
  return g;
}

/** ||w - ref|| / ||ref|| over all weights: how far an actor has moved from `ref`. Pure. */
export function relativeDistance(w: ActorWeights, ref: Float32Array): number {
  const x = flatActor(w);
  let d = 0, r = 0;
  for (let i = 0; i < ref.length; i++) {
    d += (x[i]! - ref[i]!) ** 2;
    r += ref[i]! ** 2;
  }
  return r > 0 ? Math.sqrt(d / r) : Math.sqrt(d);
}
