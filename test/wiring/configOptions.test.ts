import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../src/config/load.js';
import { createEnv } from '../../src/wiring/envFactory.js';
import { envInfo, envOptionsFromInfo, fineTuneSettings, sacHyperparameters, safetyOptions } from '../../src/wiring/configOptions.js';

test('configOptions: rl.* and the robot phase keys map onto their options, named once', () => {
  const d = defaultConfig();
  const c = { ...d, rl: { ...d.rl, lr: 0.001, alphaLearn: false, targetEntropy: 'auto' as const }, switch: { ...d.switch, simReplayRatio: 0.25 } };
  const hp = sacHyperparameters(c.rl);
  assert.equal(hp.learningRate, 0.001);
  assert.equal(hp.autoAlpha, false);
  assert.equal(hp.targetEntropy, null);
  const ft = fineTuneSettings(c);
  assert.equal(ft.robotFraction, 0.75);
  assert.equal(ft.learningStarts, c.rl.batchSize);
  assert.equal(ft.rateHz, c.ros.controlRateHz);
  const command = { size: 1, low: Float64Array.of(-2), high: Float64Array.of(2) };
  assert.deepEqual(safetyOptions({ ...c.safety, maxDeltaPerTick: 0.5 }, command).maxDelta, [1]);
  assert.throws(() => safetyOptions({ ...c.safety, commandMax: [1, 2] }, command), /safety.commandMax has 2 elements, the plant has 1 actuators/);
});

test('configOptions: the limits a checkpoint records bound the env eval rebuilds from it', async () => {
  const trained = { ...defaultConfig().safety, commandMin: [-0.5], commandMax: [0.5] };
  const info = JSON.parse(JSON.stringify(envInfo('pendulum', {}, trained)));
  const env = await createEnv('pendulum', { seed: 3, ...envOptionsFromInfo(info, defaultConfig().safety) });
  const wide = await createEnv('pendulum', { seed: 3, ...envOptionsFromInfo({ task: 'pendulum' }, defaultConfig().safety) });
  try {
    await env.reset();
    await env.step(Float32Array.of(1));
    // pendulum's ctrlrange is [-2, 2]: command 0.5 is action 0.25.
    assert.equal(env.command[0], 0.5);
    assert.ok(Math.abs(env.executedAction[0]! - 0.25) < 1e-6, `executed ${env.executedAction[0]}`);
    await wide.reset();
    await wide.step(Float32Array.of(1));
    assert.equal(wide.command[0], wide.plant.command.high[0], 'an old checkpoint without limits: the plant range');
    const override = { ...defaultConfig().safety, commandMin: [-0.1], commandMax: [0.1] };
    const o = envOptionsFromInfo(info, defaultConfig().safety, override);
    const f = o.filterFor!(env.plant.command);
    const cmd = Float64Array.of(2);
    f.filter(cmd, env.plant.read());
    assert.equal(cmd[0], 0.1, "eval --config replaces the recorded limits");
  } finally {
    await env.plant.close();
    await wide.plant.close();
  }
});
