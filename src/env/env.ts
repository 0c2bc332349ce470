import type { CommandFilter, EpisodeRandomizer, Plant, Signals } from '../plant/plant.js';
import { hasSimulatorAccess } from '../plant/plant.js';
import type { Task } from '../task/task.js';
import { Rng } from '../util/rng.js';

export interface StepResult {
  readonly observation: Float32Array;
  readonly reward: number;
  readonly terms: Record<string, number>;
  readonly terminated: boolean;
  readonly truncated: boolean;
  /** Why the episode ended early outside the task: non-finite observation, safety stop. */
  readonly abort: string | null;
}

export interface EnvOptions {
  seed: number;
  filter?: CommandFilter;
  randomizer?: EpisodeRandomizer;
  /** Override the task's time limit (ticks). */
  maxEpisodeSteps?: number;
}

/**
 * Env = plant + task + action scaling + time limit, with Gymnasium's semantics:
 * `reset() -> observation`, `step(action) -> {observation, reward, terminated, truncated}`.
 * Actions are in [-1, 1]^n and scaled linearly to the plant's command range.
 */
export class Env {
  readonly observationSize: number;
  readonly actionSize: number;
  readonly maxEpisodeSteps: number;
  readonly rng: Rng;
  private readonly command: Float64Array;
  /** The command before the filter, to see which components it changed. */
  private readonly requested: Float64Array;
  private readonly executed: Float32Array;
  private steps = 0;

  constructor(
    readonly plant: Plant,
    readonly task: Task,
    private readonly options: EnvOptions,
  ) {
    const sizes = new Map(plant.signals.map((s) => [s.name, s.size]));
    for (const req of task.requiredSignals) {
      const have = sizes.get(req.name);
      if (have === undefined) {
        throw new Error(`task '${task.name}' needs signal '${req.name}' which the ${plant.kind} plant does not provide`);
      }
      if (have !== req.size) {
        throw new Error(`task '${task.name}' needs signal '${req.name}' of size ${req.size}, the ${plant.kind} plant gives ${have}`);
      }
    }
    this.observationSize = task.observationSize;
    this.actionSize = plant.command.size;
    this.maxEpisodeSteps = options.maxEpisodeSteps ?? task.maxEpisodeSteps;
    this.rng = new Rng(options.seed);
    this.command = new Float64Array(this.actionSize);
    this.requested = new Float64Array(this.actionSize);
    this.executed = new Float32Array(this.actionSize);
  }

  get episodeSteps(): number {
    return this.steps;
  }

  /**
   * The action the plant was given on the last step, in action units [-1, 1]: the step's action
   * (clipped) where the command filter left the command alone, the filtered command mapped back
   * where it changed it (limits, rate limit, hold). This is the action to learn from. The array
   * is reused: the next step overwrites it.
   */
  get executedAction(): Float32Array {
    return this.executed;
  }

  async reset(): Promise<Float32Array> {
    this.steps = 0;
    await this.plant.reset();
    if (hasSimulatorAccess(this.plant)) {
      this.options.randomizer?.apply(this.plant, this.rng);
      this.task.initializeEpisode?.(this.plant.sim, this.rng);
    }
    this.options.filter?.reset();
    const signals = this.plant.read();
    this.task.beginEpisode(signals);
    return this.observe(signals);
  }

  async step(action: Float32Array): Promise<StepResult> {
    if (action.length !== this.actionSize) {
      throw new Error(`action has ${action.length} components, the env expects ${this.actionSize}`);
    }
    const { low, high } = this.plant.command;
    scaleAction(action, low, high, this.command);
    this.requested.set(this.command);
    const before = this.plant.read();
    const stop = this.options.filter?.filter(this.command, before) ?? null;
    executedAction(action, this.requested, this.command, low, high, this.executed);
    this.plant.write(this.command);
    await this.plant.advance();
    this.steps++;
    const signals = this.plant.read();
    const observation = this.observe(signals);
    const score = this.task.score(signals, this.command);
    const abort = stop ?? (allFinite(observation) && Number.isFinite(score.reward) ? null : 'non-finite observation or reward');
    const truncated = !score.terminated && (this.steps >= this.maxEpisodeSteps || abort !== null);
    return { observation, reward: score.reward, terms: score.terms, terminated: score.terminated, truncated, abort };
  }

  private observe(signals: Signals): Float32Array {
    const obs = new Float32Array(this.observationSize);
    this.task.observe(signals, obs);
    this.options.randomizer?.perturbObservation?.(obs, this.rng);
    return obs;
  }
}

/** Map a in [-1, 1] linearly onto [low, high], clipping a first. */
export function scaleAction(a: Float32Array, low: Float64Array, high: Float64Array, out: Float64Array): void {
  for (let i = 0; i < a.length; i++) {
    const c = Math.max(-1, Math.min(1, a[i]));
    out[i] = low[i] + 0.5 * (c + 1) * (high[i] - low[i]);
  }
}

/** Inverse of scaleAction: a physical command back to [-1, 1], clipping to the range. */
export function unscaleCommand(command: Float64Array, low: Float64Array, high: Float64Array, out: Float32Array): void {
  for (let i = 0; i < command.length; i++) out[i] = unscaleOne(command[i], low[i], high[i]);
}

/**
 * The executed action in [-1, 1]: `action` (clipped, as scaleAction clips it) where the filtered
 * `command` equals the `requested` one, else the filtered command mapped back. Unchanged
 * components keep the action exactly; a round trip through physical units could move it by an ulp.
 */
export function executedAction(action: Float32Array, requested: Float64Array, command: Float64Array, low: Float64Array, high: Float64Array, out: Float32Array): void {
  for (let i = 0; i < action.length; i++) {
    out[i] = command[i] === requested[i] ? Math.max(-1, Math.min(1, action[i])) : unscaleOne(command[i], low[i], high[i]);
  }
}

function unscaleOne(c: number, low: number, high: number): number {
  const span = high - low;
  return span > 0 ? Math.max(-1, Math.min(1, (2 * (c - low)) / span - 1)) : 0;
}

export function allFinite(v: ArrayLike<number>): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}
