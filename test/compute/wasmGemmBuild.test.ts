/**
 * The committed WebAssembly GEMM is what its source builds, and it is safe to instantiate on
 * tfjs-wasm's memory: it imports its memory, has no data segments and never moves a stack.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WASM_GEMM_PATH } from '../../src/compute/gemmProviders.js';
import { packageRoot } from '../../src/util/packageRoot.js';
import { moduleInterface, WebAssemblyApi } from '../../src/compute/webAssembly.js';

function has(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}
const toolchain = has('clang') && has('wasm-ld') ? false : 'clang and wasm-ld are not installed (the committed .wasm is used as is)';

test('the committed sgemm_simd.wasm is byte-identical to a fresh build of sgemm_simd.c', { skip: toolchain }, () => {
  const script = join(packageRoot(), 'scripts', 'build-wasm-gemm.mjs');
  const result = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  assert.match(result.stdout, /matches its source/);
});

test('the module imports only its memory, exports gemm, adam, polyak and relu_backward, and has no data section', () => {
  const bytes = readFileSync(WASM_GEMM_PATH());
  const module = new WebAssemblyApi.Module(bytes);
  const { imports, exports } = moduleInterface(module);
  assert.deepEqual(imports, [{ module: 'env', name: 'memory', kind: 'memory' }]);
  assert.deepEqual(exports.map((e) => e.name).sort(), ['adam', 'gemm', 'polyak', 'relu_backward']);
  // Section ids: 11 is data. Walk the section headers (LEB128 sizes).
  let at = 8;
  const ids: number[] = [];
  while (at < bytes.length) {
    const id = bytes[at++]!;
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++]!;
      size |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
    }
    ids.push(id);
    at += size;
  }
  assert.ok(!ids.includes(11), `sections ${ids}`);
});

test('the code never reads or writes a global (no shadow stack in the shared memory)', { skip: has('wasm2wat') ? false : 'wasm2wat (wabt) not installed' }, () => {
  const text = execFileSync('wasm2wat', [WASM_GEMM_PATH()], { encoding: 'utf8' });
  assert.match(text, /\(func/);
  assert.doesNotMatch(text, /global\.(get|set)/);
});
