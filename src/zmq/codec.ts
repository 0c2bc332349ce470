/**
 * The sacbridge ZeroMQ wire format (docs/protocol.md), as pure functions.
 *
 * A message is a multipart ZeroMQ message:
 *   frame 0: topic (ASCII, e.g. "tick", "act", "step")
 *   frame 1: header, a small UTF-8 JSON object {v, seq, t_ns, payloads?, ...}
 *   frame 2..: one raw little-endian array per entry of `header.payloads`, in order.
 * Everything is validated on the way in; a problem is reported as a ProtocolError whose
 * `code` names the class of problem (for counters) and whose message names the field.
 */
import { endianness } from 'node:os';
import { parseJsonBytes } from './jsonText.js';

export const PROTOCOL_VERSION = 1;

/** Array element types on the wire: numpy's spelling, explicit about byte order. */
export type DType = '<f4' | '<f8';
export const DTYPE_BYTES: Record<DType, number> = { '<f4': 4, '<f8': 8 };

export type ProtocolErrorCode =
  | 'frame_count'
  | 'topic'
  | 'header_json'
  | 'header_field'
  | 'version'
  | 'dtype'
  | 'shape'
  | 'payload_size'
  | 'non_finite'
  | 'too_large';

export const PROTOCOL_ERROR_CODES: readonly ProtocolErrorCode[] = [
  'frame_count', 'topic', 'header_json', 'header_field', 'version', 'dtype', 'shape', 'payload_size', 'non_finite', 'too_large',
];

/** A message that does not follow the protocol. `code` is stable (counters, error replies). */
export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export interface PayloadSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export type NumericArray = Float32Array | Float64Array;

/** A decoded header: the common fields checked, the rest left to the message's own reader. */
export interface Header {
  readonly v: number;
  readonly seq: number;
  /** Sender's CLOCK_MONOTONIC in nanoseconds, as a decimal string (exceeds 2^53 after ~104 days). */
  readonly t_ns: string;
  readonly payloads?: readonly PayloadSpec[];
  readonly [field: string]: unknown;
}

export interface Message {
  readonly topic: string;
  readonly header: Header;
  /** Payloads by name: views of the frames where aligned, else aligned copies (safe to keep either way). */
  readonly payloads: ReadonlyMap<string, NumericArray>;
}

export interface OutgoingPayload {
  readonly name: string;
  readonly data: NumericArray;
  /** Defaults to [data.length]. */
  readonly shape?: readonly number[];
}

export interface DecodeLimits {
  /** Most payload frames accepted. */
  readonly maxPayloads: number;
  /** Most bytes in the header frame. */
  readonly maxHeaderBytes: number;
  /** Most elements in one payload. */
  readonly maxElements: number;
}

export const DEFAULT_LIMITS: DecodeLimits = { maxPayloads: 32, maxHeaderBytes: 16384, maxElements: 1 << 20 };

const HOST_LE = endianness() === 'LE';
const TOPIC_RE = /^[a-z][a-z0-9_.-]{0,63}$/;
const T_NS_RE = /^[0-9]{1,20}$/;
const NAME_RE = /^[A-Za-z0-9_.:/-]{1,64}$/;

/** The sender clock used for `t_ns`: CLOCK_MONOTONIC (Python: time.monotonic_ns()). */
export function nowNs(): string {
  return process.hrtime.bigint().toString();
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** Encode a message: topic, header (common fields added), payload frames. */
export function encodeMessage(
  topic: string,
  seq: number,
  fields: Record<string, unknown>,
  payloads: readonly OutgoingPayload[] = [],
): Buffer[] {
  const specs: PayloadSpec[] = payloads.map((p) => ({
    name: p.name,
    dtype: p.data instanceof Float64Array ? '<f8' : '<f4',
    shape: p.shape ?? [p.data.length],
  }));
  const header: Record<string, unknown> = { v: PROTOCOL_VERSION, seq, t_ns: nowNs(), ...fields };
  if (specs.length > 0) header.payloads = specs;
  const frames: Buffer[] = [Buffer.from(topic, 'ascii'), Buffer.from(JSON.stringify(header), 'utf8')];
  for (const p of payloads) frames.push(arrayToFrame(p.data));
  return frames;
}

/** A fresh little-endian copy of the array (zeromq may hold the buffer until it is sent). */
export function arrayToFrame(data: NumericArray): Buffer {
  const out = Buffer.allocUnsafe(data.byteLength);
  if (HOST_LE) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  } else {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    const f64 = data instanceof Float64Array;
    for (let i = 0; i < data.length; i++) {
      if (f64) view.setFloat64(8 * i, data[i], true);
      else view.setFloat32(4 * i, data[i], true);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decode and validate a message. Checks frame count, topic, header JSON and common fields,
 * protocol version, each payload's dtype and shape against its frame's byte length.
 * Finiteness is checked by `requirePayload` where the message's meaning requires it.
 */
export function decodeMessage(frames: readonly Uint8Array[], limits: DecodeLimits = DEFAULT_LIMITS): Message {
  if (frames.length < 2) {
    throw new ProtocolError('frame_count', `expected at least 2 frames (topic, header), got ${frames.length}`);
  }
  const topic = decodeTopic(frames[0]);
  const header = decodeHeader(frames[1], limits);
  const specs = header.payloads ?? [];
  if (frames.length - 2 !== specs.length) {
    throw new ProtocolError(
      'frame_count',
      `header lists ${specs.length} payload(s) but the message has ${frames.length - 2} payload frame(s)`,
    );
  }
  const payloads = new Map<string, NumericArray>();
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i];
    const frame = frames[i + 2];
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (count > limits.maxElements) {
      throw new ProtocolError('too_large', `payload '${spec.name}' has ${count} elements, limit ${limits.maxElements}`);
    }
    const expected = count * DTYPE_BYTES[spec.dtype];
    if (frame.byteLength !== expected) {
      throw new ProtocolError(
        'payload_size',
        `payload '${spec.name}' (${spec.dtype}, shape [${spec.shape.join(', ')}]) needs ${expected} bytes, frame has ${frame.byteLength}`,
      );
    }
    payloads.set(spec.name, frameToArray(frame, spec.dtype));
  }
  return { topic, header, payloads };
}

export function decodeTopic(frame: Uint8Array): string {
  if (frame.byteLength === 0 || frame.byteLength > 64) {
    throw new ProtocolError('topic', `topic frame must be 1..64 bytes, got ${frame.byteLength}`);
  }
  const topic = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('latin1');
  if (!TOPIC_RE.test(topic)) throw new ProtocolError('topic', `topic ${JSON.stringify(topic)} is not a valid topic name`);
  return topic;
}

export function decodeHeader(frame: Uint8Array, limits: DecodeLimits = DEFAULT_LIMITS): Header {
  if (frame.byteLength > limits.maxHeaderBytes) {
    throw new ProtocolError('too_large', `header is ${frame.byteLength} bytes, limit ${limits.maxHeaderBytes}`);
  }
  const json = parseJsonBytes(frame);
  if (!json.ok) throw new ProtocolError('header_json', `header is not valid JSON: ${json.error}`);
  const parsed = json.value;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ProtocolError('header_json', 'header must be a JSON object');
  }
  const h = parsed as Record<string, unknown>;
  if (h.v !== PROTOCOL_VERSION) {
    throw new ProtocolError('version', `header.v is ${JSON.stringify(h.v)}, this side speaks protocol version ${PROTOCOL_VERSION}`);
  }
  if (typeof h.seq !== 'number' || !Number.isSafeInteger(h.seq) || h.seq < 0) {
    throw new ProtocolError('header_field', `header.seq must be a non-negative integer, got ${JSON.stringify(h.seq)}`);
  }
  if (typeof h.t_ns !== 'string' || !T_NS_RE.test(h.t_ns)) {
    throw new ProtocolError('header_field', `header.t_ns must be a decimal string of nanoseconds, got ${JSON.stringify(h.t_ns)}`);
  }
  if (h.payloads !== undefined) h.payloads = decodePayloadSpecs(h.payloads, limits);
  return h as Header;
}

function decodePayloadSpecs(value: unknown, limits: DecodeLimits): PayloadSpec[] {
  if (!Array.isArray(value)) throw new ProtocolError('header_field', 'header.payloads must be an array');
  if (value.length > limits.maxPayloads) {
    throw new ProtocolError('too_large', `header.payloads lists ${value.length} payloads, limit ${limits.maxPayloads}`);
  }
  const seen = new Set<string>();
  return value.map((item: unknown, i: number): PayloadSpec => {
    const where = `header.payloads[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new ProtocolError('header_field', `${where} must be an object {name, dtype, shape}`);
    }
    const { name, dtype, shape } = item as Record<string, unknown>;
    if (typeof name !== 'string' || !NAME_RE.test(name)) {
      throw new ProtocolError('header_field', `${where}.name must be 1..64 characters of [A-Za-z0-9_.:/-], got ${JSON.stringify(name)}`);
    }
    if (seen.has(name)) throw new ProtocolError('header_field', `${where}.name '${name}' appears twice`);
    seen.add(name);
    if (dtype !== '<f4' && dtype !== '<f8') {
      throw new ProtocolError('dtype', `${where} ('${name}') has dtype ${JSON.stringify(dtype)}; supported: "<f4", "<f8"`);
    }
    if (!Array.isArray(shape) || shape.length > 4 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new ProtocolError('shape', `${where} ('${name}') shape must be an array of at most 4 non-negative integers, got ${JSON.stringify(shape)}`);
    }
    return { name, dtype, shape: shape as number[] };
  });
}

/**
 * The frame's elements as a typed array: a view of the frame itself where the host is
 * little-endian and the frame is aligned for the type (what zeromq.js hands over), else an
 * aligned copy. A view, not a copy, on the hot path: every typed array with its own backing
 * store costs the young-generation GC a sweep, which at 1 kHz made scavenges ~1 ms long.
 */
export function frameToArray(frame: Uint8Array, dtype: DType): NumericArray {
  const bytes = DTYPE_BYTES[dtype];
  const n = frame.byteLength / bytes;
  if (HOST_LE && frame.byteOffset % bytes === 0) {
    return dtype === '<f4' ? new Float32Array(frame.buffer, frame.byteOffset, n) : new Float64Array(frame.buffer, frame.byteOffset, n);
  }
  const out = dtype === '<f4' ? new Float32Array(n) : new Float64Array(n);
  if (HOST_LE) {
    new Uint8Array(out.buffer).set(frame);
  } else {
    const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    for (let i = 0; i < n; i++) out[i] = dtype === '<f4' ? view.getFloat32(4 * i, true) : view.getFloat64(8 * i, true);
  }
  return out;
}

/**
 * The named payload with exactly `size` elements (any shape with that many), finite unless
 * `allowNonFinite`. Names the payload in every error.
 */
export function requirePayload(msg: Message, name: string, size: number, allowNonFinite = false): NumericArray {
  const data = msg.payloads.get(name);
  if (data === undefined) {
    const have = [...msg.payloads.keys()];
    throw new ProtocolError('header_field', `'${msg.topic}' message needs payload '${name}' (has: ${have.length > 0 ? have.join(', ') : 'none'})`);
  }
  if (data.length !== size) {
    throw new ProtocolError('shape', `payload '${name}' has ${data.length} elements, expected ${size}`);
  }
  if (!allowNonFinite) {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) throw new ProtocolError('non_finite', `payload '${name}' element ${i} is ${data[i]}`);
    }
  }
  return data;
}

/**
 * The named payload as exactly `<f4` of shape [size], finite: the policy server's observation
 * (docs/protocol.md). A `<f8` array or a shape such as [1, size] is refused, naming what came.
 */
export function requireFloat32Vector(msg: Message, name: string, size: number): Float32Array {
  const spec = msg.header.payloads?.find((p) => p.name === name);
  if (spec !== undefined) {
    if (spec.dtype !== '<f4') throw new ProtocolError('dtype', `payload '${name}' must be "<f4", got ${JSON.stringify(spec.dtype)}`);
    if (spec.shape.length !== 1) {
      throw new ProtocolError('shape', `payload '${name}' must have shape [${size}], got [${spec.shape.join(', ')}]`);
    }
  }
  return requirePayload(msg, name, size) as Float32Array;
}

// ---------------------------------------------------------------------------------------------
// Header field readers (for message-specific fields)

export function optionalBoolean(h: Header, field: string, fallback: boolean): boolean {
  const v = h[field];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new ProtocolError('header_field', `header.${field} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

export function requireInteger(h: Header, field: string, min: number, max: number): number {
  const v = h[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new ProtocolError('header_field', `header.${field} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

export function requireNumber(h: Header, field: string): number {
  const v = h[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ProtocolError('header_field', `header.${field} must be a finite number, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function requireString(h: Header, field: string, maxLength = 256): string {
  const v = h[field];
  if (typeof v !== 'string' || v.length > maxLength) {
    throw new ProtocolError('header_field', `header.${field} must be a string of at most ${maxLength} characters, got ${JSON.stringify(v)?.slice(0, 80)}`);
  }
  return v;
}

/** JSON cannot carry NaN or Infinity: non-finite scalars go out as null. */
export function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

// ---------------------------------------------------------------------------------------------
// Errors on the wire

/** An 'error' reply: {code, message} in the header, the request's seq echoed. */
export function encodeError(seq: number, code: string, message: string): Buffer[] {
  return encodeMessage('error', seq, { error: { code, message: message.slice(0, 500) } });
}

/** Best effort: the request's seq if its header is readable, else 0 (for error replies). */
export function salvageSeq(frame: Uint8Array | undefined): number {
  if (frame === undefined || frame.byteLength > DEFAULT_LIMITS.maxHeaderBytes) return 0;
  const json = parseJsonBytes(frame);
  if (json.ok && typeof json.value === 'object' && json.value !== null) {
    const seq = (json.value as { seq?: unknown }).seq;
    if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0) return seq;
  }
  return 0;
}

/**
 * Where sockets report traffic and rejections (the daemon's Metrics has these two methods).
 * `socket` is 'telemetry' | 'policy' | 'control' | 'plant'.
 */
export interface ZmqMetricsSink {
  zmqMessage(socket: string, direction: 'in' | 'out', n?: number): void;
  zmqError(socket: string, kind: string): void;
}

/** Counts rejections by code (exposed for metrics), forwarding each to the sink if any. */
export class RejectionCounter {
  readonly byCode = new Map<string, number>();
  total = 0;

  constructor(
    private readonly socket = '',
    private readonly sink?: ZmqMetricsSink,
  ) {}

  count(code: string): void {
    this.total++;
    this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
    this.sink?.zmqError(this.socket, code);
  }

  snapshot(): { total: number; byCode: Record<string, number> } {
    return { total: this.total, byCode: Object.fromEntries(this.byCode) };
  }
}

/** Error code of anything thrown while handling a message. */
export function errorCode(err: unknown): string {
  return err instanceof ProtocolError ? err.code : 'internal';
}
