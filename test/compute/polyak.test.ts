/** The one-kernel Polyak update equals the op version bit for bit on wasm. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initCompute } from '../../src/compute/backend.js';
import { POLYAK_KERNEL, polyakUpdate, polyakUpdateWithOps } from '../../src/compute/polyak.js';
import { Rng } from '../../src/util/rng.js';

const shapes = [[23, 256], [256], [256, 256], [256, 1], [1], [7]];

function variables(seed: number): tf.Variable[] {
  const rng = new Rng(seed);
  return shapes.map((s) => tf.tidy(() => tf.variable(tf.tensor(new Float32Array(s.reduce((x, y) => x * y, 1)).map(() => rng.normal()), s))));
}

function run(update: typeof polyakUpdate): Float32Array[] {
  const targets = variables(1);
  const sources = variables(2);
  for (let k = 0; k < 4; k++) update(targets, sources, 0.005);
  const out = targets.map((t) => t.dataSync() as Float32Array);
  tf.dispose([...targets, ...sources]);
  return out;
}

test('Polyak kernel: one dispatch, bit-identical to the op version, nothing leaks', async () => {
  await initCompute('wasm');
  assert.ok(tf.getKernel(POLYAK_KERNEL, 'wasm'));
  const before = tf.memory().numTensors;
  const fused = run(polyakUpdate);
  assert.equal(tf.memory().numTensors, before);
  const ops = run(polyakUpdateWithOps);
  fused.forEach((f, i) => assert.deepEqual(f, ops[i], `variable ${i}`));
  const start = variables(1);
  assert.notDeepEqual(fused[2], start[2]!.dataSync());
  const sources = variables(2);
  const info = await tf.profile(() => polyakUpdate(start, sources, 0.5));
  assert.deepEqual(info.kernels.map((k) => k.name), [POLYAK_KERNEL]);
  assert.throws(() => polyakUpdate(start, sources.slice(1), 0.5), /6 targets but 5 sources/);
  tf.dispose([...start, ...sources]);
});
