import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ReplayBuffer } from '../../src/agent/replayBuffer.js';
import type { SoftActorCritic } from '../../src/agent/sac.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log/logger.js';
import { validateRosPlantConfig } from '../../src/plant/ros/rosPlantConfig.js';
import { RobotPhaseError, rosPlantConfigFrom, startRobotPhase } from '../../src/daemon/robotPhase.js';
import { ROOT, tempDir } from './helpers.js';

/** The robot phase's wiring up to what runs here: the ROS 2 checks and the config mapping. */

const example = () => loadConfig({ file: join(ROOT, 'config', 'examples', 'sim-then-robot.json'), env: {} }).config;
const logger = createLogger({ level: 'silent', pretty: 'never' });
const deps = (config = example(), env: NodeJS.ProcessEnv = {}) => ({
  config,
  logger,
  // Never reached: every case fails before the agent is touched.
  agent: {} as SoftActorCritic,
  simReplay: new ReplayBuffer({ capacity: 4, observationSize: 4, actionSize: 1 }),
  task: config.sim.task,
  rosCheck: { env, resolve: (id: string): string => { throw new Error(`cannot find ${id}`); } },
});

test('without ROS 2 the robot phase refuses to start and says what is missing', async () => {
  const off = loadConfig({ env: {} }).config;
  await assert.rejects(startRobotPhase(deps(off)), (e: Error) => e instanceof RobotPhaseError && /ros\.enabled is false/.test(e.message));
  await assert.rejects(startRobotPhase(deps()), (e: Error) => e instanceof RobotPhaseError && /ROS 2 is not available: ROS_DISTRO is not set/.test(e.message));
  // A sourced ROS 2 (a prefix with librcl.so) but no rclnodejs installed.
  const prefix = tempDir();
  mkdirSync(join(prefix, 'lib'));
  writeFileSync(join(prefix, 'lib', 'librcl.so'), '');
  await assert.rejects(startRobotPhase(deps(example(), { ROS_DISTRO: 'jazzy', AMENT_PREFIX_PATH: prefix })), /rclnodejs is not installed/);
});

test('the convict ros.* keys map onto a RosPlantConfig the plant accepts', () => {
  const c = rosPlantConfigFrom(example());
  const sizes = validateRosPlantConfig(c);
  assert.deepEqual(Object.fromEntries(sizes), { qpos: 2, qvel: 2 });
  assert.equal(c.controlPeriod, 1 / 50);
  assert.deepEqual(c.observations[0], { type: 'sensor_msgs/msg/JointState', topic: '/cartpole/joint_states', qos: 'sensor_data', joints: ['slider', 'hinge'], signals: { position: 'qpos', velocity: 'qvel' } });
  assert.deepEqual([c.command.type, c.command.low, c.command.high], ['std_msgs/msg/Float64MultiArray', [-2], [2]]);
  assert.deepEqual(c.reset, { mode: 'operator', topic: '/cartpole/ready', timeout: 600 });
  const bad = example();
  const broken = { ...bad, ros: { ...bad.ros, observations: [{ ...bad.ros.observations[0]!, fields: { qpos: 'positions(slider)' } }] } };
  assert.throws(() => rosPlantConfigFrom(broken), /ros\.observations\[0\]\.fields\.qpos = "positions\(slider\)": expected position\|velocity\|effort\[joint,\.\.\.\]/);
});
