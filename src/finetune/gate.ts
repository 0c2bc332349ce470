/**
 * The sim-to-real gate: the policy's mean return over deterministic evaluation episodes in sim
 * must reach a threshold before the daemon may arm the switch to the robot.
 */
import type { ActionPolicy } from '../agent/policy.js';
import type { Env } from '../env/env.js';
import { runEpisodes } from '../train/trainer.js';

export interface GateResult {
  meanReturn: number;
  returns: number[];
  passed: boolean;
}

/**
 * Run `episodes` whole episodes of `policy` (deterministic: tanh of the mean) on `env` and
 * compare the mean return with `threshold` (passed when mean >= threshold). The episodes are
 * reproducible for a given env seed: the env's RNG draws the initial states.
 */
export async function evaluateGate(env: Env, policy: Pick<ActionPolicy, 'act'>, episodes: number, threshold: number): Promise<GateResult> {
  if (!(Number.isInteger(episodes) && episodes >= 1)) throw new Error(`gate: episodes must be an integer >= 1, got ${episodes}`);
  if (!Number.isFinite(threshold)) throw new Error(`gate: threshold must be a finite number, got ${threshold}`);
  const returns = await runEpisodes(env, policy, episodes, true);
  const meanReturn = returns.reduce((s, r) => s + r, 0) / returns.length;
  return { meanReturn, returns, passed: meanReturn >= threshold };
}
