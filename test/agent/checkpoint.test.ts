import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listGenerations, loadCheckpoint, NoCheckpointError, packArrays, removeStaleTemps, retired, saveCheckpoint, unpackArrays, type CheckpointContent } from '../../src/agent/checkpoint.js';

function content(step: number): CheckpointContent {
  return {
    counters: { steps: step },
    hyperparameters: { lr: 3e-4 },
    state: { rng: [1, 2, 3, step] },
    blobs: { 'agent.f32': new Uint8Array(Float32Array.of(step, 2, 3).buffer), 'replay.bin': new Uint8Array(1000).fill(step % 256) },
    extra: { phase: 'sim_training' },
  };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'sacbridge-ckpt-'));

test('round trip: what is saved loads back, generations are kept to N, latest names the newest', async () => {
  const root = tmp();
  for (let s = 1; s <= 5; s++) await saveCheckpoint(root, content(s), { keep: 3 });
  assert.deepEqual(await listGenerations(root), ['gen-00000005', 'gen-00000004', 'gen-00000003']);
  assert.equal(readFileSync(join(root, 'latest'), 'utf8').trim(), 'gen-00000005');
  const c = await loadCheckpoint(root);
  assert.equal(c.generation, 'gen-00000005');
  assert.deepEqual(c.counters, { steps: 5 });
  assert.deepEqual(c.extra, { phase: 'sim_training' });
  assert.deepEqual(c.state, { rng: [1, 2, 3, 5] });
  assert.deepEqual(c.blobs['agent.f32'], content(5).blobs['agent.f32']);
  assert.deepEqual(c.blobs['replay.bin'], content(5).blobs['replay.bin']);
  // A generation directory can be loaded directly.
  assert.deepEqual((await loadCheckpoint(join(root, 'gen-00000004'))).counters, { steps: 4 });
  rmSync(root, { recursive: true });
});

test('a corrupt newest generation falls back to the previous one with a warning naming the file', async () => {
  const root = tmp();
  await saveCheckpoint(root, content(1));
  await saveCheckpoint(root, content(2));
  const blob = join(root, 'gen-00000002', 'replay.bin');
  const bytes = readFileSync(blob);
  bytes[500] ^= 0xff;
  writeFileSync(blob, bytes);
  const warnings: string[] = [];
  const c = await loadCheckpoint(root, { warn: (m) => warnings.push(m) });
  assert.equal(c.generation, 'gen-00000001');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /gen-00000002.*replay\.bin.*sha256.*falling back to gen-00000001/);

  // Truncated file: the size check names it.
  writeFileSync(blob, bytes.subarray(0, 10));
  await assert.rejects(loadCheckpoint(join(root, 'gen-00000002')), /replay\.bin: 10 bytes, the manifest says 1000/);
  // Garbage manifest in every generation: an error listing each failure.
  writeFileSync(join(root, 'gen-00000001', 'manifest.json'), '{"format": "sacbridge-checkpoint", "vers');
  await assert.rejects(loadCheckpoint(root, { warn: () => undefined }), (err: Error) => /no usable checkpoint/.test(err.message) && /gen-00000001\/manifest\.json: not valid JSON/.test(err.message) && /gen-00000002\/replay\.bin/.test(err.message));
  rmSync(root, { recursive: true });
});

test('a torn temp directory from a crashed save is ignored, then cleaned up by the next save', async () => {
  const root = tmp();
  await saveCheckpoint(root, content(1));
  // A save that died after writing part of a blob (no manifest, never renamed).
  const torn = join(root, 'gen-00000002.tmp-99999');
  mkdirSync(torn);
  writeFileSync(join(torn, 'agent.f32'), new Uint8Array(3));
  const warnings: string[] = [];
  assert.equal((await loadCheckpoint(root, { warn: (m) => warnings.push(m) })).generation, 'gen-00000001');
  assert.deepEqual(warnings, []);
  await saveCheckpoint(root, content(2));
  assert.ok(!readdirSync(root).some((n) => n.includes('.tmp-')));
  assert.equal((await loadCheckpoint(root)).generation, 'gen-00000002');
  // A crash between the rename and the pointer update: the pointer is stale, the newer directory
  // is complete and is the one loaded (issue 19: `latest` was trusted over gen-2..12).
  writeFileSync(join(root, 'latest'), 'gen-00000001\n');
  assert.equal((await loadCheckpoint(root)).generation, 'gen-00000002', 'the newest generation that verifies decides, not the pointer');
  // A kill during the pointer's rewrite leaves its temporary file: removed on resume and by the next save.
  writeFileSync(join(root, '.latest.4242.1700000000000.tmp'), '');
  mkdirSync(join(root, 'gen-00000003.tmp-4242'));
  assert.deepEqual((await removeStaleTemps(root)).sort(), ['.latest.4242.1700000000000.tmp', 'gen-00000003.tmp-4242']);
  assert.deepEqual(readdirSync(root).sort(), ['gen-00000001', 'gen-00000002', 'latest']);
  writeFileSync(join(root, '.latest.4243.1700000000000.tmp'), '');
  await saveCheckpoint(root, content(3));
  assert.deepEqual(readdirSync(root).sort(), ['gen-00000001', 'gen-00000002', 'gen-00000003', 'latest']);
  rmSync(root, { recursive: true });
});

test('retention never removes the newest valid generation nor the one a fallback resumed from', async () => {
  const root = tmp();
  for (let s = 1; s <= 3; s++) await saveCheckpoint(root, content(s), { keep: 2 });
  assert.deepEqual(await listGenerations(root), ['gen-00000003', 'gen-00000002']);
  // The newest is truncated: loading falls back to gen-2 and says which it passed over.
  writeFileSync(join(root, 'gen-00000003', 'replay.bin'), 'torn');
  const loaded = await loadCheckpoint(root, { warn: () => undefined });
  assert.deepEqual([loaded.generation, loaded.skipped], ['gen-00000002', ['gen-00000003']]);
  // The resumed run saves with keep 2: gen-4 is new, gen-2 (resumed from) stays, the broken gen-3 goes.
  await saveCheckpoint(root, content(4), { keep: 2, protect: [loaded.generation], broken: loaded.skipped });
  assert.deepEqual(await listGenerations(root), ['gen-00000004', 'gen-00000002']);
  await saveCheckpoint(root, content(5), { keep: 2, protect: [loaded.generation], broken: loaded.skipped });
  assert.deepEqual(await listGenerations(root), ['gen-00000005', 'gen-00000004', 'gen-00000002']);
  // Without the run's knowledge, retention alone (keep 1) still keeps the one just written.
  assert.deepEqual(retired(['gen-00000009', 'gen-00000008'], 'gen-00000009', 1), ['gen-00000008']);
  assert.deepEqual(retired(['gen-00000009', 'gen-00000008', 'gen-00000007'], 'gen-00000009', 2, { broken: ['gen-00000008'] }), ['gen-00000008']);
  rmSync(root, { recursive: true });
});

test('no checkpoint at all is its own error; wrong format and bad names are refused', async () => {
  const root = tmp();
  await assert.rejects(loadCheckpoint(join(root, 'missing')), NoCheckpointError);
  await assert.rejects(loadCheckpoint(root), NoCheckpointError);
  await assert.rejects(saveCheckpoint(root, { ...content(1), blobs: { '../evil': new Uint8Array(1) } }), /invalid blob file name/);
  const gen = join(root, 'gen-00000001');
  mkdirSync(gen);
  writeFileSync(join(gen, 'manifest.json'), JSON.stringify({ format: 'something-else', version: 1 }));
  await assert.rejects(loadCheckpoint(gen), /format is "something-else"/);
  writeFileSync(join(gen, 'manifest.json'), JSON.stringify({ format: 'sacbridge-checkpoint', version: 99 }));
  await assert.rejects(loadCheckpoint(gen), /version 99 is not supported/);
  rmSync(root, { recursive: true });
});

test('packArrays/unpackArrays round trip and bounds checks', () => {
  const arrays = [
    { name: 'a', shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) },
    { name: 'b', shape: [1], data: Float32Array.of(-7) },
  ];
  const { blob, index } = packArrays(arrays);
  assert.deepEqual(unpackArrays(blob, index, 'test'), arrays);
  assert.throws(() => unpackArrays(blob.subarray(0, 8), index, 'agent.f32'), /agent\.f32: array 'a'.*outside the blob of 2 values/);
});
