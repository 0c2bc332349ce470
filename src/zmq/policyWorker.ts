/**
 * Worker-thread entry of the threaded policy server (threadedPolicyServer.ts): a PolicyServer
 * on this thread's own ZeroMQ context, answering from a FastPolicy that takes the newest actor
 * weights from the triple buffer before each answer. Counts go to the shared counter block.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as zmq from 'zeromq';
import { FastPolicy } from '../agent/fastPolicy.js';
import { WeightReader, type ActorLayout } from '../learner/weightExchange.js';
import { Rng } from '../util/rng.js';
import { setCurrentThreadAffinity, setCurrentThreadScheduling } from '../control/realtime.js';
import { PolicyCounters } from './policyCounters.js';
import { PolicyServer, type ActionBounds } from './policyServer.js';
import { semiSpaceMb } from '../util/workerHeap.js';
import type { BindSecurity } from './security.js';

export interface PolicyWorkerData {
  endpoint: string;
  security: BindSecurity | undefined;
  sendHighWaterMark: number;
  /** The weight exchange (weightExchange.ts) the daemon's thread publishes into. */
  weights: SharedArrayBuffer;
  layout: ActorLayout;
  /** PolicyCounters' block. */
  counters: SharedArrayBuffer;
  seed: number;
  /** SCHED_FIFO priority for this thread (and so its ZeroMQ I/O thread); 0 = normal scheduling. */
  threadPriority: number;
  /** CPUs this thread (and so its ZeroMQ I/O thread) is pinned to; '' = any. */
  threadCpus: string;
  /** Bounds of every action answered; null = raw. */
  actionBounds: ActionBounds | null;
}

/** Worker -> host. */
export type PolicyWorkerMessage = { type: 'ready'; endpoint: string; semiSpaceMb: number } | { type: 'error'; message: string } | { type: 'closed' };
/** Host -> worker. */
export type PolicyHostMessage = { type: 'close' };

async function main(data: PolicyWorkerData): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('policyWorker must run in a worker thread');
  const reader = new WeightReader(data.weights, data.layout);
  // The host publishes the first weights before starting this thread.
  const first = reader.poll() ?? reader.current();
  const policy = new FastPolicy(first.weights, new Rng(data.seed), first.version);
  // Before the context exists: its I/O thread inherits the scheduling policy and the CPU mask.
  try {
    if (data.threadPriority > 0) setCurrentThreadScheduling('fifo', data.threadPriority, 'the policy server thread');
    if (data.threadCpus !== '') setCurrentThreadAffinity(data.threadCpus, 'the policy server thread');
  } catch (err) {
    port.postMessage({ type: 'error', message: (err as Error).message } satisfies PolicyWorkerMessage);
    return;
  }
  // Not zeromq.js's default context: that one is shared by all threads of the process, and the
  // ZAP handler for this socket's CURVE keys must be this thread's (security.ts).
  const context = new zmq.Context();
  let server: PolicyServer;
  try {
    server = await PolicyServer.open({
      endpoint: data.endpoint,
      security: data.security,
      policy,
      sendHighWaterMark: data.sendHighWaterMark,
      counters: new PolicyCounters(data.counters),
      context,
      actionBounds: data.actionBounds,
      beforeAnswer: () => {
        const fresh = reader.poll();
        if (fresh !== null) policy.swap(fresh.weights, fresh.version);
      },
    });
  } catch (err) {
    port.postMessage({ type: 'error', message: (err as Error).message } satisfies PolicyWorkerMessage);
    return;
  }
  port.on('message', (m: PolicyHostMessage) => {
    if (m.type !== 'close') return;
    void server.close().then(() => {
      port.postMessage({ type: 'closed' } satisfies PolicyWorkerMessage);
      // Nothing left to keep this thread alive: it exits.
      port.close();
    });
  });
  port.postMessage({ type: 'ready', endpoint: server.endpoint, semiSpaceMb: semiSpaceMb() } satisfies PolicyWorkerMessage);
}

main(workerData as PolicyWorkerData).catch((err: unknown) => {
  parentPort?.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) } satisfies PolicyWorkerMessage);
});
