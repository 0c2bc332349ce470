/**
 * A plant on the other side of a ZeroMQ socket: an outside simulator or robot driver that the
 * daemon drives in lockstep (docs/protocol.md, "Remote plant"). The plant binds a REP (or
 * ROUTER) socket; ZmqPlant connects a DEALER, so a timed-out request never wedges the socket
 * (a late reply is recognised by its seq and discarded).
 *
 *   hello            -> spec     signals, command size and bounds, control period
 *   reset            -> signals  one payload per signal
 *   step + command   -> signals
 *   any              -> error    {code, message}: raised as RemotePlantError
 */
import * as zmq from 'zeromq';
import type { CommandSpec, Plant, SignalSpec, Signals } from '../plant.js';
import {
  decodeMessage,
  encodeMessage,
  ProtocolError,
  RejectionCounter,
  requirePayload,
  type DType,
  type Message,
  type ZmqMetricsSink,
} from '../../zmq/codec.js';
import { applyClientCurve, type CurveClientKeys } from '../../zmq/security.js';

export interface ZmqPlantOptions {
  /** Where the outside plant listens, e.g. tcp://127.0.0.1:5560. */
  readonly endpoint: string;
  readonly curve?: CurveClientKeys;
  /** Wait for the spec this long. Default 5000 ms. */
  readonly helloTimeoutMs?: number;
  /** Wait for a reset this long (a robot's reset procedure may be slow). Default 30000 ms. */
  readonly resetTimeoutMs?: number;
  /** Wait for a step's signals this long. Default max(100 ms, 20 control periods). */
  readonly stepTimeoutMs?: number;
  /** Sent with every reset as `seed + episode`, so a simulator can seed its reset noise. */
  readonly seed?: number;
  readonly metrics?: ZmqMetricsSink;
}

/** The remote plant answered with an error message. */
export class RemotePlantError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RemotePlantError';
  }
}

/** No reply within the timeout. */
export class RemotePlantTimeout extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemotePlantTimeout';
  }
}

export interface ZmqPlantCounters {
  steps: number;
  resets: number;
  timeouts: number;
  /** Replies to an earlier, timed-out request, discarded. */
  staleReplies: number;
  /** Replies that broke the protocol (the request failed with a ProtocolError). */
  readonly rejected: RejectionCounter;
}

interface RemoteSpec {
  readonly name: string;
  readonly signals: SignalSpec[];
  readonly command: CommandSpec;
  readonly controlPeriod: number;
  readonly commandDtype: DType;
}

export class ZmqPlant implements Plant {
  readonly kind = 'zmq';
  readonly counters: ZmqPlantCounters;
  readonly signals: readonly SignalSpec[];
  readonly command: CommandSpec;
  readonly controlPeriod: number;
  /** The name the plant gave in its spec. */
  readonly remoteName: string;
  private readonly values = new Map<string, Float64Array>();
  private readonly commandOut: Float32Array | Float64Array;
  private seq: number;
  private episode = 0;
  private step = 0;
  private closed = false;
  private busy = false;
  private readonly stepTimeoutMs: number;
  private currentTimeout = -1;

  private constructor(
    private readonly socket: zmq.Dealer,
    private readonly options: ZmqPlantOptions,
    spec: RemoteSpec,
    seq: number,
  ) {
    this.counters = { steps: 0, resets: 0, timeouts: 0, staleReplies: 0, rejected: new RejectionCounter('plant', options.metrics) };
    this.seq = seq;
    this.signals = spec.signals;
    this.command = spec.command;
    this.controlPeriod = spec.controlPeriod;
    this.remoteName = spec.name;
    this.commandOut = spec.commandDtype === '<f4' ? new Float32Array(spec.command.size) : new Float64Array(spec.command.size);
    for (const s of spec.signals) this.values.set(s.name, new Float64Array(s.size));
    this.stepTimeoutMs = options.stepTimeoutMs ?? Math.max(100, 20_000 * spec.controlPeriod);
  }

  /** Connect, exchange hello/spec, and return the plant ready for reset(). */
  static async connect(options: ZmqPlantOptions): Promise<ZmqPlant> {
    const socket = new zmq.Dealer({ linger: 0, sendTimeout: 0, receiveHighWaterMark: 100 });
    applyClientCurve(socket, options.curve);
    socket.connect(options.endpoint);
    const timeout = options.helloTimeoutMs ?? 5000;
    try {
      socket.receiveTimeout = timeout;
      await sendFrames(socket, options.endpoint, encodeMessage('hello', 0, { client: 'sacbridge' }));
      for (;;) {
        const msg = await receiveReply(socket, options.endpoint, 'hello', timeout);
        if (msg.header.seq !== 0) continue; // left over from an earlier session on the same socket
        if (msg.topic === 'error') throw remoteError(msg, 'hello', options.endpoint);
        if (msg.topic !== 'spec') throw new ProtocolError('topic', `expected 'spec' in reply to 'hello', got '${msg.topic}'`);
        return new ZmqPlant(socket, options, parseSpec(msg), 1);
      }
    } catch (err) {
      socket.close();
      if (err instanceof ProtocolError) throw new ProtocolError(err.code, `remote plant at ${options.endpoint}: ${err.message}`);
      throw err;
    }
  }

  read(): Signals {
    return this.values;
  }

  write(command: Float64Array): void {
    if (command.length !== this.command.size) {
      throw new Error(`remote plant '${this.remoteName}': command has ${command.length} components, the plant takes ${this.command.size}`);
    }
    for (let i = 0; i < command.length; i++) this.commandOut[i] = command[i];
  }

  async reset(): Promise<void> {
    const fields: Record<string, unknown> = { episode: this.episode };
    if (this.options.seed !== undefined) fields.seed = (this.options.seed + this.episode) >>> 0;
    this.episode++;
    this.step = 0;
    await this.exchange('reset', fields, [], this.options.resetTimeoutMs ?? 30_000);
    this.counters.resets++;
  }

  async advance(): Promise<void> {
    await this.exchange('step', { step: this.step }, [{ name: 'command', data: this.commandOut }], this.stepTimeoutMs);
    this.step++;
    this.counters.steps++;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A courtesy so the plant may release resources; its answer is not awaited.
    await sendFrames(this.socket, this.options.endpoint, encodeMessage('close', this.seq++, {})).catch(() => undefined);
    this.socket.close();
  }

  /** Send one request and wait for its signals. */
  private async exchange(
    topic: 'reset' | 'step',
    fields: Record<string, unknown>,
    payloads: { name: string; data: Float32Array | Float64Array }[],
    timeoutMs: number,
  ): Promise<void> {
    if (this.closed) throw new Error(`remote plant '${this.remoteName}' is closed`);
    if (this.busy) throw new Error(`remote plant '${this.remoteName}': ${topic} called while another request is in flight`);
    this.busy = true;
    try {
      const seq = this.seq++;
      await sendFrames(this.socket, this.options.endpoint, encodeMessage(topic, seq, fields, payloads));
      this.options.metrics?.zmqMessage('plant', 'out');
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const remaining = Math.max(1, Math.ceil(deadline - performance.now()));
        if (remaining !== this.currentTimeout) {
          this.socket.receiveTimeout = remaining;
          this.currentTimeout = remaining;
        }
        let msg: Message;
        try {
          msg = await receiveReply(this.socket, this.options.endpoint, topic, timeoutMs);
        } catch (err) {
          if (err instanceof RemotePlantTimeout) {
            this.counters.timeouts++;
            this.options.metrics?.zmqError('plant', 'timeout');
          }
          if (err instanceof ProtocolError) {
            this.counters.rejected.count(err.code);
            throw new ProtocolError(err.code, `remote plant '${this.remoteName}' (${topic}): ${err.message}`);
          }
          throw err;
        }
        this.options.metrics?.zmqMessage('plant', 'in');
        if (msg.header.seq < seq) {
          this.counters.staleReplies++;
          this.options.metrics?.zmqError('plant', 'stale_reply');
          continue;
        }
        try {
          if (msg.header.seq !== seq) throw new ProtocolError('header_field', `reply seq ${msg.header.seq} does not match request seq ${seq}`);
          if (msg.topic === 'error') throw remoteError(msg, topic, this.options.endpoint);
          if (msg.topic !== 'signals') throw new ProtocolError('topic', `expected 'signals' in reply to '${topic}', got '${msg.topic}'`);
          this.storeSignals(msg);
        } catch (err) {
          if (err instanceof ProtocolError) {
            this.counters.rejected.count(err.code);
            throw new ProtocolError(err.code, `remote plant '${this.remoteName}' (${topic}): ${err.message}`);
          }
          throw err;
        }
        return;
      }
    } finally {
      this.busy = false;
    }
  }

  private storeSignals(msg: Message): void {
    for (const name of msg.payloads.keys()) {
      if (!this.values.has(name)) throw new ProtocolError('header_field', `signals reply carries '${name}', which the spec did not declare`);
    }
    // Validate every signal before overwriting any, so a bad reply leaves the last good state.
    const checked = this.signals.map((s) => requirePayload(msg, s.name, s.size));
    this.signals.forEach((s, i) => this.values.get(s.name)!.set(checked[i]));
  }
}

/** Send on a DEALER: an empty delimiter first, so REP plants see a REQ-style envelope. */
async function sendFrames(socket: zmq.Dealer, endpoint: string, frames: Buffer[]): Promise<void> {
  try {
    await socket.send([Buffer.alloc(0), ...frames]);
  } catch (err) {
    // With a zero send timeout this means the queue to the plant is full (plant gone or stuck).
    throw new RemotePlantTimeout(`remote plant at ${endpoint}: cannot queue '${frames[0].toString()}': ${(err as Error).message}`);
  }
}

async function receiveReply(socket: zmq.Dealer, endpoint: string, topic: string, timeoutMs: number): Promise<Message> {
  let frames: Buffer[];
  try {
    frames = await socket.receive();
  } catch (err) {
    if ((err as { code?: string }).code === 'EAGAIN') {
      throw new RemotePlantTimeout(`remote plant at ${endpoint} did not answer '${topic}' within ${timeoutMs} ms`);
    }
    throw err;
  }
  if (frames.length > 0 && frames[0].length === 0) frames = frames.slice(1);
  return decodeMessage(frames);
}

function remoteError(msg: Message, topic: string, endpoint: string): RemotePlantError {
  const e = msg.header.error as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : 'unknown';
  const message = typeof e?.message === 'string' ? e.message : '(no message)';
  return new RemotePlantError(code, `remote plant at ${endpoint} refused '${topic}': ${code}: ${message}`);
}

/** Check the spec the plant sent in reply to hello. */
export function parseSpec(msg: Message): RemoteSpec {
  const h = msg.header;
  const fail = (m: string): never => {
    throw new ProtocolError('header_field', `spec: ${m}`);
  };
  const name = typeof h.name === 'string' ? h.name.slice(0, 128) : 'remote';
  if (!Array.isArray(h.signals) || h.signals.length === 0 || h.signals.length > 64) fail('signals must be a list of 1..64 {name, size}');
  const seen = new Set<string>();
  const signals = (h.signals as unknown[]).map((s, i): SignalSpec => {
    const { name: sn, size, doc } = (s ?? {}) as Record<string, unknown>;
    if (typeof sn !== 'string' || !/^[A-Za-z0-9_.:/-]{1,64}$/.test(sn)) fail(`signals[${i}].name must be 1..64 characters of [A-Za-z0-9_.:/-]`);
    if (seen.has(sn as string)) fail(`signals[${i}].name '${sn}' appears twice`);
    seen.add(sn as string);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1 || size > 65536) fail(`signals[${i}] ('${sn}') size must be an integer in [1, 65536]`);
    return typeof doc === 'string' ? { name: sn as string, size: size as number, doc: doc.slice(0, 500) } : { name: sn as string, size: size as number };
  });
  const c = (h.command ?? {}) as Record<string, unknown>;
  const size = c.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1 || size > 4096) fail('command.size must be an integer in [1, 4096]');
  const bound = (field: 'low' | 'high'): Float64Array => {
    const v = c[field];
    if (!Array.isArray(v) || v.length !== size || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      fail(`command.${field} must be a list of ${size} finite numbers`);
    }
    return Float64Array.from(v as number[]);
  };
  const low = bound('low');
  const high = bound('high');
  for (let i = 0; i < low.length; i++) if (!(low[i] <= high[i])) fail(`command.low[${i}] ${low[i]} exceeds command.high[${i}] ${high[i]}`);
  let names: string[] | undefined;
  if (c.names !== undefined) {
    if (!Array.isArray(c.names) || c.names.length !== size || !c.names.every((x) => typeof x === 'string')) fail(`command.names must be a list of ${size} strings`);
    names = c.names as string[];
  }
  const period = h.control_period;
  if (typeof period !== 'number' || !Number.isFinite(period) || period <= 0 || period > 60) fail('control_period must be seconds in (0, 60]');
  const dtype = c.dtype ?? '<f4';
  if (dtype !== '<f4' && dtype !== '<f8') throw new ProtocolError('dtype', `spec: command.dtype must be "<f4" or "<f8", got ${JSON.stringify(dtype)}`);
  const command: CommandSpec = names === undefined ? { size: size as number, low, high } : { size: size as number, low, high, names };
  return { name, signals, command, controlPeriod: period as number, commandDtype: dtype };
}
