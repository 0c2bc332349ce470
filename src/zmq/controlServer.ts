/**
 * Control API (REQ/REP semantics, JSON in and out). A request is one frame:
 *   {"v": 1, "cmd": "pause", "args": {"reason": "..."}, "id": <anything, echoed>}
 * and the reply is one frame:
 *   {"v": 1, "id": ..., "ok": true, "result": {...}}  or  {"v": 1, "id": ..., "ok": false, "error": {"code", "message"}}
 * Commands are dispatched to a ControlHandler (the daemon) after their arguments are checked.
 *
 * The socket is a ROUTER that keeps REP's envelope rules itself: a REP socket silently discards
 * a message without the empty delimiter frame (and zeromq.js surfaces the discard as an EAGAIN
 * from receive), so such a message could be neither answered nor counted. Here every message
 * is answered, in order, one at a time: a REQ client (or a DEALER that sends the delimiter)
 * gets its envelope back; a DEALER that omits it gets an 'envelope' error without one.
 */
import * as zmq from 'zeromq';
import { PROTOCOL_VERSION, RejectionCounter, type ZmqMetricsSink } from './codec.js';
import { ArgumentError, validateArgs, type ArgsSchema } from './argsSchema.js';
import { receiveLoop } from './receiveLoop.js';
import { parseJsonBytes } from './jsonText.js';
import { bindSecurely, type BindSecurity } from './security.js';
import type { Json, JsonObject } from '../util/json.js';

/** Phases a `switch_phase` command may ask for (pause, e-stop and stop have their own commands). */
export const SWITCHABLE_PHASES = ['idle', 'sim_training', 'evaluating', 'armed', 'real_finetune'] as const;
export type SwitchablePhase = (typeof SWITCHABLE_PHASES)[number];

/** What the daemon implements. Return quickly: long work (evaluation) should start and report via status. */
export interface ControlHandler {
  status(): JsonObject | Promise<JsonObject>;
  pause(args: { reason: string }): JsonObject | Promise<JsonObject>;
  resume(args: { reason: string }): JsonObject | Promise<JsonObject>;
  estop(args: { reason: string }): JsonObject | Promise<JsonObject>;
  clearEstop(args: { reason: string }): JsonObject | Promise<JsonObject>;
  checkpoint(args: { tag?: string }): JsonObject | Promise<JsonObject>;
  evaluate(args: { episodes: number; deterministic: boolean }): JsonObject | Promise<JsonObject>;
  switchPhase(args: { phase: SwitchablePhase; reason: string }): JsonObject | Promise<JsonObject>;
}

/** Thrown by a handler to refuse a command in the current state (e.g. resume during e-stop). */
export class ControlRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlRefused';
  }
}

const reason = { type: 'string', maxLength: 500, default: '', doc: 'why, for the log' } as const;

interface CommandEntry {
  readonly doc: string;
  readonly args: ArgsSchema;
  readonly run: (h: ControlHandler, args: Record<string, unknown>) => JsonObject | Promise<JsonObject>;
}

/** The command table: names on the wire, argument schemas, dispatch. */
export const CONTROL_COMMANDS: Readonly<Record<string, CommandEntry>> = {
  status: { doc: 'phase, counters, last metrics', args: { properties: {} }, run: (h) => h.status() },
  pause: { doc: 'hold the plant and stop learning', args: { properties: { reason } }, run: (h, a) => h.pause(a as { reason: string }) },
  resume: { doc: 'leave pause', args: { properties: { reason } }, run: (h, a) => h.resume(a as { reason: string }) },
  estop: { doc: 'emergency stop: zero command, stop learning', args: { properties: { reason } }, run: (h, a) => h.estop(a as { reason: string }) },
  clear_estop: { doc: 'leave e-stop (to idle from the robot phases, else to the interrupted phase)', args: { properties: { reason } }, run: (h, a) => h.clearEstop(a as { reason: string }) },
  checkpoint: {
    doc: 'write a checkpoint now',
    args: { properties: { tag: { type: 'string', maxLength: 64, doc: 'label added to the checkpoint name' } } },
    run: (h, a) => h.checkpoint(a as { tag?: string }),
  },
  evaluate: {
    doc: 'run evaluation episodes',
    args: {
      properties: {
        episodes: { type: 'integer', minimum: 1, maximum: 1000, default: 10, doc: 'number of episodes' },
        deterministic: { type: 'boolean', default: true, doc: 'act with tanh(mean) instead of sampling' },
      },
    },
    run: (h, a) => h.evaluate(a as { episodes: number; deterministic: boolean }),
  },
  switch_phase: {
    doc: 'ask the daemon to move to another phase',
    args: {
      properties: { phase: { type: 'string', enum: SWITCHABLE_PHASES, doc: 'target phase' }, reason },
      required: ['phase'],
    },
    run: (h, a) => h.switchPhase(a as { phase: SwitchablePhase; reason: string }),
  },
};

export interface ControlServerOptions {
  /** Default tcp://127.0.0.1:5557. */
  readonly endpoint?: string;
  readonly security?: BindSecurity;
  readonly handler: ControlHandler;
  /** A handler that takes longer gets a 'timeout' reply. Default 10 s. */
  readonly handlerTimeoutMs?: number;
  /** Largest request accepted. Default 64 KiB. */
  readonly maxRequestBytes?: number;
  readonly metrics?: ZmqMetricsSink;
}

export interface ControlServerCounters {
  requests: number;
  succeeded: number;
  readonly rejected: RejectionCounter;
}

class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The request's id, when it was readable. */
    readonly id: Json = null,
  ) {
    super(message);
  }
}

export class ControlServer {
  readonly counters: ControlServerCounters;
  private closed = false;
  private readonly served: Promise<void>;

  private constructor(
    private readonly socket: zmq.Router,
    readonly endpoint: string,
    private readonly release: () => void,
    private readonly options: ControlServerOptions,
  ) {
    this.counters = { requests: 0, succeeded: 0, rejected: new RejectionCounter('control', options.metrics) };
    this.served = this.serve();
  }

  static async open(options: ControlServerOptions): Promise<ControlServer> {
    const socket = new zmq.Router({ sendTimeout: 0, linger: 0 });
    try {
      const bound = await bindSecurely(socket, options.endpoint ?? 'tcp://127.0.0.1:5557', options.security, 'control server');
      return new ControlServer(socket, bound.endpoint, bound.release, options);
    } catch (err) {
      socket.close();
      throw err;
    }
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
      async (frames) => {
        this.options.metrics?.zmqMessage('control', 'in');
        const { envelope, body } = splitEnvelope(frames);
        const reply = envelope.length > 1 ? await this.handle(body) : this.refuseEnvelope(body);
        await this.socket.send([...envelope, encodeReply(reply)]).then(
          () => this.options.metrics?.zmqMessage('control', 'out'),
          () => this.options.metrics?.zmqError('control', 'reply_dropped'),
        );
      },
      (code) => this.counters.rejected.count(code),
    );
  }

  /** A request without the empty delimiter frame: answered with an 'envelope' error. */
  private refuseEnvelope(body: readonly Uint8Array[]): JsonObject {
    this.counters.requests++;
    this.counters.rejected.count('envelope');
    const message = `a control request is [empty delimiter frame, JSON frame] (REQ sends the delimiter itself; a DEALER must send it first), got ${body.length} frame(s) without a delimiter`;
    return { v: PROTOCOL_VERSION, id: null, ok: false, error: { code: 'envelope', message } };
  }

  /** One request to one reply object; never throws. */
  async handle(frames: readonly Uint8Array[]): Promise<JsonObject> {
    this.counters.requests++;
    let id: Json = null;
    try {
      const request = this.parse(frames);
      id = request.id;
      const entry = Object.hasOwn(CONTROL_COMMANDS, request.cmd) ? CONTROL_COMMANDS[request.cmd] : undefined;
      if (entry === undefined) {
        throw new RequestError('unknown_command', `unknown command ${JSON.stringify(request.cmd.slice(0, 64))} (known: ${Object.keys(CONTROL_COMMANDS).join(', ')})`);
      }
      let args: Record<string, unknown>;
      try {
        args = validateArgs(entry.args, request.args, 'args');
      } catch (err) {
        if (err instanceof ArgumentError) throw new RequestError('bad_arguments', `${request.cmd}: ${err.message}`);
        throw err;
      }
      const result = await this.runWithTimeout(request.cmd, () => entry.run(this.options.handler, args));
      this.counters.succeeded++;
      return { v: PROTOCOL_VERSION, id, ok: true, result };
    } catch (err) {
      if (err instanceof RequestError && id === null) id = err.id;
      const code = err instanceof RequestError ? err.code : err instanceof ControlRefused ? 'refused' : 'handler_error';
      this.counters.rejected.count(code);
      return { v: PROTOCOL_VERSION, id, ok: false, error: { code, message: (err as Error).message.slice(0, 500) } };
    }
  }

  private parse(frames: readonly Uint8Array[]): { cmd: string; args: unknown; id: Json } {
    if (frames.length !== 1) throw new RequestError('frame_count', `a control request is one JSON frame, got ${frames.length} frames`);
    const limit = this.options.maxRequestBytes ?? 65536;
    if (frames[0].byteLength > limit) throw new RequestError('too_large', `request is ${frames[0].byteLength} bytes, limit ${limit}`);
    const json = parseJsonBytes(frames[0]);
    if (!json.ok) throw new RequestError('request_json', `request is not valid JSON: ${json.error}`);
    const parsed = json.value;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new RequestError('request_json', 'request must be a JSON object {v, cmd, args, id}');
    }
    const r = parsed as Record<string, unknown>;
    const id = isJsonScalar(r.id) ? r.id : null;
    if (r.v !== PROTOCOL_VERSION) {
      throw new RequestError('version', `request.v is ${JSON.stringify(r.v)}, this side speaks protocol version ${PROTOCOL_VERSION}`, id);
    }
    if (typeof r.cmd !== 'string') {
      throw new RequestError('request_json', `request.cmd must be a string, got ${JSON.stringify(r.cmd)?.slice(0, 64)}`, id);
    }
    return { cmd: r.cmd, args: r.args, id };
  }

  private runWithTimeout(cmd: string, run: () => JsonObject | Promise<JsonObject>): Promise<JsonObject> {
    const ms = this.options.handlerTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RequestError('timeout', `${cmd}: the daemon did not answer within ${ms} ms`)), ms);
    });
    return Promise.race([Promise.resolve().then(run), timeout]).finally(() => clearTimeout(timer));
  }
}

/** The reply as JSON; a result that cannot be serialised becomes a handler_error reply. */
function encodeReply(reply: JsonObject): string {
  try {
    return JSON.stringify(reply);
  } catch (err) {
    return JSON.stringify({ v: PROTOCOL_VERSION, id: reply.id ?? null, ok: false, error: { code: 'handler_error', message: `result is not JSON: ${(err as Error).message}` } });
  }
}

/**
 * ROUTER frames as [routing id, ...route, empty delimiter] and the body after it. Without a
 * delimiter the envelope is the routing id alone (the peer is a DEALER that did not send one).
 */
export function splitEnvelope(frames: readonly Buffer[]): { envelope: Buffer[]; body: Buffer[] } {
  for (let i = 1; i < frames.length; i++) {
    if (frames[i].length === 0) return { envelope: frames.slice(0, i + 1), body: frames.slice(i + 1) };
  }
  return { envelope: frames.slice(0, 1), body: frames.slice(1) };
}

function isJsonScalar(v: unknown): v is string | number | null {
  return v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}
