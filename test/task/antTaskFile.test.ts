import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Env } from '../../src/env/env.js';
import { packageRoot } from '../../src/util/packageRoot.js';
import { createEnv } from '../../src/wiring/envFactory.js';
import { Rng } from '../../src/util/rng.js';
import { gymnasiumModelDir } from '../sim/simFixtures.js';

// examples/ant-v5/ant-v5.json re-expresses the built-in Ant-v5 class as a task file: on the same
// model, seed and actions both envs must give the same observations, reward terms, terminations
// and resets, to 1e-9.

const envs: Env[] = [];
after(async () => {
  for (const e of envs) await e.plant.close();
});

test('Ant-v5 as a task file matches the built-in class to 1e-9 over 1500 random ticks with resets', async () => {
  const gym = gymnasiumModelDir();
  const byClass = await createEnv('Ant-v5', { seed: 5, gymnasiumModelDir: gym });
  const byFile = await createEnv(path.join(packageRoot(), 'examples/ant-v5/ant-v5.json'), { seed: 5, modelPath: path.join(gym, 'ant.xml') });
  envs.push(byClass, byFile);
  assert.equal(byFile.observationSize, byClass.observationSize);
  assert.equal(byFile.actionSize, byClass.actionSize);
  assert.equal(byFile.maxEpisodeSteps, byClass.maxEpisodeSteps);
  assert.equal(byFile.plant.controlPeriod, byClass.plant.controlPeriod);

  const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string): void => {
    assert.equal(a.length, b.length, what);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-9, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  };
  close(await byFile.reset(), await byClass.reset(), 'reset observation');
  const rng = new Rng(3);
  const action = new Float32Array(byClass.actionSize);
  let terminations = 0;
  let resets = 0;
  for (let t = 0; t < 1500; t++) {
    for (let j = 0; j < action.length; j++) action[j] = rng.range(-1, 1);
    const a = await byClass.step(action);
    const b = await byFile.step(action);
    close(b.observation, a.observation, `tick ${t} observation`);
    assert.ok(Math.abs(a.reward - b.reward) <= 1e-9, `tick ${t} reward ${b.reward} vs ${a.reward}`);
    assert.deepEqual(Object.keys(b.terms), Object.keys(a.terms));
    for (const k of Object.keys(a.terms)) assert.ok(Math.abs(a.terms[k] - b.terms[k]) <= 1e-9, `tick ${t} ${k}: ${b.terms[k]} vs ${a.terms[k]}`);
    assert.equal(b.terminated, a.terminated, `tick ${t} terminated`);
    assert.equal(b.truncated, a.truncated, `tick ${t} truncated`);
    if (a.terminated) terminations++;
    if (a.terminated || a.truncated || t % 400 === 399) {
      resets++;
      close(await byFile.reset(), await byClass.reset(), `reset ${resets} observation`);
    }
  }
  // Random actions tip the ant over now and then (14 times with these seeds): termination agrees too.
  assert.ok(terminations >= 3, `terminations: ${terminations}`);
});
