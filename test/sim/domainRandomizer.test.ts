import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Env } from '../../src/env/env.js';
import { DomainRandomizer } from '../../src/plant/mujoco/domainRandomizer.js';
import { MujocoPlant } from '../../src/plant/mujoco/mujocoPlant.js';
import { createEnv } from '../../src/wiring/envFactory.js';
import { Rng } from '../../src/util/rng.js';
import { gymnasiumModelDir } from './simFixtures.js';

const envs: Env[] = [];
after(async () => {
  for (const e of envs) await e.plant.close();
});

async function cheetah(randomizer?: DomainRandomizer): Promise<{ env: Env; plant: MujocoPlant }> {
  const env = await createEnv('HalfCheetah-v5', { seed: 21, gymnasiumModelDir: gymnasiumModelDir(), randomizer });
  envs.push(env);
  assert.ok(env.plant instanceof MujocoPlant);
  return { env, plant: env.plant };
}

function ratios(live: Float64Array, nominal: Float64Array, stride = 1, offset = 0): number[] {
  const out: number[] = [];
  for (let i = offset; i < nominal.length; i += stride) if (nominal[i] !== 0) out.push(live[i] / nominal[i]);
  return out;
}

test('masses, friction and gains are drawn within range of the nominal values, anew each episode', async () => {
  const randomizer = new DomainRandomizer({ mass: [0.8, 1.2], friction: [0.5, 1.5], actuatorGain: [0.9, 1.1] });
  const { env, plant } = await cheetah(randomizer);
  const seen: number[][] = [];
  for (let episode = 0; episode < 5; episode++) {
    await env.reset();
    const m = plant.model;
    const mass = ratios(m.body_mass as Float64Array, plant.nominal.bodyMass);
    const inertia = ratios(m.body_inertia as Float64Array, plant.nominal.bodyInertia);
    const friction = ratios(m.geom_friction as Float64Array, plant.nominal.geomFriction, 3);
    const gain = ratios(m.actuator_gainprm as Float64Array, plant.nominal.actuatorGainprm, 10);
    assert.equal(mass.length, 7, 'every body but the world');
    assert.ok(mass.every((r) => r >= 0.8 && r <= 1.2), `mass ratios ${mass}`);
    assert.ok(inertia.every((r) => r >= 0.8 && r <= 1.2));
    assert.ok(friction.every((r) => r >= 0.5 && r <= 1.5), `friction ratios ${friction}`);
    assert.equal(gain.length, 6);
    assert.ok(gain.every((r) => r >= 0.9 && r <= 1.1));
    // Torsional and rolling friction stay nominal.
    const f = m.geom_friction as Float64Array;
    for (let g = 0; g < f.length / 3; g++) assert.equal(f[3 * g + 1], plant.nominal.geomFriction[3 * g + 1]);
    seen.push(mass);
  }
  assert.notDeepEqual(seen[0], seen[1], 'new draws per episode');
  assert.ok(seen.flat().some((r) => Math.abs(r - 1) > 0.02), 'draws actually move the masses');
});

test('randomised masses change the dynamics', async () => {
  const heavy = await cheetah(new DomainRandomizer({ mass: [3, 3] }));
  const nominal = await cheetah();
  const finalX = async (env: Env): Promise<number> => {
    await env.reset();
    for (let i = 0; i < 30; i++) await env.step(Float32Array.of(1, -1, 1, -1, 1, -1));
    return env.plant.read().get('qvel')![0];
  };
  assert.notEqual(await finalX(heavy.env), await finalX(nominal.env));
  assert.ok(Math.abs((heavy.plant.model.body_mass as Float64Array)[1] / heavy.plant.nominal.bodyMass[1] - 3) < 1e-12);
});

test('a nominal randomiser restores the nominal model after a randomised episode', async () => {
  const { plant } = await cheetah();
  const rng = new Rng(5);
  new DomainRandomizer({ mass: [0.5, 2], friction: [0.5, 2], actuatorGain: [0.5, 2] }).apply(plant, rng);
  assert.notDeepEqual(Array.from(plant.model.body_mass as Float64Array), Array.from(plant.nominal.bodyMass));
  new DomainRandomizer({}).apply(plant, rng);
  assert.deepEqual(Array.from(plant.model.body_mass as Float64Array), Array.from(plant.nominal.bodyMass));
  assert.deepEqual(Array.from(plant.model.body_inertia as Float64Array), Array.from(plant.nominal.bodyInertia));
  assert.deepEqual(Array.from(plant.model.geom_friction as Float64Array), Array.from(plant.nominal.geomFriction));
  assert.deepEqual(Array.from(plant.model.actuator_gainprm as Float64Array), Array.from(plant.nominal.actuatorGainprm));
  assert.equal(plant.commandDelay, 0);
});

test('observation noise has the configured spread; latency is drawn in 0..k', async () => {
  const randomizer = new DomainRandomizer({ observationNoiseStd: 0.05, maxActionLatency: 3 });
  const rng = new Rng(8);
  const obs = new Float32Array(20000);
  randomizer.perturbObservation(obs, rng);
  const mean = obs.reduce((s, x) => s + x, 0) / obs.length;
  const std = Math.sqrt(obs.reduce((s, x) => s + (x - mean) ** 2, 0) / obs.length);
  assert.ok(Math.abs(mean) < 0.003 && Math.abs(std - 0.05) < 0.003, `mean ${mean} std ${std}`);

  const { env, plant } = await cheetah(randomizer);
  const delays = new Set<number>();
  for (let i = 0; i < 30; i++) {
    await env.reset();
    delays.add(plant.commandDelay);
  }
  assert.deepEqual([...delays].sort(), [0, 1, 2, 3]);
  // The env's observations carry the noise: they differ from the clean layout by a small amount.
  const noisy = await env.reset();
  const s = env.plant.read();
  const clean = [...s.get('qpos')!.slice(1), ...s.get('qvel')!];
  const diffs = clean.map((c, i) => noisy[i] - c);
  assert.ok(diffs.some((d) => d !== 0) && diffs.every((d) => Math.abs(d) < 0.5), `noise ${diffs}`);
});

test('invalid options name the field', () => {
  assert.throws(() => new DomainRandomizer({ mass: [1.2, 0.8] }), /mass must be a range/);
  assert.throws(() => new DomainRandomizer({ friction: [0, 1] }), /friction must be a range/);
  assert.throws(() => new DomainRandomizer({ observationNoiseStd: -1 }), /observationNoiseStd/);
  assert.throws(() => new DomainRandomizer({ maxActionLatency: 1.5 }), /maxActionLatency/);
});

test('refuses a non-MuJoCo plant', () => {
  const fake = { kind: 'ros' } as unknown as MujocoPlant;
  assert.throws(() => new DomainRandomizer({}).apply(fake, new Rng(1)), /needs a MuJoCo plant, got a 'ros' plant/);
});
