import type { Signals, SimulatorAccess } from '../plant/plant.js';
import type { Rng } from '../util/rng.js';

/** What a task says about one transition. */
export interface StepScore {
  reward: number;
  /** Named reward terms for logging (e.g. forward_reward, ctrl_cost); they sum to `reward`. */
  terms: Record<string, number>;
  /** The episode reached a terminal state (no bootstrap). Time limits are not termination. */
  terminated: boolean;
}

/**
 * A task turns signals into observation, reward and termination (dm_control's split of
 * physics and task). It reads signals by name and never knows whether it runs in sim or on a
 * robot: the same task scores both. A task instance belongs to one env (it may keep per-episode
 * state such as the previous x position).
 */
export interface Task {
  readonly name: string;
  readonly observationSize: number;
  /** Episode length limit in control ticks; reaching it truncates (bootstrap through it). */
  readonly maxEpisodeSteps: number;
  /** Signals the task reads; the env checks the plant provides them, with sizes. */
  readonly requiredSignals: readonly { name: string; size: number }[];

  /** Sim only: initial state of an episode (Gymnasium's reset noise). Not called on a robot. */
  initializeEpisode?(sim: SimulatorAccess, rng: Rng): void;
  /** Called once after each reset with the first signals. */
  beginEpisode(signals: Signals): void;
  /** Write the observation for these signals into `out` (length observationSize). */
  observe(signals: Signals, out: Float32Array): void;
  /** Score the tick that led to `signals`, given the command applied (physical units). */
  score(signals: Signals, command: Float64Array): StepScore;
}

/** How to build a task: the model it expects and a factory. */
export interface TaskDefinition {
  readonly name: string;
  readonly description: string;
  /** MJCF file used when the task runs on MuJoCo; relative paths resolve against the model root. */
  readonly defaultModel: string;
  /** Physics steps per control tick on MuJoCo. */
  readonly frameSkip: number;
  create(): Task;
}
