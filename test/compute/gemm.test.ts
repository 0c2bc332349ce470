/**
 * Every GEMM provider against tfjs's `cpu` backend: plain and fused matmuls over edge sizes,
 * transposes and batches, and the gradients of a small MLP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { installGemm, type GemmProviderName } from '../../src/compute/gemmKernels.js';
import { DEFAULT_ADDON_PATH } from '../../src/compute/gemmProviders.js';
import { Rng } from '../../src/util/rng.js';
import { registerTestGradients } from './grads.js';

registerTestGradients();

interface Case {
  label: string;
  aShape: number[];
  bShape: number[];
  transA: boolean;
  transB: boolean;
  /** Fused cases: bias shape and activation. */
  bias?: number[];
  activation?: 'linear' | 'relu';
  /** Stock tfjs-wasm gets this wrong or refuses it (K = 0 reads uninitialised memory; batch
   * broadcast across two dimensions yields only max(batchA, batchB) items; a rank-2 fused bias
   * throws), so the providers that hand the
   * multiplication to the stock kernel (transpose, tfjs) are not held to it. */
  stockWrong?: true;
}

/** ≥ 40 shapes: edge sizes in every position, all four transpose combinations, batches and broadcasts. */
function cases(): Case[] {
  const edge = [1, 3, 17, 255, 256, 257];
  const out: Case[] = [];
  const triples: [number, number, number][] = [];
  // Each edge size appears as M, K and N; the rest cycle through the list.
  for (let i = 0; i < edge.length; i++) triples.push([edge[i]!, edge[(i + 2) % 6]!, edge[(i + 4) % 6]!]);
  triples.push([256, 17, 256], [256, 256, 256], [256, 256, 1], [256, 23, 256], [1, 256, 12], [256, 1, 256], [4, 5, 6]);
  for (const [m, k, n] of triples) {
    for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      out.push({ label: `${m}x${k}x${n} tA=${transA} tB=${transB}`, aShape: transA ? [k, m] : [m, k], bShape: transB ? [n, k] : [k, n], transA, transB });
    }
  }
  out.push(
    { label: 'batched 3x[17x255x3]', aShape: [3, 17, 255], bShape: [3, 255, 3], transA: false, transB: false },
    { label: 'batched tA tB 2x[257x3x17]', aShape: [2, 3, 257], bShape: [2, 17, 3], transA: true, transB: true },
    { label: 'broadcast A over batch', aShape: [1, 17, 33], bShape: [4, 33, 9], transA: false, transB: false },
    { label: 'broadcast B over batch, tB', aShape: [4, 9, 33], bShape: [17, 33], transA: false, transB: true },
    { label: 'broadcast two batch dims [3,1]x[1,4]', aShape: [3, 1, 5, 7], bShape: [1, 4, 7, 6], transA: false, transB: false, stockWrong: true },
    { label: 'empty K', aShape: [5, 0], bShape: [0, 4], transA: false, transB: false, stockWrong: true },
    { label: 'fused bias+relu 256x17x256', aShape: [256, 17], bShape: [17, 256], transA: false, transB: false, bias: [256], activation: 'relu' },
    { label: 'fused bias+relu tB 255x256x257', aShape: [255, 256], bShape: [257, 256], transA: false, transB: true, bias: [257], activation: 'relu' },
    { label: 'fused bias linear tA 3x257x1', aShape: [257, 3], bShape: [257, 1], transA: true, transB: false, bias: [1], activation: 'linear' },
    { label: 'fused full-matrix bias relu', aShape: [17, 3], bShape: [3, 255], transA: false, transB: false, bias: [17, 255], activation: 'relu', stockWrong: true },
    { label: 'fused scalar bias batched relu', aShape: [2, 3, 4], bShape: [2, 4, 5], transA: false, transB: false, bias: [1], activation: 'relu' },
  );
  return out;
}

interface Data {
  c: Case;
  a: Float32Array;
  b: Float32Array;
  bias: Float32Array | null;
  expected: Float32Array;
}

function run(d: Data): Float32Array {
  return tf.tidy(() => {
    const a = tf.tensor(d.a, d.c.aShape);
    const b = tf.tensor(d.b, d.c.bShape);
    if (d.c.bias !== undefined) {
      const bias = tf.tensor(d.bias as Float32Array, d.c.bias);
      return tf.fused.matMul({ a, b, transposeA: d.c.transA, transposeB: d.c.transB, bias, activation: d.c.activation ?? 'linear' }).dataSync() as Float32Array;
    }
    return tf.matMul(a, b, d.c.transA, d.c.transB).dataSync() as Float32Array;
  });
}

/**
 * The cpu result, with batch dimensions broadcast explicitly first: tfjs's own kernels handle only
 * a batch that is the same on both sides or 1 on one side.
 */
function reference(d: Data): Float32Array {
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(d.c.aShape.slice(0, -2), d.c.bShape.slice(0, -2));
  if (outer.length === 0) return run(d);
  const full = (a: Float32Array, shape: number[]): Float32Array =>
    tf.tidy(() => tf.broadcastTo(tf.tensor(a, shape), [...outer, ...shape.slice(-2)]).dataSync() as Float32Array);
  const c = { ...d.c, aShape: [...outer, ...d.c.aShape.slice(-2)], bShape: [...outer, ...d.c.bShape.slice(-2)] };
  return run({ ...d, c, a: full(d.a, d.c.aShape), b: full(d.b, d.c.bShape) });
}

function randomArray(rng: Rng, shape: number[]): Float32Array {
  const out = new Float32Array(shape.reduce((x, y) => x * y, 1));
  rng.fillNormal(out);
  return out;
}

/** Largest error relative to the largest expected magnitude (elementwise relative error is
 * meaningless where sums cancel to ~0). */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    err = Math.max(err, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return err / Math.max(scale, 1e-30);
}

const rng = new Rng(7);
let data: Data[] = [];
const addonBuilt = existsSync(DEFAULT_ADDON_PATH());
const providers: { name: GemmProviderName; skip: string | false }[] = [
  { name: 'openblas', skip: addonBuilt ? false : `native addon not built (${DEFAULT_ADDON_PATH()}): install libopenblas-dev and a C compiler, then run node scripts/build-native.mjs` },
  { name: 'wasm-simd', skip: false },
  { name: 'wasm-simd-copy', skip: false },
  { name: 'transpose', skip: false },
];

test('reference results on the tfjs cpu backend', async () => {
  await tf.setBackend('cpu');
  data = cases().map((c) => {
    const a = randomArray(rng, c.aShape);
    const b = randomArray(rng, c.bShape);
    const bias = c.bias === undefined ? null : randomArray(rng, c.bias);
    const d: Data = { c, a, b, bias, expected: new Float32Array(0) };
    d.expected = reference(d);
    return d;
  });
  assert.ok(data.length >= 40, `${data.length} cases`);
  if (!addonBuilt) console.log(`# openblas provider tests skipped: ${providers[0]!.skip}`);
  assert.ok(await tf.setBackend('wasm'));
});

for (const { name, skip } of providers) {
  test(`GEMM provider ${name} equals tfjs cpu within 1e-4 relative`, { skip }, () => {
    assert.equal(tf.getBackend(), 'wasm');
    const info = installGemm(name);
    assert.equal(info.provider, name);
    for (const d of data) {
      if (d.c.stockWrong && (name === 'transpose' || name === 'tfjs')) continue;
      const actual = run(d);
      const err = relativeError(actual, d.expected);
      assert.ok(err <= 1e-4, `${name} ${d.c.label}: relative error ${err}`);
    }
  });
}

test('the stock kernels can be restored (provider tfjs) and agree too', () => {
  installGemm('tfjs');
  for (const d of data.filter((x) => !x.c.stockWrong && x.c.aShape.length === 2 && x.c.aShape.every((s) => s <= 17))) {
    assert.ok(relativeError(run(d), d.expected) <= 1e-4, d.c.label);
  }
});

test('outputs are fresh tensors: inputs are never written (XNNPACK caches weights by tensor id)', () => {
  for (const { name, skip } of providers) {
    if (skip !== false) continue;
    installGemm(name);
    tf.tidy(() => {
      const a = tf.tensor(data[0]!.a, data[0]!.c.aShape);
      const b = tf.tensor(data[0]!.b, data[0]!.c.bShape);
      tf.matMul(a, b, data[0]!.c.transA, data[0]!.c.transB).dataSync();
      tf.matMul(b, a, !data[0]!.c.transB, !data[0]!.c.transA).dataSync();
      assert.deepEqual(a.dataSync(), data[0]!.a, name);
      assert.deepEqual(b.dataSync(), data[0]!.b, name);
    });
  }
});

/** Loss and gradients of a 2-layer MLP (fused first layer, plain second) with tf.grads. */
function mlpGrads(x: tf.Tensor2D, y: tf.Tensor2D, params: tf.Tensor[]): Float32Array[] {
  return tf.tidy(() => {
    const f = (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor): tf.Scalar => {
      const h = tf.fused.matMul({ a: x, b: w1 as tf.Tensor2D, bias: b1, activation: 'relu' });
      const out = tf.add(tf.matMul(h, w2 as tf.Tensor2D), b2);
      return tf.mean(tf.square(tf.sub(out, y)));
    };
    const grads = tf.grads((w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor) => f(w1, b1, w2, b2));
    const loss = f(params[0]!, params[1]!, params[2]!, params[3]!);
    return [loss, ...grads(params)].map((t) => t.dataSync() as Float32Array);
  });
}

test('gradients of a 2-layer MLP are equal across providers and cpu', async () => {
  const shapes = [[17, 64], [64], [64, 6], [6]];
  const xs = randomArray(rng, [256, 17]);
  const ys = randomArray(rng, [256, 6]);
  const ps = shapes.map((s) => randomArray(rng, s));
  const compute = (): Float32Array[] => {
    const x = tf.tensor2d(xs, [256, 17]);
    const y = tf.tensor2d(ys, [256, 6]);
    const params = ps.map((p, i) => tf.tensor(p, shapes[i]));
    try {
      return mlpGrads(x, y, params);
    } finally {
      tf.dispose([x, y, ...params]);
    }
  };
  await tf.setBackend('cpu');
  const expected = compute();
  await tf.setBackend('wasm');
  for (const { name, skip } of providers) {
    if (skip !== false) continue;
    installGemm(name);
    const actual = compute();
    expected.forEach((e, i) => {
      const err = relativeError(actual[i]!, e);
      assert.ok(err <= 1e-4, `${name}: ${i === 0 ? 'loss' : `gradient ${i - 1}`} relative error ${err}`);
    });
  }
});

test('auto falls back to wasm-simd when the native addon is missing, and says so', () => {
  const info = installGemm('auto', { addonPath: '/nonexistent/sacbridge_sgemm.node' });
  assert.equal(info.provider, 'wasm-simd');
  assert.match(info.reason, /skipped openblas: native addon not built \(\/nonexistent\/sacbridge_sgemm\.node missing/);
  // The fallback computes correctly.
  for (const d of data.slice(0, 8)) assert.ok(relativeError(run(d), d.expected) <= 1e-4, d.c.label);
});

test('asking explicitly for a missing provider is an error naming why', () => {
  assert.throws(() => installGemm('openblas', { addonPath: '/nonexistent/addon.node' }), /GEMM provider openblas is not available: openblas: native addon not built/);
});

test('auto picks openblas when the addon is built', { skip: providers[0]!.skip }, () => {
  const info = installGemm('auto');
  assert.equal(info.provider, 'openblas');
  assert.match(info.reason, /^GEMM openblas: OpenBLAS/);
});

test('Sum over leading axes (bias gradients) equals tfjs cpu for every provider; other sums still work', async () => {
  const specs: { shape: number[]; axis: number | number[]; keepDims: boolean }[] = [
    { shape: [256, 256], axis: 0, keepDims: false },
    { shape: [1, 256, 257], axis: [0, 1], keepDims: false },
    { shape: [3, 17, 6], axis: [1, 0], keepDims: true },
    { shape: [255, 1], axis: -2, keepDims: false },
    { shape: [17, 5], axis: 1, keepDims: false },
    { shape: [4, 5, 6], axis: [0, 2], keepDims: true },
    { shape: [7], axis: 0, keepDims: false },
  ];
  const inputs = specs.map((s) => randomArray(rng, s.shape));
  const sums = (): { values: Float32Array; shape: number[] }[] =>
    specs.map((s, i) =>
      tf.tidy(() => {
        const y = tf.sum(tf.tensor(inputs[i]!, s.shape), s.axis, s.keepDims);
        return { values: y.dataSync() as Float32Array, shape: y.shape };
      }),
    );
  await tf.setBackend('cpu');
  const expected = sums();
  await tf.setBackend('wasm');
  for (const { name, skip } of providers) {
    if (skip !== false) continue;
    installGemm(name);
    sums().forEach((actual, i) => {
      assert.deepEqual(actual.shape, expected[i]!.shape, `${name} sum ${i} shape`);
      assert.ok(relativeError(actual.values, expected[i]!.values) <= 1e-5, `${name} sum ${i}`);
    });
  }
});

test('providers keep working after tfjs-wasm memory grows (views and buffers are taken per call)', () => {
  const d = data.find((x) => x.c.label.startsWith('256x17x256') && x.c.transA && x.c.transB)!;
  for (const { name, skip } of providers) {
    if (skip !== false) continue;
    installGemm(name);
    const before = run(d);
    // ~96 MB more than any test so far: the wasm memory must grow to hold it.
    const big = tf.zeros([24 * 1024 * 1024]);
    try {
      assert.deepEqual(run(d), before, name);
      assert.ok(relativeError(run(d), d.expected) <= 1e-4, name);
    } finally {
      big.dispose();
    }
  }
});

test('OpenBLAS thread count is set as asked and stays correct', { skip: providers[0]!.skip }, () => {
  const two = installGemm('openblas', { blasThreads: 2 });
  assert.match(two.reason, /threads=2/);
  for (const d of data.slice(0, 12)) assert.ok(relativeError(run(d), d.expected) <= 1e-4, d.c.label);
  assert.match(installGemm('openblas').reason, /threads=1/);
});
