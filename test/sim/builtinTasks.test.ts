import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Env } from '../../src/env/env.js';
import type { PointReachTask } from '../../src/task/builtin/pointReach.js';
import { TARGET_RANGE } from '../../src/task/builtin/pointReach.js';
import { createEnv } from '../../src/wiring/envFactory.js';
import { Rng } from '../../src/util/rng.js';
import { assertClose, assertTermsSum, assertVectorClose, stepWithSnapshots } from './simFixtures.js';

const envs: Env[] = [];
after(async () => {
  for (const e of envs) await e.plant.close();
});
async function make(name: string, seed = 5): Promise<Env> {
  const env = await createEnv(name, { seed });
  envs.push(env);
  return env;
}

const wrap = (x: number): number => ((((x + Math.PI) % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI)) - Math.PI;

test('pendulum: obs [cos, sin, theta_dot], Pendulum-v1 cost terms, 200-tick truncation', async () => {
  const env = await make('pendulum');
  assert.equal(env.observationSize, 3);
  assert.equal(env.maxEpisodeSteps, 200);
  assert.deepEqual(Array.from(env.plant.command.high), [2]);
  const rng = new Rng(1);
  const obs0 = await env.reset();
  const q0 = env.plant.read().get('qpos')![0];
  assert.ok(Math.abs(q0) <= Math.PI);
  assertVectorClose(obs0, [Math.cos(q0), Math.sin(q0), env.plant.read().get('qvel')![0]], 1e-6, 'reset obs');
  for (let i = 1; i <= 200; i++) {
    const { after: s, result } = await stepWithSnapshots(env, rng);
    const theta = s.qpos[0];
    assertVectorClose(result.observation, [Math.cos(theta), Math.sin(theta), s.qvel[0]], 1e-6, 'obs');
    assertClose(result.terms.angle_cost, -(wrap(theta) ** 2), 1e-12, 'angle_cost');
    assertClose(result.terms.velocity_cost, -0.1 * s.qvel[0] ** 2, 1e-12, 'velocity_cost');
    assertClose(result.terms.ctrl_cost, -0.001 * s.ctrl[0] ** 2, 1e-12, 'ctrl_cost');
    assertTermsSum(result);
    assert.equal(result.terminated, false);
    assert.equal(result.truncated, i === 200);
  }
});

test('pendulum physics: upright is unstable, 2 N m cannot hold the pole horizontal', async () => {
  const env = await make('pendulum');
  await env.reset();
  const plant = env.plant as Env['plant'] & { sim: { setState(q: Float64Array, v: Float64Array): void } };
  plant.sim.setState(Float64Array.of(0.01), Float64Array.of(0));
  for (let i = 0; i < 40; i++) await env.step(Float32Array.of(0));
  assert.ok(Math.abs(wrap(env.plant.read().get('qpos')![0])) > 1, 'falls from near upright');
  plant.sim.setState(Float64Array.of(Math.PI / 2), Float64Array.of(0));
  for (let i = 0; i < 10; i++) await env.step(Float32Array.of(-1)); // full torque against gravity
  assert.ok(env.plant.read().get('qpos')![0] > Math.PI / 2, 'gravity (5 N m) beats the motor (2 N m)');
});

test('planar_runner: obs qpos[1:] + qvel, reward forward velocity minus control cost', async () => {
  const env = await make('planar_runner');
  assert.equal(env.observationSize, 13);
  assert.equal(env.actionSize, 4);
  const rng = new Rng(2);
  await env.reset();
  for (let i = 0; i < 200; i++) {
    const { before, after: s, result } = await stepWithSnapshots(env, rng);
    assertVectorClose(result.observation, [...s.qpos.slice(1), ...s.qvel], 1e-6, 'obs');
    assertClose(result.terms.forward_reward, (s.qpos[0] - before.qpos[0]) / env.plant.controlPeriod, 1e-9, 'forward_reward');
    assertClose(result.terms.ctrl_cost, -0.1 * s.ctrl.reduce((a, c) => a + c * c, 0), 1e-12, 'ctrl_cost');
    assertTermsSum(result);
    assert.equal(result.terminated, false);
  }
});

test('planar_runner stands on its feet at rest', async () => {
  const env = await make('planar_runner');
  await env.reset();
  for (let i = 0; i < 80; i++) await env.step(new Float32Array(4));
  const s = env.plant.read();
  const torsoHeight = s.get('xpos')![3 * 1 + 2];
  assert.ok(torsoHeight > 0.3 && torsoHeight < 0.6, `torso height ${torsoHeight}`);
  assert.ok(s.get('qvel')!.every((v) => Math.abs(v) < 0.5), 'settled');
});

/** Episode return of a policy on point_reach over `episodes` episodes. */
async function meanReturn(env: Env, policy: (obs: Float32Array, rng: Rng) => Float32Array, episodes: number): Promise<number> {
  const rng = new Rng(9);
  let total = 0;
  for (let e = 0; e < episodes; e++) {
    let obs = await env.reset();
    for (;;) {
      const r = await env.step(policy(obs, rng));
      total += r.reward;
      obs = r.observation;
      if (r.terminated || r.truncated) break;
    }
  }
  return total / episodes;
}

test('point_reach: per-episode target, obs layout, and a wide gap between random and a reaching policy', async () => {
  const env = await make('point_reach');
  const task = env.task as PointReachTask;
  assert.equal(env.observationSize, 4);
  assert.equal(env.maxEpisodeSteps, 50);
  const targets = new Set<string>();
  const rng = new Rng(4);
  for (let e = 0; e < 4; e++) {
    await env.reset();
    assert.ok(Math.abs(task.target[0]) <= TARGET_RANGE && Math.abs(task.target[1]) <= TARGET_RANGE);
    targets.add(`${task.target[0]},${task.target[1]}`);
    const { after: s, result } = await stepWithSnapshots(env, rng);
    const [tx, ty] = task.target;
    assertVectorClose(result.observation, [tx - s.qpos[0], ty - s.qpos[1], s.qvel[0], s.qvel[1]], 1e-6, 'obs');
    assertClose(result.terms.distance_cost, -10 * Math.hypot(tx - s.qpos[0], ty - s.qpos[1]), 1e-12, 'distance_cost');
    assertClose(result.terms.ctrl_cost, -0.1 * (s.ctrl[0] ** 2 + s.ctrl[1] ** 2), 1e-12, 'ctrl_cost');
    assertTermsSum(result);
  }
  assert.equal(targets.size, 4, 'a new target each episode');

  const random = await meanReturn(env, (_o, r) => Float32Array.of(r.range(-1, 1), r.range(-1, 1)), 20);
  // A proportional controller on the observed offset: what SAC has to discover.
  const reach = await meanReturn(env, (o) => Float32Array.of(Math.max(-1, Math.min(1, 8 * o[0])), Math.max(-1, Math.min(1, 8 * o[1]))), 20);
  const still = await meanReturn(env, () => new Float32Array(2), 20);
  assert.ok(random < -90 && still < -90, `random ${random}, still ${still}`);
  assert.ok(reach > -50, `reaching policy return ${reach}`);
});
