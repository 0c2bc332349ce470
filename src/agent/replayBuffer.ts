import type { Rng } from '../util/rng.js';

/** A sampled minibatch, row-major, in arrays owned by the buffer and reused on every sample. */
export interface TransitionBatch {
  readonly size: number;
  readonly observations: Float32Array;
  readonly actions: Float32Array;
  readonly rewards: Float32Array;
  readonly nextObservations: Float32Array;
  /** 1 where the transition reached a terminal state (no bootstrap), else 0. */
  readonly terminated: Float32Array;
}

/** An empty batch of the given shape (reused by samplers across calls). */
export function allocateBatch(batchSize: number, observationSize: number, actionSize: number): TransitionBatch {
  return {
    size: batchSize,
    observations: new Float32Array(batchSize * observationSize),
    actions: new Float32Array(batchSize * actionSize),
    rewards: new Float32Array(batchSize),
    nextObservations: new Float32Array(batchSize * observationSize),
    terminated: new Float32Array(batchSize),
  };
}

export interface ReplayBufferOptions {
  capacity: number;
  observationSize: number;
  actionSize: number;
  /** Allocate the storage in a SharedArrayBuffer so a learner worker can read it. */
  shared?: boolean;
}

/** Everything a worker needs to attach to a shared buffer (see ReplayBuffer.attach). */
export interface SharedReplayHandle {
  options: ReplayBufferOptions;
  storage: SharedArrayBuffer;
}

/** Replay buffer contents for a checkpoint: only the filled rows, in ring order. */
export interface ReplaySnapshot {
  capacity: number;
  observationSize: number;
  actionSize: number;
  size: number;
  next: number;
  added: number;
  data: Uint8Array;
}

const COUNTERS = 3; // size, next, added (Float64, so `added` counts past 2^32)

/**
 * Fixed-capacity ring of transitions in preallocated Float32Arrays, sampled uniformly with a
 * seeded Rng. All columns and the counters live in one ArrayBuffer (or SharedArrayBuffer), so
 * a worker attaches to the very same memory.
 */
export class ReplayBuffer {
  readonly capacity: number;
  readonly observationSize: number;
  readonly actionSize: number;
  readonly storage: ArrayBuffer | SharedArrayBuffer;
  private readonly counters: Float64Array;
  private readonly obs: Float32Array;
  private readonly act: Float32Array;
  private readonly rew: Float32Array;
  private readonly nextObs: Float32Array;
  private readonly term: Float32Array;
  private batch: TransitionBatch | null = null;

  constructor(options: ReplayBufferOptions, storage?: ArrayBuffer | SharedArrayBuffer) {
    const { capacity, observationSize, actionSize } = options;
    for (const [k, v] of Object.entries({ capacity, observationSize, actionSize })) {
      if (!Number.isInteger(v) || v <= 0) throw new Error(`replay buffer: ${k} must be a positive integer, got ${v}`);
    }
    this.capacity = capacity;
    this.observationSize = observationSize;
    this.actionSize = actionSize;
    const floats = capacity * (2 * observationSize + actionSize + 2);
    const bytes = COUNTERS * 8 + floats * 4;
    if (storage !== undefined && storage.byteLength !== bytes) {
      throw new Error(`replay buffer: storage has ${storage.byteLength} bytes, these options need ${bytes}`);
    }
    this.storage = storage ?? (options.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    this.counters = new Float64Array(this.storage, 0, COUNTERS);
    let off = COUNTERS * 8;
    const column = (width: number): Float32Array => {
      const a = new Float32Array(this.storage, off, capacity * width);
      off += capacity * width * 4;
      return a;
    };
    this.obs = column(observationSize);
    this.act = column(actionSize);
    this.rew = column(1);
    this.nextObs = column(observationSize);
    this.term = column(1);
  }

  /** Attach to a buffer created with `shared: true` in another thread. */
  static attach(handle: SharedReplayHandle): ReplayBuffer {
    return new ReplayBuffer(handle.options, handle.storage);
  }

  handle(): SharedReplayHandle {
    if (!(this.storage instanceof SharedArrayBuffer)) throw new Error('replay buffer is not shared (create it with shared: true)');
    return {
      options: { capacity: this.capacity, observationSize: this.observationSize, actionSize: this.actionSize, shared: true },
      storage: this.storage,
    };
  }

  /** Transitions currently held (<= capacity). */
  get size(): number {
    return this.counters[0];
  }

  /** Transitions ever added. */
  get added(): number {
    return this.counters[2];
  }

  add(observation: ArrayLike<number>, action: ArrayLike<number>, reward: number, nextObservation: ArrayLike<number>, terminated: boolean): void {
    const i = this.counters[1];
    const o = this.observationSize;
    const a = this.actionSize;
    for (let j = 0; j < o; j++) {
      this.obs[i * o + j] = observation[j];
      this.nextObs[i * o + j] = nextObservation[j];
    }
    for (let j = 0; j < a; j++) this.act[i * a + j] = action[j];
    this.rew[i] = reward;
    this.term[i] = terminated ? 1 : 0;
    this.counters[1] = (i + 1) % this.capacity;
    this.counters[0] = Math.min(this.counters[0] + 1, this.capacity);
    this.counters[2] += 1;
  }

  /** Uniformly sample `batchSize` transitions (with replacement) into reused arrays. */
  sample(batchSize: number, rng: Rng): TransitionBatch {
    const n = this.size;
    if (n === 0) throw new Error('replay buffer: cannot sample from an empty buffer');
    const o = this.observationSize;
    const a = this.actionSize;
    let b = this.batch;
    if (b === null || b.size !== batchSize) {
      b = allocateBatch(batchSize, o, a);
      this.batch = b;
    }
    for (let k = 0; k < batchSize; k++) {
      const i = rng.int(n);
      b.observations.set(this.obs.subarray(i * o, (i + 1) * o), k * o);
      b.nextObservations.set(this.nextObs.subarray(i * o, (i + 1) * o), k * o);
      b.actions.set(this.act.subarray(i * a, (i + 1) * a), k * a);
      b.rewards[k] = this.rew[i];
      b.terminated[k] = this.term[i];
    }
    return b;
  }

  /** Row `i` of the storage (for tests and inspection). */
  row(i: number): { observation: Float32Array; action: Float32Array; reward: number; nextObservation: Float32Array; terminated: boolean } {
    const o = this.observationSize;
    const a = this.actionSize;
    return {
      observation: this.obs.slice(i * o, (i + 1) * o),
      action: this.act.slice(i * a, (i + 1) * a),
      reward: this.rew[i],
      nextObservation: this.nextObs.slice(i * o, (i + 1) * o),
      terminated: this.term[i] === 1,
    };
  }

  /** The filled rows of every column (storage order), for a checkpoint. */
  snapshot(): ReplaySnapshot {
    const n = this.size;
    const o = this.observationSize;
    const a = this.actionSize;
    const parts = [this.obs.subarray(0, n * o), this.act.subarray(0, n * a), this.rew.subarray(0, n), this.nextObs.subarray(0, n * o), this.term.subarray(0, n)];
    const data = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
    let off = 0;
    for (const p of parts) {
      data.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), off);
      off += p.byteLength;
    }
    return { capacity: this.capacity, observationSize: o, actionSize: a, size: n, next: this.counters[1], added: this.counters[2], data };
  }

  restore(s: ReplaySnapshot): void {
    if (s.observationSize !== this.observationSize || s.actionSize !== this.actionSize) {
      throw new Error(`replay snapshot has obs ${s.observationSize} / action ${s.actionSize}, the buffer ${this.observationSize} / ${this.actionSize}`);
    }
    if (s.capacity !== this.capacity) {
      throw new Error(`replay snapshot has capacity ${s.capacity}, the buffer ${this.capacity}`);
    }
    const n = s.size;
    if (!Number.isInteger(n) || n < 0 || n > this.capacity || !(s.next >= 0 && s.next < this.capacity) || s.added < n) {
      throw new Error(`replay snapshot counters are inconsistent (size ${n}, next ${s.next}, added ${s.added})`);
    }
    const o = this.observationSize;
    const a = this.actionSize;
    const expected = 4 * n * (2 * o + a + 2);
    if (s.data.byteLength !== expected) throw new Error(`replay snapshot data has ${s.data.byteLength} bytes, expected ${expected}`);
    // Copy through a fresh aligned buffer: the blob may sit at any byte offset.
    const f = new Float32Array(s.data.slice().buffer);
    let off = 0;
    const take = (dst: Float32Array, len: number): void => {
      dst.set(f.subarray(off, off + len));
      off += len;
    };
    take(this.obs, n * o);
    take(this.act, n * a);
    take(this.rew, n);
    take(this.nextObs, n * o);
    take(this.term, n);
    this.counters[0] = n;
    this.counters[1] = s.next;
    this.counters[2] = s.added;
  }
}
