/**
 * The declarative task format (a task file's JSON, or what `defineTask` takes in a module).
 * Robot parts are named by their MJCF names, never by index. docs/tasks.md is the reference:
 * every quantity, reward term (with its formula), termination term and reset option.
 */

/** A point in the world: a site's or body's origin, a 3-vector target, or fixed coordinates (m). */
export type PointRef = { site: string } | { body: string } | { target: string } | readonly [number, number, number];

/** A frame whose orientation is read: a body's or a site's. */
export type FrameRef = { body: string } | { site: string };

/** Names of joints/bodies/actuators, or '*' for every named one, in model order. */
export type Names = readonly string[] | '*';

/** One side of a contact pair: the geoms of these bodies and/or these geoms. */
export interface ContactSide {
  bodies?: Names;
  geoms?: readonly string[];
}

export type Quantity =
  | { quantity: 'joint_pos'; joints: Names }
  | { quantity: 'joint_vel'; joints: Names }
  | ({ quantity: 'position' } & ({ site: string } | { body: string } | { target: string }))
  | { quantity: 'vector'; from: PointRef; to: PointRef }
  | ({ quantity: 'up' | 'tilt' | 'yaw' } & FrameRef)
  | { quantity: 'linear_velocity' | 'angular_velocity'; body: string; frame?: 'world' | 'body' }
  | { quantity: 'sensor'; sensor: string }
  | { quantity: 'contact_wrench'; bodies: Names }
  | ({ quantity: 'contact_force' } & ContactSide & { with?: ContactSide })
  | { quantity: 'action' }
  | { quantity: 'actuator_force'; actuators?: Names }
  | { quantity: 'target'; target: string };

export type QuantityKind = Quantity['quantity'];

/** Optional selection of part of a quantity: components [from, to). */
export interface Sliced {
  slice?: readonly [number, number];
}

export type Noise = { normal: number } | { uniform: number };

/** One observation term: value = clip(scale * (quantity - offset) + noise, clip[0], clip[1]). */
export type ObservationTerm = Quantity &
  Sliced & {
    name: string;
    scale?: number | readonly number[];
    offset?: number | readonly number[];
    clip?: readonly [number, number];
    noise?: Noise;
  };

export type Kernel = 'linear' | 'squared' | 'tanh' | 'exp';

interface RewardBase {
  name: string;
  weight: number;
}

export type RewardTerm = RewardBase &
  (
    | { type: 'distance'; from: PointRef; to: PointRef; kernel?: Kernel; std?: number }
    | { type: 'progress'; body: string; axis: 'x' | 'y' | 'z' }
    | { type: 'velocity_tracking'; body: string; frame?: 'world' | 'body'; axes: readonly ('x' | 'y' | 'z')[]; command: string | readonly number[]; std: number; angular?: boolean }
    | ({ type: 'upright' } & FrameRef)
    | { type: 'alive' }
    | { type: 'action_magnitude'; units?: 'action' | 'command' }
    | { type: 'action_rate' }
    | { type: 'joint_limits'; joints: Names; soft?: number }
    | { type: 'joint_velocity'; joints: Names }
    | { type: 'actuator_force'; actuators?: Names }
    | { type: 'contact_force'; bodies: Names; clip?: readonly [number, number] }
    | ({ type: 'contact_force'; clip?: readonly [number, number]; with: ContactSide } & ContactSide)
    | { type: 'termination' }
  );

export type RewardType = RewardTerm['type'];

export type TerminationTerm = { name: string } & (
  | ({ type: 'bounds'; min?: number; max?: number } & Quantity & Sliced)
  | { type: 'non_finite' }
  | ({ type: 'contact'; threshold?: number; with?: ContactSide } & ContactSide)
);

export type TerminationType = TerminationTerm['type'];

/** A vector the task holds: drawn per episode from [low, high] (uniform), or fixed `value`. */
export interface TargetSpec {
  low?: readonly number[];
  high?: readonly number[];
  value?: readonly number[];
  /** A mocap body the simulator moves to the target (3-vector targets only), to see it. */
  mocap?: string;
}

export interface JointNoise {
  joints: Names;
  position?: Noise;
  velocity?: Noise;
}

export interface ResetSpec {
  /** Start from this keyframe (qpos, qvel, mocap positions) instead of the model's qpos0. */
  keyframe?: string;
  noise?: readonly JointNoise[];
}

export interface TaskSpec {
  name: string;
  description?: string;
  /** MJCF file; a relative path resolves against the task file's directory. */
  model?: string;
  /** Physics steps per control tick (default 1). */
  frameSkip?: number;
  /** Time limit in control ticks (a truncation, not a termination). */
  episodeSteps: number;
  targets?: Readonly<Record<string, TargetSpec>>;
  observation: readonly ObservationTerm[];
  reward: readonly RewardTerm[];
  termination?: readonly TerminationTerm[];
  reset?: ResetSpec;
}

/** Type-checks a task written in code (`import { defineTask } from 'sacbridge'`); returns it unchanged. */
export function defineTask<T extends TaskSpec>(spec: T): T {
  return spec;
}
