/**
 * The dense building block: values and gradients equal a plain tfjs-op dense layer on cpu, for
 * every GEMM provider, and its forward is a single kernel when our kernels are installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initCompute } from '../../src/compute/backend.js';
import { dense, type DenseActivation, type DenseGrads } from '../../src/compute/dense.js';
import { installGemm, type GemmProviderName } from '../../src/compute/gemmKernels.js';
import { loadOpenBlas } from '../../src/compute/gemmProviders.js';
import { Rng } from '../../src/util/rng.js';
import { registerTestGradients } from './grads.js';

registerTestGradients();

const rng = new Rng(9);
const rand = (n: number, scale = 1): Float32Array => new Float32Array(n).map(() => rng.normal() * scale);
const x = rand(256 * 23);
const w1 = rand(23 * 64, 0.3);
const b1 = rand(64, 0.1);
const w2 = rand(64 * 3, 0.2);
const b2 = rand(3, 0.1);

/** Loss and gradients of a 2-layer net through `layer`. */
function lossAndGrads(layer: (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, a: DenseActivation) => tf.Tensor2D): Float32Array[] {
  return tf.tidy(() => {
    const params = [tf.tensor2d(w1, [23, 64]), tf.tensor1d(b1), tf.tensor2d(w2, [64, 3]), tf.tensor1d(b2)];
    const input = tf.tensor2d(x, [256, 23]);
    const f = (...p: tf.Tensor[]): tf.Scalar => {
      const h = layer(input, p[0] as tf.Tensor2D, p[1] as tf.Tensor1D, 'relu');
      return tf.mean(tf.square(layer(h, p[2] as tf.Tensor2D, p[3] as tf.Tensor1D, 'linear')));
    };
    const grads = tf.grads(f)(params);
    return [f(...params), ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

const plain = (xx: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, a: DenseActivation): tf.Tensor2D => {
  const z = tf.add(tf.matMul(xx, w), b) as tf.Tensor2D;
  return a === 'relu' ? tf.relu(z) : z;
};

function close(actual: Float32Array[], expected: Float32Array[], what: string): void {
  expected.forEach((e, i) => {
    let err = 0;
    let scale = 0;
    for (let j = 0; j < e.length; j++) {
      err = Math.max(err, Math.abs(actual[i]![j]! - e[j]!));
      scale = Math.max(scale, Math.abs(e[j]!));
    }
    assert.ok(err <= 1e-4 * scale, `${what}: output ${i} relative error ${err / scale}`);
  });
}

test('dense equals a plain tfjs dense layer (values and gradients) on cpu and every wasm provider', async () => {
  await tf.setBackend('cpu');
  const expected = lossAndGrads(plain);
  close(lossAndGrads(dense), expected, 'cpu');
  await initCompute('wasm');
  const providers: GemmProviderName[] = ['wasm-simd', 'wasm-simd-copy', 'transpose', 'tfjs'];
  if (loadOpenBlas().ok) providers.unshift('openblas');
  else console.log('# openblas skipped: native addon not built');
  for (const p of providers) {
    installGemm(p);
    close(lossAndGrads(dense), expected, p);
  }
});

test('with our GEMM kernels the forward pass is one kernel and the backward uses no Transpose', async () => {
  installGemm('wasm-simd');
  const info = await tf.profile(() => {
    tf.tidy(() => {
      const w = tf.variable(tf.tensor2d(w1, [23, 64]));
      const b = tf.variable(tf.tensor1d(b1));
      const input = tf.tensor2d(x, [256, 23]);
      const { grads } = tf.variableGrads(() => tf.sum(dense(input, w, b, 'relu')) as tf.Scalar, [w, b]);
      Object.values(grads).forEach((g) => g.dataSync());
      w.dispose();
      b.dispose();
    });
  });
  const names = info.kernels.map((k) => k.name);
  assert.equal(names.filter((n) => n === '_FusedMatMul').length, 1, names.join(','));
  assert.equal(names.filter((n) => n === 'BatchMatMul').length, 2, names.join(','));
  assert.equal(names.filter((n) => n === 'Transpose').length, 0, names.join(','));
  const fwd = await tf.profile(() => {
    tf.tidy(() => {
      dense(tf.tensor2d(x, [256, 23]), tf.tensor2d(w1, [23, 64]), tf.tensor1d(b1), 'relu').dataSync();
    });
  });
  // The layer itself is one kernel, with no Reshape; tf.profile also lists customGrad's scopes
  // ('forward', 'unnamed scope') and Identity bookkeeping, which are not compute kernels.
  const fwdNames = fwd.kernels.map((k) => k.name).filter((n) => n !== 'Identity' && tf.getKernel(n, 'wasm') !== undefined);
  assert.deepEqual(fwdNames, ['_FusedMatMul']);
});

test("grads 'weights' and 'input' give exactly the gradients of 'all' for their tensors, with one GEMM fewer each", async () => {
  installGemm('wasm-simd');
  /** Gradients of sum(dense(x, W, b)^2) with respect to the tensors `mode` differentiates. */
  const run = (mode: DenseGrads): Map<string, Float32Array> => {
    const grads = new Map<string, Float32Array>();
    tf.tidy(() => {
      const input = tf.variable(tf.tensor2d(x, [256, 23]), true, `dense-x-${mode}`);
      const w = tf.variable(tf.tensor2d(w1, [23, 64]), true, `dense-w-${mode}`);
      const b = tf.variable(tf.tensor1d(b1), true, `dense-b-${mode}`);
      const wanted = mode === 'all' ? [input, w, b] : mode === 'weights' ? [w, b] : [input];
      const { grads: g } = tf.variableGrads(() => tf.sum(tf.square(dense(input, w, b, 'relu', mode))) as tf.Scalar, wanted);
      for (const v of wanted) grads.set(v.name.replace(`-${mode}`, ''), g[v.name]!.dataSync() as Float32Array);
      [input, w, b].forEach((v) => v.dispose());
    });
    return grads;
  };
  const all = run('all');
  for (const mode of ['weights', 'input'] as const) {
    const got = run(mode);
    assert.deepEqual([...got.keys()], mode === 'weights' ? ['dense-w', 'dense-b'] : ['dense-x']);
    for (const [name, g] of got) assert.deepEqual(g, all.get(name), `${mode}: ${name}`);
  }
  // Kernel counts: 'weights' skips dx = g W^T, 'input' skips dW = x^T g (and the bias sum).
  const count = async (mode: DenseGrads): Promise<number> => {
    const info = await tf.profile(() => {
      tf.tidy(() => {
        const input = tf.tensor2d(x, [256, 23]);
        const w = tf.variable(tf.tensor2d(w1, [23, 64]));
        const b = tf.variable(tf.tensor1d(b1));
        const f = (...p: tf.Tensor[]): tf.Scalar => {
          const args = mode === 'all' ? p : mode === 'weights' ? [input, ...p] : [p[0]!, w, b];
          return tf.sum(dense(args[0] as tf.Tensor2D, args[1] as tf.Tensor2D, args[2] as tf.Tensor1D, 'relu', mode)) as tf.Scalar;
        };
        tf.grads(f)(mode === 'all' ? [input, w, b] : mode === 'weights' ? [w, b] : [input]).forEach((g) => g.dataSync());
        w.dispose();
        b.dispose();
      });
    });
    return info.kernels.filter((k) => k.name === 'BatchMatMul').length;
  };
  assert.deepEqual([await count('all'), await count('weights'), await count('input')], [2, 1, 1]);
});
