/**
 * Live ROS 2 tests: real rclnodejs, real DDS topics with the standard message types. They run
 * only in a shell where a ROS 2 distribution is sourced and rclnodejs is installed
 * (`source /opt/ros/jazzy/setup.bash && npm install rclnodejs@2.2.0 && npm test`), and are
 * skipped otherwise with the reason printed. SACBRIDGE_ROS_DOUBLE=1 runs them against the
 * in-memory double instead, to check the tests themselves where ROS 2 is absent.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadRclnodejs } from '../../src/plant/ros/rclnodejs.js';
import type { RclModule, RclNode } from '../../src/plant/ros/rclnodejs.js';
import { RosPlant } from '../../src/plant/ros/rosPlant.js';
import type { RosPlantConfig } from '../../src/plant/ros/rosPlantConfig.js';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import type { DiagnosticArray, Float64MultiArray, JointState, JointTrajectory, Twist } from '../../src/plant/ros/messages.js';
import { headerAt } from '../../src/plant/ros/messages.js';
import { liveRosSkip, rosProblem, useOwnRosDomain } from '../rosLive.js';

const useDouble = rosProblem !== null && process.env.SACBRIDGE_ROS_DOUBLE === '1';
const skip = useDouble ? false : liveRosSkip('ROS 2 live tests');
if (!useDouble) useOwnRosDomain();

let rcl: RclModule;
let robot: RclNode;
// Unique topic prefix so parallel runs on one ROS domain do not cross.
const ns = `/sacbridge_live_${process.pid}`;

before(async () => {
  if (skip) return;
  rcl = useDouble ? new FakeRosGraph().module() : await loadRclnodejs();
  await rcl.init();
  robot = new rcl.Node(`robot_${process.pid}`);
  robot.spin();
});

after(() => {
  if (skip) return;
  robot.destroy();
  rcl.shutdown();
});

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function config(command: RosPlantConfig['command']): RosPlantConfig {
  return {
    nodeName: `sacbridge_live_${process.pid}`,
    controlPeriod: 0.002,
    observations: [
      { type: 'sensor_msgs/msg/JointState', topic: `${ns}/joint_states`, joints: ['hip', 'knee'], signals: { position: 'q', velocity: 'qd' } },
      { type: 'sensor_msgs/msg/Imu', topic: `${ns}/imu`, signals: { angularVelocity: 'gyro' } },
      { type: 'nav_msgs/msg/Odometry', topic: `${ns}/odom`, signals: { position: 'base_pos' } },
      { type: 'std_msgs/msg/Float64MultiArray', topic: `${ns}/extra`, signals: [{ name: 'extra', offset: 0, size: 2 }] },
    ],
    command,
    estop: { topic: `${ns}/estop` },
    status: { topic: `${ns}/diagnostics`, period: 0.2 },
    reset: { mode: 'operator', topic: `${ns}/ready`, timeout: 5 },
  };
}

test('live: observations from real JointState, Imu, Odometry and Float64MultiArray topics', { skip }, async () => {
  const plant = RosPlant.open(rcl, config({ type: 'std_msgs/msg/Float64MultiArray', topic: `${ns}/cmd`, low: [-1, -1], high: [1, 1] }));
  try {
    const js = robot.createPublisher('sensor_msgs/msg/JointState', `${ns}/joint_states`, { qos: rcl.QoS.profileSensorData });
    const imu = robot.createPublisher('sensor_msgs/msg/Imu', `${ns}/imu`, { qos: rcl.QoS.profileSensorData });
    const odom = robot.createPublisher('nav_msgs/msg/Odometry', `${ns}/odom`, { qos: rcl.QoS.profileSensorData });
    const extra = robot.createPublisher('std_msgs/msg/Float64MultiArray', `${ns}/extra`, { qos: rcl.QoS.profileSensorData });
    const timer = setInterval(() => {
      js.publish({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, name: ['knee', 'hip'], position: [2, 1], velocity: [20, 10], effort: [] });
      imu.publish({
        header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, orientation: { x: 0, y: 0, z: 0, w: 1 }, orientation_covariance: new Array(9).fill(0),
        angular_velocity: { x: 1, y: 2, z: 3 }, angular_velocity_covariance: new Array(9).fill(0),
        linear_acceleration: { x: 0, y: 0, z: 9.8 }, linear_acceleration_covariance: new Array(9).fill(0),
      });
      odom.publish({
        header: { stamp: { sec: 0, nanosec: 0 }, frame_id: 'odom' }, child_frame_id: 'base',
        pose: { pose: { position: { x: 4, y: 5, z: 6 }, orientation: { x: 0, y: 0, z: 0, w: 1 } }, covariance: new Array(36).fill(0) },
        twist: { twist: { linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } }, covariance: new Array(36).fill(0) },
      });
      extra.publish({ layout: { dim: [], data_offset: 0 }, data: [7, 8] });
    }, 5);
    try {
      await until('all observation topics', () => plant.maxAge() < 0.1);
      const s = plant.read();
      assert.deepEqual([...s.get('q')!], [1, 2]);
      assert.deepEqual([...s.get('qd')!], [10, 20]);
      assert.deepEqual([...s.get('gyro')!], [1, 2, 3]);
      assert.deepEqual([...s.get('base_pos')!], [4, 5, 6]);
      assert.deepEqual([...s.get('extra')!], [7, 8]);
      assert.equal(plant.counters.malformed, 0);
    } finally {
      clearInterval(timer);
    }
  } finally {
    await plant.close();
  }
});

test('live: commands arrive as real Float64MultiArray, JointTrajectory and Twist messages', { skip }, async () => {
  const sinks: Exclude<RosPlantConfig['command'], { type: 'actuator_groups' }>[] = [
    { type: 'std_msgs/msg/Float64MultiArray', topic: `${ns}/fwd`, low: [-1, -1], high: [1, 1] },
    { type: 'trajectory_msgs/msg/JointTrajectory', topic: `${ns}/jtc`, joints: ['hip', 'knee'], field: 'positions', timeFromStart: 0.02, low: [-1, -1], high: [1, 1] },
    { type: 'geometry_msgs/msg/Twist', topic: `${ns}/cmd_vel`, axes: ['linear.x', 'angular.z'], low: [-1, -1], high: [1, 1] },
  ];
  for (const sink of sinks) {
    const plant = RosPlant.open(rcl, config(sink));
    const got: unknown[] = [];
    robot.createSubscription(sink.type, sink.topic, { qos: rcl.QoS.profileDefault }, (m: unknown) => got.push(m));
    try {
      // Publish until discovery has matched the endpoints and something arrived.
      await until(`a message on ${sink.topic}`, () => { plant.write(Float64Array.of(0.25, -0.5)); return got.length > 0; });
      const m = got[got.length - 1];
      if (sink.type === 'std_msgs/msg/Float64MultiArray') {
        const f = m as Float64MultiArray;
        assert.ok(f.data instanceof Float64Array, 'numeric arrays arrive as Float64Array');
        assert.deepEqual([...f.data], [0.25, -0.5]);
      } else if (sink.type === 'trajectory_msgs/msg/JointTrajectory') {
        const t = m as JointTrajectory;
        assert.deepEqual(t.joint_names, ['hip', 'knee']);
        assert.deepEqual([...t.points[0].positions], [0.25, -0.5]);
        assert.equal(t.points[0].time_from_start.nanosec, 20_000_000);
      } else {
        const t = m as Twist;
        assert.equal(t.linear.x, 0.25);
        assert.equal(t.angular.z, -0.5);
      }
    } finally {
      await plant.close();
    }
  }
});

test('live: e-stop latches from a Bool topic and clears only through the API; status is a DiagnosticArray; ready topic confirms a reset', { skip }, async () => {
  const plant = RosPlant.open(rcl, config({ type: 'std_msgs/msg/Float64MultiArray', topic: `${ns}/cmd2`, low: [-1, -1], high: [1, 1] }));
  const diag: DiagnosticArray[] = [];
  robot.createSubscription('diagnostic_msgs/msg/DiagnosticArray', `${ns}/diagnostics`, { qos: rcl.QoS.profileDefault }, (m) => diag.push(m));
  const estop = robot.createPublisher('std_msgs/msg/Bool', `${ns}/estop`, { qos: rcl.QoS.profileDefault });
  const ready = robot.createPublisher('std_msgs/msg/Bool', `${ns}/ready`, { qos: rcl.QoS.profileDefault });
  const js = robot.createPublisher('sensor_msgs/msg/JointState', `${ns}/joint_states`, { qos: rcl.QoS.profileSensorData });
  try {
    await until('e-stop latch', () => { estop.publish({ data: true }); return plant.estopped; });
    estop.publish({ data: false });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(plant.estopped, true);
    await until('an ERROR diagnostic', () => diag.some((d) => d.status[0]?.level === 2));
    plant.clearEstop();
    assert.equal(plant.estopped, false);
  } finally {
    await plant.close();
  }
  // Operator reset through the ready topic, with joint states as the only observation.
  const base = config({ type: 'std_msgs/msg/Float64MultiArray', topic: `${ns}/cmd3`, low: [-1], high: [1] });
  const only = RosPlant.open(rcl, { ...base, observations: [base.observations[0]], freshTimeout: 2 });
  const feed = setInterval(() => js.publish({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, name: ['hip', 'knee'], position: [0, 0], velocity: [0, 0], effort: [] }), 5);
  try {
    const done = only.reset();
    const confirm = setInterval(() => ready.publish({ data: true }), 50);
    try {
      await done;
    } finally {
      clearInterval(confirm);
    }
  } finally {
    clearInterval(feed);
    await only.close();
  }
});

test('live: drain() takes the whole backlog the reader holds on this thread and leaves the newest, stamped sample', { skip }, async () => {
  const c = config({ type: 'std_msgs/msg/Float64MultiArray', topic: `${ns}/cmd_drain`, low: [-1, -1], high: [1, 1] });
  const plant = RosPlant.open(rcl, { ...c, nodeName: `${c.nodeName}_drain`, observations: [
    { type: 'sensor_msgs/msg/JointState', topic: `${ns}/js_drain`, joints: ['hip', 'knee'], signals: { position: 'q' }, qos: { reliability: 'reliable', depth: 5 } },
  ] });
  try {
    const pub = robot.createPublisher('sensor_msgs/msg/JointState', `${ns}/js_drain`, { qos: new rcl.QoS(1, 5, 1, 2) });
    const seen: number[] = [];
    const probe = robot.createSubscription('sensor_msgs/msg/JointState', `${ns}/js_drain`, { qos: new rcl.QoS(1, 5, 1, 2) }, (m: JointState) => void seen.push(m.position[0] ?? NaN));
    assert.equal(probe.topic, `${ns}/js_drain`);
    // Wait for discovery: a sample published now reaches both readers.
    await until('discovery', () => {
      pub.publish({ header: headerAt(Date.now() / 1000), name: ['hip', 'knee'], position: [0, 0], velocity: [], effort: [] });
      return plant.counters.messages > 0 && seen.length > 0;
    });
    const before = plant.counters.messages;
    // Seven samples while this thread is blocked, as the control loop blocks between ticks:
    // the reliable depth-5 reader keeps the last five, and nothing is taken until the drain.
    for (let k = 1; k <= 7; k++) pub.publish({ header: headerAt(Date.now() / 1000), name: ['hip', 'knee'], position: [k, k], velocity: [], effort: [] });
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    assert.equal(plant.counters.messages - before, 0);
    const full = plant.counters.historyFull;
    await plant.drain(performance.now() + 2000);
    assert.equal(plant.read().get('q')![0], 7, 'the newest sample');
    assert.equal(plant.counters.messages - before, 5, 'every sample the QoS kept');
    assert.equal(plant.counters.historyFull - full, 1, 'the take found the history full');
    // Stamped 100 ms ago and taken now: the age counts from the stamp.
    assert.ok(plant.signalAge('q') >= 0.09, `age ${plant.signalAge('q')} s`);
  } finally {
    await plant.close();
  }
});
