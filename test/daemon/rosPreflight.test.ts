import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { rosPreflight, rosPreflightProblems } from '../../src/daemon/rosPreflight.js';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import { ROOT, tempDir } from './helpers.js';
import { recordingLogger } from './rosRig.js';

/** Start-up checks of a configuration with a robot phase (config/examples/sim-then-robot.json), on the in-memory ROS graph. */

const example = () => loadConfig({ file: join(ROOT, 'config', 'examples', 'sim-then-robot.json'), env: {} }).config;
const issueKeys = (e: unknown): string[] => (e instanceof ConfigError ? e.issues.map((i) => i.key) : []);

test('start-up: without a ROS 2 environment a robot phase is a configuration error naming ros.enabled; sim-only configs are not checked', async () => {
  const { logger } = recordingLogger();
  const noRos = { env: {}, resolve: (id: string): string => { throw new Error(`cannot find ${id}`); } };
  await assert.rejects(rosPreflight(example(), logger, { rosCheck: noRos }), (e: unknown) => {
    assert.deepEqual(issueKeys(e), ['ros.enabled']);
    assert.match((e as Error).message, /the robot phase \(switch.mode = automatic\) needs ROS 2 here: ROS_DISTRO is not set/);
    return true;
  });
  const simOnly = loadConfig({ env: {} }).config;
  await rosPreflight(simOnly, logger, { rosCheck: noRos });
});

test('start-up: topics on the graph with another type are errors naming their keys; absent ones a warning; all there, a note', async () => {
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  const config = example();
  // A "robot" already up: the e-stop topic carries String, the joint states the right type, the rest absent.
  await rcl.init();
  const robot = new rcl.Node('robot');
  robot.createPublisher('std_msgs/msg/String', '/cartpole/estop');
  robot.createPublisher('sensor_msgs/msg/JointState', '/cartpole/joint_states');
  const { logger, records } = recordingLogger();
  await assert.rejects(rosPreflight(config, logger, { loadRcl: async () => rcl, discoveryMs: 200 }), (e: unknown) => {
    assert.deepEqual(issueKeys(e), ['ros.estopTopic']);
    assert.match((e as Error).message, /the ROS graph carries std_msgs\/msg\/String on \/cartpole\/estop, the robot phase \(switch.mode = automatic\) expects std_msgs\/msg\/Bool/);
    return true;
  });
  assert.equal(rcl.isShutdown(), false, 'a context the check did not open stays open');
  robot.destroy();

  const g2 = new FakeRosGraph();
  const rcl2 = g2.module();
  await rcl2.init();
  const r2 = new rcl2.Node('robot');
  r2.createPublisher('sensor_msgs/msg/JointState', '/cartpole/joint_states');
  await rosPreflight(config, logger, { loadRcl: async () => rcl2, discoveryMs: 200 });
  const warn = records.find((r) => /not on the graph yet/.test(String(r.msg)));
  assert.ok(warn, 'absent topics are warned about');
  assert.deepEqual(warn.topics, [
    '/cartpole/effort_controller/commands (std_msgs/msg/Float64MultiArray, ros.command.topic)',
    '/cartpole/estop (std_msgs/msg/Bool, ros.estopTopic)',
    '/cartpole/ready (std_msgs/msg/Bool, ros.reset.readyTopic)',
  ]);
  r2.createPublisher('std_msgs/msg/Float64MultiArray', '/cartpole/effort_controller/commands');
  r2.createPublisher('std_msgs/msg/Bool', '/cartpole/estop');
  r2.createPublisher('std_msgs/msg/Bool', '/cartpole/ready');
  await rosPreflight(config, logger, { loadRcl: async () => rcl2, discoveryMs: 200 });
  assert.ok(records.some((r) => /every topic of the robot phase is on the graph/.test(String(r.msg))));
});

test('start-up: the task on the robot as configured: a task file sees the joint state through its model; a term the robot cannot give names sim.task, a missing mapping ros.observations', async () => {
  const dir = tempDir('sacbridge-ros-task-');
  const reach = JSON.parse(readFileSync(join(ROOT, 'examples', 'arm7', 'reach.json'), 'utf8'));
  reach.model = join(ROOT, 'examples', 'arm7', 'scene.xml');
  const file = join(dir, 'reach.json');
  writeFileSync(file, JSON.stringify(reach));
  reach.reward.push({ name: 'touch', type: 'contact_force', bodies: ['link7'], weight: -1 });
  const touching = join(dir, 'touch.json');
  writeFileSync(touching, JSON.stringify(reach));
  const joints = 'joint1,joint2,joint3,joint4,joint5,joint6,joint7';
  const load = (task: string, fields: Record<string, string>) => loadConfig({ env: {}, args: [
    '--sim.task', task, '--switch.mode', 'automatic', '--ros.enabled', 'true',
    '--ros.observations', JSON.stringify([{ topic: '/joint_states', type: 'sensor_msgs/msg/JointState', fields }]),
    '--safety.commandMin', JSON.stringify(Array(7).fill(-1)), '--safety.commandMax', JSON.stringify(Array(7).fill(1)),
  ] });
  const deps = { loadRcl: async () => new FakeRosGraph().module(), discoveryMs: 100 };
  const mapped = { joint_pos: `position[${joints}]`, joint_vel: `velocity[${joints}]` };
  const ok = load(file, mapped);
  assert.deepEqual((await rosPreflightProblems(ok.config, { ...deps, origins: ok.origins })).issues, []);
  const touch = load(touching, mapped);
  const t = (await rosPreflightProblems(touch.config, { ...deps, origins: touch.origins })).issues;
  assert.deepEqual(t.map((i) => [i.key, i.origin]), [['sim.task', 'flag --sim.task']]);
  assert.match(t[0]!.reason, /reads 'cfrc_ext' \(contact forces/);
  const unmapped = load(file, { qpos: `position[${joints}]` });
  const u = (await rosPreflightProblems(unmapped.config, { ...deps, origins: unmapped.origins })).issues;
  assert.deepEqual(u.map((i) => [i.key, i.origin]), [['ros.observations', 'flag --ros.observations']]);
  assert.match(u[0]!.reason, /mapped to joint_pos and joint_vel/);
});
