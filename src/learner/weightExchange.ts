/**
 * Hands actor weights from the learner thread to the control thread without tearing: a
 * triple buffer in a SharedArrayBuffer. The writer fills its private back buffer, then swaps
 * it with the shared middle slot in one Atomics.exchange (setting a "fresh" bit); the reader,
 * when the bit is set, swaps its front buffer with the middle in one exchange (clearing it).
 * Both sides are wait-free, a reader never sees a buffer that is being written, and the
 * newest complete weights always win (intermediate versions may be skipped).
 */
import type { ActorWeights, DenseWeights } from '../agent/policy.js';

/** Shapes of an actor (its ActorWeights without the numbers). */
export interface ActorLayout {
  observationSize: number;
  hiddenSizes: number[];
  actionSize: number;
  normalizer: boolean;
}

const STATE = 0;
const FRESH = 4;
const HEADER_BYTES = 16;

export function actorLayoutOf(w: ActorWeights): ActorLayout {
  return {
    observationSize: w.hidden.length > 0 ? w.hidden[0].inSize : w.mean.inSize,
    hiddenSizes: w.hidden.map((d) => d.outSize),
    actionSize: w.mean.outSize,
    normalizer: w.normalizer !== undefined,
  };
}

function denseShapes(l: ActorLayout): { inSize: number; outSize: number }[] {
  const shapes: { inSize: number; outSize: number }[] = [];
  let inSize = l.observationSize;
  for (const h of l.hiddenSizes) {
    shapes.push({ inSize, outSize: h });
    inSize = h;
  }
  shapes.push({ inSize, outSize: l.actionSize }, { inSize, outSize: l.actionSize });
  return shapes;
}

/** Floats in one copy of the weights (kernels, biases, normaliser mean/std/clip). */
export function actorFloats(l: ActorLayout): number {
  let n = 0;
  for (const d of denseShapes(l)) n += d.inSize * d.outSize + d.outSize;
  if (l.normalizer) n += 2 * l.observationSize + 1;
  return n;
}

function slotBytes(l: ActorLayout): number {
  // 8 bytes of version, then the floats, padded to 8.
  return 8 + Math.ceil((actorFloats(l) * 4) / 8) * 8;
}

export function createWeightExchangeBuffer(l: ActorLayout): SharedArrayBuffer {
  const buf = new SharedArrayBuffer(HEADER_BYTES + 3 * slotBytes(l));
  Atomics.store(new Int32Array(buf, 0, 4), STATE, 1); // middle = slot 1, not fresh
  return buf;
}

interface Slot {
  version: Float64Array;
  floats: Float32Array;
  weights: ActorWeights;
}

function makeSlot(buf: SharedArrayBuffer, l: ActorLayout, index: number): Slot {
  const base = HEADER_BYTES + index * slotBytes(l);
  const floats = new Float32Array(buf, base + 8, actorFloats(l));
  let off = 0;
  const take = (n: number): Float32Array => {
    const v = floats.subarray(off, off + n);
    off += n;
    return v;
  };
  const dense = denseShapes(l).map((s): DenseWeights => ({ inSize: s.inSize, outSize: s.outSize, kernel: take(s.inSize * s.outSize), bias: take(s.outSize) }));
  const logStd = dense.pop() as DenseWeights;
  const mean = dense.pop() as DenseWeights;
  let normalizer: ActorWeights['normalizer'];
  if (l.normalizer) {
    const m = take(l.observationSize), s = take(l.observationSize), clip = take(1);
    normalizer = { mean: m, std: s, get clip() { return clip[0]; } };
  }
  return { version: new Float64Array(buf, base, 1), floats, weights: normalizer ? { hidden: dense, mean, logStd, normalizer } : { hidden: dense, mean, logStd } };
}

function checkBuffer(buf: SharedArrayBuffer, l: ActorLayout): void {
  const need = HEADER_BYTES + 3 * slotBytes(l);
  if (buf.byteLength !== need) throw new Error(`weight exchange: buffer has ${buf.byteLength} bytes, the actor layout needs ${need}`);
}

/** Learner side. */
export class WeightWriter {
  private readonly state: Int32Array;
  private readonly slots: Slot[];
  private back = 2;
  constructor(buffer: SharedArrayBuffer, readonly layout: ActorLayout) {
    checkBuffer(buffer, layout);
    this.state = new Int32Array(buffer, 0, 4);
    this.slots = [0, 1, 2].map((i) => makeSlot(buffer, layout, i));
  }

  /** Copy `weights` out and make them the newest version. */
  publish(weights: ActorWeights, version: number): void {
    const dst = this.slots[this.back].weights;
    const copy = (to: DenseWeights, from: DenseWeights, what: string): void => {
      if (from.inSize !== to.inSize || from.outSize !== to.outSize) throw new Error(`weight exchange: ${what} is ${from.inSize}x${from.outSize}, layout says ${to.inSize}x${to.outSize}`);
      (to.kernel as Float32Array).set(from.kernel);
      (to.bias as Float32Array).set(from.bias);
    };
    if (weights.hidden.length !== dst.hidden.length) throw new Error(`weight exchange: ${weights.hidden.length} hidden layers, layout has ${dst.hidden.length}`);
    weights.hidden.forEach((h, i) => copy(dst.hidden[i], h, `hidden[${i}]`));
    copy(dst.mean, weights.mean, 'mean head');
    copy(dst.logStd, weights.logStd, 'logStd head');
    if ((weights.normalizer === undefined) !== (dst.normalizer === undefined)) throw new Error('weight exchange: normaliser presence differs from the layout');
    if (weights.normalizer && dst.normalizer) {
      (dst.normalizer.mean as Float32Array).set(weights.normalizer.mean);
      (dst.normalizer.std as Float32Array).set(weights.normalizer.std);
      const floats = this.slots[this.back].floats;
      floats[floats.length - 1] = weights.normalizer.clip;
    }
    this.slots[this.back].version[0] = version;
    this.back = Atomics.exchange(this.state, STATE, this.back | FRESH) & 3;
  }

  /** Raw float view of the back buffer, for writers that fill it directly (then `commit`). */
  backFloats(): Float32Array {
    return this.slots[this.back].floats;
  }
  commit(version: number): void {
    this.slots[this.back].version[0] = version;
    this.back = Atomics.exchange(this.state, STATE, this.back | FRESH) & 3;
  }
}

/** Control side. */
export class WeightReader {
  private readonly state: Int32Array;
  private readonly slots: Slot[];
  private front = 0;
  constructor(buffer: SharedArrayBuffer, readonly layout: ActorLayout) {
    checkBuffer(buffer, layout);
    this.state = new Int32Array(buffer, 0, 4);
    this.slots = [0, 1, 2].map((i) => makeSlot(buffer, layout, i));
  }

  /**
   * Take the newest weights if any arrived since the last call, else null. The returned arrays
   * are views that stay valid and unchanged until the next call to `poll`.
   */
  poll(): { weights: ActorWeights; version: number } | null {
    if ((Atomics.load(this.state, STATE) & FRESH) === 0) return null;
    this.front = Atomics.exchange(this.state, STATE, this.front) & 3;
    const s = this.slots[this.front];
    return { weights: s.weights, version: s.version[0] };
  }

  /** The weights currently held (version 0: nothing published yet). */
  current(): { weights: ActorWeights; version: number; floats: Float32Array } {
    const s = this.slots[this.front];
    return { weights: s.weights, version: s.version[0], floats: s.floats };
  }
}

/**
 * One actor as one flat array in the exchange's order (each layer's kernel then bias, hidden
 * layers first, then the mean and log-std heads, then the normaliser's mean, std and clip), for
 * a checkpoint. Pure; `actorFromFloats` is its inverse, bit for bit.
 */
export function actorToFloats(w: ActorWeights): Float32Array {
  const l = actorLayoutOf(w);
  const out = new Float32Array(actorFloats(l));
  let off = 0;
  const put = (a: ArrayLike<number>): void => {
    out.set(a, off);
    off += a.length;
  };
  for (const d of [...w.hidden, w.mean, w.logStd]) {
    put(d.kernel);
    put(d.bias);
  }
  if (w.normalizer !== undefined) {
    put(w.normalizer.mean);
    put(w.normalizer.std);
    put([w.normalizer.clip]);
  }
  return out;
}

/** The actor `actorToFloats` flattened (copies out of `floats`); throws when the sizes disagree. */
export function actorFromFloats(l: ActorLayout, floats: Float32Array): ActorWeights {
  const need = actorFloats(l);
  if (floats.length !== need) throw new Error(`actor weights: ${floats.length} floats, the layout (obs ${l.observationSize}, hidden [${l.hiddenSizes.join(',')}], action ${l.actionSize}${l.normalizer ? ', normaliser' : ''}) needs ${need}`);
  let off = 0;
  const take = (n: number): Float32Array => floats.slice(off, (off += n));
  const dense = denseShapes(l).map((s): DenseWeights => ({ inSize: s.inSize, outSize: s.outSize, kernel: take(s.inSize * s.outSize), bias: take(s.outSize) }));
  const logStd = dense.pop()!;
  const mean = dense.pop()!;
  if (!l.normalizer) return { hidden: dense, mean, logStd };
  const m = take(l.observationSize), s = take(l.observationSize), clip = take(1)[0]!;
  return { hidden: dense, mean, logStd, normalizer: { mean: m, std: s, clip } };
}
