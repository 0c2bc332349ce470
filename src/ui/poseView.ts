import type { MainModule, MjData, MjModel } from 'mujoco';
import { KinematicsPlant } from '../plant/mujoco/kinematicsPlant.js';
import { MujocoPlant } from '../plant/mujoco/mujocoPlant.js';
import type { Plant, SignalSpec, Signals } from '../plant/plant.js';
import type { ObservationSource } from '../plant/ros/rosPlantConfig.js';

/**
 * What the 3D view draws from: a MuJoCo model and data whose body poses (xpos, xquat) are the
 * robot's current ones. In sim that is the stepping MujocoPlant itself. On the robot it is the
 * model's forward kinematics of the robot's joint state (KinematicsPlant): the session's own
 * when it runs a task file through one, else a view-only one over the robot plant's JointState.
 */
export interface PoseView {
  readonly mujoco: MainModule;
  readonly model: MjModel;
  readonly data: MjData;
  /** What is shown ('training', 'evaluation', 'robot'), sent with the poses. */
  readonly label?: string;
  /** Bring `data`'s body poses up to date before they are read (a view-only kinematics). */
  refresh?(): void;
  /** Release what the view owns (never the plant it looks at). */
  close?(): Promise<void>;
}

/** The view of a sim plant (or a robot seen through its model already); null for other plants. */
export function plantView(plant: Plant, label?: string): PoseView | null {
  if (!(plant instanceof MujocoPlant || plant instanceof KinematicsPlant)) return null;
  return { mujoco: plant.mujoco, model: plant.model, data: plant.data, ...(label === undefined ? {} : { label }) };
}

/**
 * The view of a robot plant (the robot phase's): through its own kinematics when it has them,
 * else through `modelPath`'s kinematics of the robot's JointState (the ros.observations source
 * whose position field the task reads), computed when the view is drawn. Throws saying what is
 * missing when neither is possible.
 */
export async function robotView(robot: Plant, observations: readonly ObservationSource[], modelPath: string): Promise<PoseView> {
  const own = plantView(robot, 'robot');
  if (own !== null) return own;
  const js = observations.find((o) => o.type === 'sensor_msgs/msg/JointState' && o.signals.position !== undefined);
  if (js === undefined || js.type !== 'sensor_msgs/msg/JointState') {
    throw new Error('no sensor_msgs/msg/JointState with a position field in ros.observations: the 3D view draws the robot from its joint positions');
  }
  const kinematics = await KinematicsPlant.create(new JointStateView(robot, js.signals.position!, js.signals.velocity, js.joints.length), modelPath, { joints: js.joints });
  return {
    mujoco: kinematics.mujoco,
    model: kinematics.model,
    data: kinematics.data,
    label: 'robot',
    refresh: () => void kinematics.read(),
    close: () => kinematics.close(),
  };
}

/**
 * The robot plant's joint state under the names KinematicsPlant reads (joint_pos, joint_vel;
 * zero velocities when the JointState has none), plus its floating-base signals. Read-only: it
 * never writes, resets or closes the robot, whose session owns it.
 */
class JointStateView implements Plant {
  readonly kind = 'joint-state-view';
  readonly signals: readonly SignalSpec[];
  readonly command: Plant['command'];
  readonly controlPeriod: number;
  private readonly out = new Map<string, Float64Array>();
  private readonly zeros: Float64Array;

  constructor(
    private readonly robot: Plant,
    private readonly position: string,
    private readonly velocity: string | undefined,
    joints: number,
  ) {
    this.command = robot.command;
    this.controlPeriod = robot.controlPeriod;
    this.zeros = new Float64Array(joints);
    const base = robot.signals.filter((s) => s.name.startsWith('base_'));
    this.signals = [
      { name: 'joint_pos', size: joints, doc: `the robot's ${position}` },
      { name: 'joint_vel', size: joints, doc: velocity === undefined ? 'zero (no velocity in the JointState)' : `the robot's ${velocity}` },
      ...base,
    ];
  }

  read(): Signals {
    const s = this.robot.read();
    const out = this.out;
    for (const [k, v] of s) if (k.startsWith('base_')) out.set(k, v);
    out.set('joint_pos', s.get(this.position) ?? this.zeros);
    out.set('joint_vel', (this.velocity === undefined ? undefined : s.get(this.velocity)) ?? this.zeros);
    return out;
  }

  reset(): Promise<void> {
    return Promise.reject(new Error('the 3D view does not reset the robot'));
  }

  write(): void {
    throw new Error('the 3D view does not command the robot');
  }

  advance(): Promise<void> {
    return Promise.reject(new Error('the 3D view does not step the robot'));
  }

  async close(): Promise<void> {
    // The robot belongs to its session.
  }
}
