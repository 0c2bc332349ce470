import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseContactPairSignal } from '../../src/plant/mujoco/contactPairs.js';
import { MujocoPlant } from '../../src/plant/mujoco/mujocoPlant.js';
import { loadTaskFile } from '../../src/task/taskFile.js';
import { TaskSpecError } from '../../src/task/spec/specReader.js';

// The contact force between named parts, against statics (a 3 kg box on a 2 kg box on the
// floor: the floor carries 5 g, the lower box's top 3 g) and against MuJoCo's own per-contact
// forces (mj_contactForce) summed by hand over the contacts between the named geoms.

const dir = mkdtempSync(path.join(tmpdir(), 'sacbridge-contact-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const G = 9.81;
const MODEL = `<mujoco model="stack">
  <option timestep="0.002" gravity="0 0 -${G}"/>
  <worldbody>
    <geom name="floor" type="plane" size="5 5 0.1"/>
    <geom name="post" type="box" pos="2 0 0.5" size="0.05 0.05 0.5"/>
    <body name="lower" pos="0 0 0.1">
      <freejoint/>
      <geom name="lower_box" type="box" size="0.2 0.2 0.1" mass="2"/>
    </body>
    <body name="upper" pos="0 0 0.3">
      <freejoint/>
      <geom name="upper_box" type="box" size="0.1 0.1 0.1" mass="3"/>
      <geom name="upper_cap" type="sphere" pos="0 0 0.1" size="0.02" mass="0"/>
    </body>
    <body name="lamp" pos="0 0 1.5"><geom name="bulb" type="sphere" size="0.05"/></body>
    <body name="slider" pos="1 0 0.2">
      <joint name="x" type="slide" axis="1 0 0"/>
      <geom name="puck" type="box" size="0.1 0.1 0.1" mass="1"/>
    </body>
  </worldbody>
  <actuator><motor name="push" joint="x" ctrlrange="-1 1"/></actuator>
</mujoco>`;

const TASK = {
  name: 'stack',
  model: 'stack.xml',
  episodeSteps: 1000,
  observation: [
    { name: 'lower_ground', quantity: 'contact_force', bodies: ['lower'] },
    { name: 'upper_on_lower', quantity: 'contact_force', bodies: ['upper'], with: { bodies: ['lower'] } },
    { name: 'box_on_box', quantity: 'contact_force', geoms: ['upper_box'], with: { geoms: ['lower_box'] } },
    { name: 'upper_ground', quantity: 'contact_force', bodies: ['upper'] },
    { name: 'lamp_ground', quantity: 'contact_force', bodies: ['lamp'] },
    { name: 'all_floor', quantity: 'contact_force', geoms: ['floor'], with: { bodies: ['lower', 'upper', 'slider'] } },
  ],
  reward: [
    { name: 'load', type: 'contact_force', bodies: ['upper'], with: { bodies: ['lower'] }, weight: -0.01 },
    { name: 'load_clipped', type: 'contact_force', bodies: ['lower'], with: { geoms: ['floor'] }, clip: [0, 20], weight: -0.5 },
  ],
  termination: [
    { name: 'upper_fell', type: 'contact', bodies: ['upper'], threshold: 1 },
    { name: 'lower_crushed', type: 'contact', bodies: ['lower'], threshold: 60 },
  ],
};

/** Sum of the normal force of every contact between geom sets a and b, from MuJoCo's contact list. */
function handForce(plant: MujocoPlant, a: number[], b: number[]): number {
  const { mujoco } = plant;
  const d = plant.data;
  const buffer = new mujoco.DoubleBuffer(6);
  const contacts = d.contact;
  let sum = 0;
  try {
    for (let i = 0; i < d.ncon; i++) {
      const c = contacts.get(i)!;
      const [g1, g2] = [c.geom1, c.geom2];
      c.delete();
      if ((a.includes(g1) && b.includes(g2)) || (a.includes(g2) && b.includes(g1))) {
        mujoco.mj_contactForce(plant.model, d, i, buffer);
        sum += (buffer.GetView() as Float64Array)[0];
      }
    }
  } finally {
    contacts.delete();
    buffer.delete();
  }
  return sum;
}

test('contact force between named bodies and geoms: statics of a stack and MuJoCo per-contact forces', async () => {
  writeFileSync(path.join(dir, 'stack.xml'), MODEL);
  writeFileSync(path.join(dir, 'stack.json'), JSON.stringify(TASK));
  const loaded = await loadTaskFile(path.join(dir, 'stack.json'));
  const task = loaded.definition.create();
  const pairs = task.requiredSignals.filter((s) => parseContactPairSignal(s.name) !== null).map((s) => s.name);
  // One signal per distinct pair of geom sets: six observed, the clipped reward's lower box and
  // floor alone (the ground also has the post) makes seven; the terminations reuse observed pairs.
  assert.equal(pairs.length, 7);
  const plant = await MujocoPlant.create(loaded.modelPath, { frameSkip: 10, contactPairs: pairs });
  try {
    const geom = (n: string): number => plant.elementId('geom', n);
    const layout = loaded.compiled!.layout;
    assert.match(layout.find((l) => l.term === 'lower_ground')!.source, /normal contact force between bodies lower and the ground \(world-body geoms\)/);
    const obs = new Float32Array(task.observationSize);
    assert.equal(task.observationSize, 6);
    task.beginEpisode(plant.read());
    const zero = new Float64Array(1);
    let score = task.score(plant.read(), zero);
    // Settle for 2 s.
    for (let t = 0; t < 100; t++) {
      plant.write(zero);
      await plant.advance();
    }
    // Forces of the state now (mj_step leaves the contacts of the state before its last step).
    plant.sim.setState(Float64Array.from(plant.read().get('qpos')!), Float64Array.from(plant.read().get('qvel')!));
    task.observe(plant.read(), obs);
    score = task.score(plant.read(), zero);
    const [lowerGround, upperOnLower, boxOnBox, upperGround, lampGround, allFloor] = obs;
    // Statics: 5 kg on the floor, 3 kg on the lower box; the cap does not touch; the lamp hangs;
    // the puck rides its slide joint above the floor.
    const rel = (x: number, e: number, what: string): void => assert.ok(Math.abs(x - e) <= 0.01 * e, `${what}: ${x} N vs ${e} N`);
    rel(lowerGround, 5 * G, 'floor under the lower box');
    rel(upperOnLower, 3 * G, 'lower box under the upper box');
    assert.equal(boxOnBox, upperOnLower, 'the box geoms carry all of it');
    assert.equal(upperGround, 0);
    assert.equal(lampGround, 0);
    rel(allFloor, 5 * G, 'floor under everything');
    // The same sums taken by hand from MuJoCo's contact list (float32 observation).
    const floorGeoms = [geom('floor'), geom('post')];
    const exact = {
      lowerGround: handForce(plant, [geom('lower_box')], floorGeoms),
      upperOnLower: handForce(plant, [geom('upper_box'), geom('upper_cap')], [geom('lower_box')]),
      allFloor: handForce(plant, [geom('floor')], [geom('lower_box'), geom('upper_box'), geom('upper_cap'), geom('puck')]),
    };
    assert.equal(lowerGround, Math.fround(exact.lowerGround));
    assert.equal(upperOnLower, Math.fround(exact.upperOnLower));
    assert.equal(allFloor, Math.fround(exact.allFloor));
    // Reward: -0.01 F^2 and -0.5 clip(F, 0, 20)^2 (the floor force, ~49 N, clips to 20).
    assert.ok(Math.abs(score.terms.load - -0.01 * exact.upperOnLower ** 2) <= 1e-12 * exact.upperOnLower ** 2);
    assert.equal(score.terms.load_clipped, -0.5 * 400);
    // Termination: the upper box does not touch the ground; 49 N on the lower box is under 60 N.
    assert.equal(score.terminated, false);
    // Push the upper box off: it lands on the floor, which ends the episode.
    const qpos = Float64Array.from(plant.read().get('qpos')!);
    qpos[7] = 0.6; // upper box x, clear of the lower box
    qpos[9] = 0.1; // resting height on the floor
    plant.sim.setState(qpos, new Float64Array(plant.sim.nv));
    for (let t = 0; t < 25; t++) {
      plant.write(zero);
      await plant.advance();
    }
    plant.sim.setState(Float64Array.from(plant.read().get('qpos')!), Float64Array.from(plant.read().get('qvel')!));
    task.observe(plant.read(), obs);
    score = task.score(plant.read(), zero);
    rel(obs[3], 3 * G, 'upper box on the floor');
    rel(obs[0], 2 * G, 'lower box alone');
    assert.equal(obs[1], 0);
    assert.equal(score.terminated, true, 'upper_fell fires');
  } finally {
    await plant.close();
  }
});

test('contact force terms name what is wrong', async () => {
  writeFileSync(path.join(dir, 'stack.xml'), MODEL);
  const cases: [unknown, RegExp][] = [
    [{ name: 'x', quantity: 'contact_force', geoms: ['upper_bx'] }, /observation\[0\] 'x'\.geoms\[0\]: the model .*stack\.xml has no geom named 'upper_bx'; .*upper_box/],
    [{ name: 'x', quantity: 'contact_force', bodies: ['upper'], with: { bodies: ['lowr'] } }, /observation\[0\] 'x'\.with\.bodies\[0\]: .*no body named 'lowr'; .*lower/],
    [{ name: 'x', quantity: 'contact_force' }, /observation\[0\] 'x': name 'bodies', 'geoms' or both/],
    [{ name: 'x', quantity: 'contact_force', bodies: ['upper'], with: { geoms: ['upper_cap'] } }, /geom upper_cap is on both sides/],
    [{ name: 'x', quantity: 'contact_force', bodies: ['upper'], with: { bodys: ['lower'] } }, /with.*bodys/],
  ];
  for (const [term, pattern] of cases) {
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...TASK, observation: [term], termination: undefined }));
    await assert.rejects(loadTaskFile(file), (err: Error) => err instanceof TaskSpecError && pattern.test(err.message), `${JSON.stringify(term)} -> ${pattern}`);
  }
  // A model without world geoms has no ground to default to.
  writeFileSync(path.join(dir, 'noground.xml'), MODEL.replace(/<geom name="floor"[^>]*\/>\s*<geom name="post"[^>]*\/>/, ''));
  writeFileSync(path.join(dir, 'noground.json'), JSON.stringify({ ...TASK, model: 'noground.xml', observation: [TASK.observation[0]], termination: undefined, reward: [{ name: 'alive', type: 'alive', weight: 1 }] }));
  await assert.rejects(loadTaskFile(path.join(dir, 'noground.json')), /has no ground \(no geoms on the world body\); name the other side with 'with'/);
});
