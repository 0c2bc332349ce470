/**
 * Online fine-tuning of a sim-trained agent on a plant (the robot through RosPlant, or any
 * Plant): the daemon's `real_finetune` phase.
 *
 * The ControlLoop ticks at `rateHz` on the daemon's own timer. A tick runs the Env's step path
 * (src/env/env.ts) split across ticks: finish the previous step (`complete`: read the plant,
 * observation, reward, termination) → FastPolicy, sampled (exploration) → `prepare` (scale to
 * physical units, SafetyLayer) → `write` → `advance` (returns at once on a wall-clock robot,
 * waits for the reply in lockstep).
 * Transitions go through the shared ring to the learner worker (src/finetune/sacLearner.ts);
 * new actor weights come back through the triple buffer and are swapped into the FastPolicy
 * between ticks. The tick never waits on a gradient step.
 *
 * A transition is learned from only when both of its ends are trustworthy: finite and fresh (the
 * safety watchdog did not hold the command); its action is the command that went out (after
 * limits and rate limit), as the Env's executed action: the policy's action where the safety
 * layer left it alone, the filtered command mapped back to [-1, 1] where it changed it.
 * Stale data pauses learning until fresh data returns. An episode ends on the task's
 * termination, the time limit, a safety stop or a non-finite observation; the next one starts
 * after `plant.reset()` (MuJoCo: reset state and the task's episode initialisation; RosPlant:
 * the scripted reset or the operator's "ready"). Pause and e-stop write the safe command (zero
 * inside the limits) every tick and stop learning; `resume()` starts a fresh episode.
 */
import { FastPolicy } from '../agent/fastPolicy.js';
import type { ActorWeights } from '../agent/policy.js';
import type { ObservationNormalizer } from '../agent/normalizer.js';
import { ReplayBuffer, type ReplaySnapshot } from '../agent/replayBuffer.js';
import type { SoftActorCritic } from '../agent/sac.js';
import type { BackendChoice } from '../compute/backend.js';
import { ControlLoop, type ControlLoopOptions, type LoopStats, type TickInfo } from '../control/controlLoop.js';
import { Env } from '../env/env.js';
import { LearnerHost } from '../learner/learnerHost.js';
import { updatesOwed, versionDueAt, type LearnerSchedule } from '../learner/learnerApi.js';
import { setMainThreadScheduling } from '../control/realtime.js';
import { actorLayoutOf } from '../learner/weightExchange.js';
import { hasEstop, type Plant } from '../plant/plant.js';
import { SafetyLayer, type SafetyCounters, type SafetyOptions } from '../safety/safetyLayer.js';
import type { Task } from '../task/task.js';
import type { SacLearnerOptions, SacLearnerRequest, SacLearnerState } from './sacLearner.js';
import { copyActor, discountedReturn, flatActor, relativeDistance } from './measures.js';
import { ReturnWindows } from './returnWindows.js';

export type FineTuneState = 'resetting' | 'running' | 'paused' | 'estop' | 'stopped' | 'failed';

export interface FineTuneTick {
  index: number;
  latenessUs: number;
  observation: Float32Array;
  /** Policy action in [-1, 1]^n. */
  action: Float32Array;
  /** Command that went out, after the safety layer (physical units). */
  command: Float64Array;
  /** Reward of the transition finished on this tick (NaN on an episode's first tick). */
  reward: number;
  /** Its reward terms (empty on an episode's first tick); valid during the call only. */
  rewardTerms: Readonly<Record<string, number>>;
  policyVersion: number;
  learningPaused: boolean;
}

export interface FineTuneEpisode {
  episode: number;
  return: number;
  length: number;
  /** 'terminated' | 'time_limit' | 'safety: <the safety layer's reason>' | 'non-finite reward (...)' */
  reason: string;
  policyVersion: number;
  /** Each reward term summed over the episode (its finite steps). */
  terms: Record<string, number>;
  /**
   * What drives fine-tuning, as of the episode's end (NaN before the learner reported): the
   * temperature, the policy's entropy estimate, the critics' mean TD loss and mean Q on the
   * learner's last batch (robot and sim rows mixed), and how far the acting actor has moved from
   * the sim actor (relative L2 distance of all weights).
   */
  alpha: number;
  entropy: number;
  tdLoss: number;
  qMean: number;
  policyDrift: number;
  /**
   * The critics' fit measured apart on robot and on sim data (mean squared TD error and mean Q
   * on a robot-only and a sim-only batch, the learner's latest measurement).
   */
  tdRobot: number;
  tdSim: number;
  qRobot: number;
  qSim: number;
  /**
   * Q against the Monte Carlo return: the critics' Q of the episode's first state and action
   * (asked of the learner as the episode ends) and the episode's discounted return from there.
   * The return stops at the episode's end (a time limit cuts its tail off), so compare how
   * `qStart - mcReturn` moves over episodes rather than its level.
   */
  qStart: number;
  mcReturn: number;
  /** The guard's rollback after this episode ('' when none): why, and which weights act now. */
  rollback: string;
}

export interface FineTuneUpdate {
  updates: number;
  ingested: number;
  version: number;
  metrics: Record<string, number>;
}

export interface FineTuneOptions {
  agent: SoftActorCritic;
  /** The sim run's replay; shared with the worker (copied into shared memory if it is not). */
  simReplay: ReplayBuffer;
  plant: Plant;
  task: Task;
  /** Safety layer settings; a watchdog without `ageOf` uses the plant's `signalAge` (RosPlant). */
  safety: SafetyOptions;
  rateHz: number;
  /** Share of each training batch drawn from robot transitions, in [0, 1]. */
  robotFraction: number;
  /** Gradient updates per robot transition (the update-to-data ratio; may be fractional). */
  updatesPerStep: number;
  /** Robot transitions collected before the first update. */
  learningStarts: number;
  /** Publish actor weights to the control thread every this many updates. */
  publishEvery: number;
  robotReplayCapacity: number;
  /** Episode time limit in ticks (default: the task's). */
  episodeSteps?: number;
  /** The sim run's observation normaliser, if it used one (frozen while fine-tuning). */
  normalizer?: ObservationNormalizer | null;
  seed?: number;
  /** tfjs backend in the learner worker (default 'auto'). */
  compute?: BackendChoice;
  /**
   * Which weights act at a tick. 'latest' (default; a robot on the wall clock): the newest the
   * learner has published, picked up between ticks without ever waiting. 'scheduled' (a plant in
   * lockstep, e.g. SimulatedRobot): version v acts from the tick at which versionDueAt(v)
   * transitions have been pushed, and the tick waits for it if the learner is late, so a seed
   * gives the same run whatever the thread timing.
   */
  versionSchedule?: 'latest' | 'scheduled';
  /**
   * Critic warm-up: the first this many updates on the robot train the critics only, with the
   * actor and the temperature frozen at the sim policy's (default 0: off).
   */
  criticWarmupUpdates?: number;
  /** The actor's step size while fine-tuning (a smaller actor step); default the sim run's. */
  actorLearningRate?: number;
  /** Keep the temperature the sim run learned (no temperature steps while fine-tuning). */
  keepTemperature?: boolean;
  /** Reset the temperature to this value when fine-tuning starts (default: the sim run's). */
  temperature?: number;
  /**
   * The weights that act from the first tick (default: the agent's actor). A resumed robot
   * phase passes the ones that acted when its checkpoint was taken; the learner still starts
   * from `agent`, which may be ahead of them.
   */
  actingWeights?: ActorWeights;
  /** Robot transitions to start with (a resumed robot phase's); its capacity wins over robotReplayCapacity. */
  robotReplay?: ReplaySnapshot;
  /**
   * The rollback guard: after every episode, the mean return of the last `window` episodes is
   * compared with the best such mean so far (the first window's is the sim policy's, acting while
   * the learner waits for `learningStarts` transitions). When it falls below
   * best - tolerance * |best|, the acting policy and the learner's actor go back to the weights
   * that acted at the end of the best window (with `freeze`, the learner keeps its actor and
   * temperature there for as many updates as the window had transitions while its critics learn
   * on), and the guard waits for a full window acted from there before it judges again.
   * `restore` picks which weights of the best window come back: 'end' (default), those acting
   * when it ended (the newest, but not yet measured by any return), or 'start', those acting
   * when its first episode began (measured by the whole window; for the first window, the sim
   * policy itself).
   * Absent: no guard.
   */
  guard?: { window: number; tolerance: number; freeze?: boolean; restore?: 'end' | 'start' };
  /**
   * Exploration on the robot: sampled actions use the policy's standard deviation times this
   * (default 1). The learner still trains the policy's own distribution (SAC learns off-policy).
   */
  explorationScale?: number;
  /** Fine-grained ControlLoop settings (wait mode, spin, watchdog pings...). */
  loop?: Partial<Omit<ControlLoopOptions, 'rateHz' | 'onTick' | 'onError'>>;
  /**
   * SCHED_FIFO priority (1-99) for the control thread (this thread) while the session runs; the
   * learner worker, started first, keeps normal scheduling. 0 or absent: normal scheduling.
   */
  controlThreadPriority?: number;
  /** Seconds between reset retries after a failed reset (default 1). */
  resetRetryDelay?: number;
  onTick?(tick: FineTuneTick): void;
  onUpdate?(update: FineTuneUpdate): void;
  onEpisode?(episode: FineTuneEpisode): void;
  /**
   * Every set of actor weights the control loop acts with (the agent's at start, version 0, then
   * each newer one from the learner), on the control thread; the arrays are valid during the
   * call only (the daemon copies them to its policy server).
   */
  onPolicy?(weights: ActorWeights, version: number): void;
  /** The session failed (learner worker, plant or tick error); it has stopped ticking. */
  onError?(error: Error): void;
}

export interface FineTuneStatus {
  state: FineTuneState;
  steps: number;
  episodes: number;
  episodeSteps: number;
  episodeReturn: number;
  /** Return of the last finished episode (NaN before the first). */
  lastReturn: number;
  /** Robot transitions sent to the learner, and those not sent (untrustworthy ends). */
  transitions: number;
  transitionsSkipped: number;
  policyVersion: number;
  /** Rollbacks by the guard, and the last one's reason ('' before any). */
  rollbacks: number;
  lastRollback: string;
  learningPaused: boolean;
  /** Why learning is paused ('stale: ...', 'paused', 'e-stop: ...'), else null. */
  learningPausedReason: string | null;
  estopReason: string | null;
  learner: { updates: number; ingested: number; version: number; ringPending: number; ringDropped: number };
  robotReplaySize: number;
  safety: { counters: SafetyCounters; lastReason: string | null };
  loop: LoopStats;
  lastError: string | null;
}

export interface FineTuneResult {
  /** The learner's final state, also installed into `options.agent`. */
  state: SacLearnerState | null;
  status: FineTuneStatus;
}

const NO_TERMS: Readonly<Record<string, number>> = Object.freeze({});

const LEARNER_MODULE = new URL('./sacLearner.js', import.meta.url);

export class FineTuneSession {
  /** Robot transitions (filled by the learner worker; snapshot it for checkpoints). */
  readonly robotReplay: ReplayBuffer;
  readonly safety: SafetyLayer;
  readonly policy: FastPolicy;
  private readonly loop: ControlLoop;
  /** The one step path: plant, task, action scaling, this session's safety layer, time limit. */
  private readonly env: Env;
  private readonly plant: Plant;
  private readonly prevObs: Float32Array;
  private readonly action: Float32Array;
  private readonly prevAction: Float32Array;
  private readonly safeCommand: Float64Array;
  private mode: FineTuneState = 'resetting';
  /** A transition started on the last tick, waiting for its next observation. */
  private pending = false;
  private pendingLearnable = false;
  private steps = 0;
  private episodes = 0;
  private episodeSteps = 0;
  private episodeReturn = 0;
  private episodeTerms: Record<string, number> = {};
  /** The reward terms of the transition finished on this tick. */
  private tickTerms: Readonly<Record<string, number>> = NO_TERMS;
  private lastReturn = Number.NaN;
  private transitions = 0;
  private skipped = 0;
  private estopReason: string | null = null;
  private lastError: string | null = null;
  private resetting: Promise<void> | null = null;
  /** Bumped by every reset, so a superseded reset (paused, e-stopped, resumed) never starts an episode. */
  private resetEpoch = 0;
  private stopping: Promise<FineTuneResult> | null = null;
  /** The sim actor's weights, flattened (policy drift is measured from them). */
  private readonly simActor: Float32Array;
  private drift = 0;
  private learner: Record<string, number> | null = null;
  /** 'scheduled' versions: the next version to act, and the pushed-transition count it acts from. */
  private nextVersion = 1;
  private nextVersionAt: number;
  private readonly schedule: LearnerSchedule;
  /** The episode's first state and action, and its rewards (for Q against the Monte Carlo return). */
  private readonly startObs: Float32Array;
  private readonly startAction: Float32Array;
  private episodeRewards: number[] = [];
  /** The guard's judgement over episode returns (null: no guard), the best weights, the rollbacks. */
  private readonly guard: ReturnWindows | null;
  private bestWeights: ActorWeights;
  /** With a guard: a copy of the weights that act now. */
  private actingWeights: ActorWeights;
  private bestVersion = 0;
  /** With a guard: the weights (and version) that acted at the start of each of the last `window` episodes, oldest first. */
  private readonly episodeStarts: { weights: ActorWeights; version: number }[] = [];
  private rollbacks = 0;
  private lastRollback = '';
  /** Versions below this were made before the last rollback: they never act. */
  private minVersion = 0;
  /** Episode records waiting for the learner's Q of their first state, in order. */
  private episodeReports: Promise<void> = Promise.resolve();
  /** Seconds the current tick has waited for a scheduled version. */
  private learnerWaitS = 0;

  private constructor(private readonly o: FineTuneOptions, private readonly host: LearnerHost, robotReplay: ReplayBuffer) {
    this.robotReplay = robotReplay;
    this.plant = o.plant;
    this.schedule = scheduleOf(o);
    this.nextVersionAt = versionDueAt(this.schedule, 1);
    const plantAge = o.safety.ageOf ?? o.plant.signalAge?.bind(o.plant);
    // Time this tick spent waiting for a scheduled version is ours, not the plant's: a lockstep
    // plant waits for the command, so its data did not age meanwhile.
    const ageOf = plantAge === undefined ? undefined : (signal: string): number => plantAge(signal) - this.learnerWaitS;
    this.safety = new SafetyLayer({ ...o.safety, ...(ageOf === undefined ? {} : { ageOf }) });
    this.env = new Env(o.plant, o.task, { seed: (o.seed ?? 0) + 1, filter: this.safety, ...(o.episodeSteps === undefined ? {} : { maxEpisodeSteps: o.episodeSteps }) });
    const weights = o.actingWeights ?? o.agent.actorWeights();
    this.simActor = flatActor(weights);
    this.bestWeights = copyActor(weights);
    this.actingWeights = this.bestWeights;
    this.guard = o.guard === undefined ? null : new ReturnWindows(o.guard);
    if (this.guard !== null) this.episodeStarts.push({ weights: this.bestWeights, version: 0 });
    // Exploration noise and the sim's episode initialisation draw from the env's generator.
    this.policy = new FastPolicy(weights, this.env.rng, 0);
    this.policy.noiseScale = o.explorationScale ?? 1;
    o.onPolicy?.(weights, 0);
    const n = o.plant.command.size;
    this.prevObs = new Float32Array(o.task.observationSize);
    this.startObs = new Float32Array(o.task.observationSize);
    this.startAction = new Float32Array(n);
    this.action = new Float32Array(n);
    this.prevAction = new Float32Array(n);
    this.safeCommand = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.safeCommand[i] = Math.min(o.safety.high[i], Math.max(o.safety.low[i], 0));
    }
    const plant = o.plant;
    // A plant that drains its queues gets a wider I/O window: up to 2 ms, a quarter of the period.
    const drain = plant.drain === undefined ? {} : {
      io: (untilMs: number) => plant.drain!(untilMs),
      ioWindowUs: o.loop?.ioWindowUs ?? Math.min(2000, 250_000 / o.rateHz),
    };
    this.loop = new ControlLoop({
      ...o.loop,
      ...drain,
      rateHz: o.rateHz,
      onTick: (t) => this.tick(t),
      onError: (e) => this.fail(e instanceof Error ? e : new Error(String(e))),
    });
  }

  /** Start the learner worker, then the first episode's reset and the control loop. */
  static async start(o: FineTuneOptions): Promise<FineTuneSession> {
    checkOptions(o);
    const agent = o.agent;
    const obsSize = o.task.observationSize, actSize = o.plant.command.size;
    if (agent.observationSize !== obsSize || agent.actionSize !== actSize) {
      throw new Error(`fine-tune: the agent takes obs ${agent.observationSize} / action ${agent.actionSize}, task '${o.task.name}' on the ${o.plant.kind} plant gives ${obsSize} / ${actSize}`);
    }
    const simReplay = o.simReplay.storage instanceof SharedArrayBuffer ? o.simReplay : sharedCopy(o.simReplay);
    const robotReplay = new ReplayBuffer({ capacity: o.robotReplay?.capacity ?? o.robotReplayCapacity, observationSize: obsSize, actionSize: actSize, shared: true });
    if (o.robotReplay !== undefined) robotReplay.restore(o.robotReplay);
    const weights = o.actingWeights ?? agent.actorWeights();
    let session: FineTuneSession | null = null;
    let learned: Record<string, number> | null = null;
    const learnerOptions: SacLearnerOptions = {
      agent: agent.exportState(),
      simReplay: simReplay.handle(),
      robotReplay: robotReplay.handle(),
      robotFraction: o.robotFraction,
      normalizer: o.normalizer?.exportState() ?? null,
      seed: (o.seed ?? 0) + 2,
      criticWarmupUpdates: o.criticWarmupUpdates ?? 0,
      ...(o.actorLearningRate === undefined ? {} : { actorLearningRate: o.actorLearningRate }),
      keepTemperature: o.keepTemperature ?? false,
      ...(o.temperature === undefined ? {} : { temperature: o.temperature }),
      ...(o.compute === undefined ? {} : { compute: o.compute }),
    };
    const host = await LearnerHost.start({
      module: LEARNER_MODULE.href,
      options: learnerOptions as unknown as Record<string, unknown>,
      observationSize: obsSize,
      actionSize: actSize,
      actor: actorLayoutOf(weights),
      ringCapacity: 1 << 14,
      schedule: scheduleOf(o),
      onMetrics: (m) => {
        learned = m.metrics;
        session?.noteLearner(m.metrics);
        o.onUpdate?.({ updates: m.updates, ingested: m.ingested, version: m.version, metrics: m.metrics });
      },
      onError: (e) => session?.fail(e),
    });
    try {
      session = new FineTuneSession(o, host, robotReplay);
      if (learned !== null) session.noteLearner(learned);
      // After the learner's thread exists, so that only the control thread is real-time.
      if ((o.controlThreadPriority ?? 0) > 0) setMainThreadScheduling('fifo', o.controlThreadPriority);
    } catch (e) {
      await host.stop();
      throw e;
    }
    session.beginReset();
    session.loop.start();
    return session;
  }

  status(): FineTuneStatus {
    const l = this.host.stats();
    const s = this.safety.report();
    return {
      state: this.mode,
      steps: this.steps,
      episodes: this.episodes,
      episodeSteps: this.episodeSteps,
      episodeReturn: this.episodeReturn,
      lastReturn: this.lastReturn,
      transitions: this.transitions,
      transitionsSkipped: this.skipped,
      policyVersion: this.policy.version,
      rollbacks: this.rollbacks,
      lastRollback: this.lastRollback,
      learningPaused: l.paused,
      learningPausedReason: this.pauseReason(),
      estopReason: this.estopReason,
      learner: { updates: l.updates, ingested: l.ingested, version: l.version, ringPending: l.ringPending, ringDropped: l.ringDropped },
      robotReplaySize: this.robotReplay.size,
      safety: { counters: s.counters, lastReason: s.lastReason },
      loop: this.loop.stats(),
      lastError: this.lastError,
    };
  }

  /** Hold the safe command and stop learning; `resume()` continues with a fresh episode. */
  pause(): void {
    if (this.mode === 'stopped' || this.mode === 'failed' || this.mode === 'estop') return;
    this.mode = 'paused';
    this.holdSafe();
  }

  /** Leave pause or e-stop (clearing the plant's latch): a fresh episode starts with a reset. */
  resume(): void {
    if (this.mode === 'estop') {
      this.estopReason = null;
      if (hasEstop(this.plant)) this.plant.clearEstop();
    } else if (this.mode !== 'paused') {
      return;
    }
    this.beginReset();
  }

  /** Latch the e-stop: the safe command now and on every tick, learning stopped, the plant's latch set. */
  estop(reason: string): void {
    if (this.mode === 'stopped' || this.mode === 'failed') return;
    if (this.estopReason === null) this.estopReason = reason;
    this.mode = 'estop';
    if (hasEstop(this.plant) && !this.plant.estopped) this.plant.triggerEstop(reason);
    this.holdSafe();
  }

  /** The learner's current state without stopping (for a checkpoint during fine-tuning). */
  async learnedState(): Promise<SacLearnerState | null> {
    return (await this.host.requestState()) as SacLearnerState | null;
  }

  /**
   * Stop the loop (the safe command goes out last) and the learner; install the learned state
   * into `options.agent` so the daemon can checkpoint it. The plant stays open (the caller's).
   */
  stop(): Promise<FineTuneResult> {
    this.stopping ??= (async () => {
      const wasFailed = this.mode === 'failed';
      this.mode = 'stopped';
      await this.loop.stop();
      if ((this.o.controlThreadPriority ?? 0) > 0) setMainThreadScheduling('other');
      this.writeSafe();
      // A reset may be waiting for the operator's "ready" for minutes: the stop does not.
      this.plant.cancelReset?.();
      await this.resetting?.catch(() => undefined);
      // The last episodes' records wait for the learner's answer: before it stops.
      await this.episodeReports;
      // In lockstep the learned state is a function of the transitions: the learner first takes
      // every update they are owed (where it stands when told to stop is a matter of timing).
      if (this.o.versionSchedule === 'scheduled' && !wasFailed) await this.learnerCaughtUp();
      const state = (await this.host.stop()) as SacLearnerState | null | undefined;
      if (state !== null && state !== undefined) this.o.agent.importState(state.agent);
      if (wasFailed && this.lastError !== null && (state === null || state === undefined)) {
        throw new Error(`fine-tune: stopped after a failure (${this.lastError}); no learned state to hand back`);
      }
      return { state: state ?? null, status: this.status() };
    })();
    return this.stopping;
  }

  /** Wait (up to a minute) until the learner has taken the updates owed for every pushed transition. */
  private async learnerCaughtUp(): Promise<void> {
    const owed = updatesOwed(this.schedule, this.transitions, 0);
    const deadline = performance.now() + 60_000;
    for (;;) {
      const l = this.host.stats();
      if (l.updates >= owed || l.paused || this.host.error !== null || performance.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private pauseReason(): string | null {
    if (this.mode === 'estop') return `e-stop: ${this.estopReason}`;
    if (this.mode === 'paused') return 'paused';
    if (this.safety.learningPaused) return this.safety.lastReason;
    return null;
  }

  /** The learner's latest metrics (from the worker's reports), for the episode records. */
  noteLearner(m: Record<string, number>): void {
    this.learner = m;
  }

  private fail(e: Error): void {
    this.lastError = e.message;
    if (this.mode === 'stopped') return;
    this.mode = 'failed';
    this.host.setPaused(true);
    this.o.onError?.(e);
  }

  private holdSafe(): void {
    this.pending = false;
    this.host.setPaused(true);
    this.writeSafe();
  }

  /** Write the safe command; false if the plant refused it. */
  private writeSafe(): boolean {
    try {
      this.plant.write(this.safeCommand.slice());
      return true;
    } catch (e) {
      this.lastError = `safe command: ${(e as Error).message}`;
      return false;
    }
  }

  private endEpisode(reason: string): void {
    this.episodes++;
    this.lastReturn = this.episodeReturn;
    const rollback = this.guardAfterEpisode();
    const m = this.learner;
    const nan = Number.NaN;
    const record: FineTuneEpisode = {
      episode: this.episodes, return: this.episodeReturn, length: this.episodeSteps, reason, policyVersion: this.policy.version, terms: this.episodeTerms,
      alpha: m?.alpha ?? nan, entropy: m?.entropy ?? nan, tdLoss: m === null ? nan : (m.qf1_loss! + m.qf2_loss!) / 2, qMean: m?.qf1_mean ?? nan,
      policyDrift: this.drift,
      tdRobot: m?.td_robot ?? nan, tdSim: m?.td_sim ?? nan, qRobot: m?.q_robot ?? nan, qSim: m?.q_sim ?? nan,
      qStart: nan, mcReturn: discountedReturn(this.episodeRewards, this.o.agent.hp.gamma), rollback,
    };
    // The learner answers between two updates; the record follows once it has (in order).
    const q = this.episodeRewards.length === 0 ? Promise.resolve(null)
      : this.host.evaluate({ kind: 'criticValues', observations: this.startObs.slice(), actions: this.startAction.slice() } satisfies SacLearnerRequest).catch(() => null);
    this.episodeReports = this.episodeReports.then(() => q).then((values) => {
      if (values instanceof Float32Array && values.length > 0) record.qStart = values[0]!;
      this.o.onEpisode?.(record);
    });
    this.beginReset();
  }

  /** Reset through the plant in the background; the loop idles meanwhile. Retries on failure. */
  private beginReset(): void {
    if (this.mode === 'stopped' || this.mode === 'failed') return;
    this.mode = 'resetting';
    this.pending = false;
    const epoch = ++this.resetEpoch;
    const current = (): boolean => this.mode === 'resetting' && this.resetEpoch === epoch;
    const attempt = async (): Promise<void> => {
      for (;;) {
        try {
          // Plant reset, the task's episode initialisation (sim), safety layer reset, first signals.
          await this.env.reset();
          break;
        } catch (e) {
          this.lastError = `reset: ${(e as Error).message}`;
          if (!current()) return;
          await new Promise((r) => setTimeout(r, (this.o.resetRetryDelay ?? 1) * 1000));
          if (!current()) return;
        }
      }
      if (!current()) return; // paused, e-stopped, stopped or reset again meanwhile
      this.episodeSteps = 0;
      this.episodeReturn = 0;
      this.episodeTerms = {};
      this.episodeRewards = [];
      this.mode = 'running';
    };
    const p = attempt();
    this.resetting = p;
    p.catch((e: unknown) => this.fail(e instanceof Error ? e : new Error(String(e))));
  }

  private tick(t: TickInfo): void | Promise<void> {
    // What arrived since the I/O window (an e-stop, a newer sample) counts for this tick.
    this.plant.takeNow?.();
    if (this.mode !== 'estop' && hasEstop(this.plant) && this.plant.estopped) this.estop(this.plant.estopCause ?? 'plant e-stop');
    if (this.mode === 'estop' || this.mode === 'paused' || this.mode === 'failed') {
      this.writeSafe();
      return;
    }
    if (this.mode !== 'running') {
      if (this.mode === 'resetting') this.safety.watchIdle(this.plant.read());
      return;
    }
    this.learnerWaitS = 0;

    // 1. The previous tick's step ends here: the plant has moved for one period.
    let reward = Number.NaN;
    let ended: string | null = null;
    let learnPrevious = false;
    let terminated = false;
    let obs: Float32Array;
    if (this.pending) {
      const r = this.env.complete();
      obs = r.observation;
      reward = r.reward;
      terminated = r.terminated;
      this.steps++;
      this.episodeSteps++;
      // A non-finite observation is the safety layer's to refuse (below, with its reason).
      const finite = r.abort === null;
      if (finite) {
        this.episodeReturn += reward;
        for (const [k, v] of Object.entries(r.terms)) this.episodeTerms[k] = (this.episodeTerms[k] ?? 0) + v;
        if (this.episodeRewards.length === 0) {
          this.startObs.set(this.prevObs);
          this.startAction.set(this.prevAction);
        }
        this.episodeRewards.push(reward);
      }
      this.tickTerms = r.terms;
      learnPrevious = this.pendingLearnable && finite;
      if (!Number.isFinite(reward)) ended = `non-finite reward (${reward})`;
      else if (terminated) ended = 'terminated';
      else if (this.env.episodeSteps >= this.env.maxEpisodeSteps) ended = 'time_limit';
    } else {
      obs = this.env.currentObservation();
      this.tickTerms = NO_TERMS;
    }

    // 2. Act, unless the episode is over: policy, then scale and safety (prepare).
    if (ended === null && this.o.versionSchedule === 'scheduled' && this.transitions >= this.nextVersionAt) {
      // Waiting here is allowed only because the plant waits too (lockstep).
      return this.waitForScheduledVersion().then(() => this.act(t, obs, reward, ended, learnPrevious, terminated));
    }
    return this.act(t, obs, reward, ended, learnPrevious, terminated);
  }

  /** Swap in every version due by now, waiting for the learner where it is late. */
  private async waitForScheduledVersion(): Promise<void> {
    const t0 = performance.now();
    try {
      await this.swapScheduledVersions();
    } finally {
      this.learnerWaitS = (performance.now() - t0) / 1000;
    }
  }

  private async swapScheduledVersions(): Promise<void> {
    while (this.transitions >= this.nextVersionAt) {
      const v = this.nextVersion;
      for (;;) {
        if (this.mode !== 'running') return;
        const fresh = this.host.weights.poll();
        if (fresh !== null && fresh.version >= v) {
          if (fresh.version !== v) throw new Error(`fine-tune: version ${fresh.version} was published before version ${v} was due (schedule broken)`);
          this.actWith(fresh.weights, fresh.version);
          break;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
      this.nextVersion = v + 1;
      this.nextVersionAt = versionDueAt(this.schedule, v + 1);
    }
  }

  /** Swap in a version from the learner, unless it was made before the last rollback. */
  private actWith(weights: ActorWeights, version: number): void {
    if (version < this.minVersion) return;
    this.policy.swap(weights, version);
    if (this.o.guard !== undefined) this.actingWeights = copyActor(weights);
    this.drift = relativeDistance(weights, this.simActor);
    this.o.onPolicy?.(weights, version);
  }

  /**
   * The guard, after each episode (on returns only: in lockstep it fires at the same episode
   * whatever the timing). Returns the rollback's description, or ''.
   */
  private guardAfterEpisode(): string {
    const g = this.o.guard;
    if (g === undefined || this.guard === null) return '';
    const verdict = this.guard.afterEpisode(this.episodeReturn, this.transitions);
    if (verdict.kind === 'best') {
      const first = this.episodeStarts[0]!;
      const fromStart = g.restore === 'start' && this.episodeStarts.length === g.window;
      this.bestWeights = fromStart ? first.weights : this.actingWeights;
      this.bestVersion = fromStart ? first.version : this.policy.version;
    }
    if (verdict.kind !== 'rollback') {
      this.noteEpisodeStart(g.window);
      return '';
    }
    // Roll back: the learner's actor between the updates that learn from the data so far and the
    // next; versions it made before that never act.
    const T = this.transitions;
    const done = updatesOwed(this.schedule, T, 0);
    this.minVersion = Math.floor(done / this.schedule.publishEvery) + 1;
    // With `freeze` the restored weights then act, unchanged, for as many updates as the last
    // window gave transitions: the critics learn on data of the best weights before the actor moves.
    const freezeUpdates = g.freeze === true ? Math.round(verdict.windowTransitions * this.schedule.updatesPerTransition) : 0;
    this.host.evaluate({ kind: 'rollback', weights: copyActor(this.bestWeights), freezeUpdates } satisfies SacLearnerRequest, T)
      .catch((e: unknown) => { this.lastError = `rollback: ${(e as Error).message}`; });
    this.policy.swap(this.bestWeights, this.policy.version);
    this.actingWeights = this.bestWeights;
    this.drift = relativeDistance(this.bestWeights, this.simActor);
    this.o.onPolicy?.(this.bestWeights, this.policy.version);
    this.rollbacks++;
    this.lastRollback = `window mean ${verdict.mean.toFixed(2)} below the best window's ${verdict.best.toFixed(2)} by more than ${g.tolerance} x its magnitude after episode ${this.episodes}: back to the weights of version ${this.bestVersion}`;
    this.noteEpisodeStart(g.window);
    return this.lastRollback;
  }

  /** The weights the next episode starts with (a scheduled swap on its first tick aside). */
  private noteEpisodeStart(window: number): void {
    this.episodeStarts.push({ weights: this.actingWeights, version: this.policy.version });
    while (this.episodeStarts.length > window) this.episodeStarts.shift();
  }

  private act(t: TickInfo, obs: Float32Array, reward: number, ended: string | null, learnPrevious: boolean, terminated: boolean): void | Promise<void> {
    if (this.mode !== 'running') return;
    let stop: string | null = null;
    if (ended === null) {
      if (this.o.versionSchedule !== 'scheduled') {
        const fresh = this.host.weights.poll();
        if (fresh !== null) this.actWith(fresh.weights, fresh.version);
      }
      this.policy.act(obs, false, this.action);
      stop = this.env.prepare(this.action);
    }
    // Data the watchdog calls stale is not learned from, and learning waits for fresh data.
    const stale = this.safety.learningPaused;
    this.host.setPaused(stale);
    if (this.pending) {
      if (learnPrevious && !stale) {
        this.host.transitions.push(this.prevObs, this.prevAction, reward, obs, terminated);
        this.transitions++;
      } else {
        this.skipped++;
      }
    }
    this.pending = false;

    if (ended === null) {
      this.env.write();
      this.o.onTick?.({ index: t.index, latenessUs: t.latenessUs, observation: obs, action: this.action, command: this.env.command, reward, rewardTerms: this.tickTerms, policyVersion: this.policy.version, learningPaused: stale });
      if (stop !== null) {
        ended = `safety: ${stop}`;
      } else {
        this.pending = true;
        this.pendingLearnable = !stale;
        this.prevObs.set(obs);
        // Learn from what the plant was told: the command after limits and rate limit.
        this.prevAction.set(this.env.executedAction);
        return this.env.advance();
      }
    } else {
      // The robot waits for its reset with the safe command, not the last action. A lockstep
      // plant answers that command with a step: it is awaited before the episode is reported
      // over, so the operator's reset never races it (the run would depend on which came first).
      if (this.writeSafe()) {
        const reason = ended;
        return this.plant.advance().then(
          () => this.endEpisode(reason),
          (e: unknown) => {
            this.lastError = `safe command: ${(e as Error).message}`;
            this.endEpisode(reason);
          },
        );
      }
    }
    this.endEpisode(ended);
  }
}

function scheduleOf(o: FineTuneOptions): LearnerSchedule {
  return { updatesPerTransition: o.updatesPerStep, learningStarts: o.learningStarts, publishEvery: o.publishEvery, metricsEvery: o.publishEvery };
}

function checkOptions(o: FineTuneOptions): void {
  const fail = (key: string, why: string): never => {
    throw new Error(`fine-tune option ${key}=${JSON.stringify((o as unknown as Record<string, unknown>)[key])}: ${why}`);
  };
  if (!(o.rateHz > 0)) fail('rateHz', 'must be > 0');
  if (!(o.robotFraction >= 0 && o.robotFraction <= 1)) fail('robotFraction', 'must be in [0, 1]');
  if (!(o.updatesPerStep > 0)) fail('updatesPerStep', 'must be > 0');
  if (!(Number.isInteger(o.learningStarts) && o.learningStarts >= 0)) fail('learningStarts', 'must be an integer >= 0');
  if (!(Number.isInteger(o.publishEvery) && o.publishEvery >= 1)) fail('publishEvery', 'must be an integer >= 1');
  if (o.actorLearningRate !== undefined && !(o.actorLearningRate > 0)) fail('actorLearningRate', 'must be > 0');
  if (o.temperature !== undefined && !(o.temperature > 0 && Number.isFinite(o.temperature))) fail('temperature', 'must be a finite number > 0');
  if (o.criticWarmupUpdates !== undefined && !(Number.isInteger(o.criticWarmupUpdates) && o.criticWarmupUpdates >= 0)) fail('criticWarmupUpdates', 'must be an integer >= 0');
  if (o.explorationScale !== undefined && !(o.explorationScale >= 0 && Number.isFinite(o.explorationScale))) fail('explorationScale', 'must be a finite number >= 0');
  if (o.guard !== undefined) {
    if (!(Number.isInteger(o.guard.window) && o.guard.window >= 1)) fail('guard', 'window must be an integer >= 1');
    if (!(o.guard.tolerance >= 0 && Number.isFinite(o.guard.tolerance))) fail('guard', 'tolerance must be a finite number >= 0');
    if (o.guard.restore !== undefined && o.guard.restore !== 'end' && o.guard.restore !== 'start') fail('guard', `restore must be 'end' or 'start'`);
  }
  if (!(Number.isInteger(o.robotReplayCapacity) && o.robotReplayCapacity > 0)) fail('robotReplayCapacity', 'must be a positive integer');
  if (o.episodeSteps !== undefined && !(Number.isInteger(o.episodeSteps) && o.episodeSteps > 0)) fail('episodeSteps', 'must be a positive integer');
  if (o.simReplay.size === 0 && o.learningStarts < 1) fail('learningStarts', 'must be >= 1 when the sim replay is empty (the first batch needs data)');
  if (o.safety.low.length !== o.plant.command.size) fail('safety', `has ${o.safety.low.length} limits for the plant's ${o.plant.command.size} command components`);
}


/** The same transitions in a SharedArrayBuffer-backed buffer the worker can attach to. */
function sharedCopy(b: ReplayBuffer): ReplayBuffer {
  const copy = new ReplayBuffer({ capacity: b.capacity, observationSize: b.observationSize, actionSize: b.actionSize, shared: true });
  copy.restore(b.snapshot());
  return copy;
}
