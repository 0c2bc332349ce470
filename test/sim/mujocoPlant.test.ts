import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DataViewCache, isDead } from '../../src/plant/mujoco/dataViews.js';
import { MujocoPlant } from '../../src/plant/mujoco/mujocoPlant.js';
import { EXPECTED_MUJOCO_VERSION, loadMujoco } from '../../src/plant/mujoco/mujocoModule.js';
import { packageRoot } from '../../src/util/packageRoot.js';
import { gymnasiumModelDir } from './simFixtures.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sacbridge-plant-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function modelFile(name: string, xml: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, xml);
  return file;
}

const SENSOR_MODEL = `<mujoco>
  <option timestep="0.01"/>
  <worldbody>
    <body name="arm">
      <joint name="hinge" type="hinge" axis="0 1 0"/>
      <geom type="capsule" fromto="0 0 0 0 0 0.5" size="0.02" mass="1"/>
      <site name="end" pos="0 0 0.5"/>
    </body>
  </worldbody>
  <actuator><motor joint="hinge" name="m" ctrllimited="true" ctrlrange="-0.5 2"/></actuator>
  <sensor><jointpos name="angle" joint="hinge"/><framepos name="end_pos" objtype="site" objname="end"/></sensor>
</mujoco>`;

test('module is MuJoCo 3.5.1 and loads once', async () => {
  const a = await loadMujoco();
  const b = await loadMujoco();
  assert.equal(a, b);
  assert.equal(a.mj_versionString(), EXPECTED_MUJOCO_VERSION);
});

test('signals, command range, control period, sensors', async () => {
  const plant = await MujocoPlant.create(modelFile('sensors.xml', SENSOR_MODEL), { frameSkip: 3 });
  try {
    const sizes = Object.fromEntries(plant.signals.map((s) => [s.name, s.size]));
    assert.deepEqual(sizes, { qpos: 1, qvel: 1, ctrl: 1, xpos: 6, site_xpos: 3, qfrc_constraint: 1, xmat: 18, site_xmat: 9, cvel: 12, subtree_com: 6, actuator_force: 1, time: 1, 'sensor:angle': 1, 'sensor:end_pos': 3 });
    assert.deepEqual(Array.from(plant.command.low), [-0.5]);
    assert.deepEqual(Array.from(plant.command.high), [2]);
    assert.deepEqual(plant.command.names, ['m']);
    assert.ok(Math.abs(plant.controlPeriod - 0.03) < 1e-12);
    plant.sim.setState(Float64Array.of(0.3), Float64Array.of(0));
    let s = plant.read();
    assert.equal(s.get('sensor:angle')![0], 0.3);
    const end = s.get('sensor:end_pos')!;
    assert.ok(Math.abs(end[0] - 0.5 * Math.sin(0.3)) < 1e-12 && Math.abs(end[2] - 0.5 * Math.cos(0.3)) < 1e-12);
    assert.deepEqual(Array.from(end), Array.from(s.get('site_xpos')!));
    plant.write(Float64Array.of(1));
    await plant.advance();
    s = plant.read();
    assert.ok(Math.abs(s.get('time')![0] - 0.03) < 1e-12, 'frameSkip physics steps per advance');
    assert.equal(s.get('ctrl')![0], 1);
    assert.notEqual(s.get('qpos')![0], 0.3);
    await plant.reset();
    s = plant.read();
    assert.equal(s.get('time')![0], 0);
    assert.equal(s.get('qpos')![0], 0);
    assert.equal(s.get('ctrl')![0], 0);
  } finally {
    await plant.close();
  }
});

test('named elements resolve to indices', async () => {
  const plant = await MujocoPlant.create(path.join(gymnasiumModelDir(), 'ant.xml'), { frameSkip: 5 });
  try {
    assert.equal(plant.elementId('body', 'torso'), 1);
    assert.equal(plant.elementId('body', 'world'), 0);
    assert.equal(plant.elementId('joint', 'root'), 0);
    assert.throws(() => plant.elementId('site', 'nope'), /ant\.xml has no site named 'nope'/);
  } finally {
    await plant.close();
  }
});

test('read() reuses its arrays (no allocation per tick)', async () => {
  const plant = await MujocoPlant.create(modelFile('reuse.xml', SENSOR_MODEL), { frameSkip: 1 });
  try {
    const first = plant.read();
    const qpos = first.get('qpos');
    plant.write(Float64Array.of(1));
    await plant.advance();
    const second = plant.read();
    assert.equal(second, first);
    assert.equal(second.get('qpos'), qpos);
  } finally {
    await plant.close();
  }
});

test('writes still land after WebAssembly memory grows', async () => {
  const plant = await MujocoPlant.create(modelFile('grow.xml', SENSOR_MODEL), { frameSkip: 1 });
  const mujoco = plant.mujoco;
  const extra = [];
  try {
    plant.read();
    // Many MjData arenas force the heap to grow past the size it had when the views were made.
    for (let i = 0; i < 12; i++) extra.push(new mujoco.MjData(plant.model));
    plant.sim.setState(Float64Array.of(0.7), Float64Array.of(-0.2));
    assert.equal(plant.data.qpos[0], 0.7, 'state write reached MuJoCo');
    assert.equal(plant.data.qvel[0], -0.2);
    plant.write(Float64Array.of(1.5));
    assert.equal(plant.data.ctrl[0], 1.5, 'command write reached MuJoCo');
    await plant.advance();
    const s = plant.read();
    assert.equal(s.get('qpos')![0], plant.data.qpos[0], 'signals follow the live state');
  } finally {
    for (const d of extra) d.delete();
    await plant.close();
  }
});

test('dead views (detached buffer, length 0) are detected and rebuilt', async () => {
  const plant = await MujocoPlant.create(modelFile('dead.xml', SENSOR_MODEL), { frameSkip: 1 });
  try {
    // On a non-shared heap, growth detaches the old buffer; reproduce that on a copy.
    const detached = new Float64Array(new ArrayBuffer(24));
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    assert.equal(detached.length, 0);
    assert.ok(isDead(detached));
    assert.ok(!isDead(plant.data.xpos as Float64Array));

    const cache = new DataViewCache(plant.data);
    const views = cache.current();
    assert.equal(cache.current(), views, 'live views are reused');
    (views as { xpos: Float64Array }).xpos = detached;
    assert.ok(cache.stale);
    const rebuilt = cache.current();
    assert.notEqual(rebuilt, views);
    assert.equal(cache.rebuilds, 1);
    rebuilt.qpos[0] = 0.25;
    assert.equal(plant.data.qpos[0], 0.25, 'rebuilt views write into MuJoCo');
  } finally {
    await plant.close();
  }
});

test('cfrc_ext is offered only with contactForces, and then filled after each tick', async () => {
  const antFile = path.join(gymnasiumModelDir(), 'ant.xml');
  const without = await MujocoPlant.create(antFile, { frameSkip: 5 });
  const withForces = await MujocoPlant.create(antFile, { frameSkip: 5, contactForces: true });
  try {
    assert.equal(without.signals.find((s) => s.name === 'cfrc_ext'), undefined);
    assert.equal(withForces.signals.find((s) => s.name === 'cfrc_ext')?.size, 14 * 6);
    for (let i = 0; i < 40; i++) await withForces.advance();
    const cfrc = withForces.read().get('cfrc_ext')!;
    assert.ok(cfrc.some((x) => Math.abs(x) > 1e-6), 'the ant resting on the floor has contact wrenches');
    // Raw MuJoCo without mj_rnePostConstraint leaves them at zero.
    for (let i = 0; i < 40; i++) await without.advance();
    assert.ok((without.data.cfrc_ext as Float64Array).every((x) => x === 0));
  } finally {
    await without.close();
    await withForces.close();
  }
});

test('command delay line holds commands back by k ticks', async () => {
  const plant = await MujocoPlant.create(modelFile('delay.xml', SENSOR_MODEL), { frameSkip: 1 });
  try {
    plant.setCommandDelay(2);
    const applied: number[] = [];
    for (const c of [0.1, 0.2, 0.3, 0.4]) {
      plant.write(Float64Array.of(c));
      applied.push(plant.read().get('ctrl')![0]);
      await plant.advance();
    }
    assert.deepEqual(applied, [0, 0, 0.1, 0.2]);
    await plant.reset();
    plant.write(Float64Array.of(0.9));
    assert.equal(plant.read().get('ctrl')![0], 0, 'reset empties the delay line');
    assert.throws(() => plant.setCommandDelay(-1), /non-negative integer/);
  } finally {
    await plant.close();
  }
});

test('broken MJCF: syntax and compile errors carry MuJoCo text and the file name', async () => {
  const syntax = modelFile('syntax.xml', '<mujoco><worldbody><body><joint type="hinge"</body></worldbody></mujoco>');
  await assert.rejects(MujocoPlant.create(syntax, { frameSkip: 1 }), (err: Error) => {
    assert.match(err.message, /syntax\.xml/);
    assert.match(err.message, /XML/);
    return true;
  });
  const compile = modelFile('compile.xml', '<mujoco><worldbody><body><joint type="hingex"/><geom size="0.1"/></body></worldbody></mujoco>');
  await assert.rejects(MujocoPlant.create(compile, { frameSkip: 1 }), (err: Error) => {
    assert.match(err.message, /compile\.xml/);
    assert.match(err.message, /invalid keyword: 'hingex'/);
    return true;
  });
  const badRef = modelFile('badref.xml', '<mujoco><worldbody><body><joint name="j"/><geom size="0.1"/></body></worldbody><actuator><motor joint="nope" ctrlrange="-1 1"/></actuator></mujoco>');
  await assert.rejects(MujocoPlant.create(badRef, { frameSkip: 1 }), /badref\.xml.*nope|nope[\s\S]*badref\.xml/);
  await assert.rejects(MujocoPlant.create(path.join(dir, 'missing.xml'), { frameSkip: 1 }), /cannot read MJCF model .*missing\.xml/);
  const unlimited = modelFile('unlimited.xml', '<mujoco><worldbody><body><joint name="j"/><geom size="0.1"/></body></worldbody><actuator><motor joint="j"/></actuator></mujoco>');
  await assert.rejects(MujocoPlant.create(unlimited, { frameSkip: 1 }), /unlimited\.xml: actuator 0 has no ctrlrange/);
  // The module stays usable after errors.
  const ok = await MujocoPlant.create(modelFile('ok.xml', SENSOR_MODEL), { frameSkip: 1 });
  await ok.close();
});

test('included files are copied into the virtual file system', async () => {
  const sub = path.join(dir, 'parts');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(sub, { recursive: true });
  writeFileSync(path.join(sub, 'body.xml'), '<mujoco><worldbody><body name="b"><joint name="j" type="slide"/><geom size="0.1"/></body></worldbody></mujoco>');
  const main = modelFile('main.xml', '<mujoco><include file="parts/body.xml"/><actuator><motor joint="j" ctrlrange="-1 1"/></actuator></mujoco>');
  const plant = await MujocoPlant.create(main, { frameSkip: 1 });
  try {
    assert.equal(plant.sim.nq, 1);
    assert.equal(plant.command.size, 1);
    const left = plant.mujoco.FS.readdir('/sacbridge-models') as string[];
    assert.deepEqual(left.filter((e) => e !== '.' && e !== '..'), [], 'the copied files and directories are removed after compiling');
  } finally {
    await plant.close();
  }
});

test('close() frees once and later use fails clearly', async () => {
  const plant = await MujocoPlant.create(path.join(packageRoot(), 'sim', 'pendulum.xml'), { frameSkip: 5 });
  const data = plant.data;
  await plant.close();
  await plant.close();
  assert.ok(data.isDeleted());
  assert.throws(() => plant.read(), /closed/);
  await assert.rejects(plant.advance(), /closed/);
});

test('bad options are refused', async () => {
  await assert.rejects(MujocoPlant.create(path.join(packageRoot(), 'sim', 'pendulum.xml'), { frameSkip: 0 }), /pendulum\.xml: frameSkip must be a positive integer/);
});
