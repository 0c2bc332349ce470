#!/usr/bin/env node
// Builds src/compute/wasm/sgemm_simd.wasm from sgemm_simd.c with clang (wasm32, SIMD128) and
// wasm-ld. The .wasm is committed, so only people changing the C source need clang and lld.
// `--check` rebuilds into a temporary file and exits 1 if it differs from the committed binary.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'src/compute/wasm');
const source = join(dir, 'sgemm_simd.c');
const target = join(dir, 'sgemm_simd.wasm');
const check = process.argv.includes('--check');

const work = mkdtempSync(join(tmpdir(), 'sacbridge-wasm-'));
const object = join(work, 'sgemm_simd.o');
const built = join(work, 'sgemm_simd.wasm');
try {
  execFileSync('clang', [
    '--target=wasm32', '-msimd128', '-O3', '-ffreestanding', '-nostdlib', '-fno-builtin',
    '-Wall', '-c', source, '-o', object,
  ], { stdio: 'inherit' });
  execFileSync('wasm-ld', [
    '--no-entry', '--import-memory', '--strip-all', '--gc-sections',
    // The code keeps everything in wasm locals; a zero-size stack makes any accidental stack use
    // visible (the test checks the module has no data and never writes __stack_pointer).
    '-z', 'stack-size=0', '--global-base=0',
    object, '-o', built,
  ], { stdio: 'inherit' });
  if (check) {
    const same = Buffer.compare(readFileSync(built), readFileSync(target)) === 0;
    console.log(same ? `${target} matches its source` : `${target} differs from what ${source} builds`);
    process.exitCode = same ? 0 : 1;
  } else {
    copyFileSync(built, target);
    console.log(`built ${target}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
