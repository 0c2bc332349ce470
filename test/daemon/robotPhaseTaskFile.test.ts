import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { initCompute } from '../../src/compute/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { startRobotPhase } from '../../src/daemon/robotPhase.js';
import { createLogger } from '../../src/log/logger.js';
import { KinematicsPlant } from '../../src/plant/mujoco/kinematicsPlant.js';
import { MujocoPlant } from '../../src/plant/mujoco/mujocoPlant.js';
import { SimulatedRobot } from '../../src/plant/ros/simulatedRobot.js';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import { Trainer } from '../../src/train/trainer.js';
import { createEnv } from '../../src/wiring/envFactory.js';
import { until } from './rosRig.js';

// The robot phase with a task file: the robot is seen through the MJCF (KinematicsPlant), the
// commands go out per actuator group (a forward command controller and a
// joint_trajectory_controller) to a simulated robot taking the same groups, and stop() frees the
// KinematicsPlant's MuJoCo model and data.

await initCompute();
const dir = mkdtempSync(path.join(tmpdir(), 'sacbridge-phase-task-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MODEL = `<mujoco model="two">
  <worldbody>
    <body name="upper"><joint name="shoulder" axis="0 1 0" damping="0.5"/><geom type="capsule" fromto="0 0 0 0.2 0 0" size="0.02"/>
      <body name="lower" pos="0.2 0 0"><joint name="elbow" axis="0 1 0" damping="0.5"/><geom type="capsule" fromto="0 0 0 0.2 0 0" size="0.02"/><site name="tip" pos="0.2 0 0"/></body>
    </body>
  </worldbody>
  <actuator>
    <position name="m_shoulder" joint="shoulder" kp="5" ctrlrange="-1 1"/>
    <position name="m_elbow" joint="elbow" kp="5" ctrlrange="-1 1"/>
  </actuator>
</mujoco>`;
const TASK = {
  name: 'two_reach', model: 'two.xml', episodeSteps: 50,
  observation: [{ name: 'q', quantity: 'joint_pos', joints: '*' }, { name: 'tip', quantity: 'position', site: 'tip' }],
  reward: [{ name: 'd', type: 'distance', from: { site: 'tip' }, to: [0.3, 0, 0.1], weight: -1 }],
};

test('robot phase with a task file: commands per actuator group reach the robot; stop frees the KinematicsPlant', async () => {
  writeFileSync(path.join(dir, 'two.xml'), MODEL);
  const taskFile = path.join(dir, 'two.json');
  writeFileSync(taskFile, JSON.stringify(TASK));
  const configFile = path.join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({
    sim: { task: taskFile },
    rl: { hiddenSizes: [16, 16], batchSize: 16, bufferSize: 2000 },
    safety: { commandMin: [-1, -1], commandMax: [1, 1] },
    ros: {
      enabled: true,
      controlRateHz: 100,
      observations: [{ topic: '/joint_states', type: 'sensor_msgs/msg/JointState', fields: { joint_pos: 'position[elbow,shoulder]', joint_vel: 'velocity[elbow,shoulder]' } }],
      command: {
        type: 'actuator_groups',
        jointNames: ['m_shoulder', 'm_elbow'],
        groups: [
          { name: 'elbow_controller', type: 'std_msgs/msg/Float64MultiArray', topic: '/elbow_controller/commands', joints: ['m_elbow'] },
          { name: 'shoulder_controller', type: 'trajectory_msgs/msg/JointTrajectory', topic: '/shoulder_controller/joint_trajectory', joints: ['m_shoulder'] },
        ],
      },
      reset: { mode: 'operator', readyTopic: '/ready' },
    },
  }));
  const config = loadConfig({ file: configFile, env: {} }).config;
  const trainer = await Trainer.create({
    task: taskFile, seed: 1, runDir: path.join(dir, 'run'),
    makeEnv: (seed) => createEnv(taskFile, { seed }),
    hyperparameters: { hidden: [16, 16], batchSize: 16, learningStarts: 50, bufferSize: 2000 },
    evalEvery: 0, checkpointEvery: 0, metricsEvery: 100_000, warn: () => undefined,
  });
  await trainer.run(100);
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const robotPlant = await MujocoPlant.create(path.join(dir, 'two.xml'), { frameSkip: 5 });
  const robot = SimulatedRobot.open(rcl, robotPlant, {
    nodeName: 'robot', readyTopic: '/ready',
    groups: { actuators: ['m_shoulder', 'm_elbow'], groups: config.ros.command.groups.map((g) => ({ ...g, joints: [...g.joints], timeFromStart: 0.01 })) },
    jointStates: { topic: '/joint_states', joints: ['shoulder', 'elbow'], position: 'qpos', velocity: 'qvel' },
    timing: { mode: 'periodic', periodMs: 10 },
  });
  const operator = new rcl.Node('operator');
  const ready = operator.createPublisher('std_msgs/msg/Bool', '/ready');
  const answering = setInterval(() => ready.publish({ data: true }), 50);
  const cleanUp = async (): Promise<void> => {
    clearInterval(answering);
    operator.destroy();
    await robot.close();
    await robotPlant.close();
    await trainer.close();
  };
  const phase = await startRobotPhase({ config, logger: createLogger({ level: 'silent', pretty: 'never' }), agent: trainer.agent, simReplay: trainer.replay, task: taskFile, loadRcl: async () => rcl }).catch(async (e: unknown) => {
    await cleanUp();
    throw e;
  });
  const kinematics = phase.plant;
  try {
    assert.ok(kinematics instanceof KinematicsPlant, 'a task file runs on the robot through its MJCF');
    // A whole command counts once every group has delivered its part.
    const largest = [0, 0];
    // (Commands also go out while a reset waits for fresh data: wait for the steps too.)
    await until('50 whole commands on the robot and 50 steps', () => {
      const u = robotPlant.read().get('ctrl')!;
      for (let k = 0; k < 2; k++) largest[k] = Math.max(largest[k]!, Math.abs(u[k]!));
      return robot.stats.commands >= 50 && phase.status().steps >= 50;
    });
    assert.equal(robot.error, null);
    // The session runs the task's terms on the robot's state (a KinematicsPlant's 'ctrl' and
    // 'time' are its own, so the watchdog finds them current).
    const status = phase.status();
    assert.ok(status.state === 'running' || status.state === 'resetting', `${status.state}: ${status.lastError}`);
    assert.equal(status.lastError, null);
    assert.ok(status.steps >= 50 && Number.isFinite(status.episodeReturn));
    assert.ok(largest[0]! > 0 && largest[1]! > 0, `both actuators were driven (largest |ctrl| ${largest})`);
    assert.equal(kinematics.isClosed, false);
  } finally {
    await phase.stop();
    await cleanUp();
  }
  assert.equal((kinematics as KinematicsPlant).isClosed, true, "stop() freed the KinematicsPlant's MuJoCo model and data");
});
