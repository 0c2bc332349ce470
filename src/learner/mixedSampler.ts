/**
 * Samples training batches from two replay buffers, simulation and robot, at a configured
 * ratio: `robotFraction` of each batch comes from the robot buffer (while it holds anything),
 * the rest from the sim buffer. Works against a minimal buffer interface, which the agent's
 * ReplayBuffer (src/agent/replayBuffer.ts: `size`, `sample(batchSize, rng)`) satisfies as is;
 * the mixed batch has the same shape as its TransitionBatch, ready for SoftActorCritic.update.
 */
import { allocateBatch, type TransitionBatch } from '../agent/replayBuffer.js';
import type { Rng } from '../util/rng.js';

export { allocateBatch, type TransitionBatch };

export interface SampleableBuffer {
  /** Transitions held. */
  readonly size: number;
  /** Uniformly sample `batchSize` transitions (with replacement); the batch may be reused by the buffer. */
  sample(batchSize: number, rng: Rng): TransitionBatch;
}

export class MixedSampler {
  /** How many rows of the last batch came from the robot buffer (they come first). */
  lastRobotRows = 0;
  private readonly out: TransitionBatch;

  constructor(
    private readonly sim: SampleableBuffer,
    private readonly robot: SampleableBuffer,
    private readonly robotFraction: number,
    readonly batchSize: number,
    private readonly observationSize: number,
    private readonly actionSize: number,
  ) {
    if (!(robotFraction >= 0 && robotFraction <= 1)) throw new Error(`mixed sampler: robotFraction must be in [0, 1], got ${robotFraction}`);
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`mixed sampler: batchSize must be a positive integer, got ${batchSize}`);
    this.out = allocateBatch(batchSize, observationSize, actionSize);
  }

  /** Robot rows per batch: round(n * fraction); all when sim is empty, none while the robot buffer is. */
  robotRows(): number {
    if (this.robot.size === 0) return 0;
    if (this.sim.size === 0) return this.batchSize;
    return Math.round(this.batchSize * this.robotFraction);
  }

  /** A mixed batch (robot rows first), in arrays reused by the next call. */
  sample(rng: Rng): TransitionBatch {
    const r = this.robotRows();
    if (r < this.batchSize && this.sim.size === 0) throw new Error('mixed sampler: both replay buffers are empty');
    if (r > 0) this.copy(this.robot.sample(r, rng), 0);
    if (r < this.batchSize) this.copy(this.sim.sample(this.batchSize - r, rng), r);
    this.lastRobotRows = r;
    return this.out;
  }

  private copy(from: TransitionBatch, row: number): void {
    const o = this.observationSize, a = this.actionSize, n = from.size;
    if (from.observations.length !== n * o || from.actions.length !== n * a) {
      throw new Error(`mixed sampler: a buffer sampled rows of ${from.observations.length / n} observation and ${from.actions.length / n} action values, expected ${o} and ${a}`);
    }
    this.out.observations.set(from.observations, row * o);
    this.out.nextObservations.set(from.nextObservations, row * o);
    this.out.actions.set(from.actions, row * a);
    this.out.rewards.set(from.rewards, row);
    this.out.terminated.set(from.terminated, row);
  }
}
