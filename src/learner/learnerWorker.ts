/**
 * Worker-thread entry: drains robot transitions from the shared ring, hands them to the learner
 * as its schedule needs them, runs gradient updates at the configured update-to-data ratio, and
 * publishes actor weights through the triple buffer. The control loop on the main thread never
 * waits for any of this.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { CreateLearner, LearnerSchedule } from './learnerApi.js';
import { CONTROL, transitionsForUpdate, updatesOwed } from './learnerApi.js';
import type { TransitionLayout, TransitionView } from './transitionRing.js';
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
  /** Diagnostic requests ({ id, request }), polled between updates (the loop never yields to events). */
  requests: MessagePort;
}

/** A request from LearnerHost.evaluate: answered at once, or in its place after `afterTransitions`. */
interface Request { id: number; request: unknown; afterTransitions?: number }

export type LearnerMessage =
  | { type: 'ready' }
  | { type: 'metrics'; updates: number; ingested: number; version: number; metrics: Record<string, number> }
  | { type: 'error'; message: string; stack?: string }
  | { type: 'state'; request: number; state: unknown }
  | { type: 'evaluation'; id: number; result: unknown; error?: string }
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
  // Drained from the ring at once (so it never fills for a learner that lags), handed to the
  // learner only as the schedule needs them: update k learns from exactly the first
  // transitionsForUpdate(k) transitions, as it would if the learner kept up. Before, a learner
  // that fell behind took in a burst and its next updates drew from data they were not due to
  // see, so the update-to-data ratio held only on average.
  // A learner that never catches up would make the queue grow without end: beyond the ring's
  // capacity the oldest are taken in anyway (and updates see more than they are due).
  const waiting = new TransitionQueue();
  /** Requests that wait for their place in the update sequence (afterTransitions). */
  let deferred: Request[] = [];
  const takeUpTo = (n: number): void => {
    while (ingested < n) {
      const t = waiting.shift();
      if (t === undefined) break;
      learner.observe(t);
      ingested++;
    }
    Atomics.store(control, CONTROL.INGESTED, ingested);
  };
  const enqueue = (t: TransitionView): void => {
    waiting.push(t);
    if (waiting.length > data.ringLayout.capacity) takeUpTo(ingested + 1);
  };
  post({ type: 'ready' });

  while (Atomics.load(control, CONTROL.STOP) === 0) {
    const exportAsked = Atomics.load(control, CONTROL.EXPORT);
    if (exportAsked !== exportAnswered) {
      exportAnswered = exportAsked;
      // The exported state holds every transition that has arrived.
      reader.drain(enqueue);
      takeUpTo(Infinity);
      post({ type: 'state', request: exportAsked, state: learner.exportState?.() ?? null });
    }
    for (let m = receiveMessageOnPort(data.requests); m !== undefined; m = receiveMessageOnPort(data.requests)) {
      const r = m.message as Request;
      if (r.afterTransitions === undefined) answer(r);
      else deferred.push(r);
    }
    reader.drain(enqueue);
    // While paused nothing is learned: everything that arrives is taken in.
    const paused = Atomics.load(control, CONTROL.PAUSED) !== 0;
    takeUpTo(paused ? Infinity : transitionsForUpdate(s, updates + 1));
    const owed = paused ? 0 : updatesOwed(s, ingested, updates);
    if (owed === 0) {
      reader.waitForData(20);
      continue;
    }
    // A request placed after N transitions comes between the last update that learns from at
    // most N and the first that learns from more, whatever the thread timing.
    if (deferred.length > 0) {
      const needs = transitionsForUpdate(s, updates + 1);
      deferred = deferred.filter((r) => (needs > r.afterTransitions! ? (answer(r), false) : true));
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
  for (const r of deferred) answer(r);
  // Transitions that arrived after the last update still belong in the handed-back state.
  reader.drain(enqueue);
  takeUpTo(Infinity);
  post({ type: 'stopped', updates, ingested, state: learner.exportState?.() ?? null });
  await learner.close?.();

  function answer(r: Request): void {
    try {
      post({ type: 'evaluation', id: r.id, result: learner.evaluate?.(r.request) ?? null });
    } catch (e) {
      post({ type: 'evaluation', id: r.id, result: null, error: (e as Error).message });
    }
  }

  function post(m: LearnerMessage): void {
    port?.postMessage(m);
  }
}

main(workerData as LearnerWorkerData).catch((e: unknown) => {
  const err = e instanceof Error ? e : new Error(String(e));
  parentPort?.postMessage({ type: 'error', message: err.message, stack: err.stack } satisfies LearnerMessage);
});

/** Transitions copied out of the ring, first in, first out. */
class TransitionQueue {
  private items: TransitionView[] = [];
  private head = 0;

  push(t: TransitionView): void {
    this.items.push({
      observation: t.observation.slice(),
      action: t.action.slice(),
      reward: t.reward,
      nextObservation: t.nextObservation.slice(),
      terminated: t.terminated,
    });
  }

  get length(): number {
    return this.items.length - this.head;
  }

  shift(): TransitionView | undefined {
    if (this.head === this.items.length) return undefined;
    const t = this.items[this.head++];
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    }
    return t;
  }
}
