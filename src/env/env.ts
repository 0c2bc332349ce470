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
 * Env = plant + task + action scaling + command filter + time limit, with Gymnasium's semantics:
 * `reset() -> observation`, `step(action) -> {observation, reward, terminated, truncated}`.
 * Actions are in [-1, 1]^n and scaled linearly to the plant's command range.
 *
 * This is the one step path (plant -> task -> policy -> safety -> plant) of sim training,
 * evaluation, the daemon and robot fine-tuning. `step` is its four parts in a row; a control
 * loop on a wall clock (robot fine-tuning) runs them across two ticks instead: `prepare` (scale,
 * filter), `write`, `advance` on one tick, and `complete` (read, observe, score) on the next,
 * when the plant has moved.
 */
export class Env {
  readonly observationSize: number;
  readonly actionSize: number;
  readonly maxEpisodeSteps: number;
  readonly rng: Rng;
  private readonly commandBuffer: Float64Array;
  /** The command before the filter, to see which components it changed. */
  private readonly requested: Float64Array;
  private readonly executed: Float32Array;
  private steps = 0;
  /** The command filter's stop reason for the prepared step. */
  private stop: string | null = null;

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
    this.commandBuffer = new Float64Array(this.actionSize);
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
    this.stop = null;
    const signals = this.plant.read();
    this.task.beginEpisode(signals);
    return this.observe(signals);
  }

  async step(action: Float32Array): Promise<StepResult> {
    this.prepare(action);
    this.write();
    await this.advance();
    return this.complete();
  }

  /**
   * Scale `action` to a command and pass it through the command filter, against the plant's
   * current signals. Returns the filter's reason to end the episode, else null.
   */
  prepare(action: Float32Array): string | null {
    if (action.length !== this.actionSize) {
      throw new Error(`action has ${action.length} components, the env expects ${this.actionSize}`);
    }
    const { low, high } = this.plant.command;
    scaleAction(action, low, high, this.command);
    this.requested.set(this.command);
    this.stop = this.options.filter?.filter(this.command, this.plant.read()) ?? null;
    executedAction(action, this.requested, this.command, low, high, this.executed);
    return this.stop;
  }

  /** The prepared command, as the plant gets it (physical units; reused by the next prepare). */
  get command(): Float64Array {
    return this.commandBuffer;
  }

  /** Send the prepared command to the plant. */
  write(): void {
    this.plant.write(this.commandBuffer);
  }

  /** One control period of the plant. */
  async advance(): Promise<void> {
    await this.plant.advance();
    this.steps++;
  }

  /**
   * The step's outcome from the plant's signals now: observation, reward and the ends of the
   * episode. `abort` carries the filter's stop, or says the observation or reward is not finite.
   */
  complete(): StepResult {
    const signals = this.plant.read();
    const observation = this.observe(signals);
    const score = this.task.score(signals, this.commandBuffer);
    const abort = this.stop ?? (allFinite(observation) && Number.isFinite(score.reward) ? null : 'non-finite observation or reward');
    const truncated = !score.terminated && (this.steps >= this.maxEpisodeSteps || abort !== null);
    return { observation, reward: score.reward, terms: score.terms, terminated: score.terminated, truncated, abort };
  }

  /** The observation of the plant's signals now (a wall-clock loop acts on it at the tick). */
  currentObservation(): Float32Array {
    return this.observe(this.plant.read());
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
