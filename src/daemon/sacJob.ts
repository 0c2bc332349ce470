import { basename } from 'node:path';
import type { Json } from '../util/json.js';
import { FastPolicy } from '../agent/fastPolicy.js';
import { initCompute } from '../compute/backend.js';
import type { SacbridgeConfig } from '../config/schema.js';
import { checkTask } from '../task/registry.js';
import { createEnv } from '../wiring/envFactory.js';
import { Trainer, type TransitionRecord } from '../train/trainer.js';
import { Rng } from '../util/rng.js';
import type { EvaluationRequest, Job, JobCheckpoint, JobContext, JobStatus, ServedPolicy, TickResult } from './job.js';
import type { Phase } from './phases.js';
import { rosPreflight } from './rosPreflight.js';
import { envInfo, policyActionBounds, sacHyperparameters, simEnvOptions, simTask, updateCores } from '../wiring/configOptions.js';
import { EvaluationRounds } from './evaluationRounds.js';
import { RobotStint, type RobotOverrides } from './robotStint.js';
import { plantView, type PoseView } from '../ui/poseView.js';
import type { SafetyReport } from '../ui/events.js';

/**
 * The daemon's SAC job: the lockstep Trainer (src/train/trainer.ts) driven one tick at a time.
 *
 *   sim_training   one env step and its gradient updates per tick; asks for an evaluation
 *                  every sim.evalEvery steps and when sim.totalSteps are spent
 *   evaluating     one episode per tick of a round, then the gate (evaluationRounds.ts)
 *   real_finetune  the robot stint (robotStint.ts: robot sessions, acting weights, robot replay,
 *                  robot telemetry); without ROS 2 it fails and asks for the e-stop, a safe
 *                  phase an operator has to clear
 *
 * Checkpoints are the trainer's generations (networks, optimiser moments, temperature, replay
 * buffer, RNG states, counters) with the daemon's state in their `extra`. After time on the
 * robot they also hold the robot's part (RobotSnapshot): the weights that act there and the
 * robot replay, while `agent` holds the learner's state (which may be ahead of the acting
 * weights), so a restart acts with exactly the weights that acted and learns on from there.
 */

export type { RobotOverrides } from './robotStint.js';

export class SacJob implements Job {
  readonly name = 'sac';
  readonly policy: FastPolicy;
  private config: SacbridgeConfig;
  private readonly rounds: EvaluationRounds;
  /** Time on the robot: sessions, acting weights, robot replay and counters. */
  private readonly stint: RobotStint;
  private policyUpdates = 0;
  /** The newest version given to the policy server; versions served never go back. */
  private servedVersion = 0;
  /** The weights of `policy`, which the policy server starts from. */
  private served: ServedPolicy;
  private publishedUpdates: number;

  private constructor(
    private readonly ctx: JobContext,
    private readonly trainer: Trainer,
    robotDeps: RobotOverrides,
  ) {
    this.config = ctx.config;
    const weights = trainer.agent.actorWeights();
    this.policy = new FastPolicy(weights, new Rng(ctx.config.sim.seed + 31), trainer.counters.updates);
    this.served = { weights, version: trainer.counters.updates, actionBounds: policyActionBounds(ctx.config, trainer.plant.command) };
    this.policyUpdates = trainer.counters.updates;
    this.publishedUpdates = trainer.counters.updates;
    this.stint = new RobotStint({
      ctx,
      trainer,
      deps: robotDeps,
      config: () => this.config,
      servedVersion: () => this.servedVersion,
      raiseServedVersion: (v) => (this.servedVersion = Math.max(this.servedVersion, v)),
    });
    this.rounds = new EvaluationRounds(ctx, () => this.config, this.policy);
  }

  /** `robot` passes test doubles to the robot phase (the in-memory ROS graph's rclnodejs). */
  static async create(ctx: JobContext, robot: RobotOverrides = {}): Promise<SacJob> {
    const { config, logger } = ctx;
    const task = simTask(config.sim);
    try {
      await checkTask(task, { modelPath: config.sim.modelPath || undefined });
    } catch (err) {
      throw new Error(`sim.task = ${JSON.stringify(task)}: ${(err as Error).message}`);
    }
    // A robot phase ahead: its ROS 2 environment and topics are checked now, not at the gate.
    await rosPreflight(config, logger, robot);
    const compute = await initCompute(config.compute.backend, { sacUpdate: config.compute.sacUpdate });
    logger.info({ backend: compute.backend, reason: compute.reason }, `tfjs backend ${compute.backend}`);
    const options = simEnvOptions(config.sim, config.safety);
    const trainer = await Trainer.create({
      task,
      seed: config.sim.seed,
      runDir: ctx.runDir,
      makeEnv: (seed) => createEnv(task, { seed, ...options }),
      hyperparameters: sacHyperparameters(config.rl),
      resume: true,
      // The daemon schedules checkpoints and evaluations.
      evalEvery: 0,
      checkpointEvery: 0,
      keepCheckpoints: config.daemon.keepCheckpoints,
      metricsEvery: 100,
      warn: (m) => logger.warn(m),
      envInfo: envInfo(task, options, config.safety),
      extra: () => null,
      updateCores: updateCores(config.compute),
    });
    if (trainer.checkpointDir !== ctx.checkpointDir) {
      await trainer.close();
      throw new Error(`the trainer keeps checkpoints in ${trainer.checkpointDir}, the daemon expects ${ctx.checkpointDir}`);
    }
    trainer.onMetrics((r) => {
      if (r.type === 'episode') ctx.metrics.episodeFinished(r.return);
    });
    return new SacJob(ctx, trainer, robot);
  }

  async resume(): Promise<(JobCheckpoint & { daemon: Json }) | null> {
    if (this.trainer.resumedFrom === null) return null;
    return { id: this.trainer.resumedFrom, steps: this.status().envSteps, replaySize: this.trainer.replay.size, daemon: this.trainer.resumedExtra };
  }

  /**
   * During the robot phase the checkpoint holds what the robot learned: the learner's state
   * (networks, optimisers, temperature) is installed into the agent first, with the robot
   * replay as of that state; the weights that act go in as the robot's actor, and the robot
   * counters with the daemon's state, so a restart resumes on the robot where it stopped.
   */
  async checkpoint(_reason: string, daemon: Json): Promise<JobCheckpoint> {
    await this.stint.beforeCheckpoint();
    const robot = this.stint.counters();
    const extra = (typeof daemon === 'object' && daemon !== null && !Array.isArray(daemon) ? { ...daemon, robot: { ...robot } } : daemon) as Json;
    this.trainer.setExtra(() => extra);
    const path = await this.trainer.checkpoint();
    return { id: basename(path), steps: this.status().envSteps, replaySize: this.trainer.replay.size };
  }



  async tick(phase: Phase): Promise<TickResult> {
    switch (phase) {
      case 'sim_training':
        return this.trainTick();
      case 'evaluating':
        return this.evalTick();
      case 'real_finetune':
        return this.stint.tick();
      default:
        return {};
    }
  }

  private async trainTick(): Promise<TickResult> {
    const t = this.trainer;
    this.stint.simMovedOn();
    let stepped: TransitionRecord | null = null;
    const unsubscribe = t.onTransition((r) => {
      stepped = r;
    });
    const t0 = process.hrtime.bigint();
    try {
      await t.step();
    } finally {
      unsubscribe();
    }
    const computeNs = Number(process.hrtime.bigint() - t0);
    if (stepped !== null) this.publishTick(stepped, computeNs);
    if (t.counters.updates > this.publishedUpdates) this.publishUpdate();
    if (t.counters.updates - this.policyUpdates >= this.config.zmq.policyRefreshUpdates) this.refreshPolicy();

    const { totalSteps, evalEvery } = this.config.sim;
    const steps = t.counters.steps;
    if (steps >= totalSteps) return { request: { event: 'evaluate', reason: `step budget of ${totalSteps} spent` } };
    if (evalEvery > 0 && steps % evalEvery === 0) return { request: { event: 'evaluate', reason: `every ${evalEvery} steps` } };
    return {};
  }

  private publishTick(s: TransitionRecord, computeNs: number): void {
    const r = s.result;
    const t = this.trainer;
    this.ctx.telemetry.tick({
      step: t.counters.steps,
      episode: t.counters.episodes,
      episodeStep: s.episodeStep,
      phase: this.ctx.phase(),
      policyVersion: t.counters.updates,
      observation: r.observation,
      action: s.action,
      reward: r.reward,
      rewardTerms: r.terms,
      terminated: r.terminated,
      truncated: r.truncated,
      // Sim training runs as fast as it can: no period, no deadline.
      timing: { periodNs: 0, jitterNs: 0, computeNs, late: false },
    });
  }

  private publishUpdate(): void {
    const t = this.trainer;
    this.publishedUpdates = t.counters.updates;
    const m = t.lastUpdate;
    if (m === null) return;
    const losses: Record<string, number> = { q1: m.qf1_loss, q2: m.qf2_loss, actor: m.actor_loss, alpha: m.alpha_loss };
    if (m.vf_loss !== undefined) losses.v = m.vf_loss;
    this.ctx.telemetry.update({ update: t.counters.updates, policyVersion: this.policy.version, losses, temperature: m.alpha, entropy: m.entropy, extra: { q1_mean: m.qf1_mean } });
    this.ctx.metrics.setLosses(losses);
    this.ctx.metrics.setTemperature(m.alpha);
  }

  safety(): SafetyReport | null {
    return this.stint.safety();
  }

  view(): PoseView | null {
    if (this.stint.running) return this.stint.view;
    const evaluating = this.rounds.plant;
    if (evaluating !== null) return plantView(evaluating, 'evaluation');
    return plantView(this.trainer.plant, 'training');
  }



  servedPolicy(): ServedPolicy {
    return this.served;
  }

  /**
   * Copy the actor's weights into the fast policy and the policy server. Version = the actor's
   * update count (after the robot phase that includes its robot updates), and never below a
   * version already served.
   */
  private refreshPolicy(): void {
    this.policyUpdates = this.trainer.counters.updates;
    const version = Math.max(this.policyUpdates, this.trainer.agent.version, this.servedVersion);
    const weights = this.trainer.agent.actorWeights();
    this.policy.swap(weights, version);
    this.served = { ...this.served, weights, version };
    this.servedVersion = version;
    this.ctx.policy.publish(weights, version);
  }

  /** One episode of the evaluation round; the round starts with the newest weights. */
  private async evalTick(): Promise<TickResult> {
    if (!this.rounds.running) this.refreshPolicy();
    return this.rounds.tick(this.trainer.counters.steps);
  }

  evaluationRequested(request: EvaluationRequest): void {
    this.rounds.request(request);
  }


  /** Stopping: the robot session ends before the final checkpoint, which then holds all of it. */
  async quiesce(): Promise<void> {
    await this.phaseLeft('real_finetune');
  }

  async phaseLeft(from: Phase): Promise<void> {
    if (from === 'real_finetune') await this.stint.stop();
    if (from === 'evaluating') this.rounds.cancel();
  }

  status(): JobStatus {
    const t = this.trainer;
    const m = t.lastUpdate;
    const robot = this.stint.counters();
    const simReturn = Number.isNaN(t.lastReturn) ? null : t.lastReturn;
    return {
      // Steps, updates and episodes count on over both phases (the checkpoint schedule and
      // the progress lines follow the robot too).
      envSteps: t.counters.steps + robot.steps,
      updates: t.counters.updates + robot.updates,
      episodes: t.counters.episodes + robot.episodes,
      replaySize: t.replay.size,
      lastReturn: this.stint.lastReturn(simReturn),
      extra: {
        task: t.task,
        stepsPerSecond: Number(t.rate.toFixed(1)),
        alpha: m === null ? null : m.alpha,
        lastEvalReturn: this.rounds.lastReturn,
        gate: this.rounds.lastGate,
        policyVersion: this.policy.version,
        evaluating: this.rounds.progress,
        ...this.stint.statusExtra(this.policy.version),
      },
    };
  }

  reconfigure(config: SacbridgeConfig, changed: readonly string[]): string[] {
    this.config = config;
    return changed.filter((k) => k.startsWith('sim.eval') || k.startsWith('switch.'));
  }

  async close(): Promise<void> {
    await this.stint.close();
    await this.rounds.close();
    await this.trainer.close();
  }
}

export function createSacJob(ctx: JobContext): Promise<Job> {
  return SacJob.create(ctx);
}
