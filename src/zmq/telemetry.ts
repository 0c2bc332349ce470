/**
 * Telemetry publisher (PUB). Topics: "tick" (per control tick), "update" (per learning update),
 * "phase" (phase changes). Publishing never waits: PUB drops for a subscriber whose queue is
 * at the high-water mark (that subscriber sees the gap in `seq`; libzmq does not tell the
 * sender), and a message ZeroMQ cannot queue at once is dropped and counted here.
 */
import * as zmq from 'zeromq';
import { encodeMessage, finiteOrNull, type OutgoingPayload, type ZmqMetricsSink } from './codec.js';
import { bindSecurely, type BindSecurity } from './security.js';

export interface TelemetryOptions {
  /** Default tcp://127.0.0.1:5555. */
  readonly endpoint?: string;
  readonly security?: BindSecurity;
  /** Messages queued per subscriber before PUB drops for it. Default 1000. */
  readonly sendHighWaterMark?: number;
  readonly metrics?: ZmqMetricsSink;
}

export interface TickTiming {
  /** Configured control period. */
  readonly periodNs: number;
  /** Start of this tick minus its scheduled time. */
  readonly jitterNs: number;
  /** Time spent computing this tick (policy + plant exchange). */
  readonly computeNs: number;
  /** The tick finished after its deadline. */
  readonly late: boolean;
}

export interface TickTelemetry {
  readonly step: number;
  readonly episode: number;
  readonly episodeStep: number;
  readonly phase: string;
  readonly policyVersion: number;
  readonly observation: Float32Array;
  readonly action: Float32Array;
  readonly reward: number;
  readonly rewardTerms?: Readonly<Record<string, number>>;
  readonly terminated: boolean;
  readonly truncated: boolean;
  readonly timing: TickTiming;
}

export interface UpdateTelemetry {
  readonly update: number;
  readonly policyVersion: number;
  /** Named losses (q1, q2, actor, alpha, ...). */
  readonly losses: Readonly<Record<string, number>>;
  readonly temperature: number;
  readonly entropy: number;
  readonly extra?: Readonly<Record<string, number>>;
}

export interface PhaseTelemetry {
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

export interface TelemetryCounters {
  /** Messages handed to ZeroMQ. */
  published: number;
  /** Messages ZeroMQ could not queue at once (dropped rather than waited for). */
  dropped: number;
}

export class TelemetryPublisher {
  readonly counters: TelemetryCounters = { published: 0, dropped: 0 };
  private seq = 0;
  private closed = false;

  private constructor(
    private readonly socket: zmq.Publisher,
    readonly endpoint: string,
    private readonly release: () => void,
    private readonly metrics: ZmqMetricsSink | undefined,
  ) {}

  static async open(options: TelemetryOptions = {}): Promise<TelemetryPublisher> {
    const socket = new zmq.Publisher({ sendHighWaterMark: options.sendHighWaterMark ?? 1000, sendTimeout: 0, linger: 0 });
    try {
      const bound = await bindSecurely(socket, options.endpoint ?? 'tcp://127.0.0.1:5555', options.security, 'telemetry');
      return new TelemetryPublisher(socket, bound.endpoint, bound.release, options.metrics);
    } catch (err) {
      socket.close();
      throw err;
    }
  }

  publishTick(t: TickTelemetry): void {
    const terms: Record<string, number | null> = {};
    if (t.rewardTerms !== undefined) for (const [k, v] of Object.entries(t.rewardTerms)) terms[k] = finiteOrNull(v);
    const payloads: OutgoingPayload[] = [
      { name: 'observation', data: t.observation },
      { name: 'action', data: t.action },
    ];
    this.publish(
      'tick',
      {
        step: t.step,
        episode: t.episode,
        episode_step: t.episodeStep,
        phase: t.phase,
        policy_version: t.policyVersion,
        reward: finiteOrNull(t.reward),
        reward_terms: terms,
        terminated: t.terminated,
        truncated: t.truncated,
        timing: {
          period_ns: Math.round(t.timing.periodNs),
          jitter_ns: Math.round(t.timing.jitterNs),
          compute_ns: Math.round(t.timing.computeNs),
          late: t.timing.late,
        },
      },
      payloads,
    );
  }

  publishUpdate(u: UpdateTelemetry): void {
    const losses: Record<string, number | null> = {};
    for (const [k, v] of Object.entries(u.losses)) losses[k] = finiteOrNull(v);
    const extra: Record<string, number | null> = {};
    if (u.extra !== undefined) for (const [k, v] of Object.entries(u.extra)) extra[k] = finiteOrNull(v);
    this.publish('update', {
      update: u.update,
      policy_version: u.policyVersion,
      losses,
      temperature: finiteOrNull(u.temperature),
      entropy: finiteOrNull(u.entropy),
      extra,
    });
  }

  publishPhase(p: PhaseTelemetry): void {
    this.publish('phase', { from: p.from, to: p.to, reason: p.reason });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    this.release();
  }

  private publish(topic: string, fields: Record<string, unknown>, payloads: readonly OutgoingPayload[] = []): void {
    if (this.closed) return;
    const frames = encodeMessage(topic, this.seq++, fields, payloads);
    // With sendTimeout 0, zeromq.js sends synchronously: the message is queued or the promise
    // rejects at once (EAGAIN), so no send is ever left pending and "busy writing" cannot occur.
    // The try covers that case anyway: whatever cannot be queued now is dropped and counted.
    try {
      this.socket.send(frames).then(
        () => this.sent(),
        () => this.dropped(),
      );
    } catch {
      this.dropped();
    }
  }

  private sent(): void {
    this.counters.published++;
    this.metrics?.zmqMessage('telemetry', 'out');
  }

  private dropped(): void {
    this.counters.dropped++;
    this.metrics?.zmqError('telemetry', 'dropped');
  }
}
