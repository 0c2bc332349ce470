import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { KinematicsPlant } from '../../src/plant/mujoco/kinematicsPlant.js';
import { MujocoPlant } from '../../src/plant/mujoco/mujocoPlant.js';
import type { Plant } from '../../src/plant/plant.js';
import type { ObservationSource } from '../../src/plant/ros/rosPlantConfig.js';
import { plantView, robotView } from '../../src/ui/poseView.js';
import { bodyPoses } from '../../src/ui/scene.js';
import { gymnasiumModelDir } from '../sim/simFixtures.js';

/**
 * The robot as the 3D view sees it: a "robot" that is a MuJoCo cart-pole publishing its joint
 * state as a JointState would (joints named, in an order of its own). The view-only kinematics
 * of that joint state put every body where MuJoCo's own simulation has it.
 */
const model = join(gymnasiumModelDir(), 'inverted_pendulum.xml');
// As a JointState of [hinge, slider] mapped to the signals 'js_pos' / 'js_vel' would give them.
const jointState: ObservationSource = { type: 'sensor_msgs/msg/JointState', topic: '/joint_states', joints: ['hinge', 'slider'], signals: { position: 'js_pos', velocity: 'js_vel' } };

/** The cart-pole's signals under the JointState's names and order (qpos is [slider, hinge]). */
function asRobot(sim: MujocoPlant): Plant {
  const out = new Map<string, Float64Array>();
  return {
    kind: 'robot', command: sim.command, controlPeriod: sim.controlPeriod,
    signals: [{ name: 'js_pos', size: 2 }, { name: 'js_vel', size: 2 }],
    read() {
      const q = sim.read().get('qpos')!, v = sim.read().get('qvel')!;
      out.set('js_pos', Float64Array.of(q[1]!, q[0]!));
      out.set('js_vel', Float64Array.of(v[1]!, v[0]!));
      return out;
    },
    reset: () => sim.reset(), write: (c) => sim.write(c), advance: () => sim.advance(), close: async () => undefined,
  };
}

test('the robot view: its JointState through the model\'s kinematics puts every body where MuJoCo has it', async () => {
  const sim = await MujocoPlant.create(model, { frameSkip: 1 });
  const view = await robotView(asRobot(sim), [jointState], model);
  try {
    assert.equal(view.label, 'robot');
    await sim.reset();
    for (let t = 0; t < 40; t++) {
      sim.write(Float64Array.of(t < 20 ? 1 : -1));
      await sim.advance();
      view.refresh!();
      const seen = bodyPoses(view.model, view.data);
      // mj_step leaves xpos/xquat at the state before its integration: bring them to the new qpos.
      sim.mujoco.mj_kinematics(sim.model, sim.data);
      const truth = bodyPoses(sim.model, sim.data);
      for (let i = 0; i < truth.length; i++) assert.ok(Math.abs(seen[i]! - truth[i]!) < 1e-6, `step ${t}, pose value ${i}: ${seen[i]} vs ${truth[i]}`);
    }
    const q = sim.read().get('qpos')!;
    assert.ok(Math.abs(q[0]!) > 0.01 && Math.abs(q[1]!) > 0.01, `the cart and the pole moved: qpos ${q.join(', ')}`);
  } finally {
    await view.close?.();
    await sim.close();
  }
});

test('a robot seen through its kinematics already (a task file\'s) is drawn from them; a JointState is needed otherwise', async () => {
  const sim = await MujocoPlant.create(model, { frameSkip: 1 });
  const robot = asRobot(sim);
  const kin = await KinematicsPlant.create({ ...robot, signals: [{ name: 'joint_pos', size: 2 }, { name: 'joint_vel', size: 2 }], read: () => new Map([['joint_pos', robot.read().get('js_pos')!], ['joint_vel', robot.read().get('js_vel')!]]) }, model, { joints: ['hinge', 'slider'] });
  try {
    const view = await robotView(kin, [], model);
    assert.equal(view.data, kin.data, 'the session\'s own kinematics, no second one');
    assert.equal(view.refresh, undefined, 'the session reads it on its ticks');
    assert.equal(plantView(robot), null, 'a plant without a model has no view of its own');
    await assert.rejects(robotView(robot, [], model), /no sensor_msgs\/msg\/JointState with a position field in ros\.observations/);
  } finally {
    await kin.close();
    await sim.close();
  }
});
