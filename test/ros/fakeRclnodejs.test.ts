import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import type { JointState, JointTrajectory } from '../../src/plant/ros/messages.js';
import { RmwDurability, RmwHistory, RmwReliability } from '../../src/plant/ros/rclnodejs.js';

async function graphAndNodes() {
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  assert.throws(() => new rcl.Node('early'), /init\(\) must be called/);
  await rcl.init();
  return { graph, rcl, a: new rcl.Node('a'), b: new rcl.Node('b', '/ns') };
}

test('double: messages arrive on the event loop, completed with defaults, numeric arrays as Float64Array, copied', async () => {
  const { graph, rcl, a, b } = await graphAndNodes();
  const got: JointState[] = [];
  b.createSubscription('sensor_msgs/msg/JointState', '/js', { qos: rcl.QoS.profileSensorData }, (m) => got.push(m));
  b.spin();
  const pub = a.createPublisher('sensor_msgs/msg/JointState', '/js', { qos: rcl.QoS.profileSensorData });
  const position = [1, 2];
  pub.publish({ header: { stamp: { sec: 1, nanosec: 2 }, frame_id: '' }, name: ['x', 'y'], position, velocity: [], effort: [] });
  assert.equal(got.length, 0, 'never delivered inside publish');
  position[0] = 99;
  await graph.settle();
  assert.equal(got.length, 1);
  assert.ok(got[0].position instanceof Float64Array && got[0].velocity instanceof Float64Array);
  assert.deepEqual([...got[0].position], [1, 2]);
  // Omitted fields take the type's defaults, nested struct lists included.
  const traj: JointTrajectory[] = [];
  b.createSubscription('trajectory_msgs/msg/JointTrajectory', '/t', {}, (m) => traj.push(m));
  a.createPublisher('trajectory_msgs/msg/JointTrajectory', '/t').publish({ joint_names: ['j'], points: [{ positions: [0.5] }] } as unknown as JointTrajectory);
  await graph.settle();
  assert.deepEqual(traj[0].header, { stamp: { sec: 0, nanosec: 0 }, frame_id: '' });
  assert.ok(traj[0].points[0].velocities instanceof Float64Array && traj[0].points[0].velocities.length === 0);
  assert.deepEqual(traj[0].points[0].time_from_start, { sec: 0, nanosec: 0 });
  assert.throws(() => a.createPublisher('std_msgs/msg/Float64', '/js'), /topic '\/js' carries sensor_msgs\/msg\/JointState/);
  assert.throws(() => a.createPublisher('foo_msgs/msg/Bar' as never, '/x'), /not known/);
  assert.throws(() => a.createPublisher('std_msgs/msg/Float64', '/f').publish({ data: 'x' } as never), /expected a number/);
});

test('double: KEEP_LAST history drops the oldest samples while the event loop stalls (reliable depth 10)', async () => {
  const { graph, rcl, a, b } = await graphAndNodes();
  const got: number[] = [];
  b.createSubscription('std_msgs/msg/Float64', '/x', { qos: rcl.QoS.profileDefault }, (m) => got.push(m.data));
  b.spin();
  const pub = a.createPublisher('std_msgs/msg/Float64', '/x', { qos: rcl.QoS.profileDefault });
  // A synchronous burst of 25 = an event loop stalled for 25 periods.
  for (let i = 0; i < 25; i++) pub.publish({ data: i });
  await graph.settle();
  assert.deepEqual(got, [15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
  assert.equal(graph.stats.dropped, 15);
  // Explicit QoS objects: depth 3.
  const got3: number[] = [];
  b.createSubscription('std_msgs/msg/Float64', '/y', { qos: new rcl.QoS(RmwHistory.KEEP_LAST, 3, RmwReliability.RELIABLE, RmwDurability.VOLATILE) }, (m) => got3.push(m.data));
  const py = a.createPublisher('std_msgs/msg/Float64', '/y');
  for (let i = 0; i < 5; i++) py.publish({ data: i });
  await graph.settle();
  assert.deepEqual(got3, [2, 3, 4]);
});

test('double: a reliable subscription does not match a best-effort publisher; destroyed or non-spinning nodes get nothing', async () => {
  const { graph, rcl, a, b } = await graphAndNodes();
  const got: number[] = [];
  b.createSubscription('std_msgs/msg/Float64', '/x', { qos: rcl.QoS.profileDefault }, (m) => got.push(m.data));
  b.spin();
  a.createPublisher('std_msgs/msg/Float64', '/x', { qos: rcl.QoS.profileSensorData }).publish({ data: 1 });
  await graph.settle();
  assert.deepEqual(got, []);
  assert.equal(graph.stats.incompatible, 1);
  const c = new rcl.Node('c');
  const gotC: number[] = [];
  c.createSubscription('std_msgs/msg/Float64', '/z', { qos: rcl.QoS.profileSensorData }, (m) => gotC.push(m.data));
  const pz = a.createPublisher('std_msgs/msg/Float64', '/z', { qos: rcl.QoS.profileSensorData });
  pz.publish({ data: 1 });
  await graph.settle();
  assert.deepEqual(gotC, [], 'not spinning yet');
  c.spin();
  await graph.settle();
  assert.deepEqual(gotC, [1], 'queued sample delivered once spinning');
  assert.throws(() => c.spin(), /already spinning/);
  c.destroy();
  pz.publish({ data: 2 });
  await graph.settle();
  assert.deepEqual(gotC, [1]);
  assert.throws(() => c.createPublisher('std_msgs/msg/Float64', '/q'), /was destroyed/);
});
