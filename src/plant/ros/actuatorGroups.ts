/**
 * Commands per actuator group, in ros2_control's conventions. A robot's actuators are usually
 * split over controllers: a forward command controller (forward_command_controller, e.g.
 * position_controllers/JointGroupPositionController) takes std_msgs/msg/Float64MultiArray on
 * `/<controller>/commands` with `data` in the order of the controller's `joints` parameter; a
 * joint_trajectory_controller takes trajectory_msgs/msg/JointTrajectory on
 * `/<controller>/joint_trajectory`, by joint name. The command vector (one component per
 * actuator, in the model's order) is split into one message per group.
 *
 * Groups name their joints by the actuator's name or the joint it drives (MJCF names). The
 * names are resolved once, at start: an unknown name fails naming the group and the nearest
 * names; every actuator must be in exactly one group.
 */
import { nearestNames } from '../../util/nearestNames.js';
import type { Float64MultiArray, JointTrajectory } from './messages.js';
import { durationOf } from './messages.js';
import type { RclNode, RclQoSArg } from './rclnodejs.js';
import type { ActuatorGroup, QosSetting } from './rosPlantConfig.js';

/** The command vector's components: actuator names and, where known, the joint each drives. */
export interface ActuatorNames {
  actuators: readonly string[];
  /** The joint actuator i drives ('' or absent when it drives none). */
  joints?: readonly string[];
}

export interface ResolvedGroup {
  readonly group: ActuatorGroup;
  /** Command component of the group's k-th joint. */
  readonly index: Int32Array;
}

export const GROUP_TYPES = ['std_msgs/msg/Float64MultiArray', 'trajectory_msgs/msg/JointTrajectory'] as const;

/** Resolve every group's names to command components; `key` prefixes errors (e.g. 'command.groups'). */
export function resolveActuatorGroups(groups: readonly ActuatorGroup[], names: ActuatorNames, key: string): ResolvedGroup[] {
  const fail = (where: string, reason: string): never => {
    throw new Error(`${where}: ${reason}`);
  };
  const { actuators } = names;
  const joints = names.joints ?? [];
  if (joints.length > 0 && joints.length !== actuators.length) fail(key, `${joints.length} actuator joints for ${actuators.length} actuators`);
  if (!Array.isArray(groups) || groups.length === 0) fail(key, 'list at least one group ({name, type, topic, joints})');
  const owner = new Array<string | undefined>(actuators.length);
  const seenNames = new Set<string>();
  const seenTopics = new Set<string>();
  const resolved = groups.map((g, i): ResolvedGroup => {
    const at = `${key}[${i}]${typeof g?.name === 'string' ? ` '${g.name}'` : ''}`;
    if (typeof g !== 'object' || g === null) fail(at, 'expected {name, type, topic, joints}');
    if (typeof g.name !== 'string' || g.name === '') fail(at, `'name' must name the controller`);
    if (seenNames.has(g.name)) fail(at, `group name '${g.name}' is used twice`);
    seenNames.add(g.name);
    if (!GROUP_TYPES.includes(g.type)) fail(`${at}.type`, `'${String(g.type)}' is not one of ${GROUP_TYPES.join(', ')}`);
    if (seenTopics.has(g.topic)) fail(`${at}.topic`, `topic ${g.topic} is used by another group`);
    seenTopics.add(g.topic);
    if (g.type === 'trajectory_msgs/msg/JointTrajectory') {
      if (g.field !== undefined && !['positions', 'velocities', 'effort'].includes(g.field)) fail(`${at}.field`, `must be positions, velocities or effort, got '${String(g.field)}'`);
      if (typeof g.timeFromStart !== 'number' || !(g.timeFromStart >= 0) || !Number.isFinite(g.timeFromStart)) fail(`${at}.timeFromStart`, `must be >= 0 seconds, got ${String(g.timeFromStart)}`);
    }
    if (!Array.isArray(g.joints) || g.joints.length === 0) fail(`${at}.joints`, `list the controller's joints (actuator or joint names), in its order`);
    const index = Int32Array.from(g.joints, (name, k) => {
      let c = actuators.indexOf(name);
      if (c < 0) c = joints.indexOf(name);
      if (c < 0) {
        const near = nearestNames(String(name), [...actuators, ...joints]);
        fail(`${at}.joints[${k}]`, `'${String(name)}' is neither an actuator nor an actuated joint; ${near.length > 0 ? `nearest: ${near.map((n) => `'${n}'`).join(', ')}` : 'there are none'}`);
      }
      if (owner[c] !== undefined) fail(`${at}.joints[${k}]`, `actuator '${actuators[c]}' is already commanded by group '${owner[c]}'`);
      owner[c] = g.name;
      return c;
    });
    return { group: g, index };
  });
  const left = actuators.filter((_, c) => owner[c] === undefined);
  if (left.length > 0) fail(key, `actuator${left.length > 1 ? 's' : ''} ${left.map((n) => `'${n}'`).join(', ')} ${left.length > 1 ? 'are' : 'is'} in no group: every actuator needs a controller`);
  return resolved;
}

/**
 * Publishers for resolved groups: the returned function splits a command vector into one
 * message per group and publishes them (no allocation per call).
 */
export function groupCommandPublisher(node: RclNode, groups: readonly ResolvedGroup[], qos: (q: QosSetting | undefined) => RclQoSArg): (command: Float64Array) => void {
  const senders = groups.map(({ group: g, index }): ((c: Float64Array) => void) => {
    const n = index.length;
    const values = new Float64Array(n);
    const gather = (c: Float64Array): void => {
      for (let k = 0; k < n; k++) values[k] = c[index[k]];
    };
    if (g.type === 'std_msgs/msg/Float64MultiArray') {
      const pub = node.createPublisher(g.type, g.topic, { qos: qos(g.qos) });
      const msg: Float64MultiArray = { layout: { dim: [{ label: g.name, size: n, stride: n }], data_offset: 0 }, data: values };
      return (c) => (gather(c), pub.publish(msg));
    }
    const pub = node.createPublisher(g.type, g.topic, { qos: qos(g.qos) });
    const field = g.field ?? 'positions';
    const empty = new Float64Array(0);
    // A zero stamp: joint_trajectory_controller starts the trajectory on receipt.
    const msg: JointTrajectory = {
      header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' },
      joint_names: [...g.joints],
      points: [{ positions: field === 'positions' ? values : empty, velocities: field === 'velocities' ? values : empty, accelerations: empty, effort: field === 'effort' ? values : empty, time_from_start: durationOf(g.timeFromStart) }],
    };
    return (c) => (gather(c), pub.publish(msg));
  });
  return (command) => {
    for (const send of senders) send(command);
  };
}

/**
 * The receiving side, as a ros2_control robot has it (SimulatedRobot): each group's messages
 * write their components of `command`; `onComplete` runs when every group has delivered
 * since the last time it ran (one command of the whole robot). A malformed message calls
 * `onError` and changes nothing.
 */
export function subscribeActuatorGroups(
  node: RclNode,
  groups: readonly ResolvedGroup[],
  qos: RclQoSArg,
  command: Float64Array,
  onComplete: () => void,
  onError: (message: string) => void,
): void {
  const fresh = new Uint8Array(groups.length);
  let waiting = groups.length;
  const delivered = (i: number): void => {
    if (fresh[i] === 0) {
      fresh[i] = 1;
      waiting--;
    }
    if (waiting === 0) {
      fresh.fill(0);
      waiting = groups.length;
      onComplete();
    }
  };
  groups.forEach(({ group: g, index }, i) => {
    if (g.type === 'std_msgs/msg/Float64MultiArray') {
      node.createSubscription(g.type, g.topic, { qos }, (m: Float64MultiArray) => {
        const data = m.data;
        const offset = m.layout?.data_offset ?? 0;
        if (data.length - offset !== index.length) return onError(`group '${g.name}' on ${g.topic}: ${data.length - offset} values for its ${index.length} joints`);
        for (let k = 0; k < index.length; k++) command[index[k]] = data[offset + k] as number;
        delivered(i);
      });
      return;
    }
    const field = g.field ?? 'positions';
    const at = new Int32Array(index.length);
    node.createSubscription(g.type, g.topic, { qos }, (m: JointTrajectory) => {
      const p = m.points[0];
      const values = p?.[field];
      for (let k = 0; k < index.length; k++) at[k] = m.joint_names.indexOf(g.joints[k] as string);
      if (values === undefined || at.some((j) => j < 0 || j >= values.length)) {
        return onError(`group '${g.name}' on ${g.topic}: a JointTrajectory without a point with ${field} for the joints ${g.joints.join(', ')} (it names ${m.joint_names.join(', ')})`);
      }
      for (let k = 0; k < index.length; k++) command[index[k]] = values[at[k]] as number;
      delivered(i);
    });
  });
}
