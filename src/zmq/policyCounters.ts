/**
 * The policy server's counters: requests, replies, actions, dropped replies and rejections by
 * code, in a small block of 64-bit slots.
 *
 * In-thread the block is private. When the server runs in its own worker thread
 * (threadedPolicyServer.ts) the block is a SharedArrayBuffer: the serving thread is the only
 * writer, both sides use Atomics (no torn or lost counts), and nothing crosses threads per
 * request. The daemon's thread reads the block when it wants figures (status) and feeds the
 * growth since its last look to the metrics sink (PolicyMetricsFeed), so counts made while the
 * daemon's thread was busy training are not lost, only reported a little later.
 */
import { PROTOCOL_ERROR_CODES, type ZmqMetricsSink } from './codec.js';
import { RECEIVE_ERROR_CODES } from './receiveLoop.js';

/** Every code a policy rejection can carry (errorCode() in codec.ts, or a failed receive). */
export const POLICY_REJECTION_CODES: readonly string[] = [...PROTOCOL_ERROR_CODES, ...RECEIVE_ERROR_CODES, 'internal'];

const REQUESTS = 0;
const REPLIES = 1;
const ACTIONS = 2;
const REPLY_DROPS = 3;
const FIRST_CODE = 4;
const INTERNAL = FIRST_CODE + POLICY_REJECTION_CODES.indexOf('internal');
const SLOTS = FIRST_CODE + POLICY_REJECTION_CODES.length;

export interface PolicyCountersSnapshot {
  requests: number;
  /** Replies ZeroMQ took (errors included). */
  replies: number;
  actions: number;
  /** Replies ZeroMQ could not queue (client gone or not reading). */
  replyDrops: number;
  rejected: { total: number; byCode: Record<string, number> };
}

export class PolicyCounters {
  static readonly BYTES = SLOTS * 8;
  private readonly slots: BigUint64Array;

  /** Over `buffer` (a SharedArrayBuffer to share it with another thread), or a private block. */
  constructor(readonly buffer: ArrayBuffer | SharedArrayBuffer = new ArrayBuffer(PolicyCounters.BYTES)) {
    if (buffer.byteLength !== PolicyCounters.BYTES) throw new Error(`policy counters: buffer has ${buffer.byteLength} bytes, expected ${PolicyCounters.BYTES}`);
    this.slots = new BigUint64Array(buffer);
  }

  static shared(): PolicyCounters {
    return new PolicyCounters(new SharedArrayBuffer(PolicyCounters.BYTES));
  }

  request(): void {
    Atomics.add(this.slots, REQUESTS, 1n);
  }
  replied(): void {
    Atomics.add(this.slots, REPLIES, 1n);
  }
  action(): void {
    Atomics.add(this.slots, ACTIONS, 1n);
  }
  replyDropped(): void {
    Atomics.add(this.slots, REPLY_DROPS, 1n);
  }
  reject(code: string): void {
    const i = POLICY_REJECTION_CODES.indexOf(code);
    Atomics.add(this.slots, i < 0 ? INTERNAL : FIRST_CODE + i, 1n);
  }

  get requests(): number {
    return this.read(REQUESTS);
  }
  get actions(): number {
    return this.read(ACTIONS);
  }
  get replyDrops(): number {
    return this.read(REPLY_DROPS);
  }
  get rejected(): { total: number; byCode: Record<string, number> } {
    const byCode: Record<string, number> = {};
    let total = 0;
    POLICY_REJECTION_CODES.forEach((code, i) => {
      const n = this.read(FIRST_CODE + i);
      if (n > 0) byCode[code] = n;
      total += n;
    });
    return { total, byCode };
  }

  snapshot(): PolicyCountersSnapshot {
    return { requests: this.requests, replies: this.read(REPLIES), actions: this.actions, replyDrops: this.replyDrops, rejected: this.rejected };
  }

  private read(slot: number): number {
    return Number(Atomics.load(this.slots, slot));
  }
}

/** Hands what a PolicyCounters counted since the last flush to a metrics sink, as increments. */
export class PolicyMetricsFeed {
  private last: PolicyCountersSnapshot = { requests: 0, replies: 0, actions: 0, replyDrops: 0, rejected: { total: 0, byCode: {} } };

  constructor(
    private readonly counters: PolicyCounters,
    private readonly sink: ZmqMetricsSink,
  ) {}

  flush(): void {
    const now = this.counters.snapshot();
    const was = this.last;
    this.last = now;
    if (now.requests > was.requests) this.sink.zmqMessage('policy', 'in', now.requests - was.requests);
    if (now.replies > was.replies) this.sink.zmqMessage('policy', 'out', now.replies - was.replies);
    // The sink counts errors one at a time; rejections are the rare case, so a loop is fine.
    for (let k = was.replyDrops; k < now.replyDrops; k++) this.sink.zmqError('policy', 'reply_dropped');
    for (const [code, n] of Object.entries(now.rejected.byCode)) {
      for (let k = was.rejected.byCode[code] ?? 0; k < n; k++) this.sink.zmqError('policy', code);
    }
  }
}
