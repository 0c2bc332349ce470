import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Env } from '../../src/env/env.js';
import { packageRoot } from '../../src/util/packageRoot.js';
import { createEnv } from '../../src/wiring/envFactory.js';

// Task modules: `--task FILE.mjs` loads a module whose default export is a defineTask(...)
// definition, importing from 'sacbridge' (package.json "exports"); a TypeScript task is
// type-checked against the published declarations.

const envs: Env[] = [];
after(async () => {
  for (const e of envs) await e.plant.close();
});

test('examples/arm7/reach.mjs (defineTask from sacbridge) gives the same env as reach.json', async () => {
  const root = packageRoot();
  const a = await createEnv(path.join(root, 'examples/arm7/reach.json'), { seed: 3 });
  const b = await createEnv(path.join(root, 'examples/arm7/reach.mjs'), { seed: 3 });
  envs.push(a, b);
  assert.equal(b.task.name, 'arm7_reach');
  assert.deepEqual(Array.from(await b.reset()), Array.from(await a.reset()));
  const action = new Float32Array(a.actionSize).fill(0.3);
  for (let t = 0; t < 20; t++) {
    const ra = await a.step(action);
    const rb = await b.step(action);
    assert.deepEqual(Array.from(rb.observation), Array.from(ra.observation));
    assert.deepEqual(rb.terms, ra.terms);
  }
});

test("a TypeScript task importing from 'sacbridge' type-checks, and a misspelt quantity does not", async () => {
  const root = packageRoot();
  // Inside the package so that 'sacbridge' resolves to this checkout (package self-reference).
  const dir = mkdtempSync(path.join(root, '.typecheck-'));
  try {
    const good = `import { defineTask, type Task, type Signals, sumOfSquares } from 'sacbridge';
export default defineTask({
  name: 'reach', model: 'scene.xml', episodeSteps: 10,
  observation: [{ name: 'q', quantity: 'joint_pos', joints: '*' }],
  reward: [{ name: 'effort', type: 'action_magnitude', weight: -1 }],
});
export const helper = (t: Task, s: Signals): number => sumOfSquares(s.get('qpos') ?? []) + t.observationSize;
`;
    writeFileSync(path.join(dir, 'good.ts'), good);
    writeFileSync(path.join(dir, 'bad.ts'), good.replace("quantity: 'joint_pos'", "quantity: 'joint_position'"));
    const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
    const args = (f: string): string[] => [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--skipLibCheck', path.join(dir, f)];
    await promisify(execFile)(process.execPath, args('good.ts'), { cwd: root });
    const failed = await promisify(execFile)(process.execPath, args('bad.ts'), { cwd: root }).then(
      () => null,
      (e: { stdout: string }) => e.stdout,
    );
    assert.ok(failed !== null, 'a misspelt quantity must not type-check');
    assert.match(failed, /bad\.ts\(4,\d+\): error TS2322: Type '"joint_position"' is not assignable/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
