/**
 * The OpenBLAS addon's calls for the fused update, called directly on a WebAssembly memory:
 * a batch-2 GEMM split over 2 cores (P.cores) gives the same bits as on 1; act 2 (the ReLU's
 * gradient after the product) gives the same bits as the product followed by the WebAssembly
 * module's relu_backward; bad parameters are refused by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { DEFAULT_ADDON_PATH, loadOpenBlas, MASK_ABI, P, PARAM_COUNT, wasmReluBackwardOn } from '../../src/compute/gemmProviders.js';
import { Rng } from '../../src/util/rng.js';

const loaded = loadOpenBlas();
// The addon is optional (a C compiler and libopenblas-dev); where it is built, it must be built from this source.
const skip = loaded.ok ? false : `OpenBLAS addon not available: ${loaded.why}`;

test('the OpenBLAS addon in build/ is built from this source (its ABI)', { skip }, () => {
  assert.ok(loaded.ok && loaded.value.abi >= MASK_ABI, `the addon was built from older source (ABI ${loaded.ok ? loaded.value.abi : '?'}, this source is ${MASK_ABI}): run node scripts/build-native.mjs (npm install does)`);
});

interface Addon {
  gemm(heap: ArrayBuffer, p: Int32Array): void;
  abi(): number;
}

const M = 96;
const K = 80;
const N = 64;
/** Float offsets of A [2][M][K], B [2][K][N], bias [2][N], C [2][M][N] twice, Y [2][M][N]. */
const at = { a: 16, b: 16 + 2 * M * K, bias: 16 + 2 * M * K + 2 * K * N, c1: 0, c2: 0, y: 0 };
at.c1 = at.bias + 2 * N;
at.c2 = at.c1 + 2 * M * N;
at.y = at.c2 + 2 * M * N;

function setup(): { addon: Addon; memory: WebAssembly.Memory; f: Float32Array } {
  const addon = createRequire(import.meta.url)(DEFAULT_ADDON_PATH()) as Addon;
  const memory = new WebAssembly.Memory({ initial: 16 });
  const f = new Float32Array(memory.buffer);
  const rng = new Rng(5);
  for (let i = at.a; i < at.c1; i++) f[i] = rng.normal();
  // ReLU outputs: zero about half the time, exactly as a ReLU leaves them.
  for (let i = 0; i < 2 * M * N; i++) f[at.y + i] = Math.max(0, rng.normal());
  return { addon, memory, f };
}

function params(c: number, o: { cores?: number; act?: number; maskOff?: number; bias?: boolean } = {}): Int32Array {
  const p = new Int32Array(PARAM_COUNT);
  p[P.m] = M;
  p[P.n] = N;
  p[P.k] = K;
  p[P.batch] = 2;
  p[P.aOff] = at.a * 4;
  p[P.aStride] = M * K * 4;
  p[P.bOff] = at.b * 4;
  p[P.bStride] = K * N * 4;
  p[P.cOff] = c * 4;
  if (o.bias === true) {
    p[P.biasOff] = at.bias * 4;
    p[P.biasMode] = 1;
    p[P.biasStride] = N * 4;
  }
  p[P.act] = o.act ?? 0;
  p[P.cores] = o.cores ?? 1;
  p[P.maskOff] = o.maskOff ?? 0;
  return p;
}

test('a batch-2 GEMM (bias, ReLU) on 2 cores gives the bits it gives on 1, many times over', { skip }, () => {
  const { addon, memory, f } = setup();
  addon.gemm(memory.buffer, params(at.c1, { bias: true, act: 1 }));
  const one = f.slice(at.c1, at.c1 + 2 * M * N);
  // Not trivially zero: the product is there.
  assert.ok(one.some((x) => x > 1));
  for (let r = 0; r < 50; r++) {
    f.fill(NaN, at.c2, at.c2 + 2 * M * N);
    addon.gemm(memory.buffer, params(at.c2, { bias: true, act: 1, cores: 2 }));
    assert.deepEqual(f.slice(at.c2, at.c2 + 2 * M * N), one, `round ${r}`);
  }
});

test('act 2 masks the product by the ReLU outputs as relu_backward does, bit for bit', { skip }, () => {
  const { addon, memory, f } = setup();
  addon.gemm(memory.buffer, params(at.c1));
  wasmReluBackwardOn(memory)(at.c1 * 4, at.y * 4, 2 * M * N);
  for (const cores of [1, 2]) {
    addon.gemm(memory.buffer, params(at.c2, { act: 2, maskOff: at.y * 4, cores }));
    const got = f.slice(at.c2, at.c2 + 2 * M * N);
    assert.deepEqual(got, f.slice(at.c1, at.c1 + 2 * M * N), `cores ${cores}`);
    assert.ok(got.some((x, i) => x === 0 && f[at.y + i] === 0) && got.some((x) => x !== 0));
  }
});

test('act 2 without a mask inside the heap, and an unknown act, are refused by name', { skip }, () => {
  const { addon, memory } = setup();
  assert.throws(() => addon.gemm(memory.buffer, params(at.c2, { act: 2 })), /ReLU mask outside the heap \(act 2 needs maskOff, parameter 16\)/);
  assert.throws(() => addon.gemm(memory.buffer, params(at.c2, { act: 2, maskOff: memory.buffer.byteLength - 16 })), /ReLU mask outside the heap/);
  assert.throws(() => addon.gemm(memory.buffer, params(at.c2, { act: 3 })), /act must be 0 \(linear\), 1 \(relu\) or 2 \(relu gradient\)/);
});
