import { appendFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadCheckpoint, NoCheckpointError, removeStaleTemps, saveCheckpoint } from '../agent/checkpoint.js';
import type { Json } from '../util/json.js';
import { ObservationNormalizer } from '../agent/normalizer.js';
import { ReplayBuffer, type TransitionBatch } from '../agent/replayBuffer.js';
import { SoftActorCritic, resolveHyperparameters, type SacHyperparameters, type SacMetrics } from '../agent/sac.js';
import type { Env, StepResult } from '../env/env.js';
import type { Plant } from '../plant/plant.js';
import { returnStats, runEpisode } from './evaluation.js';
import { cutMetricsBack, fileSize } from './runDir.js';
import { Schedule } from './schedule.js';
import { Rng } from '../util/rng.js';
import { CoreChoice, type CoreSetting } from '../compute/coreChoice.js';
import { decodeTrainingSnapshot, encodeTrainingSnapshot, type RobotSnapshot, type TrainingCounters, type TrainingSnapshot } from './trainingState.js';

/**
 * Lockstep SAC training on a simulated env: one env step, store the transition, then
 * `updatesPerStep` gradient steps once `learningStarts` steps are collected. Reproducible from
 * the seed; checkpoints hold every RNG, so a resumed run continues the same sequence.
 *
 * Episode boundaries: terminated transitions are stored as terminal, truncated ones (time
 * limit) are not, so the critic bootstraps through truncation. A non-finite observation or
 * reward (the env's `abort`) ends the episode with a warning and the transition is dropped.
 *
 * Checkpoints written on the `checkpointEvery` schedule are taken at the next episode boundary
 * so a resumed run starts exactly as the uninterrupted one would (a fresh episode drawn from
 * the saved env RNG). `checkpoint()` may be called any time (e.g. on SIGTERM); the episode in
 * progress is then restarted on resume.
 */

/** An evaluation episode about to run: its env, its index in the round, the training steps so far. */
export interface EvaluationEpisode {
  readonly env: Env;
  readonly index: number;
  readonly step: number;
}

/** Sees one evaluation episode: the plant after its reset (null) and after each step, then its return. */
export interface EpisodeWatch {
  observe?(step: StepResult | null): void;
  done?(ret: number): void | Promise<void>;
}

export type EvaluationListener = (episode: EvaluationEpisode) => EpisodeWatch | null;

/** Builds the training or evaluation env; the trainer closes it. */
export type EnvFactory = (seed: number) => Promise<Env>;

export interface TrainerOptions {
  task: string;
  makeEnv: EnvFactory;
  seed?: number;
  /** Run directory: metrics.jsonl and checkpoints/ go here. */
  runDir: string;
  hyperparameters?: Partial<SacHyperparameters>;
  /** Evaluate every N env steps (0: never). */
  evalEvery?: number;
  evalEpisodes?: number;
  /** Checkpoint every N env steps, at the next episode boundary (0: only when asked). */
  checkpointEvery?: number;
  keepCheckpoints?: number;
  /** Write an 'update' metrics record every N updates. */
  metricsEvery?: number;
  /** Continue from the run directory's checkpoint if there is one. */
  resume?: boolean;
  /** Warnings (non-finite observations, checkpoint fallbacks). Default: stderr. */
  warn?: (message: string) => void;
  /** Caller's data stored in every checkpoint (the daemon's phase). */
  extra?: () => Json;
  /** How to rebuild the env later (e.g. {modelPath, gymnasiumModelDir}); kept in checkpoints. */
  envInfo?: Json;
  /**
   * Cores each SAC update may use (compute.updateCores): 1; 2 (the fused update on OpenBLAS
   * splits its GEMMs over both; same results); 'auto' (default) times real updates on both in
   * alternation and keeps the faster (compute/coreChoice.ts), or 1 where 2 cannot run.
   */
  updateCores?: CoreSetting;
}

export type MetricsRecord =
  | { type: 'episode'; step: number; episode: number; return: number; length: number; terminated: boolean; steps_per_s: number; time: string; terms: Record<string, number> }
  | ({ type: 'update'; step: number; updates: number; steps_per_s: number; time: string } & SacMetrics)
  | { type: 'eval'; step: number; mean_return: number; std_return: number; returns: number[]; time: string }
  | { type: 'checkpoint'; step: number; path: string; time: string }
  | { type: 'resume'; step: number; path: string; time: string }
  | { type: 'warning'; step: number; message: string; time: string };

export type MetricsListener = (record: MetricsRecord) => void;

/** One env step the trainer took. */
export interface TransitionRecord {
  /** The observation acted on. */
  observation: Float32Array;
  /** The action the policy (or the random warm-up) chose, in [-1, 1]. */
  action: Float32Array;
  /** The action the plant was given after the command filter (what is learned from). */
  executedAction: Float32Array;
  result: StepResult;
  /** Steps into the episode, this one included. */
  episodeStep: number;
}

export type TransitionListener = (t: TransitionRecord) => void;

const SEED_OFFSETS = { env: 101, evalEnv: 202, explore: 303, sample: 404 } as const;

export class Trainer {
  readonly task: string;
  readonly seed: number;
  readonly hp: SacHyperparameters;
  readonly runDir: string;
  readonly agent: SoftActorCritic;
  readonly replay: ReplayBuffer;
  readonly normalizer: ObservationNormalizer | null;
  readonly counters: TrainingCounters = { steps: 0, updates: 0, episodes: 0, evaluations: 0 };
  /** Return of the last finished training episode (NaN before the first). */
  lastReturn = NaN;
  /** Mean return of the last evaluation (NaN before the first). */
  lastEvalReturn = NaN;
  /** The last update's metrics. */
  lastUpdate: SacMetrics | null = null;
  /** How many cores the updates use, and the last measurement behind an 'auto' choice. */
  readonly coreChoice: CoreChoice;

  private readonly options: Required<Pick<TrainerOptions, 'evalEvery' | 'evalEpisodes' | 'checkpointEvery' | 'keepCheckpoints' | 'metricsEvery'>>;
  private readonly exploreRng: Rng;
  private readonly sampleRng: Rng;
  private evalEnv: Env | null = null;
  private readonly listeners = new Set<MetricsListener>();
  private readonly warnFn: (message: string) => void;
  private readonly metricsPath: string;
  private readonly envInfo: Json;
  private observation: Float32Array | null = null;
  private episodeReturn = 0;
  private episodeLength = 0;
  /** Each reward term summed over the episode (for the web UI's reward-term curves). */
  private episodeTerms: Record<string, number> = {};
  private readonly action: Float32Array;
  private readonly evalSchedule: Schedule;
  private readonly checkpointSchedule: Schedule;
  private readonly transitionListeners = new Set<TransitionListener>();
  private readonly evaluationListeners = new Set<EvaluationListener>();
  private updateSums = new Map<string, number>();
  private updateCount = 0;
  private rateMark = { time: performance.now(), steps: 0 };
  private stepsPerSecond = 0;

  private constructor(
    private readonly env: Env,
    private readonly makeEnv: EnvFactory,
    options: TrainerOptions,
  ) {
    this.task = options.task;
    this.seed = options.seed ?? 0;
    this.runDir = options.runDir;
    this.hp = resolveHyperparameters(options.hyperparameters);
    this.options = {
      evalEvery: options.evalEvery ?? 0,
      evalEpisodes: options.evalEpisodes ?? 5,
      checkpointEvery: options.checkpointEvery ?? 0,
      keepCheckpoints: options.keepCheckpoints ?? 3,
      metricsEvery: options.metricsEvery ?? 1000,
    };
    for (const [k, v] of Object.entries(this.options)) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`trainer option ${k}=${v}: must be an integer >= 0`);
    }
    this.warnFn = options.warn ?? ((m) => process.stderr.write(`${m}\n`));
    this.extraFn = options.extra;
    this.envInfo = options.envInfo ?? null;
    this.agent = new SoftActorCritic(env.observationSize, env.actionSize, this.hp, this.seed);
    this.replay = new ReplayBuffer({ capacity: this.hp.bufferSize, observationSize: env.observationSize, actionSize: env.actionSize });
    this.normalizer = this.hp.normalizeObservations ? new ObservationNormalizer(env.observationSize) : null;
    this.agent.setNormalizer(this.normalizer);
    const cores = options.updateCores ?? 'auto';
    const why = this.agent.twoCoresUnavailable;
    if (cores === 2 && why !== null) throw new Error(`trainer option updateCores=2: ${why}`);
    this.coreChoice = new CoreChoice(cores === 'auto' && why !== null ? 1 : cores);
    this.exploreRng = new Rng(this.seed + SEED_OFFSETS.explore);
    this.sampleRng = new Rng(this.seed + SEED_OFFSETS.sample);
    this.action = new Float32Array(env.actionSize);
    this.evalSchedule = new Schedule(this.options.evalEvery, 0, 0, 0);
    this.checkpointSchedule = new Schedule(this.options.checkpointEvery, 0, 0, 0);
    mkdirSync(this.runDir, { recursive: true });
    this.metricsPath = join(this.runDir, 'metrics.jsonl');
  }

  /** Build a trainer (and its env); with `resume`, restore the run directory's checkpoint if any. */
  static async create(options: TrainerOptions): Promise<Trainer> {
    const seed = options.seed ?? 0;
    // A resumed run keeps the hyperparameters it was started with (buffer size, variant...).
    const warnings: string[] = [];
    let resumeFrom: { snapshot: TrainingSnapshot; path: string; generation: string; skipped: string[] } | null = null;
    if (options.resume) {
      // What a killed save left behind goes before anything else reads the directory.
      for (const n of await removeStaleTemps(join(options.runDir, 'checkpoints'))) warnings.push(`removed ${n}, left by an interrupted checkpoint write`);
      try {
        const loaded = await loadCheckpoint(join(options.runDir, 'checkpoints'), { warn: (m) => warnings.push(m) });
        resumeFrom = { snapshot: decodeTrainingSnapshot(loaded), path: loaded.path, generation: loaded.generation, skipped: loaded.skipped };
      } catch (err) {
        if (!(err instanceof NoCheckpointError)) throw err; // Nothing to resume: a fresh run.
      }
    }
    let effective = options;
    if (resumeFrom !== null) {
      const saved = resumeFrom.snapshot.agent.hyperparameters;
      for (const [k, v] of Object.entries(options.hyperparameters ?? {})) {
        const was = (saved as unknown as Record<string, unknown>)[k];
        if (JSON.stringify(v) !== JSON.stringify(was)) {
          if (k === 'variant' || k === 'hidden') throw new Error(`checkpoint ${resumeFrom.path} has ${k}=${JSON.stringify(was)}, this run asks for ${JSON.stringify(v)}`);
          warnings.push(`resuming with the checkpoint's ${k}=${JSON.stringify(was)} (asked for ${JSON.stringify(v)})`);
        }
      }
      effective = { ...options, hyperparameters: saved };
    }
    const env = await options.makeEnv(seed + SEED_OFFSETS.env);
    let trainer: Trainer;
    try {
      trainer = new Trainer(env, options.makeEnv, effective);
      // Restore first: it cuts metrics.jsonl back to the checkpoint, and the warnings belong after.
      if (resumeFrom !== null) {
        await trainer.restore(resumeFrom.snapshot, resumeFrom.path);
        if (resumeFrom.skipped.length > 0) trainer.fallback = { resumedFrom: resumeFrom.generation, broken: resumeFrom.skipped };
      }
      for (const w of warnings) trainer.warn(w);
    } catch (err) {
      await env.plant.close();
      throw err;
    }
    return trainer;
  }

  /** The training env's plant (the daemon's web UI draws it). */
  get plant(): Plant {
    return this.env.plant;
  }

  get checkpointDir(): string {
    return join(this.runDir, 'checkpoints');
  }

  /** Subscribe to metrics records; returns the unsubscribe function. */
  onMetrics(listener: MetricsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(record: MetricsRecord): void {
    try {
      appendFileSync(this.metricsPath, `${JSON.stringify(record)}\n`);
      this.recordsFailing = false;
    } catch (err) {
      // A full disk costs the record, never the run; said once per run of failures.
      this.recordsDropped++;
      if (!this.recordsFailing) this.warnFn(`WARNING: cannot append to ${this.metricsPath} (${(err as Error).message}); records are dropped until it works again`);
      this.recordsFailing = true;
    }
    for (const l of this.listeners) l(record);
  }

  private warn(message: string): void {
    this.warnFn(`WARNING: ${message}`);
    this.emit({ type: 'warning', step: this.counters.steps, message, time: new Date().toISOString() });
  }

  /** One env step (and its updates). Resolves when both are done. */
  async step(): Promise<void> {
    if (this.observation === null) {
      this.observation = await this.env.reset();
      this.episodeReturn = 0;
      this.episodeLength = 0;
      this.episodeTerms = {};
    }
    const obs = this.observation;

    // Act: uniform random actions until learning starts, then the stochastic policy.
    if (this.counters.steps < this.hp.learningStarts) {
      for (let i = 0; i < this.action.length; i++) this.action[i] = this.exploreRng.range(-1, 1);
    } else {
      this.agent.act(obs, false, this.action);
    }
    const r = await this.env.step(this.action);
    this.counters.steps++;
    this.episodeLength++;
    for (const l of this.transitionListeners) l({ observation: obs, action: this.action, executedAction: this.env.executedAction, result: r, episodeStep: this.episodeLength });

    if (r.abort !== null) {
      this.warn(`episode ${this.counters.episodes + 1} aborted at step ${this.episodeLength}: ${r.abort}; transition dropped`);
      this.lastAbort = r.abort;
    } else {
      // Learn from what the plant got: the command filter (safety layer) may have clamped or
      // rate-limited the policy's action.
      this.replay.add(obs, this.env.executedAction, r.reward, r.observation, r.terminated);
      this.normalizer?.update(obs);
      this.episodeReturn += r.reward;
      for (const [k, v] of Object.entries(r.terms)) this.episodeTerms[k] = (this.episodeTerms[k] ?? 0) + v;
    }

    if (this.counters.steps >= this.hp.learningStarts && this.replay.size > 0) {
      for (let k = 0; k < this.hp.updatesPerStep; k++) this.recordUpdate(this.timedUpdate(this.replay.sample(this.hp.batchSize, this.sampleRng)));
    }

    const done = r.terminated || r.truncated || r.abort !== null;
    this.observation = done ? null : r.observation;
    this.measureRate();
    if (done) {
      this.counters.episodes++;
      this.lastReturn = this.episodeReturn;
      this.emit({
        type: 'episode',
        step: this.counters.steps,
        episode: this.counters.episodes,
        return: this.episodeReturn,
        length: this.episodeLength,
        terminated: r.terminated,
        steps_per_s: this.stepsPerSecond,
        time: new Date().toISOString(),
        terms: this.episodeTerms,
      });
    }
    // Learning would start now, and there is nothing to learn from.
    if (this.replay.size === 0 && this.counters.steps >= Math.max(1, this.hp.learningStarts)) this.failWithoutTransitions();
    if (this.evalSchedule.due(this.counters.steps) !== null) {
      this.evalSchedule.done(this.counters.steps);
      await this.evaluate(this.options.evalEpisodes);
    }
    if (done && this.checkpointSchedule.due(this.counters.steps) !== null) {
      this.checkpointSchedule.done(this.counters.steps);
      await this.checkpoint();
    }
  }

  private measureRate(): void {
    const now = performance.now();
    const dt = now - this.rateMark.time;
    if (dt >= 1000) {
      this.stepsPerSecond = ((this.counters.steps - this.rateMark.steps) * 1000) / dt;
      this.rateMark = { time: now, steps: this.counters.steps };
    } else if (this.stepsPerSecond === 0 && this.counters.steps > this.rateMark.steps && dt > 0) {
      this.stepsPerSecond = ((this.counters.steps - this.rateMark.steps) * 1000) / dt;
    }
  }

  get rate(): number {
    return this.stepsPerSecond;
  }

  private recordUpdate(m: SacMetrics): void {
    this.counters.updates++;
    this.lastUpdate = m;
    for (const [k, v] of Object.entries(m)) this.updateSums.set(k, (this.updateSums.get(k) ?? 0) + v);
    this.updateCount++;
    if (this.options.metricsEvery > 0 && this.counters.updates % this.options.metricsEvery === 0) {
      // Means over the window since the last record.
      const means = Object.fromEntries([...this.updateSums].map(([k, v]) => [k, v / this.updateCount])) as unknown as SacMetrics;
      this.updateSums = new Map();
      this.updateCount = 0;
      this.emit({ type: 'update', step: this.counters.steps, updates: this.counters.updates, steps_per_s: this.stepsPerSecond, time: new Date().toISOString(), ...means });
    }
  }

  /** One update on the cores coreChoice names, timed for its next choice. */
  private timedUpdate(batch: TransitionBatch): SacMetrics {
    const cores = this.coreChoice.next();
    this.agent.updateCores = cores;
    const t0 = performance.now();
    const m = this.agent.update(batch);
    this.coreChoice.record(cores, performance.now() - t0);
    return m;
  }

  /** Train until `untilSteps` env steps in total, or until `signal` aborts (after a whole step). */
  async run(untilSteps: number, signal?: AbortSignal): Promise<void> {
    let sinceYield = 0;
    while (this.counters.steps < untilSteps && !(signal?.aborted ?? false)) {
      await this.step();
      if (this.counters.steps >= untilSteps && this.replay.size === 0) this.failWithoutTransitions();
      // Let timers and signal handlers run now and then (env steps are synchronous underneath).
      if (++sinceYield >= 50) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
  }

  private lastAbort: string | null = null;

  /** A run that never got one transition to learn from is a failure, not a result. */
  private failWithoutTransitions(): never {
    throw new NoTransitionsError(
      `no valid transition in ${this.counters.steps} env steps (${this.counters.episodes} episodes): every step ended the episode with ${this.lastAbort ?? 'no stored transition'}, so there is nothing to learn from. The model diverges from its first step: check the MJCF (timestep, masses, gains, option values such as gravity) and the task's reset state`,
    );
  }

  /** Deterministic-policy episodes on a separate env; emits an 'eval' record. */
  async evaluate(episodes: number): Promise<number> {
    if (this.evalEnv === null) this.evalEnv = await this.makeEnv(this.seed + SEED_OFFSETS.evalEnv);
    if (!(Number.isInteger(episodes) && episodes >= 1)) throw new Error(`evaluation: episodes must be an integer >= 1, got ${episodes}`);
    const env = this.evalEnv;
    const returns: number[] = [];
    for (let index = 0; index < episodes; index++) {
      const watches = [...this.evaluationListeners].map((l) => l({ env, index, step: this.counters.steps })).filter((w): w is EpisodeWatch => w !== null);
      const observe = (r: StepResult | null): void => {
        for (const w of watches) w.observe?.(r);
      };
      const ret = await runEpisode(env, this.agent, true, watches.length === 0 ? {} : { observe });
      for (const w of watches) await w.done?.(ret);
      returns.push(ret);
    }
    const { mean, std } = returnStats(returns);
    this.counters.evaluations++;
    this.lastEvalReturn = mean;
    this.emit({ type: 'eval', step: this.counters.steps, mean_return: mean, std_return: std, returns, time: new Date().toISOString() });
    return mean;
  }

  snapshot(extra: Json = null): TrainingSnapshot {
    const rngs: TrainingSnapshot['rngs'] = {
      env: this.env.rng.getState(),
      explore: this.exploreRng.getState(),
      sample: this.sampleRng.getState(),
    };
    if (this.evalEnv !== null) rngs.evalEnv = this.evalEnv.rng.getState();
    return {
      task: this.task,
      seed: this.seed,
      counters: { ...this.counters },
      agent: this.agent.exportState(),
      replay: this.replay.snapshot(),
      normalizer: this.normalizer?.exportState() ?? null,
      rngs,
      envInfo: this.envInfo,
      extra,
      metricsBytes: fileSize(this.metricsPath),
      robot: this.robotFn?.() ?? null,
    };
  }

  private extraFn: (() => Json) | undefined;
  private robotFn: (() => RobotSnapshot | null) | undefined;
  /** Metrics records that could not be written (a full disk). */
  recordsDropped = 0;
  private recordsFailing = false;
  /**
   * After a resume that fell back past broken generations: the one resumed from, which
   * retention keeps for the rest of the run, and the broken ones, which it does not count.
   */
  private fallback: { resumedFrom: string; broken: string[] } | null = null;

  /** Write a checkpoint generation now; returns its directory. */
  async checkpoint(): Promise<string> {
    const content = encodeTrainingSnapshot(this.snapshot(this.extraFn?.() ?? null));
    const path = await saveCheckpoint(this.checkpointDir, content, {
      keep: this.options.keepCheckpoints,
      ...(this.fallback !== null ? { protect: [this.fallback.resumedFrom], broken: this.fallback.broken } : {}),
    });
    this.emit({ type: 'checkpoint', step: this.counters.steps, path, time: new Date().toISOString() });
    return path;
  }

  /** Caller's data for checkpoints (set by the daemon). */
  setExtra(fn: () => Json): void {
    this.extraFn = fn;
  }

  /** What the robot phase adds to every checkpoint (the daemon's; null: nothing). */
  setRobotState(fn: () => RobotSnapshot | null): void {
    this.robotFn = fn;
  }

  /** The `extra` data of the checkpoint this run resumed from (null if it did not). */
  resumedExtra: Json = null;
  /** The robot part of the checkpoint this run resumed from (null: none). */
  resumedRobot: RobotSnapshot | null = null;
  /** The generation this run resumed from (its directory name), null for a fresh run. */
  resumedFrom: string | null = null;

  /**
   * Watch every env step the trainer takes (telemetry); returns the unsubscribe function. The
   * arrays in the record are the trainer's and valid during the call only.
   */
  onTransition(listener: TransitionListener): () => void {
    this.transitionListeners.add(listener);
    return () => this.transitionListeners.delete(listener);
  }

  /**
   * Watch the evaluation episodes (e.g. to record replays): `listener` is asked before each
   * episode and may return what sees its steps and its return. Returns the unsubscribe function.
   */
  onEvaluationEpisode(listener: EvaluationListener): () => void {
    this.evaluationListeners.add(listener);
    return () => this.evaluationListeners.delete(listener);
  }

  /** Adopt a decoded checkpoint (from `path`, for messages). */
  private async restore(s: TrainingSnapshot, path: string): Promise<void> {
    if (s.task !== this.task) throw new Error(`checkpoint ${path} is for task '${s.task}', not '${this.task}'`);
    if (s.seed !== this.seed) throw new Error(`checkpoint ${path} has seed ${s.seed}, not ${this.seed}`);
    if (s.agent.hyperparameters.variant !== this.hp.variant) {
      throw new Error(`checkpoint ${path} is SAC ${s.agent.hyperparameters.variant}, this run asks for ${this.hp.variant}`);
    }
    this.agent.importState(s.agent);
    this.replay.restore(s.replay);
    if (this.normalizer !== null) {
      if (s.normalizer === null) throw new Error(`checkpoint ${path} has no observation normaliser, this run uses one`);
      this.normalizer.importState(s.normalizer);
    }
    this.env.rng.setState(need(s.rngs.env, 'env'));
    this.exploreRng.setState(need(s.rngs.explore, 'explore'));
    this.sampleRng.setState(need(s.rngs.sample, 'sample'));
    if (s.rngs.evalEnv !== undefined) {
      this.evalEnv = await this.makeEnv(this.seed + SEED_OFFSETS.evalEnv);
      this.evalEnv.rng.setState(s.rngs.evalEnv);
    }
    Object.assign(this.counters, s.counters);
    this.resumedExtra = s.extra;
    this.resumedRobot = s.robot;
    const lost = cutMetricsBack(this.metricsPath, s.metricsBytes);
    this.evalSchedule.done(this.counters.steps);
    this.checkpointSchedule.done(this.counters.steps);
    this.resumedFrom = basename(path);
    this.rateMark = { time: performance.now(), steps: this.counters.steps };
    this.emit({ type: 'resume', step: this.counters.steps, path, time: new Date().toISOString() });
    if (lost !== null) this.warn(lost);

    function need<T>(v: T | undefined, name: string): T {
      if (v === undefined) throw new Error(`checkpoint ${path} lacks the '${name}' RNG state`);
      return v;
    }
  }

  async close(): Promise<void> {
    await this.env.plant.close();
    if (this.evalEnv !== null) await this.evalEnv.plant.close();
    this.agent.dispose();
  }
}

/** Training got no valid transition at all (every step non-finite). */
export class NoTransitionsError extends Error {
  override readonly name = 'NoTransitionsError';
}
