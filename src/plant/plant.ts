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
  close(): Promise<void>;
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
