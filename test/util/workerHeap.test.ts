/**
 * startWorkerWithSemiSpace: real workers, their real V8 heaps. Run in a child process started
 * with the daemon's --max-semi-space-size=2, so that the flag it must override is there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { semiSpaceFlags, semiSpaceMb, startWorkerWithSemiSpace } from '../../src/util/workerHeap.js';

const REPORT = new URL('data:text/javascript,' + encodeURIComponent(`
  import { parentPort } from 'node:worker_threads';
  import v8 from 'node:v8';
  parentPort.postMessage(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576);
`));

const report = (w: Worker): Promise<number> => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject));

if (process.argv[2] === '--child') {
  const sized = startWorkerWithSemiSpace(REPORT, {}, 16);
  const big = await report(sized);
  // Started after the first one runs: the process's flags are back.
  const plain = await report(new Worker(REPORT));
  await sized.terminate();
  process.stdout.write(JSON.stringify({ main: semiSpaceMb(), big, plain }));
  process.exit(0);
} else {
  test('a worker started with its own semi-space gets it; the main thread and later workers keep the process flag', () => {
    const r = spawnSync(process.execPath, ['--max-semi-space-size=2', fileURLToPath(import.meta.url), '--child'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const { main, big, plain } = JSON.parse(r.stdout) as { main: number; big: number; plain: number };
    assert.equal(big, 16);
    assert.ok(plain <= 2, `a later worker has ${plain} MB semi-spaces, the flag says 2`);
    assert.ok(main <= 2, `main thread ${main} MB`);
  });

  test('semiSpaceFlags reads the command line and NODE_OPTIONS forms; a bad size is refused', () => {
    assert.deepEqual(semiSpaceFlags([]), { min: 0, max: 0 });
    assert.deepEqual(semiSpaceFlags(['--max-semi-space-size=2', '--single-threaded-gc']), { min: 0, max: 2 });
    assert.deepEqual(semiSpaceFlags(['--max_semi_space_size', '8', '--min-semi-space-size=4', '--max-semi-space-size=3']), { min: 4, max: 3 });
    assert.throws(() => startWorkerWithSemiSpace(REPORT, {}, 0), /integer number of MB in \[1, 256\], got 0/);
  });
}
