import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { TransitionReader, TransitionWriter, createTransitionRingBuffer } from '../../src/learner/transitionRing.js';
import { WeightReader, WeightWriter, actorFloats, actorLayoutOf, createWeightExchangeBuffer } from '../../src/learner/weightExchange.js';
import type { ActorLayout } from '../../src/learner/weightExchange.js';
import { LearnerHost } from '../../src/learner/learnerHost.js';
import { transitionsForUpdate, updatesOwed } from '../../src/learner/learnerApi.js';
import { MixedSampler, allocateBatch } from '../../src/learner/mixedSampler.js';
import type { SampleableBuffer, TransitionBatch } from '../../src/learner/mixedSampler.js';
import { Rng } from '../../src/util/rng.js';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pushK(w: TransitionWriter, k: number, o: number, a: number): boolean {
  return w.push(new Float32Array(o).fill(k), new Float32Array(a).fill(-k), k, new Float32Array(o).fill(k + 1), k % 7 === 0);
}

test('transition ring: FIFO, drops when full (counted), survives many wrap-arounds', () => {
  const layout = { observationSize: 3, actionSize: 2, capacity: 4 };
  const buf = createTransitionRingBuffer(layout);
  const w = new TransitionWriter(buf, layout), r = new TransitionReader(buf, layout);
  for (let k = 0; k < 5; k++) assert.equal(pushK(w, k, 3, 2), k < 4);
  assert.equal(w.dropped, 1);
  const seen: number[] = [];
  r.drain((t) => { seen.push(t.reward); assert.deepEqual([...t.nextObservation], [t.reward + 1, t.reward + 1, t.reward + 1]); });
  assert.deepEqual(seen, [0, 1, 2, 3]);
  let next = 0, k = 100;
  for (let round = 0; round < 1000; round++) {
    const n = 1 + (round % 4);
    for (let i = 0; i < n; i++) pushK(w, k++, 3, 2);
    r.drain((t) => { assert.equal(t.reward, 100 + next); next++; });
  }
  assert.equal(next, k - 100);
  assert.throws(() => createTransitionRingBuffer({ ...layout, capacity: 5 }), /power of two/);
  assert.throws(() => w.push([1], [1, 1], 0, [1, 2, 3], false), /sizes obs 1\/3/);
});

test('weight exchange: a reader never sees a torn mix while another thread publishes continuously', async () => {
  const layout: ActorLayout = { observationSize: 17, hiddenSizes: [64, 64], actionSize: 6, normalizer: true };
  const buffer = createWeightExchangeBuffer(layout);
  const stop = new SharedArrayBuffer(4);
  const reader = new WeightReader(buffer, layout);
  const worker = new Worker(here('./weightHammer.js'), { workerData: { buffer, layout, stop } });
  const messages: unknown[] = [];
  worker.on('message', (m) => messages.push(m));
  while (messages.length === 0) await sleep(1);
  let polls = 0, fresh = 0, torn = 0, lastVersion = 0, backwards = 0;
  // Read for at least 600 ms, and on a loaded machine (the two threads time-slicing one core) on until
  // enough swaps have raced reads to mean something, up to 10 s.
  const start = performance.now();
  for (let elapsed = 0; elapsed < 600 || (fresh <= 20 && elapsed < 10_000); elapsed = performance.now() - start) {
    polls++;
    const got = reader.poll();
    if (got === null) continue;
    fresh++;
    const floats = reader.current().floats;
    const v = got.version;
    if (v < lastVersion) backwards++;
    lastVersion = v;
    // Every float of version v was written as v: any other value is a tear.
    for (let i = 0; i < floats.length; i++) if (floats[i] !== v) { torn++; break; }
    if (got.weights.normalizer?.clip !== v || got.weights.hidden[1].kernel[100] !== v || got.weights.logStd.bias[5] !== v) torn++;
  }
  Atomics.store(new Int32Array(stop), 0, 1);
  while (messages.length < 2) await sleep(1);
  const written = messages[1] as number;
  await worker.terminate();
  assert.equal(torn, 0);
  assert.equal(backwards, 0);
  assert.ok(fresh > 20, `reader saw ${fresh} fresh versions of ${written} written in ${polls} polls`);
  assert.ok(written > fresh, 'the writer outpaced the reader, so swaps raced reads');
});

test('weight exchange: publish copies ActorWeights into the layout and checks shapes', () => {
  const dense = (i: number, o: number, v: number) => ({ inSize: i, outSize: o, kernel: new Float32Array(i * o).fill(v), bias: new Float32Array(o).fill(v + 0.5) });
  const w = { hidden: [dense(3, 4, 1)], mean: dense(4, 2, 2), logStd: dense(4, 2, 3) };
  const layout = actorLayoutOf(w);
  assert.deepEqual(layout, { observationSize: 3, hiddenSizes: [4], actionSize: 2, normalizer: false });
  assert.equal(actorFloats(layout), 3 * 4 + 4 + 2 * (4 * 2 + 2));
  const buf = createWeightExchangeBuffer(layout);
  const writer = new WeightWriter(buf, layout), reader = new WeightReader(buf, layout);
  assert.equal(reader.poll(), null);
  writer.publish(w, 7);
  const got = reader.poll();
  assert.ok(got !== null);
  assert.equal(got.version, 7);
  assert.deepEqual([...got.weights.mean.bias], [2.5, 2.5]);
  assert.deepEqual([...got.weights.hidden[0].kernel], new Array(12).fill(1));
  assert.equal(reader.poll(), null, 'nothing newer');
  assert.throws(() => writer.publish({ ...w, mean: dense(4, 3, 0) }, 8), /mean head is 4x3, layout says 4x2/);
});

test('learner worker: transitions cross whole and in order; update-to-data ratio; weights arrive; pause stops updates', async () => {
  const o = 5, a = 2;
  const metrics: Record<string, number>[] = [];
  const host = await LearnerHost.start({
    module: here('./checkingLearner.js'),
    observationSize: o, actionSize: a,
    actor: { observationSize: o, hiddenSizes: [8], actionSize: a, normalizer: false },
    ringCapacity: 1024,
    schedule: { updatesPerTransition: 2, learningStarts: 10, publishEvery: 4, metricsEvery: 1 },
    onMetrics: (m) => metrics.push(m.metrics),
  });
  try {
    const N = 3000;
    for (let k = 0; k < N; k++) {
      while (!pushK(host.transitions, k, o, a)) await sleep(1); // a full ring: the test waits, a control loop would drop
      // Run ahead of the learner, but by less than the ring's capacity: beyond it the worker
      // takes transitions in early rather than hold more (learnerWorker.ts).
      while (k - host.stats().ingested > 512) await sleep(1);
      if (k % 100 === 0) await sleep(0);
    }
    for (let i = 0; i < 200 && host.stats().updates < 2 * (N - 10 + 1); i++) await sleep(10);
    const st = host.stats();
    assert.equal(st.ingested, N);
    assert.equal(st.updates, 2 * (N - 10 + 1), 'utd 2 after learningStarts 10');
    assert.equal(st.version, Math.floor(st.updates / 4));
    await sleep(20);
    const last = metrics[metrics.length - 1];
    assert.equal(last.observed, N);
    // The producer ran up to 512 transitions ahead, yet every update learned from exactly the
    // transitions it would have had with a learner that kept up.
    const schedule = { updatesPerTransition: 2, learningStarts: 10, publishEvery: 4, metricsEvery: 1 };
    const early = metrics.filter((m) => m.observed !== transitionsForUpdate(schedule, m.updates));
    assert.deepEqual(early.slice(0, 3), [], `${early.length} updates saw other than their due transitions`);
    assert.equal(last.torn, 0);
    assert.equal(last.outOfOrder, 0);
    const w = host.weights.poll();
    assert.ok(w !== null && w.version === st.version);
    host.setPaused(true);
    for (let k = N; k < N + 50; k++) pushK(host.transitions, k, o, a);
    await sleep(100);
    assert.equal(host.stats().ingested, N + 50, 'still drained while paused');
    assert.equal(host.stats().updates, st.updates, 'no updates while paused');
    host.setPaused(false);
    for (let i = 0; i < 100 && host.stats().updates < st.updates + 100; i++) await sleep(10);
    assert.equal(host.stats().updates, st.updates + 100);
  } finally {
    await host.stop();
  }
});

test('learner worker: a module without createLearner fails start with its name', async () => {
  await assert.rejects(LearnerHost.start({
    module: here('./weightExchangeless.js'),
    observationSize: 1, actionSize: 1, actor: { observationSize: 1, hiddenSizes: [2], actionSize: 1, normalizer: false },
  }), /learner worker: .*weightExchangeless/);
  await assert.rejects(LearnerHost.start({
    module: here('../../src/learner/mixedSampler.js'),
    observationSize: 1, actionSize: 1, actor: { observationSize: 1, hiddenSizes: [2], actionSize: 1, normalizer: false },
  }), /does not export createLearner/);
});

test('updatesOwed follows the update-to-data ratio; transitionsForUpdate is the fewest transitions that make update k owed', () => {
  const s = { updatesPerTransition: 0.5, learningStarts: 4, publishEvery: 1, metricsEvery: 1 };
  assert.equal(updatesOwed(s, 3, 0), 0);
  assert.equal(updatesOwed(s, 4, 0), 0);
  assert.equal(updatesOwed(s, 5, 0), 1);
  assert.equal(updatesOwed(s, 13, 1), 4);
  for (const utd of [0.1, 0.5, 1, 2, 3]) {
    for (const learningStarts of [0, 1, 10]) {
      const q = { ...s, updatesPerTransition: utd, learningStarts };
      for (let k = 1; k <= 200; k++) {
        const n = transitionsForUpdate(q, k);
        assert.ok(updatesOwed(q, n, k - 1) > 0, `utd ${utd}, start ${learningStarts}: update ${k} owed after ${n}`);
        if (n > learningStarts) assert.equal(updatesOwed(q, n - 1, k - 1), 0, `utd ${utd}, start ${learningStarts}: update ${k} not owed after ${n - 1}`);
      }
    }
  }
  assert.equal(transitionsForUpdate({ ...s, updatesPerTransition: 1, learningStarts: 500 }, 1), 500);
  assert.equal(transitionsForUpdate({ ...s, updatesPerTransition: 1, learningStarts: 500 }, 11), 510);
});

/** A buffer whose row i holds observation = tag, reward = tag * 1000 + i. */
class TaggedBuffer implements SampleableBuffer {
  constructor(readonly tag: number, readonly size: number) {}
  sample(batchSize: number, rng: Rng): TransitionBatch {
    const b = allocateBatch(batchSize, 1, 1);
    for (let k = 0; k < batchSize; k++) {
      const i = rng.int(this.size);
      b.observations[k] = this.tag;
      b.nextObservations[k] = this.tag;
      b.rewards[k] = this.tag * 1000 + i;
      b.terminated[k] = this.tag === 2 ? 1 : 0;
    }
    return b;
  }
}

test('mixed sampler: robot rows at the configured ratio, all from the one non-empty buffer otherwise', () => {
  const sim = new TaggedBuffer(1, 500), robot = new TaggedBuffer(2, 40);
  const m = new MixedSampler(sim, robot, 0.25, 256, 1, 1);
  const batch = m.sample(new Rng(3));
  assert.equal(m.lastRobotRows, 64);
  assert.equal(batch.observations.filter((t) => t === 2).length, 64);
  assert.ok(batch.observations.subarray(0, 64).every((t) => t === 2), 'robot rows first');
  assert.equal(batch.terminated.reduce((s, t) => s + t, 0), 64);
  for (let i = 0; i < 256; i++) {
    const r = batch.rewards[i], t = Math.floor(r / 1000), idx = r % 1000;
    assert.equal(t, batch.observations[i]);
    assert.ok(idx < (t === 2 ? 40 : 500));
  }
  const simOnly = new MixedSampler(sim, new TaggedBuffer(2, 0), 0.25, 256, 1, 1).sample(new Rng(1));
  assert.ok(simOnly.observations.every((t) => t === 1));
  assert.equal(new MixedSampler(new TaggedBuffer(1, 0), robot, 0.25, 256, 1, 1).robotRows(), 256);
  assert.throws(() => new MixedSampler(new TaggedBuffer(1, 0), new TaggedBuffer(2, 0), 0.5, 8, 1, 1).sample(new Rng(1)), /both replay buffers are empty/);
  assert.throws(() => new MixedSampler(sim, robot, 1.5, 8, 1, 1), /robotFraction must be in \[0, 1\]/);
  assert.throws(() => new MixedSampler(sim, robot, 0.5, 8, 2, 1).sample(new Rng(1)), /expected 2 and 1/);
});
