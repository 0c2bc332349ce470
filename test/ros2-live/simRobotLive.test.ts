/**
 * `sacbridge sim-robot` over real ROS 2 (rclnodejs, Cyclone DDS on loopback), configured from a
 * daemon configuration with Imu and Odometry observations and JointTrajectory commands: what it
 * publishes (stamped Imu and Odometry from the model's sensors, JointState), the commands it takes
 * (JointTrajectory by joint name), its e-stop latch and its answer to a reset request ("ready").
 * The model (fixtures/imuRig.xml): a box at rest on the floor carries the IMU; a spinner on a
 * vertical hinge with damping 1 is driven by a motor, so a constant torque u spins it at u rad/s.
 * Skipped without ROS 2 (see ../rosLive.ts).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import type { Imu, JointState, Odometry } from '../../src/plant/ros/messages.js';
import { loadRclnodejs, type RclModule, type RclNode } from '../../src/plant/ros/rclnodejs.js';
import { killAll, MAIN_JS, ROOT, tempDir } from '../daemon/helpers.js';
import { liveRosSkip, rosChildEnv, useOwnRosDomain } from '../rosLive.js';

const skip = liveRosSkip('sim-robot over real ROS 2');
const ns = `/simrobot_${process.pid}`;
const domain = skip ? 0 : useOwnRosDomain();
const MODEL = join(ROOT, 'test', 'ros2-live', 'fixtures', 'imuRig.xml');

let rcl: RclModule;
let node: RclNode;
let robot: ChildProcess | null = null;
afterEach(killAll);
after(() => robot?.kill('SIGKILL'));

before(async () => {
  if (skip) return;
  rcl = await loadRclnodejs();
  await rcl.init();
  node = new rcl.Node(`simrobot_test_${process.pid}`);
  node.spin();
});

after(() => {
  if (skip) return;
  node.destroy();
  rcl.shutdown();
});

function config(dir: string): string {
  const file = join(dir, 'daemon.json');
  writeFileSync(file, JSON.stringify({
    ros: {
      enabled: true,
      observations: [
        { topic: `${ns}/joint_states`, type: 'sensor_msgs/msg/JointState', fields: { q: 'position[spin]', qd: 'velocity[spin]' } },
        { topic: `${ns}/imu`, type: 'sensor_msgs/msg/Imu', fields: { 'sensor:quat': 'orientation', 'sensor:gyro': 'angular_velocity', 'sensor:acc': 'linear_acceleration' } },
        { topic: `${ns}/odom`, type: 'nav_msgs/msg/Odometry', fields: { 'sensor:pos': 'pose.position', 'sensor:linvel': 'twist.linear' } },
      ],
      command: { type: 'trajectory_msgs/msg/JointTrajectory', topic: `${ns}/trajectory`, jointNames: ['spin'] },
      estopTopic: `${ns}/estop`,
      reset: { mode: 'operator', readyTopic: `${ns}/ready`, requestTopic: `${ns}/reset_request` },
    },
    safety: { commandMin: [-2], commandMax: [2] },
  }));
  return file;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test('live: sim-robot publishes stamped Imu and Odometry from the model\'s sensors, takes JointTrajectory commands, latches the e-stop and answers a reset request with "ready"', { skip, timeout: 90_000 }, async () => {
  const file = config(tempDir());
  robot = spawn(process.execPath, [MAIN_JS, 'sim-robot', '--config', file, '--model', MODEL, '--rate', '200', '--node-name', `imu_rig_${process.pid}`], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...rosChildEnv(domain) }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  robot.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; });
  await new Promise<void>((resolve, reject) => {
    robot!.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; if (out.includes('"simRobot":"ready"')) resolve(); });
    robot!.on('exit', (code) => reject(new Error(`sim-robot exited ${code}: ${out} ${err}`)));
  });
  const started = JSON.parse(out.split('\n')[0]!) as { topics: Record<string, string | null> };
  assert.deepEqual(
    [started.topics.imu, started.topics.odometry, started.topics.trajectory, started.topics.command],
    [`${ns}/imu`, `${ns}/odom`, `${ns}/trajectory`, null],
    'topics and command type from the daemon\'s configuration',
  );

  const got = { imu: [] as Imu[], odom: [] as Odometry[], js: [] as JointState[], ready: 0 };
  const qos = { qos: rcl.QoS.profileSensorData };
  node.createSubscription('sensor_msgs/msg/Imu', `${ns}/imu`, qos, (m: Imu) => void got.imu.push(m));
  node.createSubscription('nav_msgs/msg/Odometry', `${ns}/odom`, qos, (m: Odometry) => void got.odom.push(m));
  node.createSubscription('sensor_msgs/msg/JointState', `${ns}/joint_states`, qos, (m: JointState) => void got.js.push(m));
  node.createSubscription('std_msgs/msg/Bool', `${ns}/ready`, { qos: rcl.QoS.profileDefault }, (m: { data: boolean }) => { if (m.data) got.ready++; });
  const trajectory = node.createPublisher('trajectory_msgs/msg/JointTrajectory', `${ns}/trajectory`, { qos: rcl.QoS.profileDefault });
  const estop = node.createPublisher('std_msgs/msg/Bool', `${ns}/estop`, { qos: rcl.QoS.profileDefault });
  const resetRequest = node.createPublisher('std_msgs/msg/Bool', `${ns}/reset_request`, { qos: rcl.QoS.profileDefault });
  await until('Imu, Odometry and JointState messages', () => got.imu.length > 20 && got.odom.length > 20 && got.js.length > 20);

  // The box rests on the floor: level, still, the accelerometer reads +g; stamps are now.
  const imu = got.imu.at(-1)!;
  const o = imu.orientation;
  assert.ok(Math.abs(Math.hypot(o.x, o.y, o.z, o.w) - 1) < 1e-6 && Math.abs(o.w) > 0.999, `level, unit quaternion: ${JSON.stringify(o)}`);
  assert.ok(Math.abs(imu.linear_acceleration.z - 9.81) < 0.1 && Math.abs(imu.linear_acceleration.x) < 0.1, `accelerometer ${JSON.stringify(imu.linear_acceleration)}`);
  assert.ok(Math.hypot(imu.angular_velocity.x, imu.angular_velocity.y, imu.angular_velocity.z) < 0.01, 'gyro at rest');
  const stampAge = Date.now() / 1000 - (imu.header.stamp.sec + imu.header.stamp.nanosec / 1e9);
  assert.ok(stampAge >= 0 && stampAge < 1, `Imu stamped when sampled (${stampAge.toFixed(3)} s ago)`);
  const odom = got.odom.at(-1)!;
  assert.ok(Math.abs(odom.pose.pose.position.z - 0.1) < 0.01 && Math.abs(odom.pose.pose.position.x) < 0.01, `odometry position ${JSON.stringify(odom.pose.pose.position)}`);
  assert.ok(Math.hypot(odom.twist.twist.linear.x, odom.twist.twist.linear.y, odom.twist.twist.linear.z) < 0.01, 'odometry at rest');
  assert.ok(odom.header.stamp.sec > 0, 'Odometry stamped');

  // A JointTrajectory command (first point, by joint name) spins the hinge at u / damping.
  const spinAt = (u: number) => (): void => trajectory.publish({
    header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, joint_names: ['spin'],
    points: [{ positions: [u], velocities: [], accelerations: [], effort: [], time_from_start: { sec: 0, nanosec: 50_000_000 } }],
  });
  const velocity = (): number => got.js.at(-1)!.velocity[0]!;
  let sending = setInterval(spinAt(0.5), 20);
  try {
    await until('the spinner at 0.5 rad/s', () => Math.abs(velocity() - 0.5) < 0.02);
    // E-stop: the robot holds zero whatever it is told; the spinner stops.
    estop.publish({ data: true });
    await until('the spinner stopped under e-stop', () => Math.abs(velocity()) < 0.01);
    await sleep(300);
    assert.ok(Math.abs(velocity()) < 0.01, `still stopped while commands keep coming (${velocity()})`);
    // Released, it takes commands again.
    estop.publish({ data: false });
    clearInterval(sending);
    sending = setInterval(spinAt(-1), 20);
    await until('the spinner at -1 rad/s after the release', () => Math.abs(velocity() + 1) < 0.03);
    await until('the spinner turned away from its start', () => got.js.at(-1)!.position[0]! < -0.5);
  } finally {
    clearInterval(sending);
  }

  // A reset request: the model goes back to its start (the spinner still) and "ready" follows.
  const readyBefore = got.ready;
  resetRequest.publish({ data: true });
  await until('"ready" after the reset request', () => got.ready > readyBefore);
  assert.ok(Math.abs(got.js.at(-1)!.position[0]!) < 0.05, `the spinner back at its start after the reset (${got.js.at(-1)!.position[0]})`);

  robot.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => robot!.once('exit', r));
  assert.equal(code, 0, err);
  const stats = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
  assert.equal(stats.simRobot, 'stopped');
  assert.ok((stats.trajectories as number) > 10 && stats.estops === 1 && (stats.resets as number) >= 2 && stats.error === null, JSON.stringify(stats));
});
