/**
 * The contract between the learner worker and the learning code it runs (SoftActorCritic for
 * the lead to plug in). A learner module exports `createLearner`.
 */
import type { ActorWeights } from '../agent/policy.js';
import type { TransitionView } from './transitionRing.js';
import type { ActorLayout } from './weightExchange.js';

export interface LearnerInit {
  observationSize: number;
  actionSize: number;
  actor: ActorLayout;
  /** Free-form options from the config, passed through structured clone. */
  options: Record<string, unknown>;
}

export interface Learner {
  /** Store one robot transition (the views are reused: copy). */
  observe(t: TransitionView): void;
  /** One gradient step; returns metrics (losses, temperature...) to report, if any. */
  update(): Record<string, number> | void | Promise<Record<string, number> | void>;
  /** The actor's current weights (copied out by the worker right away). */
  actorWeights(): ActorWeights;
  /**
   * The learned state to hand back to the control thread (for checkpoints): anything
   * structured-cloneable. Asked for by `LearnerHost.requestState()` and once more at stop.
   */
  exportState?(): unknown;
  /**
   * A diagnostic asked for by `LearnerHost.evaluate()` (e.g. the critics' value of given states),
   * answered between two updates; must not change what is learned.
   */
  evaluate?(request: unknown): unknown;
  close?(): void | Promise<void>;
}

export type CreateLearner = (init: LearnerInit) => Learner | Promise<Learner>;

/** Control block shared with the worker: Int32 slots. */
export const CONTROL = {
  STOP: 0,
  PAUSED: 1,
  UPDATES: 2,
  INGESTED: 3,
  VERSION: 4,
  /** Incremented by the host to ask for the learner's state (answered between updates). */
  EXPORT: 5,
  SIZE: 8,
} as const;

export interface LearnerSchedule {
  /** Gradient updates per ingested transition (the update-to-data ratio), e.g. 1, 0.5, 4. */
  updatesPerTransition: number;
  /** No updates until this many transitions were ingested. */
  learningStarts: number;
  /** Publish weights every this many updates. */
  publishEvery: number;
  /** Post metrics every this many updates. */
  metricsEvery: number;
}

/**
 * How many transitions update `k` (1-based) learns from: the fewest after which it is owed. The
 * worker hands the learner exactly these before the update, so that what each update can sample
 * does not depend on how far the learner lags behind the robot.
 */
export function transitionsForUpdate(s: LearnerSchedule, k: number): number {
  let n = Math.max(s.learningStarts, s.learningStarts - 1 + Math.ceil(k / s.updatesPerTransition));
  while (updatesOwed(s, n, k - 1) === 0) n++;
  while (n > s.learningStarts && updatesOwed(s, n - 1, k - 1) > 0) n--;
  return n;
}

/** How many updates are owed after `ingested` transitions: floor(utd * (ingested - start)) once started. */
export function updatesOwed(s: LearnerSchedule, ingested: number, done: number): number {
  if (ingested < s.learningStarts) return 0;
  return Math.max(0, Math.floor(s.updatesPerTransition * (ingested - s.learningStarts + 1)) - done);
}

/**
 * The deterministic version schedule of lockstep fine-tuning: version `v` (published after update
 * v * publishEvery) starts to act once this many transitions have been pushed. That is one short
 * of the transitions version v + 1 needs, so the learner has the longest time to make v, and when
 * v is due, v + 1 cannot exist yet: the version that acts is a function of the transition count,
 * never of thread timing.
 */
export function versionDueAt(s: LearnerSchedule, v: number): number {
  if (!(Number.isInteger(v) && v >= 1)) throw new Error(`versionDueAt: version must be an integer >= 1, got ${v}`);
  return transitionsForUpdate(s, (v + 1) * s.publishEvery) - 1;
}
