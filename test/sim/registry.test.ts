import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DEFAULT_TASK, getTaskDefinition, listTasks, resolveModelPath } from '../../src/task/registry.js';
import { createEnv } from '../../src/wiring/envFactory.js';
import { packageRoot } from '../../src/util/packageRoot.js';
import { gymnasiumModelDir } from './simFixtures.js';

const GYMNASIUM = ['HalfCheetah-v5', 'Hopper-v5', 'Walker2d-v5', 'Ant-v5', 'InvertedPendulum-v5', 'InvertedDoublePendulum-v5'];
const BUILTIN = ['pendulum', 'planar_runner', 'point_reach'];

test('every task is listed once and the default is a built-in', () => {
  const names = listTasks().map((t) => t.name);
  assert.deepEqual([...names].sort(), [...GYMNASIUM, ...BUILTIN].sort());
  assert.ok(BUILTIN.includes(DEFAULT_TASK));
  for (const t of listTasks()) {
    assert.ok(t.description.length > 10);
    assert.ok(Number.isInteger(t.frameSkip) && t.frameSkip >= 1);
  }
});

test('unknown task: error lists the known ones', async () => {
  assert.throws(() => getTaskDefinition('Humanoid-v9'), (err: Error) => {
    assert.match(err.message, /unknown task 'Humanoid-v9'/);
    for (const n of [...GYMNASIUM, ...BUILTIN]) assert.ok(err.message.includes(n), n);
    return true;
  });
  await assert.rejects(createEnv('nope', { seed: 0 }), /unknown task 'nope'( \(nearest: '[^']+'\))?; known tasks: /);
});

test('built-in models resolve under the package root; Gymnasium ones need their directory', async () => {
  assert.equal(resolveModelPath('pendulum'), path.join(packageRoot(), 'sim', 'pendulum.xml'));
  assert.throws(() => resolveModelPath('Hopper-v5'), /gymnasiumModelDir.*hopper\.xml/);
  assert.equal(resolveModelPath('Walker2d-v5', { gymnasiumModelDir: '/x' }), '/x/walker2d_v5.xml');
  assert.equal(resolveModelPath('Hopper-v5', { modelPath: '/y/h.xml' }), '/y/h.xml');
});

test('createEnv builds plant + task + env, with frameSkip and model overrides', async () => {
  const env = await createEnv('InvertedPendulum-v5', { seed: 1, gymnasiumModelDir: gymnasiumModelDir(), frameSkip: 4, maxEpisodeSteps: 7 });
  try {
    assert.equal(env.plant.kind, 'mujoco');
    assert.ok(Math.abs(env.plant.controlPeriod - 0.08) < 1e-12);
    assert.equal(env.maxEpisodeSteps, 7);
    assert.equal((await env.reset()).length, 4);
  } finally {
    await env.plant.close();
  }
  // A model whose signals do not fit the task is refused by the env, and the plant is freed.
  await assert.rejects(
    createEnv('InvertedPendulum-v5', { seed: 1, modelPath: path.join(packageRoot(), 'sim', 'pendulum.xml') }),
    /task 'InvertedPendulum-v5' needs signal 'qpos' of size 2, the mujoco plant gives 1/,
  );
});

test('the same seed gives the same episode', async () => {
  const run = async (): Promise<number[]> => {
    const env = await createEnv('point_reach', { seed: 42 });
    try {
      const out = Array.from(await env.reset());
      const r = await env.step(Float32Array.of(0.3, -0.7));
      return [...out, ...r.observation, r.reward];
    } finally {
      await env.plant.close();
    }
  };
  assert.deepEqual(await run(), await run());
});
