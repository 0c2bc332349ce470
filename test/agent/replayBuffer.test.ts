import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { ReplayBuffer } from '../../src/agent/replayBuffer.js';
import { Rng } from '../../src/util/rng.js';

function fill(buf: ReplayBuffer, from: number, to: number): void {
  // Transition k carries k in every field so its identity survives the ring.
  for (let k = from; k < to; k++) buf.add([k, k + 0.5], [-k], k * 10, [k + 1, k + 1.5], k % 3 === 0);
}

test('ring wraps: the oldest rows are overwritten and counters stay right', () => {
  const buf = new ReplayBuffer({ capacity: 5, observationSize: 2, actionSize: 1 });
  fill(buf, 0, 3);
  assert.equal(buf.size, 3);
  fill(buf, 3, 12);
  assert.equal(buf.size, 5);
  assert.equal(buf.added, 12);
  // Slots hold transitions 10, 11, 7, 8, 9 (12 = 2 * 5 + 2: next write goes to slot 2).
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => buf.row(i).reward), [100, 110, 70, 80, 90]);
  const r = buf.row(1);
  assert.deepEqual(Array.from(r.observation), [11, 11.5]);
  assert.deepEqual(Array.from(r.nextObservation), [12, 12.5]);
  assert.deepEqual(Array.from(r.action), [-11]);
  assert.equal(r.terminated, false);
  assert.equal(buf.row(4).terminated, true); // 9 % 3 === 0
});

test('sampling is uniform over the filled rows, consistent across columns and reproducible', () => {
  const buf = new ReplayBuffer({ capacity: 100, observationSize: 2, actionSize: 1 });
  fill(buf, 0, 40);
  const counts = new Array<number>(40).fill(0);
  const rng = new Rng(3);
  const draws = 400;
  for (let n = 0; n < draws; n++) {
    const b = buf.sample(100, rng);
    for (let i = 0; i < b.size; i++) {
      const k = b.observations[2 * i];
      assert.ok(Number.isInteger(k) && k >= 0 && k < 40, 'only filled rows are sampled');
      assert.equal(b.rewards[i], k * 10);
      assert.equal(b.actions[i], -k);
      assert.equal(b.nextObservations[2 * i], k + 1);
      assert.equal(b.terminated[i], k % 3 === 0 ? 1 : 0);
      counts[k]++;
    }
  }
  // 40000 draws over 40 rows: 1000 expected each, sd ~31; chi-square with 39 dof stays < 80 (p < 1e-4 otherwise).
  const chi2 = counts.reduce((s, c) => s + (c - 1000) ** 2 / 1000, 0);
  assert.ok(chi2 < 80, `chi-square ${chi2.toFixed(1)}`);
  const a = buf.sample(8, new Rng(9)).observations.slice();
  const b = buf.sample(8, new Rng(9)).observations.slice();
  assert.deepEqual(a, b);
  assert.throws(() => new ReplayBuffer({ capacity: 3, observationSize: 1, actionSize: 1 }).sample(2, rng), /empty/);
});

test('snapshot/restore round trip, and restore refuses mismatched shapes', () => {
  const buf = new ReplayBuffer({ capacity: 7, observationSize: 2, actionSize: 1 });
  fill(buf, 0, 10);
  const snap = buf.snapshot();
  const copy = new ReplayBuffer({ capacity: 7, observationSize: 2, actionSize: 1 });
  // Through an unaligned copy, as a blob read from a file may be.
  const raw = new Uint8Array(snap.data.byteLength + 1);
  raw.set(snap.data, 1);
  copy.restore({ ...snap, data: raw.subarray(1) });
  assert.equal(copy.size, 7);
  assert.equal(copy.added, 10);
  for (let i = 0; i < 7; i++) assert.deepEqual(copy.row(i), buf.row(i));
  fill(copy, 10, 11);
  fill(buf, 10, 11);
  assert.deepEqual(copy.row(3), buf.row(3));
  assert.throws(() => new ReplayBuffer({ capacity: 7, observationSize: 3, actionSize: 1 }).restore(snap), /obs 2/);
  assert.throws(() => copy.restore({ ...snap, data: snap.data.subarray(4) }), /bytes, expected/);
  assert.throws(() => new ReplayBuffer({ capacity: 0, observationSize: 1, actionSize: 1 }), /capacity must be a positive integer/);
});

test('a shared buffer is visible from a worker thread', async () => {
  const buf = new ReplayBuffer({ capacity: 16, observationSize: 2, actionSize: 1, shared: true });
  fill(buf, 0, 5);
  const url = new URL('../../src/agent/replayBuffer.js', import.meta.url).href;
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     import(workerData.url).then(({ ReplayBuffer }) => {
       const b = ReplayBuffer.attach(workerData.handle);
       b.add([100, 100.5], [-100], 1000, [101, 101.5], false);
       parentPort.postMessage({ size: b.size, reward: b.row(4).reward });
     });`,
    { eval: true, workerData: { url, handle: buf.handle() } },
  );
  const msg = await new Promise<{ size: number; reward: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.deepEqual(msg, { size: 6, reward: 40 });
  assert.equal(buf.size, 6, 'the worker wrote into the same memory');
  assert.equal(buf.row(5).reward, 1000);
});
