/** Small pure helpers shared by the tasks. */
import type { SimulatorAccess } from '../plant/plant.js';
import type { Rng } from '../util/rng.js';

export function clip(x: number, low: number, high: number): number {
  return x < low ? low : x > high ? high : x;
}

export function sumOfSquares(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return s;
}

/** Sum of squares of each element clipped to [low, high]. */
export function sumOfClippedSquares(v: ArrayLike<number>, low: number, high: number): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    const c = clip(v[i], low, high);
    s += c * c;
  }
  return s;
}

/** Copy `src[from, from+count)` into `out` at `at`, optionally clipped; returns the next index. */
export function put(out: Float32Array, at: number, src: ArrayLike<number>, from = 0, count = src.length - from, low = -Infinity, high = Infinity): number {
  for (let i = 0; i < count; i++) out[at + i] = clip(src[from + i], low, high);
  return at + count;
}

/** Wrap an angle into [-pi, pi). */
export function wrapAngle(x: number): number {
  const twoPi = 2 * Math.PI;
  return x - twoPi * Math.floor((x + Math.PI) / twoPi);
}

export function allFiniteValues(v: ArrayLike<number>): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}

/** Noise kinds of Gymnasium's reset_model: U(s) uniform on [-s, s], N(s) = s * standard normal. */
export type ResetNoise = { kind: 'uniform' | 'normal'; scale: number };

function noisy(base: ArrayLike<number>, n: number, noise: ResetNoise, rng: Rng): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const b = i < base.length ? base[i] : 0;
    out[i] = b + (noise.kind === 'uniform' ? rng.range(-noise.scale, noise.scale) : noise.scale * rng.normal());
  }
  return out;
}

/** Gymnasium's reset: qpos = qpos0 + noise, qvel = 0 + noise, then mj_forward (in setState). */
export function setNoisyInitialState(sim: SimulatorAccess, rng: Rng, qposNoise: ResetNoise, qvelNoise: ResetNoise): void {
  const qpos = noisy(sim.initialQpos, sim.nq, qposNoise, rng);
  const qvel = noisy([], sim.nv, qvelNoise, rng);
  sim.setState(qpos, qvel);
}
