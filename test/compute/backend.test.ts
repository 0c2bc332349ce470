/**
 * Backend selection: `auto` without tfjs-node(-gpu) (not installable here) lands on wasm with a
 * GEMM provider and one log line that says why; explicit `tensorflow` fails clearly; the
 * selection is made once per process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initCompute, resetComputeForTests } from '../../src/compute/backend.js';
import { DEFAULT_ADDON_PATH } from '../../src/compute/gemmProviders.js';

const nativeAvailable = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].some((name) => {
  try {
    import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
});
const noNative = nativeAvailable ? 'a TensorFlow binding is installed on this machine' : false;

test('explicit tensorflow without the bindings is an error naming both packages', { skip: noNative }, async () => {
  await assert.rejects(initCompute('tensorflow'), /compute\.backend=tensorflow but no TensorFlow binding loads: @tensorflow\/tfjs-node-gpu not installed; @tensorflow\/tfjs-node not installed/);
});

test('auto with the addon missing: wasm with the WebAssembly GEMM, and the line says why', { skip: noNative }, async () => {
  resetComputeForTests();
  const info = await initCompute('auto', { addonPath: '/nonexistent/sacbridge_sgemm.node' });
  assert.equal(info.backend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(info.gemm, 'wasm-simd');
  assert.match(info.reason, /^compute: tfjs wasm backend, GEMM wasm-simd: /);
  assert.match(info.reason, /skipped openblas: native addon not built/);
  assert.match(info.reason, /@tensorflow\/tfjs-node-gpu not installed; @tensorflow\/tfjs-node not installed/);
  // Once per process: a second call returns the same selection.
  assert.equal(await initCompute('cpu'), info);
});

test('auto with the addon built picks OpenBLAS', { skip: noNative || (existsSync(DEFAULT_ADDON_PATH()) ? false : 'native addon not built') }, async () => {
  resetComputeForTests();
  const info = await initCompute('auto');
  assert.equal(info.gemm, 'openblas');
  assert.match(info.reason, /GEMM openblas: OpenBLAS .*threads=1/);
  // The compute line names the kernel chosen by measurement (kernelChoice.ts) and the timings.
  assert.match(info.reason, /kernel (OpenBLAS \S+|wasm-simd) chosen by measurement (now|on \d{4}-\d\d-\d\d) \(update GEMMs: .*wasm-simd [\d.]+/);
  const y = tf.tidy(() => tf.matMul(tf.ones([3, 17]), tf.ones([5, 17]), false, true).dataSync());
  assert.deepEqual(Array.from(y), new Array(15).fill(17));
});

test('cpu is selectable explicitly', async () => {
  resetComputeForTests();
  const info = await initCompute('cpu');
  assert.equal(info.backend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.match(info.reason, /compute\.backend=cpu/);
});
