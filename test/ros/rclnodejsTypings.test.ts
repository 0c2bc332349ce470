import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/test/ros → the repository root.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const here = join(root, 'test', 'ros', 'typings');

function findTypings(): string | null {
  if (process.env.RCLNODEJS_TYPES) return process.env.RCLNODEJS_TYPES;
  const installed = join(root, 'node_modules', 'rclnodejs', 'types');
  return existsSync(join(installed, 'index.d.ts')) ? installed : null;
}

const typings = findTypings();
const skip = typings === null
  ? 'rclnodejs typings not found: set RCLNODEJS_TYPES to the types/ folder of `npm pack rclnodejs@2.2.0` (see test/ros/typings/README.md)'
  : false;
if (skip) console.log(`# rclnodejs typings check skipped: ${skip}`);

test('the narrow rclnodejs interface and message shapes type-check against rclnodejs 2.2.0 typings', { skip, timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rcl-typings-'));
  const types = join(dir, 'rclnodejs_types');
  mkdirSync(types);
  for (const f of readdirSync(typings as string)) if (f.endsWith('.d.ts')) copyFileSync(join(typings as string, f), join(types, f));
  if (!existsSync(join(types, 'interfaces.d.ts'))) copyFileSync(join(here, 'interfaces.d.ts.txt'), join(types, 'interfaces.d.ts'));
  writeFileSync(join(dir, 'check.ts'), readFileSync(join(here, 'check.ts.txt'), 'utf8').replaceAll('@SRC@', join(root, 'src', 'plant', 'ros')));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true,
      types: ['node'], typeRoots: [join(root, 'node_modules', '@types')],
      paths: { rclnodejs: ['./rclnodejs_types/index.d.ts'] },
    },
    files: ['check.ts'],
  }));
  const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  let out = '';
  try {
    out = execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? e);
  }
  assert.equal(out.trim(), '', `tsc found mismatches:\n${out}`);
});
