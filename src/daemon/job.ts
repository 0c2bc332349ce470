import type { SacbridgeConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Phase, PhaseEvent } from './phases.js';

/**
 * The work the daemon does in its working phases (the training loop, evaluation, fine-tuning).
 *
 * The daemon owns the loop and calls `tick` once per control tick while the phase is one the job
 * works in. Owning the loop lets the daemon keep its promises between two ticks: ping the
 * systemd watchdog (a stuck tick means no pings, and systemd restarts the unit), checkpoint on
 * schedule, stop on SIGTERM after the current tick, and apply phase changes between ticks, never
 * in the middle of one. A job therefore never needs to know about signals or the state directory.
 */
export interface Job {
  /** Short name for logs and status. */
  readonly name: string;

  /**
   * Put the job back in the state a checkpoint written by `save` describes. Called once, before
   * the first tick, when a valid checkpoint exists. Throwing makes the daemon try the next older
   * checkpoint.
   */
  restore(dir: string): Promise<void>;

  /**
   * One unit of work in `phase` (sim_training, evaluating or real_finetune): typically one
   * environment step plus its gradient updates. Should take at most tens of milliseconds, so
   * SIGTERM and the watchdog are served promptly. May ask for a phase change.
   */
  tick(phase: Phase): Promise<TickResult>;

  /**
   * Write everything needed to resume (networks, optimiser state, temperature, replay buffer,
   * RNG state, counters) as files into `dir`, an empty directory. Called between ticks only.
   * The daemon adds the manifest and checksums and makes the directory durable.
   */
  save(dir: string): Promise<void>;

  /** Counters and a few figures for status, metrics and STATUS= lines. Cheap. */
  status(): JobStatus;

  /**
   * A SIGHUP reload changed some live keys (`changed`, dotted paths from LIVE_KEYS). Apply those
   * that concern the job; returns the keys it applied.
   */
  reconfigure?(config: SacbridgeConfig, changed: readonly string[]): string[];

  /** Release resources (workers, sockets) at shutdown, after the last save. */
  close?(): Promise<void>;
}

export interface TickResult {
  /** Phase change the job asks for (e.g. 'evaluate' when the step budget is spent). */
  request?: { event: PhaseEvent; reason: string };
}

export interface JobStatus {
  /** Environment steps taken (monotonic across restarts: restored from checkpoints). */
  envSteps: number;
  /** Gradient updates done. */
  updates: number;
  /** Episodes finished. */
  episodes: number;
  /** Transitions held by the replay buffer. */
  replaySize: number;
  /** Return of the last finished episode, if any. */
  lastReturn: number | null;
  /** Anything else worth showing (losses, alpha, evaluation results). */
  extra?: Record<string, number | string | boolean | null>;
}

/**
 * What a job is built from. About `metrics`: the daemon itself counts env steps and updates from
 * `status()`; the job reports what only it knows: `episodeFinished(return)`, `setLosses`,
 * `setTemperature`, and the ZeroMQ/ROS counters of the parts it owns.
 */
export interface JobContext {
  config: SacbridgeConfig;
  logger: Logger;
  metrics: Metrics;
  /** Directory for the run's metrics JSONL (read by `sacbridge plot`). */
  runDir: string;
}

/** A module named by `daemon.job` (a path) exports this. */
export type CreateJob = (ctx: JobContext) => Promise<Job> | Job;

/** The phases in which the daemon calls `tick`. */
export const TICKING_PHASES: readonly Phase[] = ['sim_training', 'evaluating', 'real_finetune'];
