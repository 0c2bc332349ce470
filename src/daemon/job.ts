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
export interface JobBase {
  /** Short name for logs and status. */
  readonly name: string;

  /**
   * One unit of work in `phase` (sim_training, evaluating or real_finetune): typically one
   * environment step plus its gradient updates. Should take at most tens of milliseconds, so
   * SIGTERM and the watchdog are served promptly. May ask for a phase change.
   */
  tick(phase: Phase): Promise<TickResult>;

  /** Counters and a few figures for status, metrics and STATUS= lines. Cheap. */
  status(): JobStatus;

  /**
   * A SIGHUP reload changed some live keys (`changed`, dotted paths from LIVE_KEYS). Apply those
   * that concern the job; returns the keys it applied.
   */
  reconfigure?(config: SacbridgeConfig, changed: readonly string[]): string[];

  /** Release resources (workers, sockets) at shutdown, after the last checkpoint. */
  close?(): Promise<void>;
}

/**
 * Checkpoints kept by the daemon (src/daemon/checkpoints.ts): the job writes its files into a
 * fresh directory, the daemon adds a checksummed manifest, makes it durable, keeps the newest
 * `daemon.keepCheckpoints` and restores the newest one that verifies.
 */
export interface DirectoryCheckpoints {
  /**
   * Write everything needed to resume (networks, optimiser state, temperature, replay buffer,
   * RNG state, counters) as files into `dir`, an empty directory. Called between ticks only.
   */
  save(dir: string): Promise<void>;
  /**
   * Put the job back in the state `save` wrote. Called once, before the first tick, with the
   * newest checkpoint that verifies; throwing makes the daemon try the next older one.
   */
  restore(dir: string): Promise<void>;
}

/**
 * Checkpoints kept by the job itself under `JobContext.checkpointDir`, for a job that already
 * has a crash-safe store with checksums and fallback (the trainer's generations,
 * src/agent/checkpoint.ts): the daemon only decides when.
 */
export interface OwnCheckpoints {
  /** Write a durable checkpoint now (between ticks). */
  checkpoint(reason: string): Promise<{ id: string; steps: number }>;
  /** Resume from the newest good checkpoint, if any; called once before the first tick. */
  resume(): Promise<{ id: string; steps: number } | null>;
}

/**
 * The work the daemon does in its working phases (the training loop, evaluation, fine-tuning).
 *
 * The daemon owns the loop and calls `tick` once per control tick while the phase is one the job
 * works in. Owning the loop lets the daemon keep its promises between two ticks: ping the
 * systemd watchdog (a stuck tick means no pings, and systemd restarts the unit), checkpoint on
 * schedule, stop on SIGTERM after the current tick, and apply phase changes between ticks, never
 * in the middle of one. A job therefore never needs to know about signals or schedules.
 */
export type Job = JobBase & (DirectoryCheckpoints | OwnCheckpoints);

export function ownsCheckpoints(job: Job): job is JobBase & OwnCheckpoints {
  return typeof (job as Partial<OwnCheckpoints>).checkpoint === 'function' && typeof (job as Partial<OwnCheckpoints>).resume === 'function';
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
  /** Where an OwnCheckpoints job keeps its checkpoints (the state directory's checkpoints/). */
  checkpointDir: string;
}

/** A module named by `daemon.job` (a path) exports this. */
export type CreateJob = (ctx: JobContext) => Promise<Job> | Job;

/** The phases in which the daemon calls `tick`. */
export const TICKING_PHASES: readonly Phase[] = ['sim_training', 'evaluating', 'real_finetune'];
