import type { TransitionBatch } from '../../src/agent/replayBuffer.js';
import type { Rng } from '../../src/util/rng.js';

/** HalfCheetah shapes (obs 17, act 6), batch 256: what the SAC equivalence tests update on. */
export const OBS = 17;
export const ACT = 6;
export const B = 256;

/** A replay-like batch: normal observations and rewards, actions inside (-1, 1), every 17th row terminal. */
export function batchOf(rng: Rng): TransitionBatch {
  const f = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
  return {
    size: B,
    observations: f(B * OBS),
    actions: Float32Array.from({ length: B * ACT }, () => rng.range(-0.95, 0.95)),
    rewards: f(B),
    nextObservations: f(B * OBS),
    terminated: Float32Array.from({ length: B }, (_, i) => (i % 17 === 0 ? 1 : 0)),
  };
}
