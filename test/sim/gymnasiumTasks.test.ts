import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Env, StepResult } from '../../src/env/env.js';
import { createEnv } from '../../src/wiring/envFactory.js';
import { Rng } from '../../src/util/rng.js';
import { assertClose, assertTermsSum, assertVectorClose, clip, gymnasiumModelDir, stepWithSnapshots, type Snapshot } from './simFixtures.js';

// Observation layouts and reward terms recomputed by hand from MuJoCo's state, per
// /work/shared/env-spec.md (Gymnasium v5), for random actions over a few hundred ticks.

const envs: Env[] = [];
after(async () => {
  for (const e of envs) await e.plant.close();
});

async function make(name: string, extra: { maxEpisodeSteps?: number } = {}): Promise<Env> {
  const env = await createEnv(name, { seed: 7, gymnasiumModelDir: gymnasiumModelDir(), ...extra });
  envs.push(env);
  return env;
}

const sumSq = (v: ArrayLike<number>): number => Array.from(v).reduce((s, x) => s + x * x, 0);
const vel = (x1: number, x0: number, dt: number): number => (x1 - x0) / dt;

/** Run `steps` random ticks (resetting on episode end) and check every tick with `check`. */
async function runChecked(
  env: Env,
  steps: number,
  check: (s: { before: Snapshot; after: Snapshot; result: StepResult; dt: number }) => void,
): Promise<{ terminations: number }> {
  const rng = new Rng(11);
  await env.reset();
  let terminations = 0;
  for (let i = 0; i < steps; i++) {
    const s = await stepWithSnapshots(env, rng);
    check({ ...s, dt: env.plant.controlPeriod });
    assertTermsSum(s.result);
    assert.equal(s.result.abort, null);
    assert.ok(!(s.result.terminated && s.result.truncated), 'terminated and truncated are exclusive');
    if (s.result.terminated) terminations++;
    if (s.result.terminated || s.result.truncated) await env.reset();
  }
  return { terminations };
}

test('HalfCheetah-v5: obs qpos[1:] + qvel, reward vx - 0.1|a|^2, never terminates', async () => {
  const env = await make('HalfCheetah-v5');
  assert.equal(env.observationSize, 17);
  assert.equal(env.actionSize, 6);
  assert.equal(env.maxEpisodeSteps, 1000);
  assertClose(env.plant.controlPeriod, 0.05, 1e-12, 'dt');
  const { terminations } = await runChecked(env, 200, ({ before, after, result, dt }) => {
    assertVectorClose(result.observation, [...after.qpos.slice(1), ...after.qvel], 1e-6, 'obs');
    assertClose(result.terms.forward_reward, vel(after.qpos[0], before.qpos[0], dt), 1e-9, 'forward_reward');
    assertClose(result.terms.ctrl_cost, -0.1 * sumSq(after.ctrl), 1e-12, 'ctrl_cost');
    assert.deepEqual(Object.keys(result.terms).sort(), ['ctrl_cost', 'forward_reward']);
  });
  assert.equal(terminations, 0);
});

function hopperHealthy(q: Float64Array, v: Float64Array): boolean {
  const state = [...q.slice(2), ...v];
  return state.every((x) => x > -100 && x < 100) && q[1] > 0.7 && Math.abs(q[2]) < 0.2;
}

test('Hopper-v5: obs qpos[1:] + clip(qvel, 10), healthy reward and termination', async () => {
  const env = await make('Hopper-v5');
  assert.equal(env.observationSize, 11);
  assertClose(env.plant.controlPeriod, 0.008, 1e-12, 'dt');
  const { terminations } = await runChecked(env, 300, ({ before, after, result, dt }) => {
    assertVectorClose(result.observation, [...after.qpos.slice(1), ...Array.from(after.qvel, (x) => clip(x, -10, 10))], 1e-6, 'obs');
    const healthy = hopperHealthy(after.qpos, after.qvel);
    assertClose(result.terms.forward_reward, vel(after.qpos[0], before.qpos[0], dt), 1e-9, 'forward_reward');
    assert.equal(result.terms.healthy_reward, healthy ? 1 : 0);
    assertClose(result.terms.ctrl_cost, -1e-3 * sumSq(after.ctrl), 1e-12, 'ctrl_cost');
    assert.equal(result.terminated, !healthy);
  });
  assert.ok(terminations > 0, 'a random hopper falls within 300 ticks');
});

test('Walker2d-v5: health is 0.8 < z < 2 and |angle| < 1', async () => {
  const env = await make('Walker2d-v5');
  assert.equal(env.observationSize, 17);
  const { terminations } = await runChecked(env, 400, ({ before, after, result, dt }) => {
    assertVectorClose(result.observation, [...after.qpos.slice(1), ...Array.from(after.qvel, (x) => clip(x, -10, 10))], 1e-6, 'obs');
    const healthy = after.qpos[1] > 0.8 && after.qpos[1] < 2 && Math.abs(after.qpos[2]) < 1;
    assertClose(result.terms.forward_reward, vel(after.qpos[0], before.qpos[0], dt), 1e-9, 'forward_reward');
    assert.equal(result.terms.healthy_reward, healthy ? 1 : 0);
    assertClose(result.terms.ctrl_cost, -1e-3 * sumSq(after.ctrl), 1e-12, 'ctrl_cost');
    assert.equal(result.terminated, !healthy);
  });
  assert.ok(terminations > 0, 'a random walker falls within 400 ticks');
});

test('Ant-v5: obs with clipped contact forces, contact cost over all bodies, torso velocity', async () => {
  const env = await make('Ant-v5');
  assert.equal(env.observationSize, 105);
  let sawContact = false;
  await runChecked(env, 150, ({ before, after, result, dt }) => {
    const cfrc = after.cfrc_ext;
    assert.equal(cfrc.length, 14 * 6);
    if (cfrc.some((x) => x !== 0)) sawContact = true;
    const expectedObs = [...after.qpos.slice(2), ...after.qvel, ...Array.from(cfrc.slice(6), (x) => clip(x, -1, 1))];
    assertVectorClose(result.observation, expectedObs, 1e-6, 'obs');
    assertClose(result.terms.forward_reward, vel(after.xpos[3], before.xpos[3], dt), 1e-9, 'forward_reward');
    const healthy = [...after.qpos, ...after.qvel].every(Number.isFinite) && after.qpos[2] >= 0.2 && after.qpos[2] <= 1;
    assert.equal(result.terms.healthy_reward, healthy ? 1 : 0);
    assertClose(result.terms.ctrl_cost, -0.5 * sumSq(after.ctrl), 1e-12, 'ctrl_cost');
    assertClose(result.terms.contact_cost, -5e-4 * sumSq(Array.from(cfrc, (x) => clip(x, -1, 1))), 1e-12, 'contact_cost');
    assert.equal(result.terminated, !healthy);
  });
  assert.ok(sawContact, 'cfrc_ext is filled (mj_rnePostConstraint runs) once the ant touches the floor');
});

test('InvertedPendulum-v5: reward 1 while |angle| <= 0.2, then terminated with 0', async () => {
  const env = await make('InvertedPendulum-v5');
  assert.equal(env.observationSize, 4);
  assert.deepEqual(Array.from(env.plant.command.low), [-3]);
  assert.deepEqual(Array.from(env.plant.command.high), [3]);
  const { terminations } = await runChecked(env, 200, ({ after, result }) => {
    assertVectorClose(result.observation, [...after.qpos, ...after.qvel], 1e-6, 'obs');
    const terminated = Math.abs(after.qpos[1]) > 0.2;
    assert.equal(result.terminated, terminated);
    assert.equal(result.reward, terminated ? 0 : 1);
  });
  assert.ok(terminations > 0, 'random pushes topple the pole');
});

test('InvertedDoublePendulum-v5: sin/cos obs, constraint force, tip distance and velocity penalties', async () => {
  const env = await make('InvertedDoublePendulum-v5');
  assert.equal(env.observationSize, 9);
  const { terminations } = await runChecked(env, 200, ({ after, result }) => {
    const q = after.qpos;
    const v = after.qvel;
    const expected = [q[0], Math.sin(q[1]), Math.sin(q[2]), Math.cos(q[1]), Math.cos(q[2]), ...Array.from(v, (x) => clip(x, -10, 10)), clip(after.qfrc_constraint[0], -10, 10)];
    assertVectorClose(result.observation, expected, 1e-6, 'obs');
    const [x, , y] = after.site_xpos;
    assert.equal(result.terminated, y <= 1);
    assert.equal(result.terms.alive_bonus, y <= 1 ? 0 : 10);
    assertClose(result.terms.distance_penalty, -(0.01 * x * x + (y - 2) ** 2), 1e-12, 'distance_penalty');
    assertClose(result.terms.velocity_penalty, -(1e-3 * v[1] ** 2 + 5e-3 * v[2] ** 2), 1e-12, 'velocity_penalty');
  });
  assert.ok(terminations > 0);
});

test('time limit truncates without terminating; reset noise stays within U(0.1)', async () => {
  const env = await make('HalfCheetah-v5', { maxEpisodeSteps: 5 });
  const rng = new Rng(3);
  for (let episode = 0; episode < 3; episode++) {
    await env.reset();
    const qpos = env.plant.read().get('qpos')!;
    assert.ok(qpos.every((x) => Math.abs(x) <= 0.1), 'qpos0 is all zeros for the cheetah, noise is U(0.1)');
    assert.ok(qpos.some((x) => x !== 0), 'noise was applied');
    for (let i = 1; i <= 5; i++) {
      const { result } = await stepWithSnapshots(env, rng);
      assert.equal(result.terminated, false);
      assert.equal(result.truncated, i === 5);
    }
  }
});
