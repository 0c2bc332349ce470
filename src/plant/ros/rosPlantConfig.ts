/**
 * RosPlant configuration: which topics become which named signals, where commands go, and how
 * e-stop, status, phase control and episode resets work. `validateRosPlantConfig` checks a
 * config (from convict or a test) and names the offending key on error.
 */

/** QoS per topic: a profile name, or explicit reliability and KEEP_LAST depth. */
export type QosSetting =
  | 'sensor_data'
  | 'default'
  | 'system_default'
  | { reliability: 'reliable' | 'best_effort'; depth: number; durability?: 'volatile' | 'transient_local' };

/** sensor_msgs/msg/JointState by joint name (any order in the message); each signal has one entry per joint. */
export interface JointStateSource {
  type: 'sensor_msgs/msg/JointState';
  topic: string;
  qos?: QosSetting;
  joints: string[];
  /** Signal names for the fields to read; omitted fields are not read. */
  signals: { position?: string; velocity?: string; effort?: string };
}

/** sensor_msgs/msg/Imu. Orientation is a 4-vector (w, x, y, z), MuJoCo's order; vectors are (x, y, z). */
export interface ImuSource {
  type: 'sensor_msgs/msg/Imu';
  topic: string;
  qos?: QosSetting;
  signals: { orientation?: string; angularVelocity?: string; linearAcceleration?: string };
}

/** nav_msgs/msg/Odometry: pose.pose and twist.twist. Orientation (w, x, y, z). */
export interface OdometrySource {
  type: 'nav_msgs/msg/Odometry';
  topic: string;
  qos?: QosSetting;
  signals: { position?: string; orientation?: string; linearVelocity?: string; angularVelocity?: string };
}

/** std_msgs/msg/Float64MultiArray: slices of `data` (after layout.data_offset) become signals. */
export interface Float64MultiArraySource {
  type: 'std_msgs/msg/Float64MultiArray';
  topic: string;
  qos?: QosSetting;
  signals: { name: string; offset: number; size: number }[];
}

export type ObservationSource = JointStateSource | ImuSource | OdometrySource | Float64MultiArraySource;

/** Common to all command sinks: the physical range of each component. */
interface SinkBase {
  topic: string;
  qos?: QosSetting;
  low: number[];
  high: number[];
}
/** std_msgs/msg/Float64MultiArray with `data` = the command (ros2_control forward controllers). */
export interface Float64MultiArraySink extends SinkBase {
  type: 'std_msgs/msg/Float64MultiArray';
  names?: string[];
}
/** trajectory_msgs/msg/JointTrajectory with one point reached `timeFromStart` seconds after receipt. */
export interface JointTrajectorySink extends SinkBase {
  type: 'trajectory_msgs/msg/JointTrajectory';
  joints: string[];
  /** Which point field carries the command. */
  field: 'positions' | 'velocities' | 'effort';
  timeFromStart: number;
}
export type TwistAxis = 'linear.x' | 'linear.y' | 'linear.z' | 'angular.x' | 'angular.y' | 'angular.z';
/** geometry_msgs/msg/Twist: command component i goes to axis `axes[i]`; other axes are 0. */
export interface TwistSink extends SinkBase {
  type: 'geometry_msgs/msg/Twist';
  axes: TwistAxis[];
}
interface GroupBase {
  /** The controller's name, for messages (e.g. 'leg_controller'). */
  name: string;
  topic: string;
  qos?: QosSetting;
  /** The controller's `joints`, in its order: actuator names or the joints they drive. */
  joints: string[];
}
/** A forward command controller: Float64MultiArray `data` in the group's joint order. */
export interface ForwardCommandGroup extends GroupBase {
  type: 'std_msgs/msg/Float64MultiArray';
}
/** A joint_trajectory_controller: one point, reached `timeFromStart` seconds after receipt. */
export interface TrajectoryGroup extends GroupBase {
  type: 'trajectory_msgs/msg/JointTrajectory';
  /** Which point field carries the command (default positions). */
  field?: 'positions' | 'velocities' | 'effort';
  timeFromStart: number;
}
export type ActuatorGroup = ForwardCommandGroup | TrajectoryGroup;

/**
 * Commands split over ros2_control controllers, one message per actuator group
 * (src/plant/ros/actuatorGroups.ts): the command vector has one component per actuator, in
 * `actuators` order (a task file: the MJCF's actuators); groups name them or their joints.
 */
export interface ActuatorGroupsSink {
  type: 'actuator_groups';
  actuators: string[];
  /** The joint each actuator drives, so groups may list joint names. */
  actuatorJoints?: string[];
  groups: ActuatorGroup[];
  low: number[];
  high: number[];
}
export type CommandSink = Float64MultiArraySink | JointTrajectorySink | TwistSink | ActuatorGroupsSink;

/** One step of a scripted reset: hold `command` (physical units) for `duration` seconds. */
export interface ResetStep {
  command: number[];
  duration: number;
}

export type ResetConfig =
  | { mode: 'scripted'; steps: ResetStep[] }
  | {
      mode: 'operator';
      /** std_msgs/msg/Bool topic where `true` means "ready"; `confirmReady()` works as well. */
      topic?: string;
      /** std_msgs/msg/Bool topic on which `true` goes out when the wait for "ready" begins (a reset request). */
      requestTopic?: string;
      timeout: number;
    };

export interface RosPlantConfig {
  nodeName: string;
  namespace?: string;
  /** Control period in seconds (1 / rate). */
  controlPeriod: number;
  observations: ObservationSource[];
  /** Reward from a std_msgs/msg/Float64 topic, exposed as a 1-vector signal (default name 'reward'). */
  reward?: { topic: string; signal?: string; qos?: QosSetting };
  command: CommandSink;
  /** std_msgs/msg/Bool: `true` latches the e-stop; only `clearEstop()` releases it. */
  estop: { topic: string; qos?: QosSetting };
  /** What to send while e-stopped: nothing ('silence', the robot's own controller timeout acts) or zeros clamped to the range. */
  estopCommand?: 'silence' | 'zero';
  /** diagnostic_msgs/msg/DiagnosticArray publication. */
  status?: { topic?: string; period?: number; name?: string; hardwareId?: string };
  /** std_msgs/msg/String phase commands, passed to the `onPhaseCommand` hook. */
  phaseTopic?: string;
  reset: ResetConfig;
  /** After a reset, wait until every observation topic has delivered a message this young (s). */
  freshAge?: number;
  /** How long reset waits for fresh observations (s). */
  freshTimeout?: number;
  /** A header stamp this far (s) ahead of this machine's clock is clock skew, not a fresh sample (default 0.05). */
  clockSkewTolerance?: number;
  /**
   * What `advance()` does: 'wallclock' (default) returns at once, time runs on its own and the
   * control loop paces; 'lockstep' waits until every observation topic has delivered a message
   * after the last published command (a robot, or a simulated one, that answers each command),
   * failing after `timeout` seconds.
   */
  advance?: { mode: 'wallclock' } | { mode: 'lockstep'; timeout: number };
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TOPIC_RE = /^~?\/?[A-Za-z_][A-Za-z0-9_/]*$/;

function fail(key: string, reason: string): never {
  throw new Error(`ros config: ${key}: ${reason}`);
}
function checkTopic(key: string, topic: unknown): void {
  if (typeof topic !== 'string' || !TOPIC_RE.test(topic) || topic.endsWith('/') || topic.includes('//')) {
    fail(key, `'${String(topic)}' is not a valid ROS topic name`);
  }
}
function checkQos(key: string, q: QosSetting | undefined): void {
  if (q === undefined || q === 'sensor_data' || q === 'default' || q === 'system_default') return;
  if (typeof q !== 'object' || (q.reliability !== 'reliable' && q.reliability !== 'best_effort')) {
    fail(key, "expected 'sensor_data' | 'default' | 'system_default' or { reliability: 'reliable' | 'best_effort', depth }");
  }
  if (!Number.isInteger(q.depth) || q.depth < 1) fail(`${key}.depth`, `must be an integer >= 1, got ${q.depth}`);
}
function checkPositive(key: string, v: unknown): void {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) fail(key, `must be a positive number, got ${String(v)}`);
}

/** Check a config; throws an error naming the key and the reason. Returns the signal sizes by name. */
export function validateRosPlantConfig(c: RosPlantConfig): Map<string, number> {
  if (typeof c.nodeName !== 'string' || !NAME_RE.test(c.nodeName)) fail('nodeName', `'${String(c.nodeName)}' is not a valid ROS node name`);
  checkPositive('controlPeriod', c.controlPeriod);
  const sizes = new Map<string, number>();
  const addSignal = (key: string, name: string | undefined, size: number): void => {
    if (name === undefined) return;
    if (typeof name !== 'string' || name.length === 0) fail(key, 'signal name must be a non-empty string');
    if (sizes.has(name)) fail(key, `signal '${name}' is defined twice`);
    sizes.set(name, size);
  };
  if (!Array.isArray(c.observations) || c.observations.length === 0) fail('observations', 'at least one observation source is needed');
  c.observations.forEach((src, i) => {
    const key = `observations[${i}]`;
    checkTopic(`${key}.topic`, src.topic);
    checkQos(`${key}.qos`, src.qos);
    switch (src.type) {
      case 'sensor_msgs/msg/JointState': {
        if (!Array.isArray(src.joints) || src.joints.length === 0) fail(`${key}.joints`, 'list the joint names to read');
        if (new Set(src.joints).size !== src.joints.length) fail(`${key}.joints`, 'joint names repeat');
        const s = src.signals ?? {};
        if (s.position === undefined && s.velocity === undefined && s.effort === undefined) fail(`${key}.signals`, 'name at least one of position, velocity, effort');
        addSignal(`${key}.signals.position`, s.position, src.joints.length);
        addSignal(`${key}.signals.velocity`, s.velocity, src.joints.length);
        addSignal(`${key}.signals.effort`, s.effort, src.joints.length);
        break;
      }
      case 'sensor_msgs/msg/Imu': {
        const s = src.signals ?? {};
        addSignal(`${key}.signals.orientation`, s.orientation, 4);
        addSignal(`${key}.signals.angularVelocity`, s.angularVelocity, 3);
        addSignal(`${key}.signals.linearAcceleration`, s.linearAcceleration, 3);
        break;
      }
      case 'nav_msgs/msg/Odometry': {
        const s = src.signals ?? {};
        addSignal(`${key}.signals.position`, s.position, 3);
        addSignal(`${key}.signals.orientation`, s.orientation, 4);
        addSignal(`${key}.signals.linearVelocity`, s.linearVelocity, 3);
        addSignal(`${key}.signals.angularVelocity`, s.angularVelocity, 3);
        break;
      }
      case 'std_msgs/msg/Float64MultiArray': {
        if (!Array.isArray(src.signals) || src.signals.length === 0) fail(`${key}.signals`, 'list { name, offset, size } slices');
        src.signals.forEach((s, j) => {
          if (!Number.isInteger(s.offset) || s.offset < 0) fail(`${key}.signals[${j}].offset`, `must be an integer >= 0, got ${s.offset}`);
          if (!Number.isInteger(s.size) || s.size < 1) fail(`${key}.signals[${j}].size`, `must be an integer >= 1, got ${s.size}`);
          addSignal(`${key}.signals[${j}].name`, s.name, s.size);
        });
        break;
      }
      default:
        fail(`${key}.type`, `unsupported observation type '${(src as { type: string }).type}' (supported: sensor_msgs/msg/JointState, sensor_msgs/msg/Imu, nav_msgs/msg/Odometry, std_msgs/msg/Float64MultiArray)`);
    }
  });
  if (c.reward !== undefined) {
    checkTopic('reward.topic', c.reward.topic);
    checkQos('reward.qos', c.reward.qos);
    addSignal('reward.signal', c.reward.signal ?? 'reward', 1);
  }
  const cmd = c.command;
  if (cmd.type === 'actuator_groups') {
    if (!Array.isArray(cmd.actuators) || cmd.actuators.length !== cmd.low?.length) fail('command.actuators', `need one name per command component (${String(cmd.low?.length)})`);
    // Names are resolved where the publishers are made (actuatorGroups.ts), at open.
    if (!Array.isArray(cmd.groups) || cmd.groups.length === 0) fail('command.groups', 'list at least one group ({name, type, topic, joints})');
    cmd.groups.forEach((g, i) => {
      checkTopic(`command.groups[${i}].topic`, g.topic);
      checkQos(`command.groups[${i}].qos`, g.qos);
    });
  } else {
    checkTopic('command.topic', cmd.topic);
    checkQos('command.qos', cmd.qos);
  }
  if (!Array.isArray(cmd.low) || !Array.isArray(cmd.high) || cmd.low.length === 0 || cmd.low.length !== cmd.high.length) {
    fail('command.low/high', 'must be non-empty arrays of equal length');
  }
  cmd.low.forEach((lo, i) => {
    if (!Number.isFinite(lo) || !Number.isFinite(cmd.high[i]) || !(lo < cmd.high[i])) fail(`command.low[${i}]/high[${i}]`, `need finite low < high, got ${lo}, ${cmd.high[i]}`);
  });
  const n = cmd.low.length;
  switch (cmd.type) {
    case 'std_msgs/msg/Float64MultiArray':
      if (cmd.names !== undefined && cmd.names.length !== n) fail('command.names', `has ${cmd.names.length} names for ${n} components`);
      break;
    case 'trajectory_msgs/msg/JointTrajectory':
      if (!Array.isArray(cmd.joints) || cmd.joints.length !== n) fail('command.joints', `need ${n} joint names (one per component)`);
      if (!['positions', 'velocities', 'effort'].includes(cmd.field)) fail('command.field', `must be positions, velocities or effort, got '${String(cmd.field)}'`);
      if (!(cmd.timeFromStart >= 0) || !Number.isFinite(cmd.timeFromStart)) fail('command.timeFromStart', `must be >= 0 seconds, got ${cmd.timeFromStart}`);
      break;
    case 'geometry_msgs/msg/Twist': {
      const axes = ['linear.x', 'linear.y', 'linear.z', 'angular.x', 'angular.y', 'angular.z'];
      if (!Array.isArray(cmd.axes) || cmd.axes.length !== n) fail('command.axes', `need ${n} axes (one per component)`);
      cmd.axes.forEach((a, i) => { if (!axes.includes(a)) fail(`command.axes[${i}]`, `'${a}' is not one of ${axes.join(', ')}`); });
      if (new Set(cmd.axes).size !== n) fail('command.axes', 'axes repeat');
      break;
    }
    case 'actuator_groups':
      break;
    default:
      fail('command.type', `unsupported command type '${(cmd as { type: string }).type}' (supported: std_msgs/msg/Float64MultiArray, trajectory_msgs/msg/JointTrajectory, geometry_msgs/msg/Twist, actuator_groups)`);
  }
  checkTopic('estop.topic', c.estop?.topic);
  checkQos('estop.qos', c.estop.qos);
  if (c.estopCommand !== undefined && c.estopCommand !== 'silence' && c.estopCommand !== 'zero') fail('estopCommand', `must be 'silence' or 'zero'`);
  if (c.status?.topic !== undefined) checkTopic('status.topic', c.status.topic);
  if (c.status?.period !== undefined) checkPositive('status.period', c.status.period);
  if (c.phaseTopic !== undefined) checkTopic('phaseTopic', c.phaseTopic);
  if (c.reset?.mode === 'scripted') {
    if (!Array.isArray(c.reset.steps) || c.reset.steps.length === 0) fail('reset.steps', 'a scripted reset needs at least one step');
    c.reset.steps.forEach((s, i) => {
      if (!Array.isArray(s.command) || s.command.length !== n) fail(`reset.steps[${i}].command`, `needs ${n} components`);
      s.command.forEach((v, j) => { if (!(v >= cmd.low[j] && v <= cmd.high[j])) fail(`reset.steps[${i}].command[${j}]`, `${v} is outside [${cmd.low[j]}, ${cmd.high[j]}]`); });
      checkPositive(`reset.steps[${i}].duration`, s.duration);
    });
  } else if (c.reset?.mode === 'operator') {
    if (c.reset.topic !== undefined) checkTopic('reset.topic', c.reset.topic);
    if (c.reset.requestTopic !== undefined) checkTopic('reset.requestTopic', c.reset.requestTopic);
    checkPositive('reset.timeout', c.reset.timeout);
  } else {
    fail('reset.mode', "must be 'scripted' or 'operator'");
  }
  if (c.advance !== undefined) {
    if (c.advance.mode === 'lockstep') checkPositive('advance.timeout', c.advance.timeout);
    else if (c.advance.mode !== 'wallclock') fail('advance.mode', "must be 'wallclock' or 'lockstep'");
  }
  if (c.freshAge !== undefined) checkPositive('freshAge', c.freshAge);
  if (c.freshTimeout !== undefined) checkPositive('freshTimeout', c.freshTimeout);
  if (c.clockSkewTolerance !== undefined) checkPositive('clockSkewTolerance', c.clockSkewTolerance);
  return sizes;
}
