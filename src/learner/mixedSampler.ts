/**
 * Samples training batches from two replay buffers, simulation and robot, at a configured
 * ratio: `robotFraction` of each batch comes from the robot buffer (while it holds anything),
 * the rest from the sim buffer. Works against a minimal buffer interface so any replay buffer
 * with index-gather can take part.
 */
import type { Rng } from '../util/rng.js';

/** A batch of transitions in flat float32 arrays (row i at i * size). */
export interface TransitionBatch {
  readonly size: number;
  readonly observations: Float32Array;
  readonly actions: Float32Array;
  readonly rewards: Float32Array;
  readonly nextObservations: Float32Array;
  readonly dones: Float32Array;
}

export interface SampleableBuffer {
  /** Transitions held. */
  readonly size: number;
  /** Copy transition `index` (0 <= index < size) into row `row` of `out`. */
  gather(index: number, out: TransitionBatch, row: number): void;
}

export function allocateBatch(batchSize: number, observationSize: number, actionSize: number): TransitionBatch {
  return {
    size: batchSize,
    observations: new Float32Array(batchSize * observationSize),
    actions: new Float32Array(batchSize * actionSize),
    rewards: new Float32Array(batchSize),
    nextObservations: new Float32Array(batchSize * observationSize),
    dones: new Float32Array(batchSize),
  };
}

export class MixedSampler {
  /** How many rows of the last batch came from the robot buffer. */
  lastRobotRows = 0;

  constructor(
    private readonly sim: SampleableBuffer,
    private readonly robot: SampleableBuffer,
    private readonly robotFraction: number,
    private readonly rng: Rng,
  ) {
    if (!(robotFraction >= 0 && robotFraction <= 1)) throw new Error(`mixed sampler: robotFraction must be in [0, 1], got ${robotFraction}`);
  }

  /** Robot rows for a batch of `n`: round(n * fraction), all when sim is empty, none when the robot buffer is. */
  robotRows(n: number): number {
    if (this.robot.size === 0) return 0;
    if (this.sim.size === 0) return n;
    return Math.round(n * this.robotFraction);
  }

  /** Fill `out` (uniform with replacement within each buffer; robot rows first). */
  sample(out: TransitionBatch): TransitionBatch {
    const n = out.size;
    const r = this.robotRows(n);
    if (r < n && this.sim.size === 0) throw new Error('mixed sampler: both replay buffers are empty');
    for (let i = 0; i < r; i++) this.robot.gather(this.rng.int(this.robot.size), out, i);
    for (let i = r; i < n; i++) this.sim.gather(this.rng.int(this.sim.size), out, i);
    this.lastRobotRows = r;
    return out;
  }
}
