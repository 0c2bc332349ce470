/**
 * The ROS 2 message shapes sacbridge reads and writes, as rclnodejs hands them to JavaScript:
 * plain objects with the .msg field names. Numeric arrays arrive as Float64Array (rclnodejs's
 * `enableTypedArray`, on by default); on publish, plain arrays or typed arrays are accepted.
 * Written from the standard message definitions (std_msgs, sensor_msgs, nav_msgs,
 * geometry_msgs, trajectory_msgs, diagnostic_msgs, builtin_interfaces).
 */

export type NumericArray = Float64Array | number[];

export interface Time { sec: number; nanosec: number }
export type Duration = Time;
export interface Header { stamp: Time; frame_id: string }
export interface Vector3 { x: number; y: number; z: number }
export interface Point { x: number; y: number; z: number }
export interface Quaternion { x: number; y: number; z: number; w: number }

export interface JointState {
  header: Header;
  name: string[];
  position: NumericArray;
  velocity: NumericArray;
  effort: NumericArray;
}

export interface Imu {
  header: Header;
  orientation: Quaternion;
  orientation_covariance: NumericArray;
  angular_velocity: Vector3;
  angular_velocity_covariance: NumericArray;
  linear_acceleration: Vector3;
  linear_acceleration_covariance: NumericArray;
}

export interface Pose { position: Point; orientation: Quaternion }
export interface Twist { linear: Vector3; angular: Vector3 }
export interface Odometry {
  header: Header;
  child_frame_id: string;
  pose: { pose: Pose; covariance: NumericArray };
  twist: { twist: Twist; covariance: NumericArray };
}

export interface MultiArrayDimension { label: string; size: number; stride: number }
export interface Float64MultiArray {
  layout: { dim: MultiArrayDimension[]; data_offset: number };
  data: NumericArray;
}
export interface Float64Msg { data: number }
export interface BoolMsg { data: boolean }
export interface StringMsg { data: string }

export interface JointTrajectoryPoint {
  positions: NumericArray;
  velocities: NumericArray;
  accelerations: NumericArray;
  effort: NumericArray;
  time_from_start: Duration;
}
export interface JointTrajectory { header: Header; joint_names: string[]; points: JointTrajectoryPoint[] }

export interface KeyValue { key: string; value: string }
export interface DiagnosticStatus { level: number; name: string; message: string; hardware_id: string; values: KeyValue[] }
export interface DiagnosticArray { header: Header; status: DiagnosticStatus[] }

/** diagnostic_msgs/msg/DiagnosticStatus level constants. */
export const DiagnosticLevel = { OK: 0, WARN: 1, ERROR: 2, STALE: 3 } as const;

/** Type name → message shape, for the types sacbridge uses. */
export interface RosMessages {
  'sensor_msgs/msg/JointState': JointState;
  'sensor_msgs/msg/Imu': Imu;
  'nav_msgs/msg/Odometry': Odometry;
  'std_msgs/msg/Float64MultiArray': Float64MultiArray;
  'std_msgs/msg/Float64': Float64Msg;
  'std_msgs/msg/Bool': BoolMsg;
  'std_msgs/msg/String': StringMsg;
  'trajectory_msgs/msg/JointTrajectory': JointTrajectory;
  'geometry_msgs/msg/Twist': Twist;
  'diagnostic_msgs/msg/DiagnosticArray': DiagnosticArray;
}
export type RosTypeName = keyof RosMessages;

export const ROS_TYPE_NAMES: readonly RosTypeName[] = [
  'sensor_msgs/msg/JointState', 'sensor_msgs/msg/Imu', 'nav_msgs/msg/Odometry',
  'std_msgs/msg/Float64MultiArray', 'std_msgs/msg/Float64', 'std_msgs/msg/Bool', 'std_msgs/msg/String',
  'trajectory_msgs/msg/JointTrajectory', 'geometry_msgs/msg/Twist', 'diagnostic_msgs/msg/DiagnosticArray',
];

/** A header stamped with a wall-clock time in seconds. */
export function headerAt(seconds: number, frameId = ''): Header {
  const sec = Math.floor(seconds);
  return { stamp: { sec, nanosec: Math.round((seconds - sec) * 1e9) }, frame_id: frameId };
}

export function durationOf(seconds: number): Duration {
  const sec = Math.floor(seconds);
  return { sec, nanosec: Math.round((seconds - sec) * 1e9) };
}
