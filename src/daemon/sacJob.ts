import { appendFileSync } from 'node:fs';
import { basename, join } from 'node:path';
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
import { rosPlantConfigFrom, startRobotPhase, type RobotPhase, type RobotPhaseDeps } from './robotPhase.js';
import type { FineTuneEpisode, FineTuneTick } from '../finetune/session.js';
import { rosPreflight } from './rosPreflight.js';
import { envInfo, policyActionBounds, sacHyperparameters, simEnvOptions, simTask } from '../wiring/configOptions.js';
import type { ReplaySnapshot } from '../agent/replayBuffer.js';
import type { ActorWeights } from '../agent/policy.js';
import { actorFromFloats, actorLayoutOf, actorToFloats, type ActorLayout } from '../learner/weightExchange.js';
import type { RobotSnapshot } from '../train/trainingState.js';
import type { SafetyCounters } from '../safety/safetyLayer.js';
import { EvaluationRounds } from './evaluationRounds.js';
import { MujocoPlant } from '../plant/mujoco/mujocoPlant.js';
import { plantView, robotView, type PoseView } from '../ui/poseView.js';
import type { SafetyReport } from '../ui/events.js';

/**
 * The daemon's SAC job: the lockstep Trainer (src/train/trainer.ts) driven one tick at a time.
 *
 *   sim_training   one env step and its gradient updates per tick; asks for an evaluation
 *                  every sim.evalEvery steps and when sim.totalSteps are spent
 *   evaluating     one episode per tick of a round, then the gate (evaluationRounds.ts)
 *   real_finetune  the robot session (robotPhase.ts); without ROS 2 it fails and asks for the
 *                  e-stop, a safe phase an operator has to clear
 *
 * Checkpoints are the trainer's generations (networks, optimiser moments, temperature, replay
 * buffer, RNG states, counters) with the daemon's state in their `extra`. After time on the
 * robot they also hold the robot's part (RobotSnapshot): the weights that act there and the
 * robot replay, while `agent` holds the learner's state (which may be ahead of the acting
 * weights), so a restart acts with exactly the weights that acted and learns on from there.
 */

/** Robot-phase counters over every robot session of this run (kept in the checkpoint's daemon state as `robot`). */
interface RobotCounters {
  steps: number;
  episodes: number;
  updates: number;
}

function robotCountersOf(extra: Json | null): RobotCounters {
  const r = typeof extra === 'object' && extra !== null && !Array.isArray(extra) ? (extra as Record<string, Json>).robot : undefined;
  const o = typeof r === 'object' && r !== null && !Array.isArray(r) ? (r as Record<string, Json>) : {};
  const n = (v: Json | undefined): number => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0);
  return { steps: n(o.steps), episodes: n(o.episodes), updates: n(o.updates) };
}

/** What a test may hand the robot phase instead of the real ROS 2 environment. */
export type RobotOverrides = Pick<RobotPhaseDeps, 'loadRcl' | 'rosCheck'>;

export class SacJob implements Job {
  readonly name = 'sac';
  readonly policy: FastPolicy;
  private config: SacbridgeConfig;
  private readonly rounds: EvaluationRounds;
  private robot: RobotPhase | null = null;
  /** The robot as the web UI draws it, while fine-tuning. */
  private robotView: PoseView | null = null;
  private robotError: string | null = null;
  private policyUpdates = 0;
  /** The newest version given to the policy server; versions served never go back. */
  private servedVersion = 0;
  /** The weights of `policy`, which the policy server starts from. */
  private served: ServedPolicy;
  private publishedUpdates: number;
  private readonly metricsPath: string;
  /** Robot steps, episodes and updates of finished robot sessions (and before the restart, from the checkpoint). */
  private robotDone: RobotCounters;
  private robotLastReturn: number | null = null;
  /** Ticks and episodes of the running robot session, counted on its ticks (telemetry). */
  private liveTicks = { steps: 0, episodes: 0, episodeStep: 0 };
  /**
   * The weights that act on the robot (a copy, in checkpoint order) and their served version:
   * set by every swap in the robot session, kept when it stops, so the next session (or a
   * restart) acts with them again; dropped when sim training moves the agent on.
   */
  private robotActing: { layout: ActorLayout; floats: Float32Array; version: number } | null = null;
  /** The robot replay when no session holds it (from the checkpoint resumed, or the last session's end). */
  private robotReplaySnap: ReplaySnapshot | null = null;
  /** The running session's safety counters when its last episode ended. */
  private safetyMark: Partial<SafetyCounters> = {};
  /** ROS message counts already added to the Prometheus counters. */
  private rosCounted = { received: 0, staleOnArrival: 0, rejected: 0, commands: 0, staleTicks: 0 };

  private constructor(
    private readonly ctx: JobContext,
    private readonly trainer: Trainer,
    private readonly robotDeps: RobotOverrides,
  ) {
    this.config = ctx.config;
    const weights = trainer.agent.actorWeights();
    this.policy = new FastPolicy(weights, new Rng(ctx.config.sim.seed + 31), trainer.counters.updates);
    this.served = { weights, version: trainer.counters.updates, actionBounds: policyActionBounds(ctx.config, trainer.plant.command) };
    this.policyUpdates = trainer.counters.updates;
    this.publishedUpdates = trainer.counters.updates;
    this.metricsPath = join(ctx.runDir, 'metrics.jsonl');
    this.robotDone = robotCountersOf(trainer.resumedExtra);
    const r = trainer.resumedRobot;
    if (r !== null) {
      this.robotActing = { layout: actorLayoutOf(r.actor), floats: actorToFloats(r.actor), version: r.actorVersion };
      this.robotReplaySnap = r.replay;
      this.servedVersion = Math.max(this.servedVersion, r.actorVersion);
    }
    trainer.setRobotState(() => this.robotSnapshot());
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
    if (this.robot !== null) {
      const learned = await this.robot.learnedState();
      if (learned !== null) this.trainer.agent.importState(learned.agent);
      this.robotReplaySnap = learned?.robotReplay ?? this.robot.robotReplay();
    }
    const robot = this.robotCounters();
    const extra = (typeof daemon === 'object' && daemon !== null && !Array.isArray(daemon) ? { ...daemon, robot: { ...robot } } : daemon) as Json;
    this.trainer.setExtra(() => extra);
    const path = await this.trainer.checkpoint();
    return { id: basename(path), steps: this.status().envSteps, replaySize: this.trainer.replay.size };
  }

  /** The robot's part of a checkpoint: null before any time on the robot. */
  private robotSnapshot(): RobotSnapshot | null {
    const replay = this.robotReplaySnap;
    if (replay === null) return null;
    const a = this.robotActing;
    // No acting weights kept (sim training moved on): the next session starts from the agent's.
    if (a === null) return { actor: this.trainer.agent.actorWeights(), actorVersion: this.servedVersion, replay };
    return { actor: actorFromFloats(a.layout, a.floats), actorVersion: a.version, replay };
  }

  /** Robot counters so far: finished sessions plus the one running. */
  private robotCounters(): RobotCounters {
    const s = this.robot?.status();
    return {
      steps: this.robotDone.steps + (s?.steps ?? 0),
      episodes: this.robotDone.episodes + (s?.episodes ?? 0),
      updates: this.robotDone.updates + (s?.learner.updates ?? 0),
    };
  }

  async tick(phase: Phase): Promise<TickResult> {
    switch (phase) {
      case 'sim_training':
        return this.trainTick();
      case 'evaluating':
        return this.evalTick();
      case 'real_finetune':
        return this.robotTick();
      default:
        return {};
    }
  }

  private async trainTick(): Promise<TickResult> {
    const t = this.trainer;
    // Sim training moves the agent on: a later robot session starts from its actor.
    this.robotActing = null;
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
    const s = this.robot?.status();
    return s === undefined ? null : { counters: { ...s.safety.counters }, lastReason: s.safety.lastReason };
  }

  view(): PoseView | null {
    if (this.robot !== null) return this.robotView;
    const evaluating = this.rounds.plant;
    if (evaluating !== null) return plantView(evaluating, 'evaluation');
    return plantView(this.trainer.plant, 'training');
  }

  /** The robot for the 3D view: its JointState through the sim model's kinematics (or the session's own). */
  private async openRobotView(robot: RobotPhase): Promise<void> {
    const sim = this.trainer.plant;
    try {
      const modelPath = this.config.sim.modelPath || (sim instanceof MujocoPlant ? sim.modelPath : '');
      if (modelPath === '' && plantView(robot.plant) === null) throw new Error('the sim task has no MJCF model');
      const view = await robotView(robot.plant, rosPlantConfigFrom(this.config).observations, modelPath);
      if (this.robot === robot) this.robotView = view;
      else await view.close?.();
    } catch (err) {
      this.ctx.logger.warn({ error: (err as Error).message }, 'no 3D view of the robot');
    }
  }

  private async closeRobotView(): Promise<void> {
    const v = this.robotView;
    this.robotView = null;
    await v?.close?.();
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

  private async robotTick(): Promise<TickResult> {
    if (this.robot === null) {
      try {
        // The policy server follows the weights the robot acts with; their versions count on
        // from the sim updates so far.
        const base = this.trainer.counters.updates;
        const onPolicy = (weights: ServedPolicy['weights'], version: number): void => {
          this.servedVersion = Math.max(this.servedVersion, base + version);
          this.keepActing(weights, this.servedVersion);
          this.ctx.policy.publish(weights, this.servedVersion);
        };
        const a = this.robotActing;
        const acting = a === null ? undefined : actorFromFloats(a.layout, a.floats);
        const before = this.robotCounters();
        this.liveTicks = { steps: 0, episodes: 0, episodeStep: 0 };
        this.safetyMark = {};
        this.robot = await startRobotPhase({
          config: this.config, logger: this.ctx.logger, agent: this.trainer.agent, simReplay: this.trainer.replay, task: simTask(this.config.sim), onPolicy,
          ...(acting ? { actingWeights: acting } : {}),
          ...(this.robotReplaySnap ? { robotReplay: this.robotReplaySnap } : {}),
          phase: () => this.ctx.phase(),
          onTick: (t) => this.robotTelemetry(t, before),
          onEpisode: (e) => this.robotEpisode(e, before),
          ...this.robotDeps,
        });
        this.robotError = null;
        await this.openRobotView(this.robot);
      } catch (err) {
        this.robotError = (err as Error).message;
        this.ctx.logger.error({ error: this.robotError }, 'cannot start real fine-tuning');
        return { request: { event: 'estop', reason: `real fine-tuning cannot start: ${this.robotError}` } };
      }
    }
    this.countRosMessages();
    return this.robot.tick();
  }

  /** A copy of the weights the robot acts with now (on the control thread, at each swap: one array). */
  private keepActing(weights: ActorWeights, version: number): void {
    this.robotActing = { layout: actorLayoutOf(weights), floats: actorToFloats(weights), version };
  }

  /** Telemetry per robot tick, as in sim: step and episode count on over both phases. */
  private robotTelemetry(t: FineTuneTick, before: RobotCounters): void {
    // On the control thread: counted here, not read from the session's status (which computes loop percentiles).
    const live = this.liveTicks;
    live.steps++;
    live.episodeStep++;
    const periodNs = 1e9 / this.config.ros.controlRateHz;
    this.ctx.telemetry.tick({
      step: this.trainer.counters.steps + before.steps + live.steps,
      episode: this.trainer.counters.episodes + before.episodes + live.episodes,
      episodeStep: live.episodeStep,
      phase: this.ctx.phase(),
      policyVersion: this.trainer.counters.updates + t.policyVersion,
      observation: t.observation,
      action: t.action,
      reward: Number.isNaN(t.reward) ? 0 : t.reward,
      rewardTerms: t.rewardTerms,
      terminated: false,
      truncated: false,
      timing: { periodNs, jitterNs: t.latenessUs * 1000, computeNs: 0, late: t.latenessUs * 1000 > periodNs / 10 },
    });
  }

  /** A robot episode: metrics.jsonl (marked robot) and the Prometheus episode series. */
  private robotEpisode(e: FineTuneEpisode, before: RobotCounters): void {
    const s = this.robot?.status();
    this.liveTicks.episodes++;
    this.liveTicks.episodeStep = 0;
    this.robotLastReturn = e.return;
    this.ctx.metrics.episodeFinished(e.return, 'robot');
    // Safety events of this episode: the session's counters since the last episode ended.
    const counters = s?.safety.counters;
    const events = counters === undefined ? {} : safetyEvents(counters, this.safetyMark);
    if (counters !== undefined) this.safetyMark = { ...counters };
    const record = {
      type: 'episode', phase: 'robot',
      step: this.trainer.counters.steps + before.steps + (s?.steps ?? 0),
      episode: before.episodes + e.episode, return: e.return, length: e.length, reason: e.reason,
      policy_version: this.trainer.counters.updates + e.policyVersion,
      // The learner's figures at the episode's end (null before its first update): the robot phase's curves.
      alpha: finiteOrNull(e.alpha), td_loss: finiteOrNull(e.tdLoss), entropy: finiteOrNull(e.entropy), q_mean: finiteOrNull(e.qMean),
      // What drives fine-tuning (docs/finetuning.md): the critics on robot and sim data apart, Q of the
      // episode's first state against its Monte Carlo return, the policy's drift from the sim policy.
      td_robot: finiteOrNull(e.tdRobot), td_sim: finiteOrNull(e.tdSim), q_robot: finiteOrNull(e.qRobot), q_sim: finiteOrNull(e.qSim),
      q_start: finiteOrNull(e.qStart), mc_return: finiteOrNull(e.mcReturn), q_overestimation: finiteOrNull(e.qStart - e.mcReturn), policy_drift: finiteOrNull(e.policyDrift),
      ...(e.rollback === '' ? {} : { rollback: e.rollback }),
      terms: e.terms,
      // The session's safety counters so far (the web UI reads their growth), and this episode's events by kind.
      safety: counters ?? null,
      safety_events: events,
      ...(Object.keys(events).length > 0 && s?.safety.lastReason ? { safety_last: s.safety.lastReason } : {}),
      time: new Date().toISOString(),
    };
    try {
      appendFileSync(this.metricsPath, `${JSON.stringify(record)}\n`);
    } catch (err) {
      this.ctx.logger.warn({ err: (err as Error).message }, 'could not append a robot episode to metrics.jsonl');
    }
  }

  private countRosMessages(): void {
    const c = this.robot?.rosCounters();
    const s = this.robot?.status();
    if (c === undefined || s === undefined) return;
    const now = { received: c.messages, staleOnArrival: c.stale, rejected: c.malformed, commands: c.commandsPublished, staleTicks: s.safety.counters.stale };
    const was = this.rosCounted;
    this.ctx.metrics.addRos({
      received: now.received - was.received, staleOnArrival: now.staleOnArrival - was.staleOnArrival, rejected: now.rejected - was.rejected,
      commands: now.commands - was.commands, staleTicks: now.staleTicks - was.staleTicks,
    });
    this.rosCounted = now;
  }

  /** Stopping: the robot session ends before the final checkpoint, which then holds all of it. */
  async quiesce(): Promise<void> {
    await this.phaseLeft('real_finetune');
  }

  async phaseLeft(from: Phase): Promise<void> {
    if (from === 'real_finetune' && this.robot !== null) {
      const robot = this.robot;
      let final: Awaited<ReturnType<RobotPhase['stop']>> = null;
      try {
        await this.closeRobotView();
        final = await robot.stop();
      } finally {
        // Counted after the stop: every tick the session took is in. The robot replay outlives
        // the session: the next one (and every checkpoint) starts from it.
        const s = robot.status();
        this.robotReplaySnap = final?.robotReplay ?? robot.robotReplay();
        this.robotDone = { steps: this.robotDone.steps + s.steps, episodes: this.robotDone.episodes + s.episodes, updates: this.robotDone.updates + s.learner.updates };
        this.rosCounted = { received: 0, staleOnArrival: 0, rejected: 0, commands: 0, staleTicks: 0 };
        this.robot = null;
      }
    }
    if (from === 'evaluating') this.rounds.cancel();
  }

  status(): JobStatus {
    const t = this.trainer;
    const m = t.lastUpdate;
    const robot = this.robotCounters();
    const s = this.robot?.status();
    const simReturn = Number.isNaN(t.lastReturn) ? null : t.lastReturn;
    return {
      // Steps, updates and episodes count on over both phases (the checkpoint schedule and
      // the progress lines follow the robot too).
      envSteps: t.counters.steps + robot.steps,
      updates: t.counters.updates + robot.updates,
      episodes: t.counters.episodes + robot.episodes,
      replaySize: t.replay.size,
      lastReturn: this.robot !== null || robot.steps > 0 ? this.robotLastReturn ?? simReturn : simReturn,
      extra: {
        task: t.task,
        stepsPerSecond: Number(t.rate.toFixed(1)),
        alpha: m === null ? null : m.alpha,
        lastEvalReturn: this.rounds.lastReturn,
        gate: this.rounds.lastGate,
        policyVersion: this.policy.version,
        evaluating: this.rounds.progress,
        robot: this.robotError ?? (this.robot === null ? null : 'running'),
        robotSteps: robot.steps,
        robotEpisodes: robot.episodes,
        robotUpdates: robot.updates,
        robotLastReturn: this.robotLastReturn,
        robotReplaySize: s?.robotReplaySize ?? this.robotReplaySnap?.size ?? 0,
        robotSession: s?.state ?? null,
        robotSafetyReason: s?.safety.lastReason ?? null,
        robotLearningPaused: s?.learningPausedReason ?? null,
        actingPolicyVersion: s === undefined ? this.policy.version : t.counters.updates + s.policyVersion,
      },
    };
  }

  reconfigure(config: SacbridgeConfig, changed: readonly string[]): string[] {
    this.config = config;
    return changed.filter((k) => k.startsWith('sim.eval') || k.startsWith('switch.'));
  }

  async close(): Promise<void> {
    await this.closeRobotView();
    await this.robot?.stop();
    this.robot = null;
    await this.rounds.close();
    await this.trainer.close();
  }
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function createSacJob(ctx: JobContext): Promise<Job> {
  return SacJob.create(ctx);
}


/** The safety events (every counter but ticks) that grew since `mark`, by kind; pure. */
export function safetyEvents(now: SafetyCounters, mark: Partial<SafetyCounters>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(now) as [keyof SafetyCounters, number][]) {
    if (k === 'ticks') continue;
    const d = v - (mark[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}
