/**
 * Kernels chosen by measurement: the pure choice rules, then the real measurement (child
 * processes timing OpenBLAS core types and the WebAssembly kernel), its cache, and the compute
 * log line naming the choice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ADDON_PATH } from '../../src/compute/gemmProviders.js';
import { chooseKernel, coreInConfig, describeTimings, fastest, FORCE_MARGIN, runnableCoreTypes, type KernelChoice, type KernelTiming } from '../../src/compute/kernelChoice.js';

const t = (coreType: string | null, ms: number | null, provider: 'openblas' | 'wasm-simd' = 'openblas'): KernelTiming => ({ provider, coreType, runs: coreType ?? 'Cooperlake', ms });

test('fastest: the quickest kernel, but OpenBLAS keeps its own pick within the noise margin', () => {
  assert.equal(fastest([t(null, 10), t('Haswell', 8), t(null, 20, 'wasm-simd')]).coreType, 'Haswell');
  assert.equal(fastest([t(null, 10), t('Haswell', 10 / (1 + FORCE_MARGIN / 2))]).coreType, null);
  assert.equal(fastest([t(null, null), t('SkylakeX', 9), t(null, 7, 'wasm-simd')]).provider, 'wasm-simd');
  assert.throws(() => fastest([{ ...t('Zen', null), error: 'boom' }]), /no GEMM kernel ran: Zen: boom/);
});

test('runnableCoreTypes follows the CPU flags; coreInConfig reads the core OpenBLAS runs', () => {
  assert.deepEqual(runnableCoreTypes(new Set(['avx', 'avx2', 'fma'])), ['Sandybridge', 'Haswell', 'Zen']);
  const avx512 = new Set(['avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512dq', 'avx512vl', 'avx512cd', 'avx512_bf16']);
  assert.deepEqual(runnableCoreTypes(avx512), ['Sandybridge', 'Haswell', 'Zen', 'SkylakeX', 'Cooperlake']);
  assert.deepEqual(runnableCoreTypes(avx512, 'arm64'), []);
  assert.equal(coreInConfig('OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64; threads=1'), 'Haswell');
  assert.match(describeTimings([t(null, 10), t('Haswell', 8), { ...t('Zen', null), error: 'x' }]), /^Haswell 8\.00 ms, Cooperlake \(OpenBLAS's pick\) 10\.00, Zen: x$/);
});

const noAddon = existsSync(DEFAULT_ADDON_PATH()) ? false : 'native addon not built';

test('measured once, cached for this machine, measured again when the cache is for another', { skip: noAddon }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sacbridge-kernels-'));
  const cachePath = join(dir, 'kernel-choice.json');
  const first = await chooseKernel({ cachePath, openBlasAvailable: true, rounds: 1 });
  assert.match(first.note, /^chosen by measurement now \(update GEMMs: .+ ms.*; cached in /);
  const c = first.choice;
  const own = c.timings.find((x) => x.provider === 'openblas' && x.coreType === null);
  assert.ok(own !== undefined && own.ms !== null && own.ms > 0, JSON.stringify(c.timings));
  const wasm = c.timings.find((x) => x.provider === 'wasm-simd');
  assert.ok(wasm !== undefined && wasm.ms !== null && wasm.ms > 0);
  // Every kernel either ran or says why not; the chosen one is the fastest by the rule above.
  for (const x of c.timings) assert.ok(x.ms !== null || (x.error ?? '') !== '', JSON.stringify(x));
  const best = fastest(c.timings);
  assert.equal(c.provider, best.provider);
  assert.equal(c.coreType, best.coreType);
  const saved = JSON.parse(readFileSync(cachePath, 'utf8')) as KernelChoice;
  assert.deepEqual(saved, c);

  const second = await chooseKernel({ cachePath, openBlasAvailable: true, rounds: 1 });
  assert.deepEqual(second.choice, c);
  assert.match(second.note, /^chosen by measurement on \d{4}-\d\d-\d\d \(update GEMMs: .*cached in /);

  writeFileSync(cachePath, JSON.stringify({ ...c, key: 'another-machine' }));
  const third = await chooseKernel({ cachePath, openBlasAvailable: true, rounds: 1 });
  assert.match(third.note, /^chosen by measurement now/);
  assert.equal(third.choice.key, c.key);
});

test('a cache that cannot be written is reported, and the measurement still applies', async () => {
  // A directory that cannot exist: its parent is a regular file.
  const file = join(mkdtempSync(join(tmpdir(), 'sacbridge-kernels-')), 'a-file');
  writeFileSync(file, '');
  const third = await chooseKernel({ cachePath: join(file, 'sub', 'kernel-choice.json'), openBlasAvailable: false, rounds: 1 });
  assert.equal(third.choice.provider, 'wasm-simd');
  assert.match(third.note, /update GEMMs: wasm-simd [\d.]+ ms; not cached: /);
});
