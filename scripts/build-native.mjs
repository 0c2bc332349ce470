#!/usr/bin/env node
// Builds the optional OpenBLAS GEMM addon (src/compute/native/sgemm_addon.c -> build/sacbridge_sgemm.node).
// Runs at `npm install`. It never fails the install: without a C compiler, Node's headers or
// OpenBLAS it prints why and exits 0, and sacbridge then runs on its WebAssembly GEMM.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src/compute/native/sgemm_addon.c');
const outDir = join(root, 'build');
const output = join(outDir, 'sacbridge_sgemm.node');
// require() only loads native code from a name ending in .node.
const tmp = join(outDir, `sacbridge_sgemm.tmp-${process.pid}.node`);

function skip(why) {
  rmSync(tmp, { force: true });
  console.log(`sacbridge: native OpenBLAS GEMM not built (${why}); the WebAssembly GEMM will be used`);
  process.exit(0);
}

function firstExisting(paths) {
  return paths.find((p) => existsSync(p));
}

const nodeInclude = firstExisting([
  join(dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
  '/usr/local/include/node',
]);
if (!nodeInclude || !existsSync(join(nodeInclude, 'node_api.h'))) skip("Node's C headers (node_api.h) not found");

const cblasDir = firstExisting([
  '/usr/include/x86_64-linux-gnu',
  '/usr/include/aarch64-linux-gnu',
  '/usr/include/openblas',
  '/usr/include',
].filter((d) => existsSync(join(d, 'cblas.h'))));
if (!cblasDir) skip('cblas.h not found: install libopenblas-dev');

const compiler = ['cc', 'gcc', 'clang'].find((c) => {
  try {
    execFileSync(c, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
if (!compiler) skip('no C compiler (cc, gcc or clang)');

mkdirSync(outDir, { recursive: true });
try {
  execFileSync(
    compiler,
    [
      '-O3', '-pthread', '-fPIC', '-shared', '-std=c11', '-Wall',
      '-DNAPI_VERSION=8', '-DNODE_GYP_MODULE_NAME=sacbridge_sgemm',
      `-I${nodeInclude}`, `-I${cblasDir}`,
      source, '-o', tmp, '-lopenblas', '-lm', '-pthread',
    ],
    { stdio: ['ignore', 'inherit', 'pipe'] },
  );
} catch (err) {
  const stderr = err && err.stderr ? String(err.stderr).trim().split('\n').slice(-3).join(' | ') : String(err);
  skip(`compile/link failed: ${stderr}`);
}
// Load it once here so a broken library (e.g. libopenblas.so missing at run time) is reported now.
try {
  const { createRequire } = await import('node:module');
  const addon = createRequire(import.meta.url)(tmp);
  renameSync(tmp, output);
  console.log(`sacbridge: built ${output} (${addon.config()})`);
} catch (err) {
  skip(`built addon does not load: ${err instanceof Error ? err.message : String(err)}`);
}
