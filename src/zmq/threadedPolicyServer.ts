/**
 * The policy server (ROUTER, docs/protocol.md section 3) on a worker thread of its own, so that
 * an outside controller is answered in microseconds while the daemon's main thread is busy with
 * gradient updates. Same wire protocol, replies and security as PolicyServer, which is what the
 * worker runs (policyWorker.ts).
 *
 * Between the threads, shared memory only, nothing per request or per update:
 * - weights: `publish` copies actor weights into the lock-free triple buffer of
 *   src/learner/weightExchange.ts; the worker takes the newest complete set before each answer,
 *   so an answer never mixes two versions and intermediate versions may be skipped;
 * - counters: a PolicyCounters block the worker writes and this thread reads; a timer hands the
 *   increments to the metrics sink (ZmqMetricsSink), and `counters` reads them at any time.
 * Messages are used only to start (ready, or the bind error) and to stop.
 */
import type { Worker } from 'node:worker_threads';
import { startWorkerWithSemiSpace } from '../util/workerHeap.js';
import type { ActorWeights } from '../agent/policy.js';
import { actorLayoutOf, createWeightExchangeBuffer, WeightWriter, type ActorLayout } from '../learner/weightExchange.js';
import type { ZmqMetricsSink } from './codec.js';
import { PolicyCounters, PolicyMetricsFeed, type PolicyCountersSnapshot } from './policyCounters.js';
import type { PolicyHostMessage, PolicyWorkerData, PolicyWorkerMessage } from './policyWorker.js';
import type { ActionBounds } from './policyServer.js';
import type { BindSecurity } from './security.js';

export interface ThreadedPolicyServerOptions {
  /** Default tcp://127.0.0.1:5556. */
  readonly endpoint?: string;
  readonly security?: BindSecurity;
  /** The actor served from the start and its version; newer ones come through `publish`. */
  readonly weights: ActorWeights;
  readonly version: number;
  /** Seeds the worker's sampling noise (sampled actions only). */
  readonly seed?: number;
  /** SCHED_FIFO priority of the serving thread and its ZeroMQ I/O thread; 0 (default) = normal. */
  readonly threadPriority?: number;
  /** CPUs (Linux CPU list) the serving thread and its ZeroMQ I/O thread are pinned to; '' (default) = any. */
  readonly threadCpus?: string;
  /** Queued replies per client before ROUTER drops for it. Default 1000. */
  readonly sendHighWaterMark?: number;
  /** The serving thread's young-generation semi-space, MB (src/util/workerHeap.ts). Default 16. */
  readonly semiSpaceMb?: number;
  readonly metrics?: ZmqMetricsSink;
  /** How often counts are handed to `metrics`, in ms. Default 250. */
  readonly metricsIntervalMs?: number;
  /** The worker failed after start-up; nothing is answered from then on. */
  readonly onError?: (err: Error) => void;
  /** How long `close` waits for the worker before terminating it, in ms. Default 2000. */
  readonly closeTimeoutMs?: number;
  /** Every action is clipped into these bounds (the safety limits in action units); null or absent: raw. */
  readonly actionBounds?: ActionBounds | null;
}

export interface ThreadedPolicyServerStatus extends PolicyCountersSnapshot {
  endpoint: string;
  /** The newest published version (the worker answers with it from its next request on). */
  policyVersion: number;
  running: boolean;
  error: string | null;
}

const WORKER = new URL('./policyWorker.js', import.meta.url);

export class ThreadedPolicyServer {
  /** The worker's counts, read live from shared memory. */
  readonly counters: PolicyCounters;
  readonly layout: ActorLayout;
  private readonly writer: WeightWriter;
  private readonly feed: PolicyMetricsFeed | null;
  private readonly timer: NodeJS.Timeout | null;
  private published: number;
  private failure: Error | null = null;
  private exited = false;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly endpoint: string,
    private readonly exit: Promise<number>,
    writer: WeightWriter,
    counters: PolicyCounters,
    version: number,
    private readonly options: ThreadedPolicyServerOptions,
    /** The serving thread's young-generation semi-space as it reported it, MB. */
    readonly semiSpaceMb: number,
  ) {
    this.writer = writer;
    this.layout = writer.layout;
    this.counters = counters;
    this.published = version;
    this.feed = options.metrics ? new PolicyMetricsFeed(counters, options.metrics) : null;
    this.timer = this.feed ? setInterval(() => this.feed?.flush(), options.metricsIntervalMs ?? 250).unref() : null;
    worker.on('error', (err) => this.failed(err));
    void exit.then(() => {
      this.exited = true;
      if (this.closing === null) this.failed(new Error('policy server: its worker thread exited'));
    });
  }

  /**
   * Start the worker and bind. Rejects with the same errors as PolicyServer.open (refused
   * non-loopback bind, cannot bind, bad CURVE keys), after the worker is gone.
   */
  static async open(options: ThreadedPolicyServerOptions): Promise<ThreadedPolicyServer> {
    const layout = actorLayoutOf(options.weights);
    const weights = createWeightExchangeBuffer(layout);
    const writer = new WeightWriter(weights, layout);
    writer.publish(options.weights, options.version);
    const counters = PolicyCounters.shared();
    const data: PolicyWorkerData = {
      endpoint: options.endpoint ?? 'tcp://127.0.0.1:5556',
      security: options.security,
      sendHighWaterMark: options.sendHighWaterMark ?? 1000,
      weights,
      layout,
      counters: counters.buffer as SharedArrayBuffer,
      seed: options.seed ?? 0,
      actionBounds: options.actionBounds ?? null,
      threadPriority: options.threadPriority ?? 0,
      threadCpus: options.threadCpus ?? '',
    };
    // Rare scavenges: each one lands in some client's round trip (workerHeap.ts).
    const worker = startWorkerWithSemiSpace(WORKER, { workerData: data }, options.semiSpaceMb ?? 16);
    // Not events.once: that rejects on an 'error' event, and errors are handled on their own.
    const exit = new Promise<number>((resolve) => worker.once('exit', resolve));
    let ready: PolicyWorkerMessage;
    try {
      ready = await new Promise<PolicyWorkerMessage>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        void exit.then((code) => reject(new Error(`policy server: its worker thread exited with code ${code} before binding`)));
      });
    } catch (err) {
      await ThreadedPolicyServer.ended(worker, exit, options.closeTimeoutMs);
      throw err;
    }
    worker.removeAllListeners('message').removeAllListeners('error');
    if (ready.type !== 'ready') {
      // The worker has closed its socket and ends by itself.
      await ThreadedPolicyServer.ended(worker, exit, options.closeTimeoutMs);
      throw new Error(ready.type === 'error' ? ready.message : `policy server: unexpected worker message ${ready.type}`);
    }
    return new ThreadedPolicyServer(worker, ready.endpoint, exit, writer, counters, options.version, options, ready.semiSpaceMb);
  }

  /** Serve `weights` (the same layer sizes) as `version` from the next request on. Copies them. */
  publish(weights: ActorWeights, version: number): void {
    this.writer.publish(weights, version);
    this.published = version;
  }

  get version(): number {
    return this.published;
  }

  get running(): boolean {
    return !this.exited && this.failure === null && this.closing === null;
  }

  get error(): Error | null {
    return this.failure;
  }

  status(): ThreadedPolicyServerStatus {
    return { endpoint: this.endpoint, policyVersion: this.published, running: this.running, error: this.failure?.message ?? null, ...this.counters.snapshot() };
  }

  /** Close the socket in the worker and wait for the thread to end (terminated after the timeout). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.exited) {
        this.worker.postMessage({ type: 'close' } satisfies PolicyHostMessage);
        await ThreadedPolicyServer.ended(this.worker, this.exit, this.options.closeTimeoutMs);
      }
      if (this.timer !== null) clearInterval(this.timer);
      this.feed?.flush();
    })();
    return this.closing;
  }

  /**
   * Wait for the worker to end by itself, terminating it only after `timeoutMs`: terminating a
   * thread in the middle of zeromq.js's native code can abort the whole process
   * (zeromq/zeromq.js#411), so the worker closes its socket and returns on its own.
   */
  private static async ended(worker: Worker, exit: Promise<number>, timeoutMs = 2000): Promise<void> {
    const timer = setTimeout(() => void worker.terminate(), timeoutMs);
    await exit;
    clearTimeout(timer);
  }

  private failed(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.options.onError?.(err);
  }
}
