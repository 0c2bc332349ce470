/**
 * Policy server (ROUTER): outside controllers send an observation and get the action back,
 * with the version of the weights that produced it. Works with DEALER clients (frames as is)
 * and REQ clients (an empty delimiter frame first, echoed back). Every request gets exactly
 * one reply: "action", "info" or "error".
 *
 * This class serves on the thread that opens it. The daemon runs it in a worker thread of its
 * own (threadedPolicyServer.ts), so that answers never wait behind training on the main thread.
 */
import * as zmq from 'zeromq';
import type { ActionPolicy } from '../agent/policy.js';
import {
  decodeMessage,
  encodeError,
  encodeMessage,
  errorCode,
  optionalBoolean,
  ProtocolError,
  requireFloat32Vector,
  salvageSeq,
  type ZmqMetricsSink,
} from './codec.js';
import { PolicyCounters } from './policyCounters.js';
import { receiveLoop } from './receiveLoop.js';
import { bindSecurely, type BindSecurity } from './security.js';

export interface PolicyServerOptions {
  /** Default tcp://127.0.0.1:5556. */
  readonly endpoint?: string;
  readonly security?: BindSecurity;
  readonly policy: ActionPolicy;
  /** Queued replies per client before ROUTER drops for it. Default 1000. */
  readonly sendHighWaterMark?: number;
  /** Told of every message and rejection as it happens. */
  readonly metrics?: ZmqMetricsSink;
  /** Where to count (default: a private block; the threaded server shares one with the daemon's thread). */
  readonly counters?: PolicyCounters;
  /** Called before each request is answered (the threaded server takes the newest weights here). */
  readonly beforeAnswer?: () => void;
  /** The socket's ZeroMQ context (and its ZAP handler's); default zeromq.js's process-wide one. */
  readonly context?: zmq.Context;
  /**
   * Every action is clipped into [low, high] (action units) before it leaves: the configured
   * safety limits. Absent: raw actions in [-1, 1] (an explicit opt-in, zmq.policyActions = raw).
   */
  readonly actionBounds?: ActionBounds | null;
}

/** Per-component bounds of an action, in action units ([-1, 1]). */
export interface ActionBounds {
  readonly low: readonly number[];
  readonly high: readonly number[];
}

export class PolicyServer {
  readonly counters: PolicyCounters;
  private policy: ActionPolicy;
  private observation: Float32Array;
  private action: Float32Array;
  private closed = false;
  private readonly served: Promise<void>;

  private constructor(
    private readonly socket: zmq.Router,
    readonly endpoint: string,
    private readonly release: () => void,
    policy: ActionPolicy,
    private readonly metrics: ZmqMetricsSink | undefined,
    counters: PolicyCounters | undefined,
    private readonly beforeAnswer: (() => void) | undefined,
    private readonly bounds: ActionBounds | null,
  ) {
    if (bounds !== null && (bounds.low.length !== policy.actionSize || bounds.high.length !== policy.actionSize)) {
      throw new Error(`policy server: action bounds have ${bounds.low.length}/${bounds.high.length} components, the policy's actions ${policy.actionSize}`);
    }
    this.counters = counters ?? new PolicyCounters();
    this.policy = policy;
    this.observation = new Float32Array(policy.observationSize);
    this.action = new Float32Array(policy.actionSize);
    this.served = this.serve();
  }

  static async open(options: PolicyServerOptions): Promise<PolicyServer> {
    const socket = new zmq.Router({ sendHighWaterMark: options.sendHighWaterMark ?? 1000, sendTimeout: 0, linger: 0, ...(options.context ? { context: options.context } : {}) });
    try {
      const bound = await bindSecurely(socket, options.endpoint ?? 'tcp://127.0.0.1:5556', options.security, 'policy server');
      return new PolicyServer(socket, bound.endpoint, bound.release, options.policy, options.metrics, options.counters, options.beforeAnswer, options.actionBounds ?? null);
    } catch (err) {
      socket.close();
      throw err;
    }
  }

  /** Answer from another policy from now on (e.g. after a restore). Sizes may not change. */
  setPolicy(policy: ActionPolicy): void {
    if (policy.observationSize !== this.policy.observationSize || policy.actionSize !== this.policy.actionSize) {
      throw new Error(
        `policy server: new policy is ${policy.observationSize} -> ${policy.actionSize}, the served one ${this.policy.observationSize} -> ${this.policy.actionSize}`,
      );
    }
    this.policy = policy;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    this.release();
    await this.served;
  }

  private serve(): Promise<void> {
    return receiveLoop(
      this.socket,
      () => this.closed,
      (frames) => this.reply(frames),
      (code) => {
        this.counters.reject(code);
        this.metrics?.zmqError('policy', code);
      },
    );
  }

  private reply(frames: Buffer[]): void {
    this.counters.request();
    this.metrics?.zmqMessage('policy', 'in');
    // frames[0] is the client's routing id; REQ clients add an empty delimiter.
    const envelopeSize = frames.length > 1 && frames[1].length === 0 ? 2 : 1;
    const body = frames.slice(envelopeSize);
    let answer: Buffer[];
    try {
      answer = this.answer(body);
    } catch (err) {
      const code = errorCode(err);
      this.counters.reject(code);
      this.metrics?.zmqError('policy', code);
      answer = encodeError(salvageSeq(body[1]), code, (err as Error).message);
    }
    try {
      this.socket.send([...frames.slice(0, envelopeSize), ...answer]).then(
        () => {
          this.counters.replied();
          this.metrics?.zmqMessage('policy', 'out');
        },
        () => this.replyDropped(),
      );
    } catch {
      this.replyDropped();
    }
  }

  private replyDropped(): void {
    this.counters.replyDropped();
    this.metrics?.zmqError('policy', 'reply_dropped');
  }

  private answer(body: Buffer[]): Buffer[] {
    this.beforeAnswer?.();
    const msg = decodeMessage(body);
    const seq = msg.header.seq;
    if (msg.topic === 'act') {
      const deterministic = optionalBoolean(msg.header, 'deterministic', true);
      const obs = requireFloat32Vector(msg, 'observation', this.policy.observationSize);
      this.observation.set(obs);
      const policy = this.policy;
      const version = policy.version;
      policy.act(this.observation, deterministic, this.action);
      const b = this.bounds;
      if (b !== null) for (let i = 0; i < this.action.length; i++) this.action[i] = Math.min(b.high[i]!, Math.max(b.low[i]!, this.action[i]!));
      this.counters.action();
      return encodeMessage('action', seq, { policy_version: version, deterministic }, [{ name: 'action', data: this.action }]);
    }
    if (msg.topic === 'info') {
      return encodeMessage('info', seq, {
        observation_size: this.policy.observationSize,
        action_size: this.policy.actionSize,
        policy_version: this.policy.version,
      });
    }
    throw new ProtocolError('topic', `policy server answers 'act' and 'info', not '${msg.topic}'`);
  }
}
