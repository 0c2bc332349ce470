/**
 * Worker-thread entry: drains robot transitions from the shared ring into the learner, runs
 * gradient updates at the configured update-to-data ratio, and publishes actor weights through
 * the triple buffer. The control loop on the main thread never waits for any of this.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { CreateLearner, LearnerSchedule } from './learnerApi.js';
import { CONTROL, updatesOwed } from './learnerApi.js';
import type { TransitionLayout } from './transitionRing.js';
import { TransitionReader } from './transitionRing.js';
import type { ActorLayout } from './weightExchange.js';
import { WeightWriter } from './weightExchange.js';

export interface LearnerWorkerData {
  /** Absolute path or file: URL of a module exporting `createLearner`. */
  module: string;
  options: Record<string, unknown>;
  ring: SharedArrayBuffer;
  ringLayout: TransitionLayout;
  weights: SharedArrayBuffer;
  actor: ActorLayout;
  control: SharedArrayBuffer;
  schedule: LearnerSchedule;
}

export type LearnerMessage =
  | { type: 'ready' }
  | { type: 'metrics'; updates: number; ingested: number; version: number; metrics: Record<string, number> }
  | { type: 'error'; message: string; stack?: string }
  | { type: 'state'; request: number; state: unknown }
  | { type: 'stopped'; updates: number; ingested: number; state: unknown };

async function main(data: LearnerWorkerData): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('learnerWorker must run in a worker thread');
  const url = data.module.startsWith('file:') ? data.module : pathToFileURL(data.module).href;
  const mod = (await import(url)) as { createLearner?: CreateLearner };
  if (typeof mod.createLearner !== 'function') throw new Error(`learner module ${data.module} does not export createLearner`);
  const learner = await mod.createLearner({
    observationSize: data.ringLayout.observationSize,
    actionSize: data.ringLayout.actionSize,
    actor: data.actor,
    options: data.options,
  });
  const reader = new TransitionReader(data.ring, data.ringLayout);
  const writer = new WeightWriter(data.weights, data.actor);
  const control = new Int32Array(data.control);
  const s = data.schedule;
  let ingested = 0, updates = 0, version = 0, exportAnswered = 0;
  const observe = learner.observe.bind(learner);
  post({ type: 'ready' });

  while (Atomics.load(control, CONTROL.STOP) === 0) {
    const exportAsked = Atomics.load(control, CONTROL.EXPORT);
    if (exportAsked !== exportAnswered) {
      exportAnswered = exportAsked;
      post({ type: 'state', request: exportAsked, state: learner.exportState?.() ?? null });
    }
    ingested += reader.drain(observe);
    Atomics.store(control, CONTROL.INGESTED, ingested);
    const owed = Atomics.load(control, CONTROL.PAUSED) === 0 ? updatesOwed(s, ingested, updates) : 0;
    if (owed === 0) {
      reader.waitForData(20);
      continue;
    }
    const metrics = await learner.update();
    updates++;
    Atomics.store(control, CONTROL.UPDATES, updates);
    if (updates % s.publishEvery === 0) {
      version++;
      writer.publish(learner.actorWeights(), version);
      Atomics.store(control, CONTROL.VERSION, version);
    }
    if (metrics && updates % s.metricsEvery === 0) post({ type: 'metrics', updates, ingested, version, metrics });
  }
  // Transitions that arrived after the last update still belong in the handed-back state.
  ingested += reader.drain(observe);
  Atomics.store(control, CONTROL.INGESTED, ingested);
  post({ type: 'stopped', updates, ingested, state: learner.exportState?.() ?? null });
  await learner.close?.();

  function post(m: LearnerMessage): void {
    port?.postMessage(m);
  }
}

main(workerData as LearnerWorkerData).catch((e: unknown) => {
  const err = e instanceof Error ? e : new Error(String(e));
  parentPort?.postMessage({ type: 'error', message: err.message, stack: err.stack } satisfies LearnerMessage);
});
