/** Shared fixtures for the sim tests: where Gymnasium's MJCF lives, state snapshots, actions. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import type { Env, StepResult } from '../../src/env/env.js';
import type { Signals } from '../../src/plant/plant.js';
import { packageRoot } from '../../src/util/packageRoot.js';
import { Rng } from '../../src/util/rng.js';

/**
 * Gymnasium's MJCF directory: `shared/mjcf-gymnasium` beside the repository (CI's layout) or
 * beside one of its ancestors (a git worktree under a sibling folder), or $SACBRIDGE_GYM_MODELS.
 */
export function gymnasiumModelDir(): string {
  const given = process.env.SACBRIDGE_GYM_MODELS;
  if (given !== undefined && given !== '') return path.resolve(given);
  let dir = path.dirname(packageRoot());
  for (let i = 0; i < 3; i++) {
    const candidate = path.join(dir, 'shared', 'mjcf-gymnasium');
    if (existsSync(path.join(candidate, 'half_cheetah.xml'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`Gymnasium MJCF not found: expected shared/mjcf-gymnasium beside ${packageRoot()} or one of its parents, or SACBRIDGE_GYM_MODELS naming a directory of Gymnasium's MJCF files (gymnasium/envs/mujoco/assets)`);
}

/** Copies of the signals the tests recompute things from (the plant's arrays are live). */
export type Snapshot = Record<string, Float64Array>;

export function snapshot(signals: Signals): Snapshot {
  const out: Snapshot = {};
  for (const [name, v] of signals) out[name] = Float64Array.from(v);
  return out;
}

export function randomAction(rng: Rng, size: number): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = rng.range(-1, 1);
  return a;
}

/** One step with a random action, with the state before and after. */
export async function stepWithSnapshots(env: Env, rng: Rng): Promise<{ before: Snapshot; after: Snapshot; result: StepResult }> {
  const before = snapshot(env.plant.read());
  const result = await env.step(randomAction(rng, env.actionSize));
  const after = snapshot(env.plant.read());
  return { before, after, result };
}

export function assertClose(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, expected ${expected}`);
}

export function assertVectorClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) assertClose(actual[i], expected[i], tol, `${what}[${i}]`);
}

/** Terms must add up to the reward. */
export function assertTermsSum(result: StepResult): void {
  const sum = Object.values(result.terms).reduce((s, v) => s + v, 0);
  assertClose(sum, result.reward, 1e-12, 'sum of reward terms');
}

export const clip = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
