/**
 * A simulated robot on a ROS graph: any Plant (typically a MuJoCo model with deliberately
 * different dynamics) exposed the way a ros2_control robot is, so RosPlant can be tested and
 * fine-tuned against it. It publishes plant signals as sensor_msgs/msg/JointState (by joint
 * name) and std_msgs/msg/Float64MultiArray, applies std_msgs/msg/Float64MultiArray commands
 * with an optional actuation latency, and adds observation noise.
 *
 * Timing: 'on-command' steps the plant once per command received and then publishes (pair it
 * with RosPlant's `advance: lockstep` for fast tests); 'periodic' steps on a wall-clock timer
 * with the latest command, as a real robot does.
 */
import type { Plant } from '../../plant.js';
import type { Rng } from '../../../util/rng.js';
import type { Float64MultiArray } from '../messages.js';
import type { RclModule, RclNode, RclPublisher } from '../rclnodejs.js';

export interface SimulatedRobotConfig {
  nodeName: string;
  /** Plant signals published as one JointState; each named signal has one entry per joint. */
  jointStates?: { topic: string; joints: string[]; position?: string; velocity?: string; effort?: string };
  /** Plant signals concatenated into a Float64MultiArray per topic. */
  arrays?: { topic: string; signals: string[] }[];
  /** Float64MultiArray commands in physical units, written to the plant. */
  commandTopic: string;
  /** Commands take effect this many steps after they arrive (actuation latency). */
  latencySteps?: number;
  /** Gaussian noise added to every published value. */
  noise?: { std: number; rng: Rng };
  timing: { mode: 'on-command' } | { mode: 'periodic'; periodMs: number };
  /** Where `reset()` publishes an operator "ready" (std_msgs/msg/Bool true). */
  readyTopic?: string;
}

export class SimulatedRobot {
  readonly stats = { commands: 0, steps: 0, published: 0 };
  private readonly node: RclNode;
  private readonly publishers: (() => void)[] = [];
  private readonly ready: RclPublisher<{ data: boolean }> | null;
  private readonly pending: Float64Array[] = [];
  private readonly latest: Float64Array;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  /** The first error from stepping the plant (the chain stops). */
  error: unknown = null;

  static open(rcl: RclModule, plant: Plant, config: SimulatedRobotConfig): SimulatedRobot {
    return new SimulatedRobot(rcl, plant, config);
  }

  private constructor(rcl: RclModule, readonly plant: Plant, private readonly config: SimulatedRobotConfig) {
    this.node = new rcl.Node(config.nodeName);
    const signals = plant.read();
    const need = (name: string, size?: number): Float64Array => {
      const v = signals.get(name);
      if (v === undefined) throw new Error(`simulated robot: plant has no signal '${name}' (has: ${[...signals.keys()].join(', ')})`);
      if (size !== undefined && v.length !== size) throw new Error(`simulated robot: signal '${name}' has ${v.length} entries for ${size} joints`);
      return v;
    };
    const qos = { qos: rcl.QoS.profileSensorData };
    const js = config.jointStates;
    if (js !== undefined) {
      const n = js.joints.length;
      for (const f of [js.position, js.velocity, js.effort]) if (f !== undefined) need(f, n);
      const pub = this.node.createPublisher('sensor_msgs/msg/JointState', js.topic, qos);
      const field = (name: string | undefined): Float64Array => (name === undefined ? new Float64Array(0) : this.noisy(this.plant.read().get(name) as Float64Array));
      this.publishers.push(() => pub.publish({
        header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' },
        name: js.joints,
        position: field(js.position), velocity: field(js.velocity), effort: field(js.effort),
      }));
    }
    for (const a of config.arrays ?? []) {
      const size = a.signals.reduce((n, s) => n + need(s).length, 0);
      const pub = this.node.createPublisher('std_msgs/msg/Float64MultiArray', a.topic, qos);
      const data = new Float64Array(size);
      this.publishers.push(() => {
        let o = 0;
        for (const s of a.signals) { const v = this.plant.read().get(s) as Float64Array; data.set(v, o); o += v.length; }
        pub.publish({ layout: { dim: [{ label: a.topic, size, stride: size }], data_offset: 0 }, data: this.noisy(data) });
      });
    }
    this.ready = config.readyTopic === undefined ? null : this.node.createPublisher('std_msgs/msg/Bool', config.readyTopic, { qos: rcl.QoS.profileDefault });
    this.latest = new Float64Array(plant.command.size);
    for (let i = 0; i < this.latest.length; i++) this.latest[i] = Math.min(plant.command.high[i], Math.max(plant.command.low[i], 0));
    this.node.createSubscription('std_msgs/msg/Float64MultiArray', config.commandTopic, { qos: rcl.QoS.profileDefault }, (m: Float64MultiArray) => this.onCommand(m));
    this.node.spin();
    if (config.timing.mode === 'periodic') {
      this.timer = setInterval(() => { this.chain = this.chain.then(() => this.step()); }, config.timing.periodMs);
    }
  }

  /** Reset the plant, forget queued commands, publish the first state and the operator's "ready". */
  async reset(): Promise<void> {
    await this.chain;
    await this.plant.reset();
    this.pending.length = 0;
    this.publishState();
    this.ready?.publish({ data: true });
  }

  publishState(): void {
    for (const p of this.publishers) p();
    this.stats.published++;
  }

  /** Resolves when every command received so far has been applied. */
  idle(): Promise<void> {
    return this.chain;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.chain;
    this.node.destroy();
  }

  private onCommand(m: Float64MultiArray): void {
    if (m.data.length !== this.latest.length) {
      this.error ??= new Error(`simulated robot: command has ${m.data.length} values, the plant takes ${this.latest.length}`);
      return;
    }
    this.stats.commands++;
    this.pending.push(Float64Array.from(m.data));
    const latency = this.config.latencySteps ?? 0;
    while (this.pending.length > latency) this.latest.set(this.pending.shift() as Float64Array);
    if (this.config.timing.mode === 'on-command') this.chain = this.chain.then(() => this.step());
  }

  private async step(): Promise<void> {
    if (this.error !== null) return;
    try {
      this.plant.write(this.latest);
      await this.plant.advance();
      this.stats.steps++;
      this.publishState();
    } catch (e) {
      this.error = e;
    }
  }

  private noisy(v: Float64Array): Float64Array {
    const n = this.config.noise;
    if (n === undefined) return v;
    const out = Float64Array.from(v);
    for (let i = 0; i < out.length; i++) out[i] += n.std * n.rng.normal();
    return out;
  }
}
