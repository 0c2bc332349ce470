/**
 * The control thread's handle on the learner worker: owns the shared transition ring, the
 * weight exchange and the control block; starts and stops the worker; pauses learning (the
 * safety watchdog, e-stop).
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { LearnerSchedule } from './learnerApi.js';
import { CONTROL } from './learnerApi.js';
import type { LearnerMessage, LearnerWorkerData } from './learnerWorker.js';
import { TransitionWriter, createTransitionRingBuffer } from './transitionRing.js';
import type { ActorLayout } from './weightExchange.js';
import { WeightReader, createWeightExchangeBuffer } from './weightExchange.js';

export interface LearnerHostOptions {
  /** Module exporting `createLearner` (absolute path or file: URL). */
  module: string;
  options?: Record<string, unknown>;
  observationSize: number;
  actionSize: number;
  actor: ActorLayout;
  /** Ring capacity in transitions, a power of two (default 4096). */
  ringCapacity?: number;
  schedule?: Partial<LearnerSchedule>;
  onMetrics?(m: Extract<LearnerMessage, { type: 'metrics' }>): void;
  onError?(error: Error): void;
}

export class LearnerHost {
  readonly transitions: TransitionWriter;
  readonly weights: WeightReader;
  private readonly control: Int32Array;
  private readonly worker: Worker;
  private readonly exited: Promise<number>;
  private failure: Error | null = null;
  private exportRequests = 0;
  private readonly stateWaiters = new Map<number, (state: unknown) => void>();
  private finalState: unknown = undefined;
  private readonly requests: MessagePort;
  private evaluations = 0;
  private gone = false;
  private readonly evaluationWaiters = new Map<number, { resolve(r: unknown): void; reject(e: Error): void }>();

  private constructor(o: LearnerHostOptions, ready: (e: Error | null) => void) {
    const ringLayout = { observationSize: o.observationSize, actionSize: o.actionSize, capacity: o.ringCapacity ?? 4096 };
    const ring = createTransitionRingBuffer(ringLayout);
    const weights = createWeightExchangeBuffer(o.actor);
    const control = new SharedArrayBuffer(CONTROL.SIZE * 4);
    this.transitions = new TransitionWriter(ring, ringLayout);
    this.weights = new WeightReader(weights, o.actor);
    this.control = new Int32Array(control);
    const schedule: LearnerSchedule = { updatesPerTransition: 1, learningStarts: 0, publishEvery: 1, metricsEvery: 100, ...o.schedule };
    if (!(schedule.updatesPerTransition > 0)) throw new Error(`learner: updatesPerTransition must be > 0, got ${schedule.updatesPerTransition}`);
    if (!(Number.isInteger(schedule.publishEvery) && schedule.publishEvery >= 1)) throw new Error(`learner: publishEvery must be an integer >= 1, got ${schedule.publishEvery}`);
    const channel = new MessageChannel();
    this.requests = channel.port1;
    const data: LearnerWorkerData = { module: o.module, options: o.options ?? {}, ring, ringLayout, weights, actor: o.actor, control, schedule, requests: channel.port2 };
    this.worker = new Worker(new URL('./learnerWorker.js', import.meta.url), { workerData: data, transferList: [channel.port2] });
    let pending = true;
    this.worker.on('message', (m: LearnerMessage) => {
      if (m.type === 'ready' && pending) { pending = false; ready(null); }
      else if (m.type === 'metrics') o.onMetrics?.(m);
      else if (m.type === 'state') {
        // Answers are in request order; one answer serves every request made before it.
        for (const [n, resolve] of this.stateWaiters) {
          if (n <= m.request) { this.stateWaiters.delete(n); resolve(m.state); }
        }
      } else if (m.type === 'evaluation') {
        const w = this.evaluationWaiters.get(m.id);
        this.evaluationWaiters.delete(m.id);
        if (m.error === undefined) w?.resolve(m.result);
        else w?.reject(new Error(`learner evaluate: ${m.error}`));
      } else if (m.type === 'stopped') this.finalState = m.state;
      else if (m.type === 'error') {
        const err = new Error(`learner worker: ${m.message}`);
        this.failure = err;
        if (pending) { pending = false; ready(err); } else o.onError?.(err);
      }
    });
    this.worker.on('error', (e) => {
      this.failure = e;
      if (pending) { pending = false; ready(e); } else o.onError?.(e);
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', (code) => {
      if (pending) { pending = false; ready(this.failure ?? new Error(`learner worker exited with code ${code} before it was ready`)); }
      this.gone = true;
      for (const w of this.evaluationWaiters.values()) w.reject(this.failure ?? new Error('learner worker exited before answering'));
      this.evaluationWaiters.clear();
      this.requests.close();
      resolve(code);
    }));
  }

  /** Start the worker; resolves once the learner module is loaded and created. */
  static async start(o: LearnerHostOptions): Promise<LearnerHost> {
    let host: LearnerHost | undefined;
    await new Promise<void>((resolve, reject) => {
      host = new LearnerHost(o, (e) => (e ? reject(e) : resolve()));
    }).catch(async (e: unknown) => {
      await host?.worker.terminate();
      throw e;
    });
    return host as LearnerHost;
  }

  /** Pause or resume gradient updates (transitions are still drained). */
  setPaused(paused: boolean): void {
    Atomics.store(this.control, CONTROL.PAUSED, paused ? 1 : 0);
  }

  get error(): Error | null {
    return this.failure;
  }

  stats(): { updates: number; ingested: number; version: number; ringPending: number; ringDropped: number; paused: boolean } {
    return {
      updates: Atomics.load(this.control, CONTROL.UPDATES),
      ingested: Atomics.load(this.control, CONTROL.INGESTED),
      version: Atomics.load(this.control, CONTROL.VERSION),
      ringPending: this.transitions.pending,
      ringDropped: this.transitions.dropped,
      paused: Atomics.load(this.control, CONTROL.PAUSED) !== 0,
    };
  }

  /**
   * The learner's state (its `exportState()`), taken between two updates; null when the learner
   * exports none. Rejects if the worker exits first.
   */
  requestState(): Promise<unknown> {
    const n = ++this.exportRequests;
    const answer = new Promise<unknown>((resolve, reject) => {
      this.stateWaiters.set(n, resolve);
      void this.exited.then(() => {
        if (this.stateWaiters.delete(n)) reject(this.failure ?? new Error('learner worker exited before handing back its state'));
      });
    });
    Atomics.store(this.control, CONTROL.EXPORT, n);
    Atomics.notify(this.transitions.headerView, 0);
    return answer;
  }

  /**
   * A request to the learner (its `evaluate(request)`), answered between two updates: at once, or
   * with `afterTransitions` N between the last update that learns from at most N robot
   * transitions and the first that learns from more (so a change such as a rollback takes its
   * place in the update sequence whatever the thread timing). Push the N-th transition first.
   */
  evaluate(request: unknown, afterTransitions?: number): Promise<unknown> {
    if (this.gone) return Promise.reject(this.failure ?? new Error('learner worker has exited'));
    const id = ++this.evaluations;
    const answer = new Promise<unknown>((resolve, reject) => this.evaluationWaiters.set(id, { resolve, reject }));
    this.requests.postMessage(afterTransitions === undefined ? { id, request } : { id, request, afterTransitions });
    Atomics.notify(this.transitions.headerView, 0);
    return answer;
  }

  /**
   * Ask the worker to finish its current update and exit; terminate it after `timeoutMs`.
   * Resolves with the learner's final state (its `exportState()`; null when it has none,
   * undefined when the worker had to be terminated or failed).
   */
  async stop(timeoutMs = 5000): Promise<unknown> {
    Atomics.store(this.control, CONTROL.STOP, 1);
    Atomics.notify(this.transitions.headerView, 0);
    const timer = setTimeout(() => void this.worker.terminate(), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    return this.finalState;
  }
}
