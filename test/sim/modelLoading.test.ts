import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findMjcfAssets } from '../../src/plant/mujoco/mjcfAssets.js';
import { MujocoPlant } from '../../src/plant/mujoco/mujocoPlant.js';
import { packageRoot } from '../../src/util/packageRoot.js';
import { createEnv } from '../../src/wiring/envFactory.js';

// User models laid out as Menagerie lays them out: a scene that includes the robot, meshdir and
// texturedir, STL and OBJ meshes, keyframes, position actuators; loaded by relative or absolute path.

const dir = mkdtempSync(path.join(tmpdir(), 'sacbridge-models-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A unit cube as binary STL (12 triangles). */
function cubeStl(): Buffer {
  const v = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]].map((p) => p.map((x) => 0.1 * x - 0.05));
  const faces = [[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4], [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]];
  const buf = Buffer.alloc(84 + 50 * faces.length);
  buf.writeUInt32LE(faces.length, 80);
  faces.forEach((f, i) => f.forEach((vi, k) => v[vi].forEach((x, c) => buf.writeFloatLE(x, 84 + 50 * i + 12 + 12 * k + 4 * c))));
  return buf;
}
const OBJ = 'v 0 0 0\nv 0.1 0 0\nv 0 0.1 0\nv 0 0 0.1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n';
// A 2x2 RGB PNG (textures load through the same file references).
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a730000001049444154789c6338916204440c100a0028ae057942e127ee0000000049454e44ae426082', 'hex');

function writeRobot(root: string, quote: '"' | "'"): void {
  mkdirSync(path.join(root, 'robot', 'assets'), { recursive: true });
  mkdirSync(path.join(root, 'textures'), { recursive: true });
  writeFileSync(path.join(root, 'robot', 'assets', 'link.stl'), cubeStl());
  writeFileSync(path.join(root, 'robot', 'assets', 'tip.obj'), OBJ);
  writeFileSync(path.join(root, 'textures', 'skin.png'), PNG);
  const q = quote;
  writeFileSync(
    path.join(root, 'robot', 'robot.xml'),
    `<mujoco model=${q}robot${q}>
  <compiler angle=${q}radian${q} meshdir=${q}robot/assets${q} texturedir=${q}textures${q} autolimits=${q}true${q}/>
  <!-- <mesh file="commented/out.stl"/> is not a reference -->
  <asset>
    <mesh name=${q}link${q} file=${q}link.stl${q}/>
    <mesh name=${q}tip${q} file=${q}tip.obj${q}/>
    <texture name=${q}skin${q} type=${q}2d${q} file=${q}skin.png${q}/>
    <material name=${q}skin${q} texture=${q}skin${q}/>
  </asset>
  <worldbody>
    <body name=${q}link1${q} pos=${q}0 0 0.5${q}>
      <joint name=${q}joint1${q} axis=${q}0 1 0${q} range=${q}-1.5 1.5${q}/>
      <geom type=${q}mesh${q} mesh=${q}link${q} material=${q}skin${q}/>
      <body name=${q}link2${q} pos=${q}0.1 0 0${q}>
        <joint name=${q}joint2${q} axis=${q}0 1 0${q} range=${q}-1.5 1.5${q}/>
        <geom type=${q}mesh${q} mesh=${q}tip${q}/>
        <site name=${q}tool${q} pos=${q}0.1 0 0${q}/>
      </body>
    </body>
  </worldbody>
  <actuator>
    <position name=${q}joint1${q} joint=${q}joint1${q} kp=${q}20${q} ctrlrange=${q}-1.5 1.5${q}/>
    <position name=${q}joint2${q} joint=${q}joint2${q} kp=${q}20${q} ctrlrange=${q}-1.5 1.5${q}/>
  </actuator>
</mujoco>`,
  );
  writeFileSync(
    path.join(root, 'scene.xml'),
    `<mujoco model=${q}scene${q}>
  <include file=${q}robot/robot.xml${q}/>
  <worldbody><geom name=${q}floor${q} type=${q}plane${q} size=${q}1 1 0.1${q}/></worldbody>
  <keyframe><key name=${q}home${q} qpos=${q}0.3 -0.2${q} ctrl=${q}0.3 -0.2${q}/></keyframe>
</mujoco>`,
  );
}

test("a scene that includes its robot, with meshdir/texturedir, STL, OBJ and a texture, in either quote, by relative or absolute path", async () => {
  for (const quote of ['"', "'"] as const) {
    const root = path.join(dir, quote === '"' ? 'double' : 'single');
    writeRobot(root, quote);
    const assets = findMjcfAssets(path.join(root, 'scene.xml'));
    assert.deepEqual(
      assets.files.map((f) => [f.tag, path.relative(root, f.hostPath), f.exists]),
      [['include', 'robot/robot.xml', true], ['mesh', 'robot/assets/link.stl', true], ['mesh', 'robot/assets/tip.obj', true], ['texture', 'textures/skin.png', true]],
    );
    const relative = path.relative(process.cwd(), path.join(root, 'scene.xml'));
    for (const file of [relative, path.join(root, 'scene.xml')]) {
      const plant = await MujocoPlant.create(file, { frameSkip: 2 });
      try {
        assert.deepEqual(plant.command.names, ['joint1', 'joint2']);
        assert.equal(plant.info.keyframes[0].name, 'home');
        assert.deepEqual(Array.from(plant.info.keyframes[0].qpos), [0.3, -0.2]);
        assert.deepEqual(plant.info.sites, ['tool']);
      } finally {
        await plant.close();
      }
    }
  }
});

test('a reference outside the model directory (../) and errors that name the user files', async () => {
  const root = path.join(dir, 'outside');
  mkdirSync(path.join(root, 'models'), { recursive: true });
  mkdirSync(path.join(root, 'shared_meshes'), { recursive: true });
  writeFileSync(path.join(root, 'shared_meshes', 'tip.obj'), OBJ);
  writeFileSync(
    path.join(root, 'models', 'm.xml'),
    `<mujoco><compiler meshdir="../shared_meshes"/><asset><mesh name="tip" file="tip.obj"/></asset>
      <worldbody><body><joint name="j" range="-1 1"/><geom type="mesh" mesh="tip"/></body></worldbody>
      <actuator><motor joint="j" ctrlrange="-1 1"/></actuator></mujoco>`,
  );
  const plant = await MujocoPlant.create(path.join(root, 'models', 'm.xml'), { frameSkip: 1 });
  await plant.close();

  writeFileSync(path.join(root, 'models', 'missing.xml'), `<mujoco><asset><mesh name="a" file='meshes/a.stl'/></asset><worldbody><geom type="mesh" mesh="a"/></worldbody></mujoco>`);
  await assert.rejects(MujocoPlant.create(path.join(root, 'models', 'missing.xml'), { frameSkip: 1 }), (err: Error) => {
    assert.match(err.message, new RegExp(`MuJoCo cannot load model ${escape(path.join(root, 'models', 'missing.xml'))}`));
    assert.match(err.message, new RegExp(`missing: ${escape(path.join(root, 'models', 'meshes', 'a.stl'))} \\(<mesh file='meshes/a.stl'> at ${escape(path.join(root, 'models', 'missing.xml'))}:1\\)`));
    assert.doesNotMatch(err.message, /\/sacbridge-models\/\d/);
    return true;
  });
  writeFileSync(path.join(root, 'models', 'empty.xml'), '');
  await assert.rejects(MujocoPlant.create(path.join(root, 'models', 'empty.xml'), { frameSkip: 1 }), new RegExp(`^Error: MJCF model ${escape(path.join(root, 'models', 'empty.xml'))} is empty$`));
  writeFileSync(path.join(root, 'models', 'broken.xml'), '<mujoco><worldbody><body></worldbody></mujoco>');
  await assert.rejects(MujocoPlant.create(path.join(root, 'models', 'broken.xml'), { frameSkip: 1 }), (err: Error) => {
    assert.match(err.message, new RegExp(`MuJoCo cannot load model ${escape(path.join(root, 'models', 'broken.xml'))}`));
    assert.doesNotMatch(err.message, /\/sacbridge-models\/\d/);
    return true;
  });
});

test('a built-in task on a model without actuators says so', async () => {
  const file = path.join(dir, 'passive.xml');
  writeFileSync(file, '<mujoco><worldbody><body><joint name="hinge"/><geom size="0.1"/></body></worldbody></mujoco>');
  await assert.rejects(createEnv('pendulum', { seed: 0, modelPath: file }), /the MuJoCo model .*passive\.xml has no actuators: there is nothing for a policy to control/);
});

test('the examples load: arm7 (OBJ base) and quadruped (STL torso), each with a home keyframe', async () => {
  for (const [file, nu] of [['examples/arm7/scene.xml', 7], ['examples/quadruped/scene.xml', 8]] as const) {
    const plant = await MujocoPlant.create(path.join(packageRoot(), file), { frameSkip: 1 });
    try {
      assert.equal(plant.command.size, nu);
      assert.ok(plant.info.keyframes.some((k) => k.name === 'home'));
    } finally {
      await plant.close();
    }
  }
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
