import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { listGenerations } from '../../src/agent/checkpoint.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCompute } from '../../src/compute/backend.js';
import type { EpisodeRandomizer } from '../../src/plant/plant.js';
import { createEnv } from '../../src/wiring/envFactory.js';
import { Trainer, type MetricsRecord, type TrainerOptions } from '../../src/train/trainer.js';
import { gymnasiumModelDir } from './fixtures.js';

await initCompute();

function options(runDir: string, extra: Partial<TrainerOptions> = {}): TrainerOptions {
  return {
    task: 'point_reach',
    seed: 3,
    runDir,
    makeEnv: (seed) => createEnv('point_reach', { seed }),
    hyperparameters: { hidden: [16, 16], batchSize: 32, learningStarts: 60, bufferSize: 1000 },
    evalEvery: 100,
    evalEpisodes: 1,
    checkpointEvery: 100,
    metricsEvery: 40,
    warn: () => undefined,
    ...extra,
  };
}

function weights(t: Trainer): Map<string, Float32Array> {
  return new Map([...t.agent.namedVariables()].map(([k, v]) => [k, v.dataSync() as Float32Array]));
}

test('with observation normalisation, the normaliser is checkpointed and the resumed run matches too', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sacbridge-resume-norm-'));
  const hp = { hidden: [16], batchSize: 16, learningStarts: 40, bufferSize: 500, normalizeObservations: true };
  const a = await Trainer.create(options(join(root, 'a'), { hyperparameters: hp, evalEvery: 0, checkpointEvery: 50 }));
  await a.run(100);
  cpSync(join(root, 'a', 'checkpoints'), join(root, 'b', 'checkpoints'), { recursive: true });
  await a.run(102);
  const b = await Trainer.create(options(join(root, 'b'), { hyperparameters: hp, evalEvery: 0, checkpointEvery: 50, resume: true }));
  assert.equal(b.normalizer!.samples, 100);
  await b.run(102);
  assert.deepEqual(b.normalizer!.snapshot(), a.normalizer!.snapshot());
  assert.deepEqual(b.lastUpdate, a.lastUpdate);
  assert.deepEqual(weights(b), weights(a));
  // The fast policy's weights carry the normaliser.
  assert.deepEqual(b.agent.actorWeights().normalizer, a.normalizer!.snapshot());
  for (const t of [a, b]) await t.close();
  rmSync(root, { recursive: true });
});

test('a run stopped at a checkpoint and resumed makes the same next updates as the uninterrupted run', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sacbridge-resume-'));
  const a = await Trainer.create(options(join(root, 'a')));
  await a.run(200); // checkpoints at steps 100 and 200 (episode ends: point_reach episodes are 50 steps)
  assert.equal(a.counters.steps, 200);
  // "Stop" here: copy the checkpoints as they are now into another run directory.
  cpSync(join(root, 'a', 'checkpoints'), join(root, 'b', 'checkpoints'), { recursive: true });
  await a.run(203);

  const b = await Trainer.create(options(join(root, 'b'), { resume: true }));
  assert.deepEqual(b.counters, { steps: 200, updates: 141, episodes: 4, evaluations: 2 });
  await b.run(203);
  assert.deepEqual(b.counters, a.counters);
  assert.ok(a.lastUpdate !== null);
  assert.deepEqual(b.lastUpdate, a.lastUpdate, 'metrics of the next update (losses, alpha, entropy)');
  assert.deepEqual(weights(b), weights(a), 'every network variable after the next updates');
  for (let i = 195; i < 203; i++) assert.deepEqual(b.replay.row(i), a.replay.row(i));

  // And the uninterrupted run is reproducible from its seed alone.
  const c = await Trainer.create(options(join(root, 'c'), { checkpointEvery: 0 }));
  await c.run(203);
  assert.deepEqual(c.lastUpdate, a.lastUpdate);
  assert.deepEqual(weights(c), weights(a));

  const records = readFileSync(join(root, 'b', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricsRecord);
  assert.equal(records[0].type, 'resume');
  for (const t of [a, b, c]) await t.close();
  rmSync(root, { recursive: true });
});

test('a non-finite observation ends the episode with a warning; the transition is not stored; training goes on', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sacbridge-nan-'));
  let observations = 0;
  // Observation 8 (reset + 7 steps) of the run comes out NaN, as a broken sensor would give.
  const randomizer: EpisodeRandomizer = {
    apply: () => undefined,
    perturbObservation: (obs) => {
      if (++observations === 8) obs[2] = Number.NaN;
    },
  };
  const warnings: string[] = [];
  const t = await Trainer.create(options(root, { makeEnv: (seed) => createEnv('point_reach', { seed, randomizer }), evalEvery: 0, checkpointEvery: 0, warn: (m) => warnings.push(m) }));
  const episodes: MetricsRecord[] = [];
  t.onMetrics((r) => r.type === 'episode' && episodes.push(r));
  await t.run(70);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /episode 1 aborted at step 7: non-finite observation/);
  assert.equal(t.replay.size, 69, 'the NaN transition was dropped');
  for (let i = 0; i < t.replay.size; i++) assert.ok(t.replay.row(i).observation.every(Number.isFinite) && t.replay.row(i).nextObservation.every(Number.isFinite));
  assert.deepEqual(episodes.map((e) => (e.type === 'episode' ? e.length : -1)), [7, 50]);
  assert.ok(t.counters.updates > 0, 'updates continued after the aborted episode');
  const log = readFileSync(join(root, 'metrics.jsonl'), 'utf8');
  assert.match(log, /"type":"warning"/);
  await t.close();
  rmSync(root, { recursive: true });
});

test('terminal transitions are stored as terminal, time-limit truncations are not (bootstrap through truncation)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sacbridge-term-'));
  // InvertedPendulum-v5 under random actions: the pole falls (terminated) within a few dozen steps.
  const gym = gymnasiumModelDir();
  const t = await Trainer.create({ ...options(join(root, 'ip')), task: 'InvertedPendulum-v5', makeEnv: (seed) => createEnv('InvertedPendulum-v5', { seed, gymnasiumModelDir: gym }), hyperparameters: { learningStarts: 10_000, bufferSize: 1000 }, evalEvery: 0, checkpointEvery: 0 });
  const ends: boolean[] = [];
  t.onMetrics((r) => r.type === 'episode' && ends.push(r.terminated));
  await t.run(300);
  let terminal = 0;
  for (let i = 0; i < t.replay.size; i++) if (t.replay.row(i).terminated) terminal++;
  assert.ok(ends.length >= 3 && ends.every((e) => e), `episodes ${ends.length}`);
  assert.equal(terminal, ends.length, 'one terminal row per terminated episode');
  await t.close();

  // point_reach never terminates: its 50-step episodes end by truncation and nothing is stored as terminal.
  const p = await Trainer.create(options(join(root, 'pr'), { hyperparameters: { learningStarts: 10_000, bufferSize: 1000 }, evalEvery: 0, checkpointEvery: 0 }));
  await p.run(150);
  assert.equal(p.counters.episodes, 3);
  for (let i = 0; i < p.replay.size; i++) assert.equal(p.replay.row(i).terminated, false);
  await p.close();
  rmSync(root, { recursive: true });
});

test('a resumed run drops the metrics records written after its checkpoint: each record once, as in the uninterrupted run', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sacbridge-resume-metrics-'));
  const read = (dir: string): MetricsRecord[] => readFileSync(join(root, dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricsRecord);
  // What must match between runs: episodes and evaluations without wall-clock fields; update
  // records by step and count (their loss means cover the updates since the previous record,
  // a window a checkpoint does not hold, so the first one after a resume averages fewer).
  const comparable = (records: MetricsRecord[]): string[] =>
    records.flatMap((r) =>
      r.type === 'episode' || r.type === 'eval' ? [JSON.stringify({ ...r, time: undefined, steps_per_s: undefined })]
      : r.type === 'update' ? [JSON.stringify({ type: r.type, step: r.step, updates: r.updates })]
      : [],
    );
  const a = await Trainer.create(options(join(root, 'a')));
  await a.run(260); // checkpoints at 100 and 200; records up to 260 follow the last one
  // "Killed" at 260, with a torn last line: a resumed trainer on the same directory.
  appendFileSync(join(root, 'a', 'metrics.jsonl'), '{"type":"episode","st');
  const b = await Trainer.create(options(join(root, 'a'), { resume: true }));
  assert.equal(b.counters.steps, 200);
  const cut = read('a');
  assert.equal(cut[cut.length - 1]!.type, 'resume');
  assert.ok(cut.every((r) => r.step <= 200), 'nothing past the checkpoint is left');
  await b.run(320);
  const c = await Trainer.create(options(join(root, 'c')));
  await c.run(320);
  const resumed = read('a');
  assert.deepEqual(comparable(resumed), comparable(read('c')), 'the same records, once each, in the same order');
  for (let i = 1; i < resumed.length; i++) assert.ok(resumed[i]!.step >= resumed[i - 1]!.step, `step goes back at record ${i}`);
  for (const t of [a, b, c]) await t.close();
  rmSync(root, { recursive: true });
});

test('resuming past a broken newest generation keeps the one it resumed from through retention', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sacbridge-resume-fallback-'));
  const a = await Trainer.create(options(root, { keepCheckpoints: 2 }));
  await a.run(300); // generations at 100, 200, 300; kept: 2 and 3
  await a.close();
  const gens = join(root, 'checkpoints');
  writeFileSync(join(gens, 'gen-00000003', 'replay.bin'), 'truncated');
  const b = await Trainer.create(options(root, { keepCheckpoints: 2, resume: true }));
  assert.equal(b.counters.steps, 200);
  await b.checkpoint();
  await b.checkpoint();
  assert.deepEqual(await listGenerations(gens), ['gen-00000005', 'gen-00000004', 'gen-00000002'], 'gen-2 (resumed from) kept, the broken gen-3 retired');
  await b.close();
  rmSync(root, { recursive: true });
});

test('updateCores: training with each update split over 2 cores learns exactly what 1 core learns; auto times both; 2 where it cannot run is refused with why', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sacbridge-cores-'));
  // Critics wide enough that their GEMMs are split (the addon leaves tiny products on one core).
  const hp = { hidden: [64, 64], batchSize: 64, learningStarts: 60, bufferSize: 1000 };
  const probe = await Trainer.create(options(join(root, 'probe'), { hyperparameters: hp, evalEvery: 0, checkpointEvery: 0 }));
  const why = probe.agent.twoCoresUnavailable;
  await probe.close();
  if (why !== null) {
    await assert.rejects(Trainer.create(options(join(root, 'two'), { hyperparameters: hp, updateCores: 2 })), (err: Error) => err.message === `trainer option updateCores=2: ${why}`);
    rmSync(root, { recursive: true });
    return;
  }
  const runs = [];
  for (const cores of [1, 2, 'auto'] as const) {
    const t = await Trainer.create(options(join(root, String(cores)), { hyperparameters: hp, evalEvery: 0, checkpointEvery: 0, updateCores: cores }));
    await t.run(160);
    assert.equal(t.counters.updates, 101);
    runs.push({ cores, update: t.lastUpdate, weights: weights(t), round: t.coreChoice.lastRound, setting: t.coreChoice.setting });
    await t.close();
  }
  for (const r of runs.slice(1)) {
    assert.deepEqual(r.update, runs[0]!.update, `updateCores ${r.cores}: last update's metrics`);
    assert.deepEqual(r.weights, runs[0]!.weights, `updateCores ${r.cores}: weights`);
  }
  // 'auto' timed 25 updates on each before choosing (fixed settings never measure).
  const auto = runs[2]!.round;
  assert.ok(auto !== null && auto.oneMs > 0 && auto.twoMs > 0 && (auto.chosen === 1 || auto.chosen === 2), JSON.stringify(auto));
  assert.equal(runs[0]!.round, null);
  rmSync(root, { recursive: true });
});
