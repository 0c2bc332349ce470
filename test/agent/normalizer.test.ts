import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObservationNormalizer } from '../../src/agent/normalizer.js';
import { Rng } from '../../src/util/rng.js';

test('running mean/variance equal the two-pass values, by single rows and by batches', () => {
  const rng = new Rng(1);
  const n = 300;
  const data = Float64Array.from({ length: n * 2 }, (_, i) => (i % 2 === 0 ? 5 + 2 * rng.normal() : -1 + 0.1 * rng.normal()));
  const single = new ObservationNormalizer(2);
  for (let i = 0; i < n; i++) single.update(data.subarray(2 * i, 2 * i + 2));
  const batched = new ObservationNormalizer(2);
  batched.update(data.subarray(0, 2 * 100), 100);
  batched.update(data.subarray(200, 2 * 250), 150);
  batched.update(data.subarray(500), 50);
  for (let j = 0; j < 2; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += data[2 * i + j] / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (data[2 * i + j] - mean) ** 2 / n;
    for (const norm of [single, batched]) {
      assert.ok(Math.abs(norm.snapshot().mean[j] - mean) < 1e-5);
      assert.ok(Math.abs(norm.variance(j) - v) < 1e-9 * (1 + v));
    }
  }
  const out = new Float32Array(2);
  single.normalize(Float64Array.of(5, -1), out);
  assert.ok(Math.abs(out[0]) < 0.2 && Math.abs(out[1]) < 0.2);
});

test('normalised values are clipped, and state round-trips', () => {
  const norm = new ObservationNormalizer(1, 3);
  norm.update(Float64Array.of(0, 1, 0, 1), 4);
  const out = new Float32Array(2);
  norm.normalize(Float64Array.of(100, -100), out, 2);
  assert.deepEqual(Array.from(out), [3, -3]);
  const copy = new ObservationNormalizer(1, 3);
  copy.importState(norm.exportState());
  assert.deepEqual(copy.snapshot(), norm.snapshot());
  assert.throws(() => new ObservationNormalizer(2).importState(norm.exportState()), /size 1, expected 2/);
  // Before any data, the normaliser is the identity.
  const fresh = new ObservationNormalizer(1);
  fresh.normalize(Float64Array.of(0.25), out, 1);
  assert.ok(Math.abs(out[0] - 0.25) < 1e-6);
});
