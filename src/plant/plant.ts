import type { Rng } from '../util/rng.js';

/**
 * A plant is what is being controlled: MuJoCo in process, a ROS 2 robot, or a remote
 * simulator/driver over ZeroMQ. It yields named signals, accepts a command in physical
 * units, and can be reset. It knows nothing of observations, rewards or learning.
 */

/** One named signal: a vector of fixed size (joint positions, IMU, contact forces, ...). */
export interface SignalSpec {
  readonly name: string;
  readonly size: number;
  readonly doc?: string;
}

/**
 * The latest value of every signal, by name. Values are owned by the plant and may be
 * overwritten by the next `advance()`: copy what must outlive the tick.
 */
export type Signals = ReadonlyMap<string, Float64Array>;

export interface CommandSpec {
  readonly size: number;
  /** Physical lower and upper bound of each command component (e.g. MuJoCo ctrlrange). */
  readonly low: Float64Array;
  readonly high: Float64Array;
  readonly names?: readonly string[];
}

export interface Plant {
  /** Kind of plant, for logs: 'mujoco' | 'ros' | 'zmq' | ... */
  readonly kind: string;
  readonly signals: readonly SignalSpec[];
  readonly command: CommandSpec;
  /** Control period in seconds (sim: timestep * frameSkip; robot: the configured tick). */
  readonly controlPeriod: number;

  /** Bring the plant to the start of an episode (sim: reset state; robot: reset procedure). */
  reset(): Promise<void>;
  /** The latest signals. */
  read(): Signals;
  /** Apply a command (physical units, already bounded by the safety layer). */
  write(command: Float64Array): void;
  /**
   * Move time forward by one control period. MuJoCo steps frameSkip physics steps; a remote
   * plant exchanges a lockstep message; a robot plant returns at once (wall-clock time runs
   * on its own).
   */
  advance(): Promise<void>;
  /**
   * A plant whose samples arrive on the event loop (RosPlant) takes in everything that has
   * arrived, ending by `untilMs` (performance.now() clock). The control loop calls it right
   * before each tick, so the tick acts on the newest samples.
   */
  drain?(untilMs: number): Promise<void>;
  /**
   * Take, on this thread and at once, what has arrived since the last take: the control tick
   * calls it first, so it acts on what arrived up to its own start (an e-stop included), not
   * only up to its I/O window.
   */
  takeNow?(): void;
  /** Abandon a `reset()` under way (a robot waiting for its operator): it rejects at once. */
  cancelReset?(): void;
  close(): Promise<void>;

  // Optional capabilities: a robot plant has them, a simulator does not need them.

  /** The plant's own e-stop latch (a robot's e-stop topic). */
  readonly estopped?: boolean;
  /** Why the latch was set (null when it is not). */
  readonly estopCause?: string | null;
  /** Set the latch: the plant stops or zeroes commands until `clearEstop()`. */
  triggerEstop?(reason: string): void;
  clearEstop?(): void;
  /** Seconds since `signal` last arrived (feeds the safety layer's staleness watchdog). */
  signalAge?(signal: string): number;
}

/** A plant with its own e-stop latch. */
export type EstopCapable = Plant & Required<Pick<Plant, 'estopped' | 'estopCause' | 'triggerEstop' | 'clearEstop'>>;

export function hasEstop(plant: Plant): plant is EstopCapable {
  return typeof plant.triggerEstop === 'function' && typeof plant.clearEstop === 'function';
}

/**
 * Bounds a command before it reaches the plant (the SafetyLayer implements this). It may hold,
 * clamp or zero the command, and may ask the episode to end (workspace bounds).
 */
export interface CommandFilter {
  /** Filter `command` in place; return a reason string to end the episode safely, else null. */
  filter(command: Float64Array, signals: Signals): string | null;
  /** Called at every reset. */
  reset(): void;
}

/** Optional per-episode perturbation of the plant (sim domain randomisation). */
export interface EpisodeRandomizer {
  apply(plant: Plant, rng: Rng): void;
  /** Perturb an observation in place (observation noise). */
  perturbObservation?(observation: Float32Array, rng: Rng): void;
}

/**
 * Simulator-only access used for episode initialisation and domain randomisation.
 * A task may use it when the plant offers it; on a robot it is absent.
 */
export interface SimulatorAccess {
  readonly nq: number;
  readonly nv: number;
  /** The model's initial qpos (keyframe-free default, `qpos0`). */
  readonly initialQpos: Float64Array;
  setState(qpos: Float64Array, qvel: Float64Array): void;
  /** Move mocap body `mocapId` (index into mocap_pos) to `position`; takes effect with the next setState. */
  setMocapPosition?(mocapId: number, position: ArrayLike<number>): void;
}

export function hasSimulatorAccess(plant: Plant): plant is Plant & { sim: SimulatorAccess } {
  return (plant as { sim?: SimulatorAccess }).sim !== undefined;
}

/** Look up a signal or fail with a message that names it and what the plant has. */
export function requireSignal(signals: Signals, name: string): Float64Array {
  const v = signals.get(name);
  if (v === undefined) {
    throw new Error(`signal '${name}' is not provided by the plant (has: ${[...signals.keys()].join(', ')})`);
  }
  return v;
}
