import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Env } from '../../src/env/env.js';
import { hasSimulatorAccess } from '../../src/plant/plant.js';
import { createEnv } from '../../src/wiring/envFactory.js';
import { gymnasiumModelDir } from './simFixtures.js';

const envs: Env[] = [];
after(async () => {
  for (const e of envs) await e.plant.close();
});

async function divergedStep(name: string, qvelValue: number): Promise<{ env: Env; result: Awaited<ReturnType<Env['step']>> }> {
  const env = await createEnv(name, { seed: 3, gymnasiumModelDir: gymnasiumModelDir() });
  envs.push(env);
  await env.reset();
  assert.ok(hasSimulatorAccess(env.plant));
  const qpos = Float64Array.from(env.plant.read().get('qpos')!);
  const qvel = new Float64Array(env.plant.sim.nv).fill(qvelValue);
  env.plant.sim.setState(qpos, qvel);
  const result = await env.step(new Float32Array(env.actionSize));
  return { env, result };
}

test('NaN in the state: observation non-finite, abort set, episode ends (MuJoCo does not silently reset)', async () => {
  const { env, result } = await divergedStep('HalfCheetah-v5', NaN);
  assert.ok(result.observation.some((x) => !Number.isFinite(x)));
  assert.match(result.abort ?? '', /non-finite/);
  assert.ok(result.truncated || result.terminated, 'the episode ends');
  // Training continues: the next reset gives a clean episode.
  const obs = await env.reset();
  assert.ok(obs.every(Number.isFinite));
  const next = await env.step(new Float32Array(env.actionSize));
  assert.equal(next.abort, null);
});

test('huge velocity: the simulation diverges and the episode aborts', async () => {
  const { result } = await divergedStep('HalfCheetah-v5', 1e300);
  assert.match(result.abort ?? '', /non-finite/);
  assert.equal(result.terminated || result.truncated, true);
});

test('InvertedPendulum terminates on a non-finite state, as Gymnasium does', async () => {
  const { result } = await divergedStep('InvertedPendulum-v5', NaN);
  assert.equal(result.terminated, true);
  assert.equal(result.truncated, false);
  assert.notEqual(result.abort, null);
});
