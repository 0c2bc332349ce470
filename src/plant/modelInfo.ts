/**
 * What a task needs to know about an MJCF model to name its parts: every named element with
 * its addresses in MuJoCo's state vectors, joint limits, actuator ranges and keyframes. Plain
 * data, read once from a compiled model (src/plant/mujoco/readModelInfo.ts); the same
 * description serves the simulator and the robot.
 */

export type JointType = 'free' | 'ball' | 'slide' | 'hinge';

export interface JointInfo {
  readonly name: string;
  readonly type: JointType;
  /** Index of the joint's first value in qpos (free: 7 values, ball: 4, else 1). */
  readonly qposAddress: number;
  /** Index of the joint's first value in qvel (free: 6 values, ball: 3, else 1). */
  readonly dofAddress: number;
  readonly limited: boolean;
  /** [low, high] in rad (hinge) or m (slide) when limited. */
  readonly range: readonly [number, number];
  readonly body: number;
}

export interface BodyInfo {
  readonly name: string;
  /** Index into mocap_pos, or -1 for a body that is not a mocap body. */
  readonly mocapId: number;
  readonly parent: number;
  /** The body below the world this body hangs from (cvel is taken at its subtree's centre of mass). */
  readonly root: number;
}

export interface SensorInfo {
  readonly name: string;
  readonly address: number;
  readonly size: number;
}

export interface ActuatorInfo {
  readonly name: string;
  readonly low: number;
  readonly high: number;
  readonly limited: boolean;
  /** The joint it drives, or -1 (tendon, site or body transmissions). */
  readonly joint: number;
}

export interface KeyframeInfo {
  readonly name: string;
  readonly qpos: Float64Array;
  readonly qvel: Float64Array;
  readonly mocapPos: Float64Array;
}

export interface ModelInfo {
  /** The user's MJCF file, for messages. */
  readonly file: string;
  readonly nq: number;
  readonly nv: number;
  readonly nu: number;
  readonly nmocap: number;
  readonly timestep: number;
  readonly qpos0: Float64Array;
  /** Names are '' where the MJCF gives none; such elements cannot be named by a task. */
  readonly joints: readonly JointInfo[];
  readonly bodies: readonly BodyInfo[];
  readonly sites: readonly string[];
  readonly geoms: readonly { name: string; body: number }[];
  readonly sensors: readonly SensorInfo[];
  readonly actuators: readonly ActuatorInfo[];
  readonly keyframes: readonly KeyframeInfo[];
}

/** Values a joint of this type takes in qpos and in qvel. */
export function jointWidths(type: JointType): { qpos: number; qvel: number } {
  switch (type) {
    case 'free':
      return { qpos: 7, qvel: 6 };
    case 'ball':
      return { qpos: 4, qvel: 3 };
    default:
      return { qpos: 1, qvel: 1 };
  }
}
