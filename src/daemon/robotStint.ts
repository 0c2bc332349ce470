import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Json } from '../util/json.js';
import type { SacbridgeConfig } from '../config/schema.js';
import type { Trainer } from '../train/trainer.js';
import type { JobContext, ServedPolicy, TickResult } from './job.js';
import { rosPlantConfigFrom, startRobotPhase, type RobotPhase, type RobotPhaseDeps } from './robotPhase.js';
import type { FineTuneEpisode, FineTuneTick } from '../finetune/session.js';
import { simTask } from '../wiring/configOptions.js';
import type { ReplaySnapshot } from '../agent/replayBuffer.js';
import type { ActorWeights } from '../agent/policy.js';
import { actorFromFloats, actorLayoutOf, actorToFloats, type ActorLayout } from '../learner/weightExchange.js';
import type { RobotSnapshot } from '../train/trainingState.js';
import type { SafetyCounters } from '../safety/safetyLayer.js';
import { MujocoPlant } from '../plant/mujoco/mujocoPlant.js';
import { plantView, robotView, type PoseView } from '../ui/poseView.js';
import type { SafetyReport } from '../ui/events.js';

/**
 * The SAC job's time on the robot (sacJob.ts owns one and hands it the real_finetune phase):
 * the robot sessions (robotPhase.ts), the weights that act on the robot and the robot replay
 * between sessions and across restarts, the robot counters, its telemetry, episode records and
 * ROS counters, and the 3D view of the robot.
 */

/** Robot-phase counters over every robot session of this run (kept in the checkpoint's daemon state as `robot`). */
export interface RobotCounters {
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

/** What the robot stint uses of the SAC job that owns it. */
export interface RobotStintHost {
  readonly ctx: JobContext;
  readonly trainer: Trainer;
  readonly deps: RobotOverrides;
  config(): SacbridgeConfig;
  /** The newest version given to the policy server. */
  servedVersion(): number;
  /** Raise the served version to at least `version` (versions served never go back); the version now. */
  raiseServedVersion(version: number): number;
}

const noRosCounts = () => ({ received: 0, staleOnArrival: 0, rejected: 0, commands: 0, staleTicks: 0 });

export class RobotStint {
  private robot: RobotPhase | null = null;
  /** The robot as the web UI draws it, while fine-tuning. */
  private robotView: PoseView | null = null;
  private robotError: string | null = null;
  private readonly metricsPath: string;
  /** Robot steps, episodes and updates of finished robot sessions (and before the restart, from the checkpoint). */
  private robotDone: RobotCounters;
  private robotLastReturn: number | null = null;
  /** Ticks and episodes of the running robot session, counted on its ticks (telemetry). */
  private liveTicks = { steps: 0, episodes: 0, episodeStep: 0 };
  /**
   * Session ticks and the control loop's slot at the last robot episode record (or the slot before
   * the session's first tick), and the slot of the newest tick: the robot's steps/s on the loop's
   * own clock (slots are wall-clock periods, skipped ones included), where record times would
   * jitter with when the episode's end was reported.
   */
  private rateMark: { steps: number; slot: number } | null = null;
  private lastSlot = -1;
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
  private rosCounted = noRosCounts();

  constructor(private readonly host: RobotStintHost) {
    const { trainer, ctx } = host;
    this.metricsPath = join(ctx.runDir, 'metrics.jsonl');
    this.robotDone = robotCountersOf(trainer.resumedExtra);
    const r = trainer.resumedRobot;
    if (r !== null) {
      this.robotActing = { layout: actorLayoutOf(r.actor), floats: actorToFloats(r.actor), version: r.actorVersion };
      this.robotReplaySnap = r.replay;
      host.raiseServedVersion(r.actorVersion);
    }
    trainer.setRobotState(() => this.snapshot());
  }

  /** A robot session is running. */
  get running(): boolean {
    return this.robot !== null;
  }

  /** The robot for the web UI's 3D view (null when not running or not drawable). */
  get view(): PoseView | null {
    return this.robotView;
  }

  /** Sim training moves the agent on: a later robot session starts from its actor. */
  simMovedOn(): void {
    this.robotActing = null;
  }

  /**
   * Before a checkpoint during the robot phase: the learner's state (networks, optimisers,
   * temperature) goes into the agent, with the robot replay as of that state.
   */
  async beforeCheckpoint(): Promise<void> {
    if (this.robot === null) return;
    const learned = await this.robot.learnedState();
    if (learned !== null) this.host.trainer.agent.importState(learned.agent);
    this.robotReplaySnap = learned?.robotReplay ?? this.robot.robotReplay();
  }

  /** The robot's part of a checkpoint: null before any time on the robot. */
  private snapshot(): RobotSnapshot | null {
    const replay = this.robotReplaySnap;
    if (replay === null) return null;
    const a = this.robotActing;
    // No acting weights kept (sim training moved on): the next session starts from the agent's.
    if (a === null) return { actor: this.host.trainer.agent.actorWeights(), actorVersion: this.host.servedVersion(), replay };
    return { actor: actorFromFloats(a.layout, a.floats), actorVersion: a.version, replay };
  }

  /** Robot counters so far: finished sessions plus the one running. */
  counters(): RobotCounters {
    const s = this.robot?.status();
    return {
      steps: this.robotDone.steps + (s?.steps ?? 0),
      episodes: this.robotDone.episodes + (s?.episodes ?? 0),
      updates: this.robotDone.updates + (s?.learner.updates ?? 0),
    };
  }

  /** One real_finetune tick: starts a session first if none runs; a session that cannot start asks for the e-stop. */
  async tick(): Promise<TickResult> {
    if (this.robot === null) {
      const { ctx, trainer } = this.host;
      const config = this.host.config();
      try {
        // The policy server follows the weights the robot acts with; their versions count on
        // from the sim updates so far.
        const base = trainer.counters.updates;
        const onPolicy = (weights: ServedPolicy['weights'], version: number): void => {
          const served = this.host.raiseServedVersion(base + version);
          this.keepActing(weights, served);
          ctx.policy.publish(weights, served);
        };
        const a = this.robotActing;
        const acting = a === null ? undefined : actorFromFloats(a.layout, a.floats);
        const before = this.counters();
        this.liveTicks = { steps: 0, episodes: 0, episodeStep: 0 };
        this.rateMark = null;
        this.lastSlot = -1;
        this.safetyMark = {};
        this.robot = await startRobotPhase({
          config, logger: ctx.logger, agent: trainer.agent, simReplay: trainer.replay, task: simTask(config.sim), onPolicy,
          ...(acting ? { actingWeights: acting } : {}),
          ...(this.robotReplaySnap ? { robotReplay: this.robotReplaySnap } : {}),
          phase: () => ctx.phase(),
          onTick: (t) => this.telemetry(t, before),
          onEpisode: (e) => this.episode(e, before),
          ...this.host.deps,
        });
        this.robotError = null;
        await this.openView(this.robot);
      } catch (err) {
        this.robotError = (err as Error).message;
        ctx.logger.error({ error: this.robotError }, 'cannot start real fine-tuning');
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
  private telemetry(t: FineTuneTick, before: RobotCounters): void {
    const { ctx, trainer } = this.host;
    // On the control thread: counted here, not read from the session's status (which computes loop percentiles).
    const live = this.liveTicks;
    const periodNs = 1e9 / this.host.config().ros.controlRateHz;
    // The first tick (or the first of a new loop, whose slots start again at 0) takes a period too.
    if (this.rateMark === null || t.index < this.lastSlot) this.rateMark = { steps: live.steps, slot: t.index - 1 };
    this.lastSlot = t.index;
    live.steps++;
    live.episodeStep++;
    ctx.telemetry.tick({
      step: trainer.counters.steps + before.steps + live.steps,
      episode: trainer.counters.episodes + before.episodes + live.episodes,
      episodeStep: live.episodeStep,
      phase: ctx.phase(),
      policyVersion: trainer.counters.updates + t.policyVersion,
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
  private episode(e: FineTuneEpisode, before: RobotCounters): void {
    const { ctx, trainer } = this.host;
    const s = this.robot?.status();
    this.liveTicks.episodes++;
    this.liveTicks.episodeStep = 0;
    this.robotLastReturn = e.return;
    ctx.metrics.episodeFinished(e.return, 'robot');
    // Safety events of this episode: the session's counters since the last episode ended.
    const counters = s?.safety.counters;
    const events = counters === undefined ? {} : safetyEvents(counters, this.safetyMark);
    if (counters !== undefined) this.safetyMark = { ...counters };
    // Ticks per second of wall time since the last record, resets included: what the robot gave.
    const mark = this.rateMark;
    const slots = mark === null ? 0 : this.lastSlot - mark.slot;
    const stepsPerS = slots <= 0 ? Number.NaN : ((this.liveTicks.steps - mark!.steps) * this.host.config().ros.controlRateHz) / slots;
    this.rateMark = { steps: this.liveTicks.steps, slot: this.lastSlot };
    const record = {
      type: 'episode', phase: 'robot',
      step: trainer.counters.steps + before.steps + (s?.steps ?? 0),
      episode: before.episodes + e.episode, return: e.return, length: e.length, reason: e.reason,
      steps_per_s: finiteOrNull(stepsPerS),
      policy_version: trainer.counters.updates + e.policyVersion,
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
      ctx.logger.warn({ err: (err as Error).message }, 'could not append a robot episode to metrics.jsonl');
    }
  }

  private countRosMessages(): void {
    const c = this.robot?.rosCounters();
    const s = this.robot?.status();
    if (c === undefined || s === undefined) return;
    const now = { received: c.messages, staleOnArrival: c.stale, rejected: c.malformed, commands: c.commandsPublished, staleTicks: s.safety.counters.stale };
    const was = this.rosCounted;
    this.host.ctx.metrics.addRos({
      received: now.received - was.received, staleOnArrival: now.staleOnArrival - was.staleOnArrival, rejected: now.rejected - was.rejected,
      commands: now.commands - was.commands, staleTicks: now.staleTicks - was.staleTicks,
    });
    this.rosCounted = now;
  }

  /** The robot for the 3D view: its JointState through the sim model's kinematics (or the session's own). */
  private async openView(robot: RobotPhase): Promise<void> {
    const sim = this.host.trainer.plant;
    const config = this.host.config();
    try {
      const modelPath = config.sim.modelPath || (sim instanceof MujocoPlant ? sim.modelPath : '');
      if (modelPath === '' && plantView(robot.plant) === null) throw new Error('the sim task has no MJCF model');
      const view = await robotView(robot.plant, rosPlantConfigFrom(config).observations, modelPath);
      if (this.robot === robot) this.robotView = view;
      else await view.close?.();
    } catch (err) {
      this.host.ctx.logger.warn({ error: (err as Error).message }, 'no 3D view of the robot');
    }
  }

  private async closeView(): Promise<void> {
    const v = this.robotView;
    this.robotView = null;
    await v?.close?.();
  }

  /** The running session's safety counters and last reason (null when none runs). */
  safety(): SafetyReport | null {
    const s = this.robot?.status();
    return s === undefined ? null : { counters: { ...s.safety.counters }, lastReason: s.safety.lastReason };
  }

  /** Leaving real_finetune: the session stops; its replay and counters outlive it. */
  async stop(): Promise<void> {
    const robot = this.robot;
    if (robot === null) return;
    let final: Awaited<ReturnType<RobotPhase['stop']>> = null;
    try {
      await this.closeView();
      final = await robot.stop();
    } finally {
      // Counted after the stop: every tick the session took is in. The robot replay outlives
      // the session: the next one (and every checkpoint) starts from it.
      const s = robot.status();
      this.robotReplaySnap = final?.robotReplay ?? robot.robotReplay();
      this.robotDone = { steps: this.robotDone.steps + s.steps, episodes: this.robotDone.episodes + s.episodes, updates: this.robotDone.updates + s.learner.updates };
      this.rosCounted = noRosCounts();
      this.robot = null;
    }
  }

  /** The job's last return: the robot's once it has run (the sim's until its first episode ends). */
  lastReturn(simReturn: number | null): number | null {
    return this.robot !== null || this.counters().steps > 0 ? this.robotLastReturn ?? simReturn : simReturn;
  }

  /** The robot's keys in the job status' `extra`; `policyVersion` is the fast policy's, shown while no session acts. */
  statusExtra(policyVersion: number): Record<string, Json> {
    const robot = this.counters();
    const s = this.robot?.status();
    return {
      robot: this.robotError ?? (this.robot === null ? null : 'running'),
      robotSteps: robot.steps,
      robotEpisodes: robot.episodes,
      robotUpdates: robot.updates,
      robotLastReturn: this.robotLastReturn,
      robotReplaySize: s?.robotReplaySize ?? this.robotReplaySnap?.size ?? 0,
      robotSession: s?.state ?? null,
      robotSafetyReason: s?.safety.lastReason ?? null,
      robotLearningPaused: s?.learningPausedReason ?? null,
      actingPolicyVersion: s === undefined ? policyVersion : this.host.trainer.counters.updates + s.policyVersion,
    };
  }

  /** Closing the job: view and session go, without the bookkeeping of stop(). */
  async close(): Promise<void> {
    await this.closeView();
    await this.robot?.stop();
    this.robot = null;
  }
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

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
