/**
 * An in-memory stand-in for rclnodejs (the slice in ../rclnodejs.ts) backed by a simulated ROS
 * graph, for tests on machines without ROS 2.
 *
 * Faithful where sacbridge depends on it:
 * - published plain objects are completed with the message type's defaults and copied, and
 *   numeric arrays arrive as Float64Array (every numeric array in the supported types is float64);
 *   a fixed-size array (an Imu or Odometry covariance) of another length throws, as in rclnodejs;
 * - callbacks run on the event loop (a macrotask after publish), never inside `publish`, and
 *   only for spinning, live nodes; like rclnodejs 2.2.0's executor (one take per ready
 *   subscription, then its wait thread signals the loop again), each turn of the event loop
 *   delivers at most one message per subscription, so a backlog takes as many turns as it has
 *   samples;
 * - a raw subscription (`isRaw: true`) gets the message serialized as CDR (cdr.ts);
 * - `spinOnce(0)` on a node that does not spin takes one queued message per subscription of that
 *   node and runs its callback at once, on the caller's stack, as rclnodejs's main-thread
 *   executor does; a spinning node refuses it;
 * - each subscription keeps a KEEP_LAST history of its QoS depth: when the event loop stalls,
 *   older samples are dropped, as measured with reliable depth 10 over Cyclone DDS;
 * - a reliable subscription does not match a best-effort publisher (DDS QoS incompatibility);
 * - an unknown message type or a second type on one topic throws.
 */
import type { RosMessages, RosTypeName } from '../messages.js';
import { ROS_TYPE_NAMES } from '../messages.js';
import type {
  RclEntityOptions, RclMessageInfo, RclModule, RclNode, RclPublisher, RclQoS, RclQoSArg, RclSubscription,
} from '../rclnodejs.js';
import { RmwDurability, RmwHistory, RmwReliability } from '../rclnodejs.js';
import { CDR_TYPE_NAMES, encodeCdr, type CdrTypeName } from '../cdr.js';

interface ResolvedQoS { reliable: boolean; depth: number }

class FakeQoS implements RclQoS {
  static readonly profileDefault = 'qos_profile_default';
  static readonly profileSystemDefault = 'qos_profile_system_default';
  static readonly profileSensorData = 'qos_profile_sensor_data';
  constructor(
    public history: number = RmwHistory.SYSTEM_DEFAULT,
    public depth = 0,
    /** A getter in rclnodejs; read only by this double. */
    readonly reliability: number = RmwReliability.SYSTEM_DEFAULT,
    public durability: number = RmwDurability.SYSTEM_DEFAULT,
  ) {}
}

/** rclcpp's profiles: default = reliable keep-last 10; sensor data = best effort keep-last 5. */
function resolveQoS(arg: RclQoSArg | undefined): ResolvedQoS {
  if (arg === undefined || arg === FakeQoS.profileDefault || arg === FakeQoS.profileSystemDefault) return { reliable: true, depth: 10 };
  if (arg === FakeQoS.profileSensorData) return { reliable: false, depth: 5 };
  if (typeof arg === 'string') throw new Error(`unknown QoS profile '${arg}'`);
  const depth = arg.history === RmwHistory.KEEP_ALL ? Number.MAX_SAFE_INTEGER : arg.depth > 0 ? arg.depth : 10;
  const reliability = arg instanceof FakeQoS ? arg.reliability : RmwReliability.SYSTEM_DEFAULT;
  return { reliable: reliability !== RmwReliability.BEST_EFFORT, depth };
}

const V3 = () => ({ x: 0, y: 0, z: 0 });
const Q = () => ({ x: 0, y: 0, z: 0, w: 1 });
const HEADER = () => ({ stamp: { sec: 0, nanosec: 0 }, frame_id: '' });
const F64 = (n = 0) => new Float64Array(n);

/** Template leaves: a Float64Array is a float64[] field, STRINGS a string[] field, ListOf a struct[] field. */
const STRINGS = Symbol('string[]');
class ListOf {
  constructor(readonly item: () => Template) {}
}
type Template = number | string | boolean | Float64Array | typeof STRINGS | ListOf | { [field: string]: Template };

const POINT = () => ({ positions: F64(), velocities: F64(), accelerations: F64(), effort: F64(), time_from_start: { sec: 0, nanosec: 0 } });

/** Default-constructed messages: rclnodejs fills the fields a published object omits. */
const DEFAULTS: Record<RosTypeName, () => Template> = {
  'sensor_msgs/msg/JointState': () => ({ header: HEADER(), name: STRINGS, position: F64(), velocity: F64(), effort: F64() }),
  'sensor_msgs/msg/Imu': () => ({
    header: HEADER(), orientation: Q(), orientation_covariance: F64(9),
    angular_velocity: V3(), angular_velocity_covariance: F64(9),
    linear_acceleration: V3(), linear_acceleration_covariance: F64(9),
  }),
  'nav_msgs/msg/Odometry': () => ({
    header: HEADER(), child_frame_id: '',
    pose: { pose: { position: V3(), orientation: Q() }, covariance: F64(36) },
    twist: { twist: { linear: V3(), angular: V3() }, covariance: F64(36) },
  }),
  'std_msgs/msg/Float64MultiArray': () => ({
    layout: { dim: new ListOf(() => ({ label: '', size: 0, stride: 0 })), data_offset: 0 }, data: F64(),
  }),
  'std_msgs/msg/Float64': () => ({ data: 0 }),
  'std_msgs/msg/Bool': () => ({ data: false }),
  'std_msgs/msg/String': () => ({ data: '' }),
  'trajectory_msgs/msg/JointTrajectory': () => ({ header: HEADER(), joint_names: STRINGS, points: new ListOf(POINT) }),
  'geometry_msgs/msg/Twist': () => ({ linear: V3(), angular: V3() }),
  'diagnostic_msgs/msg/DiagnosticArray': () => ({
    header: HEADER(),
    status: new ListOf(() => ({ level: 0, name: '', message: '', hardware_id: '', values: new ListOf(() => ({ key: '', value: '' })) })),
  }),
};

/** Complete `value` with the template's defaults into a fresh copy, as a received message. */
function complete(template: Template, value: unknown, where: string): unknown {
  if (template instanceof Float64Array) {
    if (value === undefined) return Float64Array.from(template);
    if (!Array.isArray(value) && !ArrayBuffer.isView(value)) throw new TypeError(`${where}: expected a numeric array`);
    const arr = value as ArrayLike<unknown>;
    // A non-empty template is a fixed-size array (float64[9]); rclnodejs refuses another length.
    if (template.length > 0 && arr.length !== template.length) throw new TypeError(`${where}: the length of the array must be ${template.length}, got ${arr.length}`);
    const out = new Float64Array(arr.length);
    for (let i = 0; i < arr.length; i++) {
      if (typeof arr[i] !== 'number') throw new TypeError(`${where}[${i}]: expected a number`);
      out[i] = arr[i] as number;
    }
    return out;
  }
  if (template === STRINGS) {
    if (value === undefined) return [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw new TypeError(`${where}: expected an array of strings`);
    return [...(value as string[])];
  }
  if (template instanceof ListOf) {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw new TypeError(`${where}: expected an array`);
    return value.map((v, i) => complete(template.item(), v, `${where}[${i}]`));
  }
  if (typeof template === 'object') {
    if (value === undefined) value = {};
    if (value === null || typeof value !== 'object') throw new TypeError(`${where}: expected an object`);
    const out: Record<string, unknown> = {};
    for (const [k, t] of Object.entries(template)) out[k] = complete(t, (value as Record<string, unknown>)[k], `${where}.${k}`);
    return out;
  }
  if (value === undefined) return template;
  if (typeof value !== typeof template) throw new TypeError(`${where}: expected a ${typeof template}, got ${typeof value}`);
  return value;
}

interface FakeSub {
  readonly node: FakeNode;
  readonly qos: ResolvedQoS;
  readonly callback: (message: unknown, info?: RclMessageInfo) => void;
  /** A two-parameter callback gets a MessageInfo, as in rclnodejs. */
  readonly wantsInfo: boolean;
  queue: { message: unknown; info: RclMessageInfo }[];
}

interface TopicState {
  type: RosTypeName;
  subs: Set<FakeSub>;
}

/** Counters the tests and the bench read. */
export interface FakeGraphStats {
  published: number;
  delivered: number;
  /** Samples lost to KEEP_LAST history overflow while callbacks could not run. */
  dropped: number;
  /** Samples not delivered because of a reliable-subscription / best-effort-publisher mismatch. */
  incompatible: number;
}

/** The simulated ROS graph: topics shared by every node made from its module. */
export class FakeRosGraph {
  readonly stats: FakeGraphStats = { published: 0, delivered: 0, dropped: 0, incompatible: 0 };
  private readonly topics = new Map<string, TopicState>();
  private pumpScheduled = false;
  initialized = false;
  shutdownCalled = false;

  /** An object with the RclModule shape, backed by this graph. */
  module(): RclModule {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const graph = this;
    class Node extends FakeNode {
      constructor(name: string, namespace = '') {
        super(graph, name, namespace);
      }
    }
    return {
      // As rclnodejs's default context: shut down until init(), again after shutdown(); init() may follow a shutdown().
      init: async () => { graph.initialized = true; },
      Node,
      QoS: FakeQoS,
      shutdown: () => { graph.initialized = false; graph.shutdownCalled = true; },
      isShutdown: () => !graph.initialized,
    };
  }

  /** Topic names with their type and subscriber count. */
  topicList(): { topic: string; type: RosTypeName; subscribers: number }[] {
    return [...this.topics].map(([topic, t]) => ({ topic, type: t.type, subscribers: t.subs.size }));
  }

  /** Resolve once every queued sample has been delivered. */
  async settle(): Promise<void> {
    while (this.pending()) await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setImmediate(r));
  }

  /** @internal */
  topic(type: RosTypeName, name: string): TopicState {
    if (!ROS_TYPE_NAMES.includes(type)) throw new Error(`message type '${type}' is not known to this ROS graph`);
    let t = this.topics.get(name);
    if (t === undefined) {
      t = { type, subs: new Set() };
      this.topics.set(name, t);
    } else if (t.type !== type) {
      throw new Error(`topic '${name}' carries ${t.type}, not ${type}`);
    }
    return t;
  }

  /** @internal */
  publish(type: RosTypeName, topic: string, message: unknown, reliable: boolean): void {
    const t = this.topic(type, topic);
    const sample = complete(DEFAULTS[type](), message, type);
    this.stats.published++;
    let first = true;
    for (const sub of t.subs) {
      if (sub.qos.reliable && !reliable) {
        this.stats.incompatible++;
        continue;
      }
      // Each subscriber gets its own copy, as each DDS reader deserialises its own.
      // In memory, written and received at once (wall clock, ns).
      const at = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
      sub.queue.push({ message: first ? sample : complete(DEFAULTS[type](), sample, type), info: { sourceTimestamp: at, receivedTimestamp: at } });
      first = false;
      if (sub.queue.length > sub.qos.depth) {
        sub.queue.shift();
        this.stats.dropped++;
      }
    }
    this.schedule();
  }

  /** @internal */
  schedule(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Messages queued for a node that takes them: a spinning one, or one its owner polls with spinOnce. */
  private pending(): boolean {
    for (const t of this.topics.values()) for (const s of t.subs) if (s.queue.length > 0 && (s.node.spinning || s.node.polled) && !s.node.destroyed) return true;
    return false;
  }

  private pump(): void {
    let more = false;
    for (const t of this.topics.values()) {
      for (const s of t.subs) {
        if (!s.node.spinning || s.node.destroyed || s.queue.length === 0) continue;
        const m = s.queue.shift()!;
        this.stats.delivered++;
        if (s.wantsInfo) s.callback(m.message, m.info);
        else s.callback(m.message);
        if (s.queue.length > 0) more = true;
      }
    }
    if (more) this.schedule();
  }
}

class FakeNode implements RclNode {
  spinning = false;
  /** spinOnce was called: `settle()` waits for this node's queues too (its owner takes them). */
  polled = false;
  destroyed = false;
  private readonly subs: { topic: TopicState; sub: FakeSub }[] = [];

  constructor(private readonly graph: FakeRosGraph, readonly name: string, readonly namespace: string) {
    if (!graph.initialized) throw new Error('rclnodejs.init() must be called before creating a node');
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid node name '${name}'`);
  }

  createPublisher<K extends RosTypeName>(typeClass: K, topic: string, options?: RclEntityOptions): RclPublisher<RosMessages[K]> {
    this.alive();
    const reliable = resolveQoS(options?.qos).reliable;
    const graph = this.graph;
    graph.topic(typeClass, topic);
    const node = this;
    return {
      topic,
      publish(message: RosMessages[K]): void {
        if (node.destroyed) throw new Error(`publisher on '${topic}': its node was destroyed`);
        graph.publish(typeClass, topic, message, reliable);
      },
    };
  }

  createSubscription<K extends RosTypeName>(typeClass: K, topic: string, options: RclEntityOptions & { isRaw: true }, callback: (serialized: Uint8Array) => void): RclSubscription;
  createSubscription<K extends RosTypeName>(typeClass: K, topic: string, options: RclEntityOptions, callback: (message: RosMessages[K], info: RclMessageInfo) => void): RclSubscription;
  createSubscription<K extends RosTypeName>(
    typeClass: K,
    topic: string,
    options: RclEntityOptions & { isRaw?: boolean },
    callback: ((message: RosMessages[K], info: RclMessageInfo) => void) | ((serialized: Uint8Array) => void),
  ): RclSubscription {
    this.alive();
    const t = this.graph.topic(typeClass, topic);
    let deliver = callback as (m: unknown) => void;
    if (options.isRaw === true) {
      // As rclnodejs hands a raw subscription its serialized message.
      if (!(CDR_TYPE_NAMES as readonly string[]).includes(typeClass)) throw new Error(`this double serializes only ${CDR_TYPE_NAMES.join(', ')} for raw subscriptions, not ${typeClass}`);
      const raw = callback as (b: Uint8Array) => void;
      deliver = (m) => raw(encodeCdr(typeClass as CdrTypeName, m as RosMessages[CdrTypeName]));
    }
    const wantsInfo = options.isRaw !== true && callback.length >= 2;
    const sub: FakeSub = { node: this, qos: resolveQoS(options.qos), callback: deliver, queue: [], wantsInfo };
    t.subs.add(sub);
    this.subs.push({ topic: t, sub });
    return { topic };
  }

  getTopicNamesAndTypes(): { name: string; types: string[] }[] {
    this.alive();
    return this.graph.topicList().map((t) => ({ name: t.topic, types: [t.type] }));
  }

  spin(): void {
    this.alive();
    if (this.spinning) throw new Error(`node '${this.name}' is already spinning`);
    this.spinning = true;
    this.graph.schedule();
  }

  spinOnce(timeout = 10): void {
    this.alive();
    if (this.spinning) throw new Error('The node is already spinning.');
    if (!(timeout >= 0)) throw new Error(`spinOnce(${timeout}): would block forever: this double cannot wait on the thread it publishes from (give a timeout >= 0)`);
    this.polled = true;
    for (const { sub } of this.subs) {
      if (sub.queue.length === 0) continue;
      const m = sub.queue.shift()!;
      this.graph.stats.delivered++;
      if (sub.wantsInfo) sub.callback(m.message, m.info);
      else sub.callback(m.message);
      if (this.destroyed) return;
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.spinning = false;
    for (const { topic, sub } of this.subs) topic.subs.delete(sub);
  }

  private alive(): void {
    if (this.destroyed) throw new Error(`node '${this.name}' was destroyed`);
  }
}
