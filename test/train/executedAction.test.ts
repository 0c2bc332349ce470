/**
 * The sim trainer learns from the action the plant was given: when the command filter (the
 * SafetyLayer) clamps or rate-limits the policy's command, the replay stores the executed
 * command mapped back to [-1, 1], as the robot session does; when nothing is changed, the
 * policy's action exactly. Real Env on the built-in pendulum (MuJoCo, command range [-2, 2]).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCompute } from '../../src/compute/backend.js';
import { executedAction, scaleAction, unscaleCommand, type Env } from '../../src/env/env.js';
import { SafetyLayer } from '../../src/safety/safetyLayer.js';
import { createEnv } from '../../src/wiring/envFactory.js';
import { Trainer } from '../../src/train/trainer.js';

await initCompute();

/** Record, per step, the action handed to the env and the command the plant received. */
function record(env: Env): { actions: number[][]; commands: number[][] } {
  const seen = { actions: [] as number[][], commands: [] as number[][] };
  const write = env.plant.write.bind(env.plant);
  env.plant.write = (command: Float64Array) => {
    seen.commands.push([...command]);
    write(command);
  };
  const step = env.step.bind(env);
  env.step = (action: Float32Array) => {
    seen.actions.push([...action]);
    return step(action);
  };
  return seen;
}

const backToAction = (command: number[]): number[] => {
  const out = new Float32Array(command.length);
  unscaleCommand(Float64Array.from(command), Float64Array.of(-2), Float64Array.of(2), out);
  return [...out];
};

test('Env.executedAction: the filtered command in action units where the safety layer changed it, else the action', async () => {
  // Limits [-1, 1] N·m inside the actuator's [-2, 2], at most 0.1 N·m change per tick.
  const env = await createEnv('pendulum', { seed: 1, filterFor: () => new SafetyLayer({ low: [-1], high: [1], maxDelta: 0.1, initialCommand: [0] }) });
  const seen = record(env);
  await env.reset();
  const steps: [number, number][] = [];
  for (const a of [0.04, 1, 1, -0.1, -0.1, -0.1, -0.1, -0.1]) {
    await env.step(Float32Array.of(a));
    steps.push([a, env.executedAction[0]!]);
  }
  // 0.04 (0.08 N·m) passes untouched: the action itself, bit for bit.
  assert.equal(steps[0]![1], Math.fround(0.04));
  // Asked 2 N·m: clamped to 1 and rate-limited to 0.08 + 0.1 = 0.18 N·m, i.e. 0.09; then 0.28 N·m.
  for (let i = 0; i < steps.length; i++) {
    assert.deepEqual([steps[i]![1]], backToAction(seen.commands[i]!), `step ${i}: executed action is the command the plant got`);
  }
  assert.ok(Math.abs(steps[1]![1] - 0.09) < 1e-6, `step 1: ${steps[1]![1]}`);
  assert.ok(Math.abs(steps[2]![1] - 0.14) < 1e-6, `step 2: ${steps[2]![1]}`);
  // Down towards -0.2 N·m (-0.1) from 0.28 N·m: 0.18, 0.08, -0.02, -0.12, then reached and untouched.
  assert.deepEqual(steps.slice(3, 7).map(([, e]) => Number(e.toFixed(6))), [0.09, 0.04, -0.01, -0.06]);
  assert.equal(steps[7]![1], Math.fround(-0.1));
  await env.plant.close();
});

test('executedAction keeps each untouched component exactly and maps changed ones back', () => {
  const low = Float64Array.of(-2, 0, 5), high = Float64Array.of(2, 10, 5);
  const action = Float32Array.of(0.3, 1.7, 0.5);
  const requested = new Float64Array(3), command = new Float64Array(3), out = new Float32Array(3);
  scaleAction(action, low, high, requested);
  command.set(requested);
  command[1] = 7.5; // the filter changed only this one
  executedAction(action, requested, command, low, high, out);
  assert.deepEqual([...out], [Math.fround(0.3), 0.5, 0.5]);
  // An action beyond the range is executed clipped (scaleAction clips it).
  command[1] = requested[1]!;
  executedAction(action, requested, command, low, high, out);
  assert.equal(out[1], 1);
});

test('the trainer stores the executed action, not the policy output, when the safety layer rate-limits', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'sacbridge-executed-'));
  let seen: { actions: number[][]; commands: number[][] } | null = null;
  const trainer = await Trainer.create({
    task: 'pendulum', seed: 4, runDir,
    makeEnv: async (seed) => {
      const env = await createEnv('pendulum', { seed, filterFor: () => new SafetyLayer({ low: [-2], high: [2], maxDelta: 0.05 }) });
      seen ??= record(env); // the first env is the training env
      return env;
    },
    // Random actions for 60 steps, then the policy with updates: both kinds are stored.
    hyperparameters: { hidden: [16, 16], batchSize: 16, learningStarts: 60, bufferSize: 1000 },
    evalEvery: 0, checkpointEvery: 0, metricsEvery: 1000, warn: () => undefined,
  });
  try {
    await trainer.run(120);
    const s = seen!;
    assert.equal(trainer.replay.size, 120);
    let differ = 0;
    for (let i = 0; i < 120; i++) {
      const stored = trainer.replay.row(i).action[0]!;
      assert.deepEqual([stored], backToAction(s.commands[i]!), `transition ${i}: the executed command`);
      if (Math.abs(stored - s.actions[i]![0]!) > 1e-3) differ++;
    }
    // Uniform random actions against a 0.05 N·m (1.25% of the range) rate limit: nearly all differ.
    assert.ok(differ > 100, `only ${differ} of 120 stored actions differ from the policy's`);
  } finally {
    await trainer.close();
    rmSync(runDir, { recursive: true });
  }
});
