import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/util/rng.js';

test('Rng: same seed gives the same stream; saved state resumes it exactly', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  for (let i = 0; i < 100; i++) assert.equal(a.uniform(), b.uniform());
  a.normal(); // leaves a spare normal in the state
  const saved = a.getState();
  const expected = Array.from({ length: 50 }, () => a.normal());
  const c = new Rng(7);
  c.setState(saved);
  assert.deepEqual(Array.from({ length: 50 }, () => c.normal()), expected);
});

test('Rng: normals have mean ~0 and variance ~1', () => {
  const r = new Rng(1);
  const n = 200_000;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const x = r.normal();
    s += x;
    s2 += x * x;
  }
  assert.ok(Math.abs(s / n) < 0.01, `mean ${s / n}`);
  assert.ok(Math.abs(s2 / n - 1) < 0.01, `var ${s2 / n}`);
});
