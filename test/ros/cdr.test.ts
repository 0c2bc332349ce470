import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CdrError, decodeCdr, encodeCdr } from '../../src/plant/ros/cdr.js';
import type { RosMessages } from '../../src/plant/ros/messages.js';

/**
 * A JointState as an rclnodejs 2.2.0 raw subscription took it from Cyclone DDS (ROS 2 Jazzy):
 * stamp 1 s 2 ns, frame_id '', joints a..f, position and velocity 1..6, no effort.
 */
const RECORDED = '00010000010000000200000001000000000000000600000002000000610000000200000062000000020000006300000002000000640000000200000065000000020000006600000006000000000000000000f03f000000000000004000000000000008400000000000001040000000000000144000000000000018400600000000000000000000000000f03f0000000000000040000000000000084000000000000010400000000000001440000000000000184000000000';

test('CDR: a JointState serialized by rclnodejs over Cyclone DDS decodes field by field, and encodes back to the same bytes', () => {
  const bytes = Uint8Array.from(Buffer.from(RECORDED, 'hex'));
  const m = decodeCdr('sensor_msgs/msg/JointState', bytes);
  assert.deepEqual(m.header, { stamp: { sec: 1, nanosec: 2 }, frame_id: '' });
  assert.deepEqual(m.name, ['a', 'b', 'c', 'd', 'e', 'f']);
  assert.deepEqual([...m.position], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...m.velocity], [1, 2, 3, 4, 5, 6]);
  assert.ok(m.position instanceof Float64Array);
  assert.equal(m.effort.length, 0);
  assert.deepEqual(encodeCdr('sensor_msgs/msg/JointState', m), bytes);
});

const SAMPLES: { [K in keyof RosMessages]?: RosMessages[K] } = {
  'sensor_msgs/msg/JointState': { header: { stamp: { sec: 17, nanosec: 999 }, frame_id: 'base' }, name: ['hip', 'knee', 'ankle'], position: Float64Array.of(1.5, -2, 3), velocity: Float64Array.of(0.25, 0, 1e-9), effort: new Float64Array(0) },
  'sensor_msgs/msg/Imu': {
    header: { stamp: { sec: -3, nanosec: 5 }, frame_id: '' }, orientation: { x: 0.1, y: 0.2, z: 0.3, w: 0.9 }, orientation_covariance: Float64Array.from({ length: 9 }, (_, i) => i),
    angular_velocity: { x: 1, y: 2, z: 3 }, angular_velocity_covariance: new Float64Array(9).fill(-1), linear_acceleration: { x: 4, y: 5, z: 6 }, linear_acceleration_covariance: new Float64Array(9).fill(0.5),
  },
  'nav_msgs/msg/Odometry': {
    header: { stamp: { sec: 1, nanosec: 2 }, frame_id: 'odom' }, child_frame_id: 'base_link',
    pose: { pose: { position: { x: 1, y: 2, z: 3 }, orientation: { x: 0, y: 0, z: 0, w: 1 } }, covariance: Float64Array.from({ length: 36 }, (_, i) => i) },
    twist: { twist: { linear: { x: 7, y: 8, z: 9 }, angular: { x: -1, y: -2, z: -3 } }, covariance: Float64Array.from({ length: 36 }, (_, i) => -i) },
  },
  'std_msgs/msg/Float64MultiArray': { layout: { dim: [{ label: 'a', size: 2, stride: 4 }, { label: 'bb', size: 2, stride: 2 }], data_offset: 1 }, data: Float64Array.of(9, 1, 2, 3, 4) },
  'std_msgs/msg/Float64': { data: Math.PI },
};

test('CDR: every observation type survives encode then decode', () => {
  for (const [type, m] of Object.entries(SAMPLES)) {
    const t = type as 'sensor_msgs/msg/JointState';
    assert.deepEqual(decodeCdr(t, encodeCdr(t, m as RosMessages[typeof t])), m, type);
  }
});

test('CDR: big-endian data decodes too; truncated data, a wrong encapsulation, an absurd count or a type without a decoder is a CdrError naming the type', () => {
  // Float64 pi, big-endian: encapsulation 0x0000, then the double.
  const be = Uint8Array.from([0, 0, 0, 0, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18]);
  assert.equal(decodeCdr('std_msgs/msg/Float64', be).data, Math.PI);
  const js = Uint8Array.from(Buffer.from(RECORDED, 'hex'));
  assert.throws(() => decodeCdr('sensor_msgs/msg/JointState', js.subarray(0, js.length - 1)), (e: unknown) => e instanceof CdrError && /sensor_msgs\/msg\/JointState: serialized message ends early \(183 bytes, at 180\)/.test(e.message));
  assert.throws(() => decodeCdr('sensor_msgs/msg/JointState', js.subarray(0, 100)), /claims 6 elements \(100 bytes, at 76\)/);
  assert.throws(() => decodeCdr('sensor_msgs/msg/Imu', js), /sensor_msgs\/msg\/Imu: serialized message ends early/);
  const xcdr2 = Uint8Array.from(js);
  xcdr2[1] = 0x07;
  assert.throws(() => decodeCdr('sensor_msgs/msg/JointState', xcdr2), /encapsulation 0x0007 is not plain CDR/);
  const huge = Uint8Array.from(js);
  huge.set([0xff, 0xff, 0xff, 0x0f], 20); // the name count
  assert.throws(() => decodeCdr('sensor_msgs/msg/JointState', huge), /claims 268435455 elements/);
  assert.throws(() => decodeCdr('std_msgs/msg/Bool' as 'std_msgs/msg/Float64', be), /std_msgs\/msg\/Bool: no CDR decoder for this type \(have: sensor_msgs\/msg\/JointState/);
});
