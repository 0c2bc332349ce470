import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import { RosPlant } from '../../src/plant/ros/rosPlant.js';
import type { RosPlantConfig } from '../../src/plant/ros/rosPlantConfig.js';
import type { RclModule } from '../../src/plant/ros/rclnodejs.js';
import type { DiagnosticArray, Float64MultiArray, JointTrajectory, RosMessages, RosTypeName, Twist } from '../../src/plant/ros/messages.js';
import { DiagnosticLevel } from '../../src/plant/ros/messages.js';

/** A controllable monotonic clock in seconds. */
function clock(start = 100): { now: () => number; advance: (s: number) => void } {
  let t = start;
  return { now: () => t, advance: (s) => { t += s; } };
}

function baseConfig(over: Partial<RosPlantConfig> = {}): RosPlantConfig {
  return {
    nodeName: 'sacbridge_test',
    controlPeriod: 0.002,
    observations: [
      { type: 'sensor_msgs/msg/JointState', topic: '/joint_states', joints: ['hip', 'knee'], signals: { position: 'q', velocity: 'qd', effort: 'tau' } },
      { type: 'sensor_msgs/msg/Imu', topic: '/imu', signals: { orientation: 'imu_quat', angularVelocity: 'gyro', linearAcceleration: 'acc' } },
      { type: 'nav_msgs/msg/Odometry', topic: '/odom', signals: { position: 'base_pos', orientation: 'base_quat', linearVelocity: 'base_vel', angularVelocity: 'base_angvel' } },
      { type: 'std_msgs/msg/Float64MultiArray', topic: '/contacts', signals: [{ name: 'contact', offset: 0, size: 2 }, { name: 'extra', offset: 2, size: 1 }] },
    ],
    reward: { topic: '/reward' },
    command: { type: 'std_msgs/msg/Float64MultiArray', topic: '/forward_effort_controller/commands', low: [-1, -2], high: [1, 2] },
    estop: { topic: '/estop' },
    status: { topic: '/diagnostics', period: 60 },
    phaseTopic: '/sacbridge/phase',
    reset: { mode: 'operator', topic: '/sacbridge/ready', timeout: 5 },
    ...over,
  };
}

/** A "robot" node on the same graph that publishes and listens. */
function robot(rcl: RclModule) {
  const node = new rcl.Node('robot');
  const pubs = new Map<string, { publish(m: unknown): void }>();
  const pub = <K extends RosTypeName>(type: K, topic: string, msg: Partial<RosMessages[K]>, qos: string = rcl.QoS.profileSensorData): void => {
    let p = pubs.get(topic);
    if (p === undefined) {
      p = node.createPublisher(type, topic, { qos }) as unknown as { publish(m: unknown): void };
      pubs.set(topic, p);
    }
    p.publish(msg);
  };
  const received: { topic: string; msg: unknown }[] = [];
  const listen = <K extends RosTypeName>(type: K, topic: string): void => {
    node.createSubscription(type, topic, { qos: rcl.QoS.profileDefault }, (msg) => received.push({ topic, msg }));
  };
  node.spin();
  return { node, pub, received, listen };
}

async function setup(over: Partial<RosPlantConfig> = {}, hooks: Parameters<typeof RosPlant.open>[2] = {}) {
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const c = clock();
  const plant = RosPlant.open(rcl, baseConfig(over), { now: c.now, ...hooks });
  const r = robot(rcl);
  return { graph, rcl, plant, clock: c, robot: r };
}

test('JointState maps by joint name in any order, Imu/Odometry/Float64MultiArray into named signals', async () => {
  const { graph, plant, robot: r } = await setup();
  assert.deepEqual(plant.signals.map((s) => [s.name, s.size]), [
    ['q', 2], ['qd', 2], ['tau', 2], ['imu_quat', 4], ['gyro', 3], ['acc', 3],
    ['base_pos', 3], ['base_quat', 4], ['base_vel', 3], ['base_angvel', 3], ['contact', 2], ['extra', 1], ['reward', 1],
  ]);
  r.pub('sensor_msgs/msg/JointState', '/joint_states', { name: ['knee', 'wheel', 'hip'], position: [2, 9, 1], velocity: [20, 90, 10], effort: [200, 900, 100] });
  r.pub('sensor_msgs/msg/Imu', '/imu', { orientation: { x: 0.1, y: 0.2, z: 0.3, w: 0.9 }, angular_velocity: { x: 1, y: 2, z: 3 }, linear_acceleration: { x: 4, y: 5, z: 9.8 } });
  r.pub('nav_msgs/msg/Odometry', '/odom', {
    pose: { pose: { position: { x: 1, y: 2, z: 3 }, orientation: { x: 0, y: 0, z: 0.6, w: 0.8 } }, covariance: new Array(36).fill(0) },
    twist: { twist: { linear: { x: 0.5, y: 0, z: -0.5 }, angular: { x: 0, y: 0.25, z: 0 } }, covariance: new Array(36).fill(0) },
  });
  r.pub('std_msgs/msg/Float64MultiArray', '/contacts', { layout: { dim: [], data_offset: 1 }, data: [99, 1, 0, 7] });
  r.pub('std_msgs/msg/Float64', '/reward', { data: 1.5 }, 'qos_profile_default');
  await graph.settle();
  const s = plant.read();
  assert.deepEqual([...s.get('q')!], [1, 2]);
  assert.deepEqual([...s.get('qd')!], [10, 20]);
  assert.deepEqual([...s.get('tau')!], [100, 200]);
  assert.deepEqual([...s.get('imu_quat')!], [0.9, 0.1, 0.2, 0.3]);
  assert.deepEqual([...s.get('gyro')!], [1, 2, 3]);
  assert.deepEqual([...s.get('acc')!], [4, 5, 9.8]);
  assert.deepEqual([...s.get('base_pos')!], [1, 2, 3]);
  assert.deepEqual([...s.get('base_quat')!], [0.8, 0, 0, 0.6]);
  assert.deepEqual([...s.get('base_vel')!], [0.5, 0, -0.5]);
  assert.deepEqual([...s.get('base_angvel')!], [0, 0.25, 0]);
  assert.deepEqual([...s.get('contact')!], [1, 0]);
  assert.deepEqual([...s.get('extra')!], [7]);
  assert.deepEqual([...s.get('reward')!], [1.5]);
  // Order changes between messages: the name index is rebuilt.
  r.pub('sensor_msgs/msg/JointState', '/joint_states', { name: ['hip', 'knee'], position: [5, 6], velocity: [0, 0], effort: [0, 0] });
  await graph.settle();
  assert.deepEqual([...plant.read().get('q')!], [5, 6]);
  assert.equal(plant.counters.malformed, 0);
  await plant.close();
});

test('a JointState lacking a configured joint or field is rejected and counted, signals keep their last value', async () => {
  const { graph, plant, robot: r } = await setup();
  r.pub('sensor_msgs/msg/JointState', '/joint_states', { name: ['hip', 'knee'], position: [1, 2], velocity: [3, 4], effort: [5, 6] });
  r.pub('sensor_msgs/msg/JointState', '/joint_states', { name: ['hip'], position: [7], velocity: [7], effort: [7] });
  r.pub('sensor_msgs/msg/JointState', '/joint_states', { name: ['hip', 'knee'], position: [8, 8], velocity: [8, 8] });
  await graph.settle();
  assert.deepEqual([...plant.read().get('q')!], [1, 2]);
  assert.equal(plant.counters.malformed, 2);
  assert.match(plant.lastError ?? '', /effort has 0 entries for 2 joints/);
  await plant.close();
});

test('staleness: signal ages follow the receive time of their topic; never received is Infinity', async () => {
  const { graph, plant, robot: r, clock: c } = await setup();
  assert.equal(plant.signalAge('q'), Infinity);
  r.pub('sensor_msgs/msg/JointState', '/joint_states', { name: ['hip', 'knee'], position: [1, 2], velocity: [3, 4], effort: [5, 6] });
  await graph.settle();
  c.advance(0.03);
  assert.ok(Math.abs(plant.signalAge('q') - 0.03) < 1e-9);
  assert.equal(plant.signalAge('gyro'), Infinity);
  assert.throws(() => plant.signalAge('nope'), /signal 'nope' is not provided/);
  await plant.close();
});

test('drain() takes every kept sample on the calling thread and leaves the newest; a backlog the depth overflowed is counted', async () => {
  const { graph, plant, robot: r } = await setup();
  const js = (k: number) => ({ name: ['hip', 'knee'], position: [k, k], velocity: [0, 0], effort: [0, 0] });
  // Four samples while the control thread is busy: sensor-data QoS (depth 5) keeps them all.
  for (let k = 1; k <= 4; k++) r.pub('sensor_msgs/msg/JointState', '/joint_states', js(k));
  const messages = plant.counters.messages;
  await plant.drain(performance.now() + 1000);
  assert.equal(plant.read().get('q')![0], 4, 'drain() leaves the newest');
  assert.equal(plant.counters.messages - messages, 4, 'every sample reached the plant');
  assert.equal(plant.counters.historyFull, 0);
  assert.equal(graph.stats.dropped, 0);
  // Seven: the depth-5 history keeps 3..7; the take that finds it full is counted.
  for (let k = 1; k <= 7; k++) r.pub('sensor_msgs/msg/JointState', '/joint_states', js(k));
  await plant.drain(performance.now() + 1000);
  assert.equal(plant.read().get('q')![0], 7);
  assert.equal(plant.counters.messages - messages, 9);
  assert.equal(graph.stats.dropped, 2);
  assert.equal(plant.counters.historyFull, 1);
  await plant.close();
});

test('drain() latches an e-stop that arrived before it, whatever else is queued: the tick after it writes zero', async () => {
  const { plant, robot: r } = await setup({ estopCommand: 'zero' });
  r.listen('std_msgs/msg/Float64MultiArray', '/forward_effort_controller/commands');
  const js = (k: number) => ({ name: ['hip', 'knee'], position: [k, k], velocity: [0, 0], effort: [0, 0] });
  for (let k = 1; k <= 4; k++) r.pub('sensor_msgs/msg/JointState', '/joint_states', js(k));
  r.pub('std_msgs/msg/Bool', '/estop', { data: true }, 'qos_profile_default');
  for (let k = 5; k <= 8; k++) r.pub('sensor_msgs/msg/JointState', '/joint_states', js(k));
  assert.equal(plant.estopped, false, 'nothing is taken before the drain');
  await plant.drain(performance.now() + 1000);
  assert.equal(plant.estopped, true);
  assert.equal(plant.read().get('q')![0], 8);
  plant.write(Float64Array.of(0.5, 0.5));
  await new Promise<void>((res) => setTimeout(res, 10));
  const sent = r.received.map((x) => [...(x.msg as Float64MultiArray).data]);
  assert.ok(sent.length >= 2, `${sent.length} commands`);
  for (const c of sent) assert.deepEqual(c, [0, 0], 'only zero commands after the e-stop');
  await plant.close();
});

test('takeNow() (the tick\'s first call) takes what arrived after the I/O window: the newest sample and an e-stop, with its receive time', async () => {
  let received: number | undefined;
  const { plant, robot: r } = await setup({ estopCommand: 'zero' }, { onEstop: (_reason, at) => { received = at; } });
  const js = (k: number) => ({ name: ['hip', 'knee'], position: [k, k], velocity: [0, 0], effort: [0, 0] });
  r.pub('sensor_msgs/msg/JointState', '/joint_states', js(1));
  await plant.drain(performance.now() + 1000);
  const before = (performance.timeOrigin + performance.now()) / 1000;
  r.pub('sensor_msgs/msg/JointState', '/joint_states', js(2));
  r.pub('std_msgs/msg/Bool', '/estop', { data: true }, 'qos_profile_default');
  assert.equal(plant.read().get('q')![0], 1);
  plant.takeNow();
  assert.equal(plant.read().get('q')![0], 2);
  assert.equal(plant.estopped, true);
  assert.ok(received !== undefined && received >= before - 0.001 && received <= (performance.timeOrigin + performance.now()) / 1000 + 0.001, `receive time ${received}`);
  await plant.close();
});

test('a spinning node cannot be drained on the calling thread (the double refuses spinOnce, as rclnodejs does)', async () => {
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const node = new rcl.Node('spinner');
  node.spin();
  assert.throws(() => node.spinOnce(0), /already spinning/);
  node.destroy();
});

test('header stamps: a sample counts as old as its stamp says; unset stamps and stamps from the future fall back to the receive time', async () => {
  let wall = 1_000_000;
  const { graph, plant, robot: r, clock: c } = await setup({ freshAge: 0.1 }, { wallClock: () => wall });
  const stamp = (t: number) => ({ stamp: { sec: Math.floor(t), nanosec: Math.round((t - Math.floor(t)) * 1e9) }, frame_id: '' });
  // Published 40 ms before it arrives: 40 ms old on arrival, 70 ms after 30 ms more.
  r.pub('sensor_msgs/msg/JointState', '/joint_states', { header: stamp(wall - 0.04), name: ['hip', 'knee'], position: [1, 2], velocity: [0, 0], effort: [0, 0] });
  await graph.settle();
  c.advance(0.03);
  wall += 0.03;
  assert.ok(Math.abs(plant.signalAge('q') - 0.07) < 1e-6, `age ${plant.signalAge('q')}`);
  assert.equal(plant.counters.stale, 0);
  // A drained backlog: 250 ms old on arrival is stale at once, and counted.
  r.pub('sensor_msgs/msg/JointState', '/joint_states', { header: stamp(wall - 0.25), name: ['hip', 'knee'], position: [1, 2], velocity: [0, 0], effort: [0, 0] });
  await graph.settle();
  assert.ok(plant.signalAge('q') > 0.1);
  assert.equal(plant.counters.stale, 1);
  assert.match(plant.lastError ?? '', /0\.250 s old on arrival/);
  // Imu and Odometry stamps count too.
  r.pub('sensor_msgs/msg/Imu', '/imu', { header: stamp(wall - 0.02) });
  r.pub('nav_msgs/msg/Odometry', '/odom', { header: stamp(wall - 0.01) });
  await graph.settle();
  assert.ok(Math.abs(plant.signalAge('gyro') - 0.02) < 1e-6);
  assert.ok(Math.abs(plant.signalAge('base_pos') - 0.01) < 1e-6);
  // Unset stamp (0.0): receive time.
  r.pub('sensor_msgs/msg/JointState', '/joint_states', { name: ['hip', 'knee'], position: [1, 2], velocity: [0, 0], effort: [0, 0] });
  await graph.settle();
  assert.equal(plant.signalAge('q'), 0);
  // A stamp 1 s in the future is clock skew: counted, named, and the receive time is used.
  r.pub('sensor_msgs/msg/JointState', '/joint_states', { header: stamp(wall + 1), name: ['hip', 'knee'], position: [1, 2], velocity: [0, 0], effort: [0, 0] });
  await graph.settle();
  c.advance(0.005);
  assert.ok(Math.abs(plant.signalAge('q') - 0.005) < 1e-9);
  assert.equal(plant.counters.clockSkew, 1);
  assert.match(plant.lastError ?? '', /1\.000 s ahead of this clock \(clock skew\?\)/);
  await plant.close();
});

test('commands are published as Float64MultiArray, JointTrajectory and Twist', async () => {
  {
    const { graph, plant, robot: r } = await setup();
    r.listen('std_msgs/msg/Float64MultiArray', '/forward_effort_controller/commands');
    plant.write(Float64Array.of(0.5, -1.5));
    await graph.settle();
    const m = r.received[0].msg as Float64MultiArray;
    assert.ok(m.data instanceof Float64Array);
    assert.deepEqual([...m.data], [0.5, -1.5]);
    assert.equal(m.layout.dim[0].size, 2);
    assert.throws(() => plant.write(Float64Array.of(1)), /command has 1 components, the ros plant expects 2/);
    await plant.close();
  }
  {
    const { graph, plant, robot: r } = await setup({
      command: { type: 'trajectory_msgs/msg/JointTrajectory', topic: '/jtc/joint_trajectory', joints: ['hip', 'knee'], field: 'positions', timeFromStart: 0.01, low: [-1, -1], high: [1, 1] },
    });
    r.listen('trajectory_msgs/msg/JointTrajectory', '/jtc/joint_trajectory');
    plant.write(Float64Array.of(0.25, -0.75));
    await graph.settle();
    const m = r.received[0].msg as JointTrajectory;
    assert.deepEqual(m.joint_names, ['hip', 'knee']);
    assert.equal(m.points.length, 1);
    assert.deepEqual([...m.points[0].positions], [0.25, -0.75]);
    assert.equal(m.points[0].velocities.length, 0);
    assert.deepEqual(m.points[0].time_from_start, { sec: 0, nanosec: 10_000_000 });
    await plant.close();
  }
  {
    const { graph, plant, robot: r } = await setup({
      command: { type: 'geometry_msgs/msg/Twist', topic: '/cmd_vel', axes: ['linear.x', 'angular.z'], low: [-1, -2], high: [1, 2] },
    });
    r.listen('geometry_msgs/msg/Twist', '/cmd_vel');
    plant.write(Float64Array.of(0.3, -1.2));
    await graph.settle();
    assert.deepEqual(r.received[0].msg as Twist, { linear: { x: 0.3, y: 0, z: 0 }, angular: { x: 0, y: 0, z: -1.2 } });
    assert.deepEqual(plant.command.names, ['linear.x', 'angular.z']);
    await plant.close();
  }
});

test('e-stop latches on a true Bool, ignores false, and clears only through the API', async () => {
  const reasons: string[] = [];
  const { graph, plant, robot: r } = await setup({}, { onEstop: (why) => reasons.push(why) });
  r.listen('std_msgs/msg/Float64MultiArray', '/forward_effort_controller/commands');
  r.pub('std_msgs/msg/Bool', '/estop', { data: true }, 'qos_profile_default');
  await graph.settle();
  assert.equal(plant.estopped, true);
  assert.deepEqual(reasons, ['e-stop message on /estop']);
  r.pub('std_msgs/msg/Bool', '/estop', { data: false }, 'qos_profile_default');
  await graph.settle();
  assert.equal(plant.estopped, true, 'a false message must not clear the latch');
  plant.write(Float64Array.of(0.5, 0.5));
  await graph.settle();
  assert.equal(r.received.length, 0, "'silence' publishes nothing while e-stopped");
  await assert.rejects(plant.reset(), /e-stop is latched/);
  assert.equal(plant.statusMessage().status[0].level, DiagnosticLevel.ERROR);
  plant.clearEstop();
  assert.equal(plant.estopped, false);
  plant.write(Float64Array.of(0.5, 0.5));
  await graph.settle();
  assert.equal(r.received.length, 1);
  await plant.close();
});

test("estopCommand 'zero' publishes zeros clamped into the range", async () => {
  const { graph, plant, robot: r } = await setup({ estopCommand: 'zero', command: { type: 'std_msgs/msg/Float64MultiArray', topic: '/cmd', low: [0.2, -1], high: [1, 1] } });
  r.listen('std_msgs/msg/Float64MultiArray', '/cmd');
  plant.triggerEstop('test');
  await graph.settle();
  assert.equal(r.received.length, 1, 'the e-stop itself sends the zero command, before any tick');
  plant.write(Float64Array.of(0.9, 0.9));
  await graph.settle();
  assert.deepEqual(r.received.map((x) => [...(x.msg as Float64MultiArray).data]), [[0.2, 0], [0.2, 0]]);
  await plant.close();
});

test('phase commands from the topic reach the hook; a throwing hook is counted as rejected', async () => {
  const got: string[] = [];
  const { graph, plant, robot: r } = await setup({}, { onPhaseCommand: (c) => { if (c === 'bogus') throw new Error('unknown phase'); got.push(c); } });
  r.pub('std_msgs/msg/String', '/sacbridge/phase', { data: ' real_finetune ' }, 'qos_profile_default');
  r.pub('std_msgs/msg/String', '/sacbridge/phase', { data: 'bogus' }, 'qos_profile_default');
  await graph.settle();
  assert.deepEqual(got, ['real_finetune']);
  assert.equal(plant.counters.phaseRejected, 1);
  assert.match(plant.lastError ?? '', /unknown phase/);
  await plant.close();
});

test('status: DiagnosticArray with phase, ages, counters and hook values', async () => {
  const { graph, plant, robot: r, clock: c } = await setup({}, { status: () => ({ phase: 'real_finetune', values: { late_ticks: 3 } }) });
  r.listen('diagnostic_msgs/msg/DiagnosticArray', '/diagnostics');
  for (const [type, topic] of [['sensor_msgs/msg/JointState', '/joint_states'], ['sensor_msgs/msg/Imu', '/imu'], ['nav_msgs/msg/Odometry', '/odom'], ['std_msgs/msg/Float64MultiArray', '/contacts']] as const) {
    r.pub(type, topic, type === 'sensor_msgs/msg/JointState' ? { name: ['hip', 'knee'], position: [0, 0], velocity: [0, 0], effort: [0, 0] } : type === 'std_msgs/msg/Float64MultiArray' ? { data: [0, 0, 0] } : {});
  }
  r.pub('std_msgs/msg/Float64', '/reward', { data: 0 }, 'qos_profile_default');
  await graph.settle();
  plant.publishStatus();
  await graph.settle();
  const d = r.received[0].msg as DiagnosticArray;
  const kv = new Map(d.status[0].values.map((v) => [v.key, v.value]));
  assert.equal(d.status[0].level, DiagnosticLevel.OK);
  assert.equal(kv.get('phase'), 'real_finetune');
  assert.equal(kv.get('late_ticks'), '3');
  assert.equal(kv.get('age_ms /joint_states'), '0.0');
  c.advance(1);
  const stale = plant.statusMessage().status[0];
  assert.equal(stale.level, DiagnosticLevel.WARN);
  assert.match(stale.message, /stale: \/joint_states/);
  await plant.close();
});

test('operator reset: waits for "ready" (topic or API) given after the reset began, then fresh observations; times out otherwise', async () => {
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const plant = RosPlant.open(rcl, baseConfig({
    observations: [{ type: 'sensor_msgs/msg/JointState', topic: '/joint_states', joints: ['hip'], signals: { position: 'q' } }],
    reward: undefined,
    reset: { mode: 'operator', topic: '/sacbridge/ready', timeout: 0.3 },
    freshAge: 0.05,
  }));
  const r = robot(rcl);
  const feed = setInterval(() => r.pub('sensor_msgs/msg/JointState', '/joint_states', { name: ['hip'], position: [0.1], velocity: [], effort: [] }), 5);
  try {
    assert.equal(plant.confirmReady(), false, 'no reset pending');
    // A "ready" given before the reset does not count.
    const t0 = performance.now();
    await assert.rejects(plant.reset(), /no operator "ready" within 0.3 s/);
    assert.ok(performance.now() - t0 >= 290);
    // Topic confirmation.
    const viaTopic = plant.reset();
    setTimeout(() => r.pub('std_msgs/msg/Bool', '/sacbridge/ready', { data: true }, 'qos_profile_default'), 30);
    await viaTopic;
    // API confirmation.
    const viaApi = plant.reset();
    setTimeout(() => assert.equal(plant.confirmReady(), true), 30);
    await viaApi;
    // e-stop while waiting aborts the reset.
    const aborted = plant.reset();
    setTimeout(() => plant.triggerEstop('operator pressed e-stop'), 20);
    await assert.rejects(aborted, /e-stop is latched/);
  } finally {
    clearInterval(feed);
    await plant.close();
  }
});

test('scripted reset publishes each step for its duration, then waits for fresh observations', async () => {
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const plant = RosPlant.open(rcl, baseConfig({
    controlPeriod: 0.01,
    observations: [{ type: 'sensor_msgs/msg/JointState', topic: '/joint_states', joints: ['hip'], signals: { position: 'q' } }],
    reward: undefined,
    command: { type: 'std_msgs/msg/Float64MultiArray', topic: '/cmd', low: [-1], high: [1] },
    reset: { mode: 'scripted', steps: [{ command: [0.5], duration: 0.05 }, { command: [0], duration: 0.05 }] },
    freshAge: 0.05,
    freshTimeout: 0.2,
  }));
  const r = robot(rcl);
  r.listen('std_msgs/msg/Float64MultiArray', '/cmd');
  await assert.rejects(plant.reset(), /no fresh observations within 0.2 s on \/joint_states/);
  const sent = r.received.map((x) => (x.msg as Float64MultiArray).data[0]);
  const firstZero = sent.indexOf(0);
  assert.ok(firstZero >= 3 && firstZero <= 6, `~5 ticks of 0.5 then 0, got ${sent.join(',')}`);
  assert.ok(sent.slice(0, firstZero).every((v) => v === 0.5));
  assert.ok(sent.slice(firstZero).every((v) => v === 0));
  const feed = setInterval(() => r.pub('sensor_msgs/msg/JointState', '/joint_states', { name: ['hip'], position: [0], velocity: [], effort: [] }), 5);
  try {
    await plant.reset();
  } finally {
    clearInterval(feed);
    await plant.close();
  }
});

test('bad config names the key', async () => {
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  assert.throws(() => RosPlant.open(rcl, baseConfig({ command: { type: 'geometry_msgs/msg/Twist', topic: '/cmd_vel', axes: ['linear.q' as never], low: [-1], high: [1] } })), /command\.axes\[0\]: 'linear\.q' is not one of/);
  assert.throws(() => RosPlant.open(rcl, baseConfig({ estop: { topic: 'bad topic' } })), /estop\.topic: 'bad topic' is not a valid ROS topic name/);
  assert.throws(() => RosPlant.open(rcl, baseConfig({ observations: [{ type: 'sensor_msgs/msg/JointState', topic: '/js', joints: [], signals: { position: 'q' } }] })), /observations\[0\]\.joints/);
  assert.throws(() => RosPlant.open(rcl, baseConfig({ reset: { mode: 'scripted', steps: [{ command: [5, 0], duration: 1 }] } })), /reset\.steps\[0\]\.command\[0\]: 5 is outside \[-1, 1\]/);
  assert.throws(() => RosPlant.open(rcl, baseConfig({ reward: { topic: '/r', signal: 'q' } })), /reward\.signal: signal 'q' is defined twice/);
});
