/**
 * The one-kernel Adam step equals the tfjs-op version bit for bit on wasm, and to rounding on cpu.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ADAM_KERNEL, adamStep, adamStepWithOps, type AdamCoefficients } from '../../src/compute/adam.js';
import { initCompute } from '../../src/compute/backend.js';
import { Rng } from '../../src/util/rng.js';

const shapes = [[17, 256], [256], [256, 256], [256, 6], [3], [1]];

interface State {
  p: tf.Variable[];
  m: tf.Variable[];
  v: tf.Variable[];
}

function makeState(seed: number): State {
  const rng = new Rng(seed);
  const make = (s: number[], scale: number, positive = false): tf.Variable => {
    const a = new Float32Array(s.reduce((x, y) => x * y, 1));
    for (let i = 0; i < a.length; i++) a[i] = positive ? Math.abs(rng.normal()) * scale : rng.normal() * scale;
    return tf.tidy(() => tf.variable(tf.tensor(a, s)));
  };
  return { p: shapes.map((s) => make(s, 0.1)), m: shapes.map((s) => make(s, 0.01)), v: shapes.map((s) => make(s, 1e-4, true)) };
}

function gradients(seed: number): tf.Tensor[] {
  const rng = new Rng(seed);
  return shapes.map((s) => tf.tensor(new Float32Array(s.reduce((x, y) => x * y, 1)).map(() => rng.normal()), s));
}

function coefficients(t: number): AdamCoefficients {
  const c1 = 1 - 0.9 ** t;
  const c2 = 1 - 0.999 ** t;
  return { beta1: 0.9, beta2: 0.999, stepSize: (3e-4 * Math.sqrt(c2)) / c1, epsHat: 1e-8 * Math.sqrt(c2) };
}

function run(step: typeof adamStep, steps: number): Float32Array[] {
  const s = makeState(1);
  for (let t = 1; t <= steps; t++) {
    const g = gradients(100 + t);
    step(s.p, g, s.m, s.v, coefficients(t));
    tf.dispose(g);
  }
  const out = [...s.p, ...s.m, ...s.v].map((x) => x.dataSync() as Float32Array);
  tf.dispose([...s.p, ...s.m, ...s.v]);
  return out;
}

test('on wasm the Adam kernel is registered and bit-identical to the op version', async () => {
  await initCompute('wasm');
  assert.ok(tf.getKernel(ADAM_KERNEL, 'wasm'));
  const before = tf.memory().numTensors;
  const fused = run(adamStep, 5);
  assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  const ops = run(adamStepWithOps, 5);
  fused.forEach((f, i) => assert.deepEqual(f, ops[i], `array ${i}`));
  // And the step really moved the parameters.
  const start = makeState(1);
  assert.notDeepEqual(fused[0], start.p[0]!.dataSync());
  tf.dispose([...start.p, ...start.m, ...start.v]);
});

test('one kernel dispatch for the whole variable list', async () => {
  const s = makeState(2);
  const g = gradients(3);
  const info = await tf.profile(() => adamStep(s.p, g, s.m, s.v, coefficients(1)));
  assert.deepEqual(info.kernels.map((k) => k.name), [ADAM_KERNEL]);
  tf.dispose([...s.p, ...s.m, ...s.v, ...g]);
});

test('on cpu adamStep runs the op version and agrees with wasm to float rounding', async () => {
  const wasm = run(adamStep, 3);
  await tf.setBackend('cpu');
  const cpu = run(adamStep, 3);
  await tf.setBackend('wasm');
  cpu.forEach((c, i) => {
    for (let j = 0; j < c.length; j++) assert.ok(Math.abs(c[j]! - wasm[i]![j]!) <= 1e-6 * Math.max(1, Math.abs(c[j]!)), `array ${i}[${j}]`);
  });
});

test('mismatched lists and shapes are rejected', () => {
  const s = makeState(4);
  const g = gradients(5);
  assert.throws(() => adamStep(s.p, g.slice(1), s.m, s.v, coefficients(1)), /6 params but 5 grads/);
  assert.throws(() => adamStep(s.p, [g[1]!, ...g.slice(1)], s.m, s.v, coefficients(1)), /gradient 0 has shape \[256\]/);
  tf.dispose([...s.p, ...s.m, ...s.v, ...g]);
});
