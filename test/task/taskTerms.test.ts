import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseContactPairSignal } from '../../src/plant/mujoco/contactPairs.js';
import { MujocoPlant } from '../../src/plant/mujoco/mujocoPlant.js';
import type { Signals } from '../../src/plant/plant.js';
import { loadTaskFile } from '../../src/task/taskFile.js';
import { Rng } from '../../src/util/rng.js';

// Every quantity, reward and termination term of a task file against a hand computation from
// MuJoCo's state (qpos, qvel, xpos, xmat, ...). The task is driven directly: after each tick the
// test runs mj_forward so every MuJoCo array describes the same instant.

const dir = mkdtempSync(path.join(tmpdir(), 'sacbridge-terms-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MODEL = `<mujoco model="terms">
  <compiler angle="radian"/>
  <option timestep="0.002"/>
  <worldbody>
    <geom name="floor" type="plane" size="5 5 0.1"/>
    <body name="target" mocap="true" pos="0.3 0 0.5"><geom type="sphere" size="0.01" contype="0" conaffinity="0"/></body>
    <body name="base" pos="0 0 0.6">
      <freejoint name="root"/>
      <geom name="base" type="box" size="0.1 0.1 0.05"/>
      <site name="imu"/>
      <body name="arm" pos="0.1 0 0">
        <joint name="hinge" axis="0 1 0" range="-1 1" damping="0.1"/>
        <geom type="capsule" fromto="0 0 0 0.2 0 0" size="0.02"/>
        <site name="tip" pos="0.2 0 0"/>
        <body name="slider_body" pos="0.2 0 0">
          <joint name="slide" type="slide" axis="1 0 0" range="-0.05 0.05"/>
          <geom name="ball" type="sphere" size="0.03"/>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor name="m_hinge" joint="hinge" ctrlrange="-2 2"/>
    <position name="p_slide" joint="slide" kp="50" ctrlrange="-0.05 0.05"/>
  </actuator>
  <sensor>
    <gyro name="gyro" site="imu"/>
    <framepos name="tip_pos" objtype="site" objname="tip"/>
  </sensor>
  <keyframe><key name="home" qpos="0.1 -0.2 0.3 0.9950042 0 0.0998334 0 0.2 0.01" mpos="0.25 0.05 0.4"/></keyframe>
</mujoco>`;

const TASK = {
  name: 'terms',
  model: 'terms.xml',
  frameSkip: 5,
  episodeSteps: 400,
  targets: { goal: { low: [0.2, -0.1, 0.3], high: [0.4, 0.1, 0.5], mocap: 'target' }, speed: { value: [0.3, -0.1] } },
  observation: [
    { name: 'q', quantity: 'joint_pos', joints: ['root', 'hinge', 'slide'] },
    { name: 'v', quantity: 'joint_vel', joints: '*', scale: 0.5, offset: 0.1 },
    { name: 'tip', quantity: 'position', site: 'tip', clip: [-0.2, 0.45] },
    { name: 'base_pos', quantity: 'position', body: 'base' },
    { name: 'to_goal', quantity: 'vector', from: { site: 'tip' }, to: { target: 'goal' } },
    { name: 'to_point', quantity: 'vector', from: { body: 'arm' }, to: [1, 2, 3] },
    { name: 'up', quantity: 'up', body: 'base' },
    { name: 'tilt', quantity: 'tilt', body: 'base' },
    { name: 'yaw', quantity: 'yaw', site: 'imu' },
    { name: 'lin_w', quantity: 'linear_velocity', body: 'base' },
    { name: 'lin_b', quantity: 'linear_velocity', body: 'base', frame: 'body' },
    { name: 'ang_w', quantity: 'angular_velocity', body: 'base' },
    { name: 'ang_b', quantity: 'angular_velocity', body: 'base', frame: 'body' },
    { name: 'gyro', quantity: 'sensor', sensor: 'gyro' },
    { name: 'wrench', quantity: 'contact_wrench', bodies: ['base', 'slider_body'] },
    { name: 'action', quantity: 'action' },
    { name: 'force', quantity: 'actuator_force', actuators: ['p_slide'] },
    { name: 'goal', quantity: 'target', target: 'goal' },
    { name: 'root_z', quantity: 'joint_pos', joints: ['root'], slice: [2, 3] },
  ],
  reward: [
    { name: 'd_lin', type: 'distance', from: { site: 'tip' }, to: { target: 'goal' }, weight: -1 },
    { name: 'd_sq', type: 'distance', from: { site: 'tip' }, to: { target: 'goal' }, kernel: 'squared', weight: -2 },
    { name: 'd_tanh', type: 'distance', from: { body: 'arm' }, to: [0, 0, 0], kernel: 'tanh', std: 0.3, weight: 1.5 },
    { name: 'd_exp', type: 'distance', from: { site: 'tip' }, to: { target: 'goal' }, kernel: 'exp', std: 0.2, weight: 0.5 },
    { name: 'progress', type: 'progress', body: 'base', axis: 'x', weight: 1 },
    { name: 'track', type: 'velocity_tracking', body: 'base', axes: ['x', 'y'], command: 'speed', std: 0.4, weight: 1 },
    { name: 'track_yaw', type: 'velocity_tracking', body: 'base', frame: 'body', angular: true, axes: ['z'], command: [0.5], std: 1, weight: 0.3 },
    { name: 'upright', type: 'upright', body: 'base', weight: 0.2 },
    { name: 'alive', type: 'alive', weight: 0.7 },
    { name: 'act', type: 'action_magnitude', weight: -0.1 },
    { name: 'cmd', type: 'action_magnitude', units: 'command', weight: -0.01 },
    { name: 'rate', type: 'action_rate', weight: -0.05 },
    { name: 'limits', type: 'joint_limits', joints: ['hinge', 'slide'], soft: 0.5, weight: -3 },
    { name: 'jvel', type: 'joint_velocity', joints: ['hinge', 'slide'], weight: -0.001 },
    { name: 'aforce', type: 'actuator_force', weight: -0.002 },
    { name: 'contact', type: 'contact_force', bodies: ['base'], clip: [-5, 5], weight: -1e-3 },
    { name: 'fell', type: 'termination', weight: -10 },
  ],
  termination: [
    { name: 'nan', type: 'non_finite' },
    { name: 'low', type: 'bounds', quantity: 'position', body: 'base', slice: [2, 3], min: 0.0, max: 0.9 },
    { name: 'ball_contact', type: 'contact', bodies: ['slider_body'], threshold: 50 },
  ],
  reset: { keyframe: 'home', noise: [{ joints: ['hinge', 'slide'], position: { uniform: 0.01 }, velocity: { normal: 0.1 } }] },
};

function normalForce(plant: MujocoPlant, a: string, b: string): number {
  const ga = plant.elementId('geom', a);
  const gb = plant.elementId('geom', b);
  const buffer = new plant.mujoco.DoubleBuffer(6);
  const contacts = plant.data.contact;
  let sum = 0;
  for (let i = 0; i < plant.data.ncon; i++) {
    const c = contacts.get(i)!;
    if ((c.geom1 === ga && c.geom2 === gb) || (c.geom1 === gb && c.geom2 === ga)) {
      plant.mujoco.mj_contactForce(plant.model, plant.data, i, buffer);
      sum += (buffer.GetView() as Float64Array)[0];
    }
    c.delete();
  }
  contacts.delete();
  buffer.delete();
  return sum;
}

const hyp = (a: number, b: number, c: number): number => Math.hypot(a, b, c);
const near = (actual: number, expected: number, what: string, tol = 1e-9): void => assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
const copy = (s: Signals): Record<string, Float64Array> => Object.fromEntries([...s].map(([k, v]) => [k, Float64Array.from(v)]));

test('every term of a task file matches a hand computation from MuJoCo state', async () => {
  writeFileSync(path.join(dir, 'terms.xml'), MODEL);
  writeFileSync(path.join(dir, 'terms.json'), JSON.stringify(TASK));
  const loaded = await loadTaskFile(path.join(dir, 'terms.json'));
  const task = loaded.definition.create();
  const contactPairs = task.requiredSignals.filter((x) => parseContactPairSignal(x.name) !== null).map((x) => x.name);
  const plant = await MujocoPlant.create(loaded.modelPath, { frameSkip: 5, contactForces: true, contactPairs });
  try {
    const m = plant.info;
    const body = (n: string): number => m.bodies.findIndex((b) => b.name === n);
    const site = (n: string): number => m.sites.indexOf(n);
    const rng = new Rng(4);
    task.initializeEpisode!(plant.sim, rng);
    let s = copy(plant.read());
    // Reset: keyframe qpos for the free joint, noise only on the named joints, the target moved the mocap body.
    const key = m.keyframes[0];
    for (let i = 0; i < 7; i++) near(s.qpos[i], key.qpos[i], `reset qpos[${i}]`, 0);
    assert.ok(Math.abs(s.qpos[7] - 0.2) <= 0.01 && s.qpos[7] !== 0.2, `hinge noise ${s.qpos[7]}`);
    assert.ok(s.qvel[6] !== 0 && s.qvel[0] === 0, 'velocity noise on the hinge only');
    const tb = 3 * body('target');
    const goal: number[] = [];
    const obs = new Float32Array(task.observationSize);
    task.beginEpisode(plant.read());
    task.observe(plant.read(), obs);
    const layout = loaded.compiled!.layout;
    const slice = (name: string): Float32Array => {
      const l = layout.find((x) => x.term === name)!;
      return obs.subarray(l.from, l.to);
    };
    // The mocap body sits exactly at the target (mocap_pos is copied to xpos).
    goal.push(...s.xpos.subarray(tb, tb + 3));
    assert.deepEqual(Array.from(slice('goal')), goal.map(Math.fround));
    for (let k = 0; k < 3; k++) {
            assert.ok(goal[k] >= TASK.targets.goal.low[k] && goal[k] <= TASK.targets.goal.high[k]);
    }
    assert.equal(task.observationSize, 9 + 8 + 3 + 3 + 3 + 3 + 3 + 1 + 1 + 3 * 4 + 3 + 12 + 2 + 1 + 3 + 1);

    const prevAction = new Float64Array(2);
    let prevX = s.xpos[3 * body('base')];
    let prevT = s.time[0];
    let contactSeen = false;
    for (let t = 0; t < 120; t++) {
      const command = Float64Array.of(rng.range(-2, 2), rng.range(-0.05, 0.05));
      plant.write(command);
      await plant.advance();
      // setState is mj_forward (and the contact-pair forces) on the state reached.
      plant.sim.setState(Float64Array.from(plant.read().get('qpos')!), Float64Array.from(plant.read().get('qvel')!));
      plant.mujoco.mj_rnePostConstraint(plant.model, plant.data);
      const live = plant.read();
      s = copy(live);
      task.observe(live, obs);
      const score = task.score(live, command);

      const f32 = (v: number): number => Math.fround(v);
      const q = s.qpos;
      const v = s.qvel;
      const b = body('base');
      const R = s.xmat.subarray(9 * b, 9 * b + 9);
      const tip = s.site_xpos.subarray(3 * site('tip'), 3 * site('tip') + 3);
      const arm = s.xpos.subarray(3 * body('arm'), 3 * body('arm') + 3);
      // Observation.
      assert.deepEqual(Array.from(slice('q')), Array.from(q, f32));
      assert.deepEqual(Array.from(slice('v')), Array.from(v, (x) => f32((x - 0.1) * 0.5)));
      assert.deepEqual(Array.from(slice('tip')), Array.from(tip, (x) => f32(Math.min(0.45, Math.max(-0.2, x)))));
      assert.deepEqual(Array.from(slice('base_pos')), Array.from(s.xpos.subarray(3 * b, 3 * b + 3), f32));
      assert.deepEqual(Array.from(slice('to_goal')), [0, 1, 2].map((k) => f32(goal[k] - tip[k])));
      assert.deepEqual(Array.from(slice('to_point')), [1, 2, 3].map((x, k) => f32(x - arm[k])));
      assert.deepEqual(Array.from(slice('up')), [R[2], R[5], R[8]].map(f32));
      near(slice('tilt')[0], f32(Math.acos(R[8])), 'tilt', 1e-6);
      const Rs = s.site_xmat.subarray(9 * site('imu'), 9 * site('imu') + 9);
      near(slice('yaw')[0], f32(Math.atan2(Rs[3], Rs[0])), 'yaw', 1e-6);
      // A free joint's qvel: linear velocity of the body origin in world axes, angular in body axes.
      const wWorld = [0, 1, 2].map((r) => R[3 * r] * v[3] + R[3 * r + 1] * v[4] + R[3 * r + 2] * v[5]);
      const vBody = [0, 1, 2].map((c) => R[c] * v[0] + R[3 + c] * v[1] + R[6 + c] * v[2]);
      for (let k = 0; k < 3; k++) {
        near(slice('lin_w')[k], v[k], `lin_w[${k}]`, 1e-5);
        near(slice('lin_b')[k], vBody[k], `lin_b[${k}]`, 1e-5);
        near(slice('ang_w')[k], wWorld[k], `ang_w[${k}]`, 1e-5);
        near(slice('ang_b')[k], v[3 + k], `ang_b[${k}]`, 1e-5);
      }
      assert.deepEqual(Array.from(slice('gyro')), Array.from(s['sensor:gyro'], f32));
      assert.deepEqual(Array.from(slice('wrench')), [...s.cfrc_ext.subarray(6 * b, 6 * b + 6), ...s.cfrc_ext.subarray(6 * body('slider_body'), 6 * body('slider_body') + 6)].map(f32));
      const action = [(2 * (s.ctrl[0] + 2)) / 4 - 1, (2 * (s.ctrl[1] + 0.05)) / 0.1 - 1];
      assert.deepEqual(Array.from(slice('action')), action.map(f32));
      assert.deepEqual(Array.from(slice('force')), [f32(s.actuator_force[1])]);
      assert.deepEqual(Array.from(slice('root_z')), [f32(q[2])]);

      // Termination.
      const z = s.xpos[3 * b + 2];
      // The ball's normal contact force with the floor, summed over MuJoCo's contacts.
      const ballForce = normalForce(plant, 'ball', 'floor');
      if (ballForce > 0) contactSeen = true;
      const terminated = !(z >= 0 && z <= 0.9) || ballForce > 50;
      assert.equal(score.terminated, terminated, `tick ${t} terminated`);

      // Reward terms.
      const a = Float64Array.from(action);
      const dGoal = hyp(goal[0] - tip[0], goal[1] - tip[1], goal[2] - tip[2]);
      const dArm = hyp(arm[0], arm[1], arm[2]);
      const x = s.xpos[3 * b];
      const tnow = s.time[0];
      const hinge = q[7];
      const slide = q[8];
      const over = (val: number, lo: number, hi: number): number => Math.max(0, lo - val) + Math.max(0, val - hi);
      const clip5 = (val: number): number => Math.max(-5, Math.min(5, val));
      const expected: Record<string, number> = {
        d_lin: -dGoal,
        d_sq: -2 * dGoal * dGoal,
        d_tanh: 1.5 * (1 - Math.tanh(dArm / 0.3)),
        d_exp: 0.5 * Math.exp(-((dGoal / 0.2) ** 2)),
        progress: (x - prevX) / (tnow - prevT),
        track: Math.exp(-((v[0] - 0.3) ** 2 + (v[1] + 0.1) ** 2) / 0.16),
        track_yaw: 0.3 * Math.exp(-((v[5] - 0.5) ** 2)),
        upright: 0.2 * R[8],
        alive: terminated ? 0 : 0.7,
        act: -0.1 * (a[0] ** 2 + a[1] ** 2),
        cmd: -0.01 * (command[0] ** 2 + command[1] ** 2),
        rate: -0.05 * ((a[0] - prevAction[0]) ** 2 + (a[1] - prevAction[1]) ** 2),
        limits: -3 * (over(hinge, -0.5, 0.5) + over(slide, -0.025, 0.025)),
        jvel: -0.001 * (v[6] ** 2 + v[7] ** 2),
        aforce: -0.002 * (s.actuator_force[0] ** 2 + s.actuator_force[1] ** 2),
        contact: -1e-3 * Array.from(s.cfrc_ext.subarray(6 * b, 6 * b + 6)).reduce((acc, w) => acc + clip5(w) ** 2, 0),
        fell: terminated ? -10 : 0,
      };
      assert.deepEqual(Object.keys(score.terms), Object.keys(expected));
      for (const [k, e] of Object.entries(expected)) near(score.terms[k], e, `tick ${t} ${k}`, k.startsWith('track') ? 1e-6 : 1e-9);
      near(score.reward, Object.values(score.terms).reduce((acc, w) => acc + w, 0), 'reward is the sum of the terms');
      prevAction.set(a);
      prevX = x;
      prevT = tnow;
      if (terminated) break;
    }
    assert.ok(contactSeen, 'the arm touched the floor at some tick');
  } finally {
    await plant.close();
  }
});

test('non-finite state terminates; a termination reward needs a termination term', async () => {
  writeFileSync(path.join(dir, 'terms.xml'), MODEL);
  const spec = { ...TASK, termination: [{ name: 'nan', type: 'non_finite' }] };
  writeFileSync(path.join(dir, 'nan.json'), JSON.stringify(spec));
  const loaded = await loadTaskFile(path.join(dir, 'nan.json'));
  const task = loaded.definition.create();
  const plant = await MujocoPlant.create(loaded.modelPath, { frameSkip: 5, contactForces: true });
  try {
    task.beginEpisode(plant.read());
    const qpos = Float64Array.from(plant.read().get('qpos')!);
    const qvel = new Float64Array(plant.sim.nv);
    assert.equal(task.score(plant.read(), new Float64Array(2)).terminated, false);
    qvel[6] = Number.NaN;
    plant.sim.setState(qpos, qvel);
    const score = task.score(plant.read(), new Float64Array(2));
    assert.equal(score.terminated, true);
    assert.equal(score.terms.fell, -10);
    assert.equal(score.terms.alive, 0);
  } finally {
    await plant.close();
  }
  writeFileSync(path.join(dir, 'noterm.json'), JSON.stringify({ ...TASK, termination: undefined }));
  await assert.rejects(loadTaskFile(path.join(dir, 'noterm.json')), /reward\[16\] 'fell': the task has no termination terms/);
});
