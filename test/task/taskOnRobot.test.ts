import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MujocoPlant } from '../../src/plant/mujoco/mujocoPlant.js';
import type { ObservationSource } from '../../src/plant/ros/rosPlantConfig.js';
import { RosPlant } from '../../src/plant/ros/rosPlant.js';
import { SimulatedRobot } from '../../src/plant/ros/simulatedRobot.js';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import { loadTaskFile } from '../../src/task/taskFile.js';
import { packageRoot } from '../../src/util/packageRoot.js';
import { Rng } from '../../src/util/rng.js';
import { taskOnRobot } from '../../src/wiring/taskOnRobot.js';

// The same task file scores the simulator and the robot: the arm7 reach task on a robot seen
// through ROS 2 (the in-memory graph, a SimulatedRobot running the MJCF) gives the observation
// and reward the task gives on the simulator's own state, the end-effector site's position
// computed from the JointState by the model's kinematics.

const dir = mkdtempSync(path.join(tmpdir(), 'sacbridge-robot-task-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ARM = path.join(packageRoot(), 'examples/arm7');
const JOINTS = ['joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'joint7'];

/** reach.json with a fixed goal (on a robot nothing draws the simulator's target) and its model path made absolute. */
function reachTask(extra: (spec: any) => void = () => {}): string {
  const spec = JSON.parse(readFileSync(path.join(ARM, 'reach.json'), 'utf8'));
  spec.model = path.join(ARM, 'scene.xml');
  spec.targets.goal = { value: [0.45, 0.1, 0.35], mocap: 'target' };
  extra(spec);
  const file = path.join(dir, `reach-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

async function rig(file: string, observations: ObservationSource[]) {
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const robotPlant = await MujocoPlant.create(path.join(ARM, 'scene.xml'), { frameSkip: 10 });
  const robot = SimulatedRobot.open(rcl, robotPlant, {
    nodeName: 'robot',
    commandTopic: '/cmd',
    jointStates: { topic: '/joint_states', joints: JOINTS, position: 'qpos', velocity: 'qvel' },
    timing: { mode: 'on-command' },
  });
  const ros = RosPlant.open(rcl, {
    nodeName: 'sacbridge',
    controlPeriod: 0.02,
    observations,
    command: { type: 'std_msgs/msg/Float64MultiArray', topic: '/cmd', low: Array.from(robotPlant.command.low), high: Array.from(robotPlant.command.high) },
    estop: { topic: '/estop' },
    reset: { mode: 'operator', topic: '/ready', timeout: 2 },
    advance: { mode: 'lockstep', timeout: 2 },
  });
  const close = async (): Promise<void> => {
    await ros.close();
    await robot.close();
    await robotPlant.close();
    rcl.shutdown();
  };
  return { robotPlant, ros, close, file };
}

// The JointState lists the joints in another order than the model: names, not indices, map them.
const shuffled = [...JOINTS].reverse();
const JOINT_STATE: ObservationSource[] = [{ type: 'sensor_msgs/msg/JointState', topic: '/joint_states', joints: shuffled, signals: { position: 'joint_pos', velocity: 'joint_vel' } }];

test('sim and robot give the same observation and reward terms for the same joint state', async () => {
  const file = reachTask();
  const { robotPlant, ros, close } = await rig(file, JOINT_STATE);
  const onRobot = await taskOnRobot(file, ros, JOINT_STATE);
  try {
    const simTask = (await loadTaskFile(file)).definition.create();
    const robotTask = onRobot.task;
    const rng = new Rng(8);
    const cmd = new Float64Array(7);
    const simObs = new Float32Array(simTask.observationSize);
    const robotObs = new Float32Array(robotTask.observationSize);
    let first = true;
    let farthest = 0;
    for (let t = 0; t < 30; t++) {
      for (let k = 0; k < 7; k++) cmd[k] = rng.range(robotPlant.command.low[k], robotPlant.command.high[k]);
      onRobot.plant.write(cmd);
      await onRobot.plant.advance();
      // The simulator's arrays at the robot's present state (mj_step leaves positions one substep behind).
      robotPlant.mujoco.mj_forward(robotPlant.model, robotPlant.data);
      const simSignals = robotPlant.read();
      const robotSignals = onRobot.plant.read();
      assert.deepEqual(Array.from(robotSignals.get('qpos')!), Array.from(simSignals.get('qpos')!), `tick ${t}: the joint state arrived`);
      if (first) {
        simTask.beginEpisode(simSignals);
        robotTask.beginEpisode(robotSignals);
        first = false;
      }
      simTask.observe(simSignals, simObs);
      robotTask.observe(robotSignals, robotObs);
      assert.deepEqual(Array.from(robotObs), Array.from(simObs), `tick ${t} observation`);
      const a = simTask.score(simSignals, cmd);
      const b = robotTask.score(robotSignals, cmd);
      assert.deepEqual({ ...b.terms }, { ...a.terms }, `tick ${t} reward terms`);
      assert.equal(b.reward, a.reward);
      farthest = Math.max(farthest, -a.terms.distance!);
    }
    assert.ok(farthest > 0.05, `the arm moved (distance up to ${farthest} m)`);
  } finally {
    await onRobot.plant.close();
    await close();
  }
});

test('a task the robot cannot score is refused at start, naming what is missing', async () => {
  const contact = reachTask((s) => s.reward.push({ name: 'touch', type: 'contact_force', bodies: ['link7'], weight: -1 }));
  const r1 = await rig(contact, JOINT_STATE);
  try {
    await assert.rejects(taskOnRobot(contact, r1.ros, JOINT_STATE), /reads 'cfrc_ext' \(contact forces .*\), which neither the robot's topics nor the model's kinematics give/);
    const touch = reachTask((s) => (s.termination = [{ name: 'hit', type: 'contact', bodies: ['link7'] }]));
    await assert.rejects(taskOnRobot(touch, r1.ros, JOINT_STATE), /reads 'contact_force:[0-9,|]+' \(contact forces between named parts: contact_force, contact termination, 1 values\), which neither the robot's topics nor the model's kinematics give/);
    await assert.rejects(taskOnRobot(reachTask(), r1.ros, []), /reads the joint state from a sensor_msgs\/msg\/JointState mapped to joint_pos and joint_vel/);
    const wrongName: ObservationSource[] = [{ ...JOINT_STATE[0]!, joints: ['joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'joint_7'] } as ObservationSource];
    await assert.rejects(taskOnRobot(reachTask(), r1.ros, wrongName), /the robot plant must give 'joint_pos' with one value per joint|robot joint 'joint_7' is not a joint of .*scene\.xml; nearest joints: 'joint7'/);
  } finally {
    await r1.close();
  }
  // A floating-base robot without its pose on a topic.
  const walk = path.join(packageRoot(), 'examples/quadruped/walk.json');
  const legs = ['fl_hip', 'fl_knee', 'fr_hip', 'fr_knee', 'hl_hip', 'hl_knee', 'hr_hip', 'hr_knee'];
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const obs: ObservationSource[] = [{ type: 'sensor_msgs/msg/JointState', topic: '/js', joints: legs, signals: { position: 'joint_pos', velocity: 'joint_vel' } }];
  const ros = RosPlant.open(rcl, { nodeName: 'sacbridge', controlPeriod: 0.02, observations: obs, command: { type: 'std_msgs/msg/Float64MultiArray', topic: '/c', low: legs.map(() => -1), high: legs.map(() => 1) }, estop: { topic: '/estop' }, reset: { mode: 'operator', topic: '/ready', timeout: 2 } });
  try {
    await assert.rejects(taskOnRobot(walk, ros, obs), /scene\.xml has a floating base \(free joint 'root'\): on the robot its pose must come in as 'base_position'/);
  } finally {
    await ros.close();
    rcl.shutdown();
  }
});
