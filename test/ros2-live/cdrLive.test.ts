/**
 * The CDR codec (src/plant/ros/cdr.ts) against rclnodejs's own serialization (rmw_serialize of
 * the sourced ROS 2): for every observation type, rclnodejs's bytes decode to the message and
 * encode back to the same bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRclnodejs } from '../../src/plant/ros/rclnodejs.js';
import { CDR_TYPE_NAMES, decodeCdr, encodeCdr } from '../../src/plant/ros/cdr.js';
import { liveRosSkip } from '../rosLive.js';

const skip = liveRosSkip('ROS 2 live CDR test');

/** What this test uses of rclnodejs beyond the narrow interface. */
interface Serializing {
  require(type: string): new (init?: object) => object;
  serializeMessage(message: object, typeClass: new (init?: object) => object): Buffer;
}

const MESSAGES: Record<string, object> = {
  'sensor_msgs/msg/JointState': { header: { stamp: { sec: 17, nanosec: 999 }, frame_id: 'base' }, name: ['hip', 'knee', 'ankle'], position: [1.5, -2, 3], velocity: [0.25, 0, 1e-9], effort: [] },
  'sensor_msgs/msg/Imu': { header: { stamp: { sec: -3, nanosec: 5 }, frame_id: '' }, orientation: { x: 0.1, y: 0.2, z: 0.3, w: 0.9 }, orientation_covariance: [1, 2, 3, 4, 5, 6, 7, 8, 9], angular_velocity: { x: 1, y: 2, z: 3 }, angular_velocity_covariance: Array(9).fill(-1), linear_acceleration: { x: 4, y: 5, z: 6 }, linear_acceleration_covariance: Array(9).fill(0.5) },
  'nav_msgs/msg/Odometry': { header: { stamp: { sec: 1, nanosec: 2 }, frame_id: 'odom' }, child_frame_id: 'base_link', pose: { pose: { position: { x: 1, y: 2, z: 3 }, orientation: { x: 0, y: 0, z: 0, w: 1 } }, covariance: Array.from({ length: 36 }, (_, i) => i) }, twist: { twist: { linear: { x: 7, y: 8, z: 9 }, angular: { x: -1, y: -2, z: -3 } }, covariance: Array.from({ length: 36 }, (_, i) => -i) } },
  'std_msgs/msg/Float64MultiArray': { layout: { dim: [{ label: 'a', size: 2, stride: 4 }, { label: 'bb', size: 2, stride: 2 }], data_offset: 1 }, data: [9, 1, 2, 3, 4] },
  'std_msgs/msg/Float64': { data: Math.PI },
};

test('live: rclnodejs serializes each observation type to the bytes cdr.ts decodes and encodes back', { skip }, async () => {
  const rcl = (await loadRclnodejs()) as unknown as Serializing;
  for (const type of CDR_TYPE_NAMES) {
    const T = rcl.require(type);
    const bytes = rcl.serializeMessage(new T(MESSAGES[type]), T);
    const decoded = decodeCdr(type, bytes);
    assert.deepEqual(Buffer.from(encodeCdr(type, decoded)), bytes, type);
    const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (_k, v: unknown) => (v instanceof Float64Array ? [...v] : v)));
    assert.deepEqual(plain(decoded), plain(MESSAGES[type]), type);
  }
});
