/**
 * The serialized (CDR) form of the observation messages RosPlant reads, as an rclnodejs raw
 * subscription hands it over: decoding it here takes about a tenth of the time rclnodejs's
 * own conversion does (measured 0.024 vs 0.255 ms per JointState with spinOnce on this
 * machine), which at 1 kHz is a quarter of the control thread.
 *
 * Layout (OMG XCDR version 1, as rmw_cyclonedds_cpp and rmw_fastrtps_cpp write it): a 4-byte
 * encapsulation header (0x00 0x01 little-endian, 0x00 0x00 big-endian, then two option bytes),
 * then the fields in .msg order, each primitive aligned to its size counted from the end of the
 * header; a string is a uint32 length including the terminating NUL, then its bytes; a sequence
 * is a uint32 count, then its elements; a fixed array is its elements. The encoder is the
 * decoder's inverse, for the in-memory double and the tests.
 */
import type { Float64MultiArray, Float64Msg, Header, Imu, JointState, Odometry, Quaternion, RosMessages, Vector3 } from './messages.js';

/** The types a raw subscription of RosPlant reads. */
export type CdrTypeName = 'sensor_msgs/msg/JointState' | 'sensor_msgs/msg/Imu' | 'nav_msgs/msg/Odometry' | 'std_msgs/msg/Float64MultiArray' | 'std_msgs/msg/Float64';
export const CDR_TYPE_NAMES: readonly CdrTypeName[] = ['sensor_msgs/msg/JointState', 'sensor_msgs/msg/Imu', 'nav_msgs/msg/Odometry', 'std_msgs/msg/Float64MultiArray', 'std_msgs/msg/Float64'];

export class CdrError extends Error {
  override readonly name = 'CdrError';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encode = new TextEncoder();

class Reader {
  private readonly view: DataView;
  private readonly le: boolean;
  private pos = 4;
  constructor(private readonly bytes: Uint8Array, private readonly type: string) {
    if (bytes.length < 4) this.fail('shorter than its encapsulation header');
    const kind = bytes[1];
    if (bytes[0] !== 0 || (kind !== 0 && kind !== 1)) this.fail(`encapsulation 0x${bytes[0]!.toString(16).padStart(2, '0')}${kind!.toString(16).padStart(2, '0')} is not plain CDR`);
    this.le = kind === 1;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private fail(why: string): never {
    throw new CdrError(`${this.type}: serialized message ${why} (${this.bytes.length} bytes, at ${this.pos})`);
  }
  private need(size: number, align: number): void {
    this.pos = 4 + Math.ceil((this.pos - 4) / align) * align;
    if (this.pos + size > this.bytes.length) this.fail('ends early');
  }
  u32(): number {
    this.need(4, 4);
    const v = this.view.getUint32(this.pos, this.le);
    this.pos += 4;
    return v;
  }
  i32(): number {
    this.need(4, 4);
    const v = this.view.getInt32(this.pos, this.le);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.need(8, 8);
    const v = this.view.getFloat64(this.pos, this.le);
    this.pos += 8;
    return v;
  }
  string(): string {
    const n = this.u32();
    if (n === 0) return ''; // some writers leave out the NUL of an empty string
    this.need(n, 1);
    if (this.bytes[this.pos + n - 1] !== 0) this.fail('has a string without its terminating NUL');
    const s = utf8.decode(this.bytes.subarray(this.pos, this.pos + n - 1));
    this.pos += n;
    return s;
  }
  strings(): string[] {
    const n = this.count(4);
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = this.string();
    return out;
  }
  /** A sequence count, checked against the bytes left (each element at least `minSize`). */
  count(minSize: number): number {
    const n = this.u32();
    if (n * minSize > this.bytes.length - this.pos) this.fail(`claims ${n} elements`);
    return n;
  }
  f64s(n = this.count(8)): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.f64();
    return out;
  }
  header(): Header {
    const sec = this.i32();
    const nanosec = this.u32();
    return { stamp: { sec, nanosec }, frame_id: this.string() };
  }
  vec3(): Vector3 {
    return { x: this.f64(), y: this.f64(), z: this.f64() };
  }
  quat(): Quaternion {
    return { x: this.f64(), y: this.f64(), z: this.f64(), w: this.f64() };
  }
}

/** Decode a serialized message of `type`; throws CdrError naming the type and what is wrong. */
export function decodeCdr<K extends CdrTypeName>(type: K, bytes: Uint8Array): RosMessages[K] {
  const r = new Reader(bytes, type);
  switch (type as CdrTypeName) {
    case 'sensor_msgs/msg/JointState': {
      const m: JointState = { header: r.header(), name: r.strings(), position: r.f64s(), velocity: r.f64s(), effort: r.f64s() };
      return m as RosMessages[K];
    }
    case 'sensor_msgs/msg/Imu': {
      const m: Imu = {
        header: r.header(),
        orientation: r.quat(), orientation_covariance: r.f64s(9),
        angular_velocity: r.vec3(), angular_velocity_covariance: r.f64s(9),
        linear_acceleration: r.vec3(), linear_acceleration_covariance: r.f64s(9),
      };
      return m as RosMessages[K];
    }
    case 'nav_msgs/msg/Odometry': {
      const header = r.header();
      const child_frame_id = r.string();
      const pose = { pose: { position: r.vec3(), orientation: r.quat() }, covariance: r.f64s(36) };
      const twist = { twist: { linear: r.vec3(), angular: r.vec3() }, covariance: r.f64s(36) };
      const m: Odometry = { header, child_frame_id, pose, twist };
      return m as RosMessages[K];
    }
    case 'std_msgs/msg/Float64MultiArray': {
      const n = r.count(12);
      const dim = [];
      for (let i = 0; i < n; i++) dim.push({ label: r.string(), size: r.u32(), stride: r.u32() });
      const m: Float64MultiArray = { layout: { dim, data_offset: r.u32() }, data: r.f64s() };
      return m as RosMessages[K];
    }
    case 'std_msgs/msg/Float64': {
      const m: Float64Msg = { data: r.f64() };
      return m as RosMessages[K];
    }
  }
  throw new CdrError(`${type as string}: no CDR decoder for this type (have: ${CDR_TYPE_NAMES.join(', ')})`);
}

class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private pos = 4;
  constructor() {
    this.buf[1] = 1; // little-endian CDR
  }
  private reserve(size: number, align: number): void {
    const start = 4 + Math.ceil((this.pos - 4) / align) * align;
    if (start + size > this.buf.length) {
      const bigger = new Uint8Array(Math.max(2 * this.buf.length, start + size));
      bigger.set(this.buf);
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    this.pos = start;
  }
  u32(v: number): void { this.reserve(4, 4); this.view.setUint32(this.pos, v, true); this.pos += 4; }
  i32(v: number): void { this.reserve(4, 4); this.view.setInt32(this.pos, v, true); this.pos += 4; }
  f64(v: number): void { this.reserve(8, 8); this.view.setFloat64(this.pos, v, true); this.pos += 8; }
  string(s: string): void {
    const b = utf8Encode.encode(s);
    this.u32(b.length + 1);
    this.reserve(b.length + 1, 1);
    this.buf.set(b, this.pos);
    this.buf[this.pos + b.length] = 0;
    this.pos += b.length + 1;
  }
  f64s(v: ArrayLike<number>, fixed = false): void {
    if (!fixed) this.u32(v.length);
    for (let i = 0; i < v.length; i++) this.f64(v[i]!);
  }
  header(h: Header): void { this.i32(h.stamp.sec); this.u32(h.stamp.nanosec); this.string(h.frame_id); }
  vec3(v: Vector3): void { this.f64(v.x); this.f64(v.y); this.f64(v.z); }
  quat(q: Quaternion): void { this.f64(q.x); this.f64(q.y); this.f64(q.z); this.f64(q.w); }
  bytes(): Uint8Array { return this.buf.slice(0, this.pos); }
}

/** Serialize a complete message of `type` (every field present), little-endian. */
export function encodeCdr<K extends CdrTypeName>(type: K, message: RosMessages[K]): Uint8Array {
  const w = new Writer();
  switch (type as CdrTypeName) {
    case 'sensor_msgs/msg/JointState': {
      const m = message as JointState;
      w.header(m.header);
      w.u32(m.name.length);
      for (const n of m.name) w.string(n);
      w.f64s(m.position); w.f64s(m.velocity); w.f64s(m.effort);
      break;
    }
    case 'sensor_msgs/msg/Imu': {
      const m = message as Imu;
      w.header(m.header);
      w.quat(m.orientation); w.f64s(m.orientation_covariance, true);
      w.vec3(m.angular_velocity); w.f64s(m.angular_velocity_covariance, true);
      w.vec3(m.linear_acceleration); w.f64s(m.linear_acceleration_covariance, true);
      break;
    }
    case 'nav_msgs/msg/Odometry': {
      const m = message as Odometry;
      w.header(m.header); w.string(m.child_frame_id);
      w.vec3(m.pose.pose.position); w.quat(m.pose.pose.orientation); w.f64s(m.pose.covariance, true);
      w.vec3(m.twist.twist.linear); w.vec3(m.twist.twist.angular); w.f64s(m.twist.covariance, true);
      break;
    }
    case 'std_msgs/msg/Float64MultiArray': {
      const m = message as Float64MultiArray;
      w.u32(m.layout.dim.length);
      for (const d of m.layout.dim) { w.string(d.label); w.u32(d.size); w.u32(d.stride); }
      w.u32(m.layout.data_offset);
      w.f64s(m.data);
      break;
    }
    case 'std_msgs/msg/Float64':
      w.f64((message as Float64Msg).data);
      break;
    default:
      throw new CdrError(`${type as string}: no CDR encoder for this type (have: ${CDR_TYPE_NAMES.join(', ')})`);
  }
  return w.bytes();
}
