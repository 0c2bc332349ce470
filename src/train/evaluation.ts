/**
 * The one evaluation: whole episodes of a policy on an env, their returns, mean and standard
 * deviation, and the sim-to-real gate on them. The trainer, the daemon's evaluation phase and its
 * gate, and `sacbridge eval` all use it.
 */
import type { ActionPolicy } from '../agent/policy.js';
import type { Env, StepResult } from '../env/env.js';

export type Acting = Pick<ActionPolicy, 'act'>;

export interface EpisodeOptions {
  /** Sees the plant after the reset (null) and after every step (e.g. to record a replay). */
  observe?: (step: StepResult | null) => void;
  /**
   * Runs while the env's reset is under way: e.g. the operator's (or a simulated robot's)
   * "ready" that a robot plant's reset waits for.
   */
  alongReset?: () => Promise<void>;
  /**
   * Let the event loop run at least this often (milliseconds of wall clock) during the episode:
   * a daemon evaluating stays responsive (signals, its control API, the web UI's live view).
   */
  yieldEveryMs?: number;
}

/**
 * One whole episode of `policy` on `env` from a reset; its undiscounted return. A step the env
 * aborts (non-finite observation, safety stop) ends the episode and its reward does not count.
 */
export async function runEpisode(env: Env, policy: Acting, deterministic: boolean, options: EpisodeOptions = {}): Promise<number> {
  const { observe } = options;
  const action = new Float32Array(env.actionSize);
  const reset = env.reset();
  await options.alongReset?.();
  let obs = await reset;
  observe?.(null);
  let total = 0;
  let yielded = performance.now();
  for (;;) {
    policy.act(obs, deterministic, action);
    const r = await env.step(action);
    observe?.(r);
    if (options.yieldEveryMs !== undefined && performance.now() - yielded >= options.yieldEveryMs) {
      await new Promise((resolve) => setImmediate(resolve));
      yielded = performance.now();
    }
    if (r.abort === null) total += r.reward;
    if (r.terminated || r.truncated || r.abort !== null) return total;
    obs = r.observation;
  }
}

/** `episodes` whole episodes; their returns in order. */
export async function runEpisodes(env: Env, policy: Acting, episodes: number, deterministic: boolean, options: EpisodeOptions = {}): Promise<number[]> {
  const returns: number[] = [];
  for (let e = 0; e < episodes; e++) returns.push(await runEpisode(env, policy, deterministic, options));
  return returns;
}

export interface ReturnStats {
  returns: number[];
  mean: number;
  /** Population standard deviation. */
  std: number;
}

export function returnStats(returns: number[]): ReturnStats {
  if (returns.length === 0) throw new Error('return statistics of no episodes');
  const mean = returns.reduce((s, x) => s + x, 0) / returns.length;
  const std = Math.sqrt(returns.reduce((s, x) => s + (x - mean) ** 2, 0) / returns.length);
  return { returns, mean, std };
}

/** Deterministic episodes (tanh of the mean action); reproducible for a given env seed. */
export async function evaluatePolicy(env: Env, policy: Acting, episodes: number): Promise<ReturnStats> {
  if (!(Number.isInteger(episodes) && episodes >= 1)) throw new Error(`evaluation: episodes must be an integer >= 1, got ${episodes}`);
  return returnStats(await runEpisodes(env, policy, episodes, true));
}

export interface GateResult extends ReturnStats {
  passed: boolean;
}

/** The sim-to-real gate: passed when the mean return reaches `threshold`. */
export function gate(stats: ReturnStats, threshold: number): GateResult {
  if (!Number.isFinite(threshold)) throw new Error(`gate: threshold must be a finite number, got ${threshold}`);
  return { ...stats, passed: stats.mean >= threshold };
}

/** Evaluate and gate in one call (`episodes` deterministic episodes against `threshold`). */
export async function evaluateGate(env: Env, policy: Acting, episodes: number, threshold: number): Promise<GateResult> {
  if (!(Number.isInteger(episodes) && episodes >= 1)) throw new Error(`gate: episodes must be an integer >= 1, got ${episodes}`);
  if (!Number.isFinite(threshold)) throw new Error(`gate: threshold must be a finite number, got ${threshold}`);
  return gate(await evaluatePolicy(env, policy, episodes), threshold);
}
