/**
 * Lock-free single-producer / single-consumer ring of transitions in a SharedArrayBuffer:
 * the control loop writes, the learner worker reads. Neither side ever blocks the other.
 *
 * Layout: an Int32 header [head, tail, dropped] then `capacity` records of float32
 * (observation, action, reward, next observation, terminated). head and tail are free-running
 * uint32 counters (capacity is a power of two, so slots stay continuous across wrap-around). The producer writes a record, then publishes it with Atomics.store(head);
 * the consumer reads records below Atomics.load(head), then frees them with Atomics.store(tail).
 * Atomics are sequentially consistent in JS, so the record's plain writes are visible to a
 * consumer that sees the new head. A full ring drops the new transition (counted): the control
 * tick never waits for the learner.
 */

const HEAD = 0;
const TAIL = 1;
const DROPPED = 2;
const HEADER_INTS = 4;

export interface TransitionLayout {
  observationSize: number;
  actionSize: number;
  capacity: number;
}

/** One transition; arrays are views valid until the next read. */
export interface TransitionView {
  observation: Float32Array;
  action: Float32Array;
  reward: number;
  nextObservation: Float32Array;
  terminated: boolean;
}

export function recordFloats(l: TransitionLayout): number {
  return 2 * l.observationSize + l.actionSize + 2;
}

export function createTransitionRingBuffer(l: TransitionLayout): SharedArrayBuffer {
  // A power of two keeps slot = counter mod capacity continuous when the uint32 counters wrap.
  if (!(Number.isInteger(l.capacity) && l.capacity > 0 && l.capacity <= 2 ** 24 && (l.capacity & (l.capacity - 1)) === 0)) {
    throw new Error(`transition ring: capacity must be a power of two up to 2^24, got ${l.capacity}`);
  }
  return new SharedArrayBuffer(HEADER_INTS * 4 + l.capacity * recordFloats(l) * 4);
}

class RingBase {
  protected readonly header: Int32Array;
  protected readonly records: Float32Array;
  protected readonly stride: number;
  constructor(readonly buffer: SharedArrayBuffer, readonly layout: TransitionLayout) {
    this.stride = recordFloats(layout);
    const expected = HEADER_INTS * 4 + layout.capacity * this.stride * 4;
    if (buffer.byteLength !== expected) throw new Error(`transition ring: buffer has ${buffer.byteLength} bytes, layout needs ${expected}`);
    this.header = new Int32Array(buffer, 0, HEADER_INTS);
    this.records = new Float32Array(buffer, HEADER_INTS * 4);
  }
  /** Transitions waiting to be read. */
  get pending(): number {
    return (Atomics.load(this.header, HEAD) - Atomics.load(this.header, TAIL)) >>> 0;
  }
  get dropped(): number {
    return Atomics.load(this.header, DROPPED) >>> 0;
  }
  /** Index of the head counter, for Atomics.wait/notify on `header`. */
  get headerView(): Int32Array {
    return this.header;
  }
}

export class TransitionWriter extends RingBase {
  /** Append a transition; false (and counted) when the ring is full. */
  push(observation: ArrayLike<number>, action: ArrayLike<number>, reward: number, nextObservation: ArrayLike<number>, terminated: boolean): boolean {
    const { observationSize: o, actionSize: a, capacity } = this.layout;
    if (observation.length !== o || nextObservation.length !== o || action.length !== a) {
      throw new Error(`transition ring: sizes obs ${observation.length}/${nextObservation.length}, action ${action.length}; expected ${o}, ${a}`);
    }
    const head = Atomics.load(this.header, HEAD);
    const tail = Atomics.load(this.header, TAIL);
    if (((head - tail) >>> 0) >= capacity) {
      Atomics.add(this.header, DROPPED, 1);
      return false;
    }
    const base = ((head >>> 0) % capacity) * this.stride;
    const r = this.records;
    for (let i = 0; i < o; i++) r[base + i] = observation[i];
    for (let i = 0; i < a; i++) r[base + o + i] = action[i];
    r[base + o + a] = reward;
    for (let i = 0; i < o; i++) r[base + o + a + 1 + i] = nextObservation[i];
    r[base + 2 * o + a + 1] = terminated ? 1 : 0;
    Atomics.store(this.header, HEAD, (head + 1) | 0);
    Atomics.notify(this.header, HEAD);
    return true;
  }
}

export class TransitionReader extends RingBase {
  private readonly view: TransitionView;
  constructor(buffer: SharedArrayBuffer, layout: TransitionLayout) {
    super(buffer, layout);
    const o = layout.observationSize;
    this.view = { observation: new Float32Array(o), action: new Float32Array(layout.actionSize), reward: 0, nextObservation: new Float32Array(o), terminated: false };
  }

  /** Call `visit` for up to `max` pending transitions (oldest first); returns how many were read. */
  drain(visit: (t: TransitionView) => void, max = Infinity): number {
    const { observationSize: o, actionSize: a, capacity } = this.layout;
    const head = Atomics.load(this.header, HEAD);
    let tail = Atomics.load(this.header, TAIL);
    let n = 0;
    const v = this.view;
    while (tail !== head && n < max) {
      const base = ((tail >>> 0) % capacity) * this.stride;
      v.observation.set(this.records.subarray(base, base + o));
      v.action.set(this.records.subarray(base + o, base + o + a));
      v.reward = this.records[base + o + a];
      v.nextObservation.set(this.records.subarray(base + o + a + 1, base + 2 * o + a + 1));
      v.terminated = this.records[base + 2 * o + a + 1] !== 0;
      // Free the slot before visiting: the copy above is ours now.
      tail = (tail + 1) | 0;
      Atomics.store(this.header, TAIL, tail);
      visit(v);
      n++;
    }
    return n;
  }

  /** Block (worker threads only) until something is pending or `timeoutMs` passes. */
  waitForData(timeoutMs: number): boolean {
    const head = Atomics.load(this.header, HEAD);
    if (head !== Atomics.load(this.header, TAIL)) return true;
    return Atomics.wait(this.header, HEAD, head, timeoutMs) !== 'timed-out' || this.pending > 0;
  }
}
