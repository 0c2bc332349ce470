/**
 * Worker for learner.test.ts: publishes actor weights as fast as it can, version v with every
 * float = v, until told to stop. Does nothing when loaded outside a worker (the test runner
 * loads every file under test/).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { WeightWriter } from '../../src/learner/weightExchange.js';
import type { ActorLayout } from '../../src/learner/weightExchange.js';

if (!isMainThread && parentPort !== null) {
  const { buffer, layout, stop } = workerData as { buffer: SharedArrayBuffer; layout: ActorLayout; stop: SharedArrayBuffer };
  const writer = new WeightWriter(buffer, layout);
  const flag = new Int32Array(stop);
  let v = 0;
  parentPort.postMessage('started');
  while (Atomics.load(flag, 0) === 0) {
    v++;
    writer.backFloats().fill(v);
    writer.commit(v);
  }
  parentPort.postMessage(v);
}
