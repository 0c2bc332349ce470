import type { ActorWeights } from '../agent/policy.js';
import type { Json } from '../util/json.js';
import type { SacbridgeConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { SafetyReport } from '../ui/events.js';
import type { PoseView } from '../ui/poseView.js';
import type { TickTelemetry, UpdateTelemetry } from '../zmq/telemetry.js';
import type { ActionBounds } from '../zmq/policyServer.js';
import type { Phase, PhaseEvent } from './phases.js';

/**
 * The work the daemon does in its working phases (the training loop, evaluation, fine-tuning).
 *
 * The daemon owns the loop and calls `tick` once per control tick while the phase is one the job
 * works in. Owning the loop lets the daemon keep its promises between two ticks: ping the
 * systemd watchdog (a stuck tick means no pings, and systemd restarts the unit), checkpoint on
 * schedule, stop on SIGTERM after the current tick, and apply phase changes between ticks, never
 * in the middle of one. A job therefore never needs to know about signals or schedules.
 *
 * Checkpoints: there is one mechanism, the generations of src/agent/checkpoint.ts (sha256 of
 * every file, fallback to the previous good generation). The job writes them under
 * `JobContext.checkpointDir`; the daemon decides when, and hands over its own state (phase,
 * counters) to be stored in the same generation, so a restart resumes both together.
 */
export interface Job {
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

  /** Write a durable checkpoint now (between ticks), with the daemon's state in it. */
  checkpoint(reason: string, daemon: Json): Promise<JobCheckpoint>;

  /** Resume from the newest good checkpoint, if any; called once before the first tick. */
  resume(): Promise<(JobCheckpoint & { daemon: Json }) | null>;

  /**
   * The actor weights the ZeroMQ policy server answers from at start-up, if the job has an
   * actor; the job hands every newer set it installs to `JobContext.policy`.
   */
  servedPolicy?(): ServedPolicy;

  /**
   * What the web UI's 3D view shows now (the training env's plant, the evaluation env's while it
   * evaluates, the robot through its model while fine-tuning); null while there is none.
   */
  view?(): PoseView | null;

  /** The robot's safety layer (counters, last reason) while fine-tuning, for the web UI's events; else null. */
  safety?(): SafetyReport | null;

  /**
   * A SIGHUP reload changed some live keys (`changed`, dotted paths from LIVE_KEYS). Apply those
   * that concern the job; returns the keys it applied.
   */
  reconfigure?(config: SacbridgeConfig, changed: readonly string[]): string[];

  /**
   * The next evaluation round (the control API's `evaluate`) runs `episodes` episodes, acting
   * deterministically or not, instead of the configured number. Called before the phase change.
   */
  evaluationRequested?(request: EvaluationRequest): void;

  /** The phase left `from` (e.g. stop the robot session when leaving real_finetune). */
  phaseLeft?(from: Phase, to: Phase): Promise<void>;

  /**
   * The daemon is stopping: stop acting and learning before the final checkpoint, so that it
   * holds everything done (the robot session: its safe command last, the learner's final state).
   */
  quiesce?(): Promise<void>;

  /** Release resources (workers, sockets, plants) at shutdown, after the last checkpoint. */
  close?(): Promise<void>;
}

/** What an operator asked of an evaluation round. */
export interface EvaluationRequest {
  episodes: number;
  deterministic: boolean;
}

export interface JobCheckpoint {
  /** Checkpoint name (the generation directory). */
  id: string;
  /** Environment steps it holds. */
  steps: number;
  /** Transitions its replay buffer holds. */
  replaySize: number;
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

/** Actor weights and their version (the gradient updates behind them). */
export interface ServedPolicy {
  weights: ActorWeights;
  version: number;
  /** The bounds the policy server clips every action into (the safety limits); null: raw actions. */
  actionBounds?: ActionBounds | null;
}

/**
 * Where the job hands new actor weights (the ZeroMQ policy server, or nowhere). `publish` copies
 * them at once: the arrays may be reused afterwards.
 */
export interface PolicySink {
  publish(weights: ActorWeights, version: number): void;
}

/** Where the job's per-tick and per-update telemetry goes (the ZeroMQ PUB socket, or nowhere). */
export interface TelemetrySink {
  tick(t: TickTelemetry): void;
  update(u: UpdateTelemetry): void;
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
  /** Run directory: metrics.jsonl (read by `sacbridge plot`) and checkpoints/. */
  runDir: string;
  /** Where the job keeps its checkpoint generations (runDir/checkpoints). */
  checkpointDir: string;
  telemetry: TelemetrySink;
  /** Where the job publishes the actor weights it acts with (the policy server serves them). */
  policy: PolicySink;
  /** The current phase (for telemetry records). */
  phase(): Phase;
}

/** A module named by `daemon.job` (a path) exports this. */
export type CreateJob = (ctx: JobContext) => Promise<Job> | Job;

/** The phases in which the daemon calls `tick`. */
export const TICKING_PHASES: readonly Phase[] = ['sim_training', 'evaluating', 'real_finetune'];
