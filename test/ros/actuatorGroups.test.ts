import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MujocoPlant } from '../../src/plant/mujoco/mujocoPlant.js';
import type { Float64MultiArray, JointTrajectory } from '../../src/plant/ros/messages.js';
import { RosPlant } from '../../src/plant/ros/rosPlant.js';
import type { ActuatorGroup, RosPlantConfig, TrajectoryGroup } from '../../src/plant/ros/rosPlantConfig.js';
import { SimulatedRobot } from '../../src/plant/ros/simulatedRobot.js';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import { validateRosPlantConfig } from '../../src/plant/ros/rosPlantConfig.js';
import { loadConfig } from '../../src/config/load.js';
import { rosPlantConfigFrom } from '../../src/daemon/robotPhase.js';
import { simRobotSetup } from '../../src/cli/simRobot.js';
import { Rng } from '../../src/util/rng.js';
import { taskOnRobot } from '../../src/wiring/taskOnRobot.js';

// Commands per actuator group in ros2_control's conventions, on the in-memory ROS graph: a
// forward command controller gets a Float64MultiArray in its own joint order, a
// joint_trajectory_controller a JointTrajectory by joint name; SimulatedRobot takes the same
// groups and applies the whole command in the model's actuator order.

const dir = mkdtempSync(path.join(tmpdir(), 'sacbridge-groups-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Actuator names differ from joint names, so a group may use either.
const MODEL = `<mujoco model="four">
  <worldbody>
    <body name="b1"><joint name="front_hip" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0.1 0 0" size="0.02"/>
      <body name="b2" pos="0.1 0 0"><joint name="front_knee" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0.1 0 0" size="0.02"/>
        <body name="b3" pos="0.1 0 0"><joint name="rear_hip" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0.1 0 0" size="0.02"/>
          <body name="b4" pos="0.1 0 0"><joint name="rear_knee" axis="0 1 0"/><geom type="capsule" fromto="0 0 0 0.1 0 0" size="0.02"/></body>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <position name="m_front_hip" joint="front_hip" kp="10" ctrlrange="-1 1"/>
    <position name="m_front_knee" joint="front_knee" kp="10" ctrlrange="-2 0"/>
    <position name="m_rear_hip" joint="rear_hip" kp="10" ctrlrange="-1 1"/>
    <position name="m_rear_knee" joint="rear_knee" kp="10" ctrlrange="-2 0"/>
  </actuator>
</mujoco>`;

const ACTUATORS = ['m_front_hip', 'm_front_knee', 'm_rear_hip', 'm_rear_knee'];
const JOINTS = ['front_hip', 'front_knee', 'rear_hip', 'rear_knee'];
const GROUPS: ActuatorGroup[] = [
  // The controller's joint order is not the model's: knee first, and by joint and actuator name.
  { name: 'front_controller', type: 'std_msgs/msg/Float64MultiArray', topic: '/front_controller/commands', joints: ['front_knee', 'm_front_hip'] },
  { name: 'rear_controller', type: 'trajectory_msgs/msg/JointTrajectory', topic: '/rear_controller/joint_trajectory', joints: ['rear_knee', 'rear_hip'], timeFromStart: 0.05 },
];

function plantConfig(groups: ActuatorGroup[], actuators = ACTUATORS): RosPlantConfig {
  return {
    nodeName: 'sacbridge',
    controlPeriod: 0.02,
    observations: [{ type: 'sensor_msgs/msg/JointState', topic: '/joint_states', joints: JOINTS, signals: { position: 'joint_pos', velocity: 'joint_vel' } }],
    command: { type: 'actuator_groups', actuators, actuatorJoints: actuators.map((a) => a.slice(2)), groups, low: [-1, -2, -1, -2], high: [1, 0, 1, 0] },
    estop: { topic: '/estop' },
    reset: { mode: 'operator', topic: '/ready', timeout: 2 },
    advance: { mode: 'lockstep', timeout: 2 },
  };
}

test('actuator groups: one message per ros2_control controller in its joint order; the simulated robot applies them by name', async () => {
  writeFileSync(path.join(dir, 'four.xml'), MODEL);
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const robotPlant = await MujocoPlant.create(path.join(dir, 'four.xml'), { frameSkip: 2 });
  assert.deepEqual(robotPlant.command.names, ACTUATORS);
  const robot = SimulatedRobot.open(rcl, robotPlant, {
    nodeName: 'robot',
    groups: { actuators: ACTUATORS, actuatorJoints: JOINTS, groups: GROUPS },
    jointStates: { topic: '/joint_states', joints: JOINTS, position: 'qpos', velocity: 'qvel' },
    readyTopic: '/ready',
    timing: { mode: 'on-command' },
  });
  const plant = RosPlant.open(rcl, plantConfig(GROUPS));
  const listener = new rcl.Node('listener');
  const forward: Float64MultiArray[] = [];
  const trajectories: JointTrajectory[] = [];
  listener.createSubscription('std_msgs/msg/Float64MultiArray', '/front_controller/commands', { qos: rcl.QoS.profileDefault }, (m: Float64MultiArray) => forward.push(structuredClone(m)));
  listener.createSubscription('trajectory_msgs/msg/JointTrajectory', '/rear_controller/joint_trajectory', { qos: rcl.QoS.profileDefault }, (m: JointTrajectory) => trajectories.push(structuredClone(m)));
  listener.spin();
  try {
    assert.deepEqual(plant.command.names, ACTUATORS);
    const ready = plant.reset();
    await robot.reset();
    await ready;
    for (let k = 0; k < 5; k++) {
      // Model order: front_hip, front_knee, rear_hip, rear_knee.
      const command = Float64Array.of(0.1 * k, -0.2 - 0.1 * k, -0.3 + 0.05 * k, -1 + 0.1 * k);
      plant.write(command);
      await plant.advance();
      await robot.idle();
      const f = forward.at(-1)!;
      assert.deepEqual(Array.from(f.data), [command[1], command[0]], 'forward command controller: data in its joints order');
      assert.equal(f.layout.dim[0]!.label, 'front_controller');
      const t = trajectories.at(-1)!;
      assert.deepEqual(t.joint_names, ['rear_knee', 'rear_hip']);
      assert.equal(t.points.length, 1);
      assert.deepEqual(Array.from(t.points[0]!.positions), [command[3], command[2]]);
      assert.equal(t.points[0]!.velocities.length, 0);
      assert.deepEqual(t.points[0]!.time_from_start, { sec: 0, nanosec: 50_000_000 });
      assert.deepEqual(t.header.stamp, { sec: 0, nanosec: 0 });
      // The robot stepped once per whole command, with every component where the model has it.
      assert.deepEqual(Array.from(robotPlant.read().get('ctrl')!), Array.from(command));
      assert.equal(robot.stats.steps, k + 1);
    }
    assert.equal(forward.length, 5);
    assert.equal(trajectories.length, 5);
    assert.equal(plant.counters.commandsPublished, 5);
    assert.equal(robot.error, null);
  } finally {
    listener.destroy();
    await plant.close();
    await robot.close();
    await robotPlant.close();
    rcl.shutdown();
  }
});

test('actuator groups are checked at start: unknown names with the nearest ones, an actuator in two groups or in none', async () => {
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const open = (groups: ActuatorGroup[]): void => {
    const p = RosPlant.open(rcl, plantConfig(groups));
    void p.close();
  };
  const [front, rear] = GROUPS as [ActuatorGroup, TrajectoryGroup];
  const cases: [ActuatorGroup[], RegExp][] = [
    [[front, { ...rear, joints: ['rear_kne', 'rear_hip'] }], /command\.groups\[1\] 'rear_controller'\.joints\[0\]: 'rear_kne' is neither an actuator nor an actuated joint; nearest: 'rear_knee', 'm_rear_knee'/],
    [[front, { ...rear, joints: ['rear_knee', 'front_knee', 'rear_hip'] }], /command\.groups\[1\] 'rear_controller'\.joints\[1\]: actuator 'm_front_knee' is already commanded by group 'front_controller'/],
    [[front, { ...rear, joints: ['rear_knee'] }], /command\.groups: actuator 'm_rear_hip' is in no group: every actuator needs a controller/],
    [[front, { ...rear, topic: front.topic }], /command\.groups\[1\] 'rear_controller'\.topic: topic \/front_controller\/commands is used by another group/],
    [[front, { ...rear, timeFromStart: -1 }], /command\.groups\[1\] 'rear_controller'\.timeFromStart: must be >= 0 seconds, got -1/],
    [[front, { ...rear, type: 'geometry_msgs/msg/Twist' } as unknown as ActuatorGroup], /command\.groups\[1\] 'rear_controller'\.type: 'geometry_msgs\/msg\/Twist' is not one of std_msgs\/msg\/Float64MultiArray, trajectory_msgs\/msg\/JointTrajectory/],
    [[], /command\.groups: list at least one group/],
    [[front, { ...rear, topic: 'not a topic' }], /command\.groups\[1\]\.topic: 'not a topic' is not a valid ROS topic name/],
  ];
  try {
    for (const [groups, pattern] of cases) assert.throws(() => open(groups), (e: Error) => pattern.test(e.message), pattern.source);
    // The simulated robot refuses the same mistakes.
    const robotPlant = await MujocoPlant.create(path.join(dir, 'four.xml'), { frameSkip: 1 });
    try {
      assert.throws(
        () => SimulatedRobot.open(rcl, robotPlant, { nodeName: 'robot', groups: { actuators: ACTUATORS, actuatorJoints: JOINTS, groups: [front, { ...rear, joints: ['rear_kne', 'rear_hip'] }] }, timing: { mode: 'on-command' } }),
        /simulated robot: groups\.groups\[1\] 'rear_controller'\.joints\[0\]: 'rear_kne' is neither an actuator nor an actuated joint; nearest: 'rear_knee'/,
      );
    } finally {
      await robotPlant.close();
    }
  } finally {
    rcl.shutdown();
  }
});

test('ros.command.type actuator_groups in the daemon config: the robot phase and sim-robot use the same groups', async () => {
  writeFileSync(path.join(dir, 'four.xml'), MODEL);
  const file = path.join(dir, 'groups.json');
  writeFileSync(file, JSON.stringify({
    sim: { task: 'pendulum', modelPath: path.join(dir, 'four.xml') },
    safety: { commandMin: [-1, -2, -1, -2], commandMax: [1, 0, 1, 0] },
    ros: {
      enabled: true,
      observations: [{ topic: '/joint_states', type: 'sensor_msgs/msg/JointState', fields: { qpos: 'position[front_hip,front_knee,rear_hip,rear_knee]' } }],
      command: {
        type: 'actuator_groups',
        jointNames: ACTUATORS,
        groups: [
          { name: 'front_controller', type: 'std_msgs/msg/Float64MultiArray', topic: '/front_controller/commands', joints: ['m_front_knee', 'm_front_hip'] },
          { name: 'rear_controller', type: 'trajectory_msgs/msg/JointTrajectory', topic: '/rear_controller/joint_trajectory', joints: ['m_rear_knee', 'm_rear_hip'] },
        ],
      },
      controlRateHz: 50,
    },
  }));
  const config = loadConfig({ file, env: {} }).config;
  const c = rosPlantConfigFrom(config);
  assert.equal(c.command.type, 'actuator_groups');
  assert.deepEqual(c.command.type === 'actuator_groups' && c.command.groups, [
    { name: 'front_controller', type: 'std_msgs/msg/Float64MultiArray', topic: '/front_controller/commands', joints: ['m_front_knee', 'm_front_hip'] },
    { name: 'rear_controller', type: 'trajectory_msgs/msg/JointTrajectory', topic: '/rear_controller/joint_trajectory', joints: ['m_rear_knee', 'm_rear_hip'], field: 'positions', timeFromStart: 0.02 },
  ]);
  validateRosPlantConfig(c);
  const setup = simRobotSetup({ config: file }, config);
  const plant = await MujocoPlant.create(path.join(dir, 'four.xml'), { frameSkip: 1 });
  try {
    const robot = setup.robotConfig(plant, new Rng(1), () => {});
    assert.deepEqual(robot.groups, { actuators: ACTUATORS, groups: c.command.type === 'actuator_groups' ? c.command.groups : [] });
    assert.equal(robot.commandTopic, undefined, 'no single command topic: the groups carry the commands');
    assert.equal(setup.topics.command, '/front_controller/commands,/rear_controller/joint_trajectory');
  } finally {
    await plant.close();
  }
  // A group naming an unknown actuator fails when the plant opens, naming the nearest.
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  try {
    const wrong = { ...c, command: { ...c.command, groups: [{ ...GROUPS[0]!, joints: ['m_front_knee', 'm_front_hip'] }, { ...GROUPS[1]!, joints: ['m_rear_knee', 'm_rear_hipp'] }] } } as RosPlantConfig;
    assert.throws(() => RosPlant.open(rcl, wrong), /ros config: command\.groups\[1\] 'rear_controller'\.joints\[1\]: 'm_rear_hipp' is neither an actuator nor an actuated joint; nearest: 'm_rear_hip'/);
  } finally {
    rcl.shutdown();
  }
});

test('a task file on the robot: the command must be the model actuators in their order', async () => {
  writeFileSync(path.join(dir, 'four.xml'), MODEL);
  const taskFile = path.join(dir, 'hold.json');
  writeFileSync(taskFile, JSON.stringify({ name: 'hold', model: 'four.xml', episodeSteps: 10, observation: [{ name: 'q', quantity: 'joint_pos', joints: '*' }], reward: [{ name: 'alive', type: 'alive', weight: 1 }] }));
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  try {
    const good = RosPlant.open(rcl, plantConfig(GROUPS));
    const onRobot = await taskOnRobot(taskFile, good, plantConfig(GROUPS).observations);
    assert.equal(onRobot.plant.command.size, 4);
    await onRobot.plant.close();
    // The same groups, but the command vector listed in another order than the model's actuators.
    const swapped = ['m_front_knee', 'm_front_hip', 'm_rear_hip', 'm_rear_knee'];
    const bad = RosPlant.open(rcl, plantConfig(GROUPS, swapped));
    try {
      await assert.rejects(taskOnRobot(taskFile, bad, plantConfig(GROUPS).observations), /the robot's command component 0 is 'm_front_knee', but the model's actuator 0 is 'm_front_hip' \(joint 'front_hip'\); 'm_front_knee' is actuator 1: list ros\.command\.jointNames in the model's actuator order/);
    } finally {
      await bad.close();
    }
  } finally {
    rcl.shutdown();
  }
});
