/**
 * A simulated robot on a ROS graph: any Plant (typically a MuJoCo model with deliberately
 * different dynamics) exposed the way a ros2_control robot is, so RosPlant can be tested and
 * fine-tuned against it, and a user can rehearse the robot phase before touching hardware
 * (`sacbridge sim-robot`, src/cli/simRobot.ts).
 *
 * It publishes plant signals as sensor_msgs/msg/JointState (by joint name), sensor_msgs/msg/Imu,
 * nav_msgs/msg/Odometry and std_msgs/msg/Float64MultiArray, header-stamped with the wall clock
 * when the state was sampled; it takes std_msgs/msg/Float64MultiArray commands (a forward
 * command controller) and trajectory_msgs/msg/JointTrajectory commands (the first point, by
 * joint name) with an optional actuation latency, and adds observation noise. It answers the
 * e-stop topic (`true` latches a zero command, `false` releases it) and the reset-request topic
 * (reset, then "ready" on the ready topic).
 *
 * Timing: 'on-command' steps the plant once per command received and then publishes (pair it
 * with RosPlant's `advance: lockstep` for fast tests); 'periodic' steps on a wall-clock timer
 * with the latest command, as a real robot does: one step and one publication per slot of its
 * period, stamped with the slot's time (start + k periods), so the stamps lie on a fixed grid
 * and a reader can tell a lost sample from a gap in them. Slots a late timer missed are stepped
 * and published in a burst (at most `maxCatchUp`; the rest are skipped, a gap in the stamps).
 */
import type { Plant } from '../plant.js';
import type { Rng } from '../../util/rng.js';
import type { BoolMsg, Float64MultiArray, JointTrajectory } from './messages.js';
import { headerAt } from './messages.js';
import type { RclModule, RclNode, RclPublisher } from './rclnodejs.js';
import { resolveActuatorGroups, subscribeActuatorGroups } from './actuatorGroups.js';
import type { ActuatorGroup } from './rosPlantConfig.js';

export interface SimulatedRobotConfig {
  nodeName: string;
  namespace?: string;
  /**
   * Plant signals published as one JointState. Without `index`, each named signal has one entry
   * per joint; with it, joint j reads entry index.<field>[j] (e.g. MuJoCo's qpos address of a joint).
   */
  jointStates?: {
    topic: string; joints: string[]; position?: string; velocity?: string; effort?: string;
    index?: { position?: number[]; velocity?: number[]; effort?: number[] };
  };
  /** Plant signals published as sensor_msgs/msg/Imu: orientation (w, x, y, z), angular velocity, linear acceleration. */
  imu?: { topic: string; frameId?: string; orientation?: string; angularVelocity?: string; linearAcceleration?: string };
  /** Plant signals published as nav_msgs/msg/Odometry: position, orientation (w, x, y, z), linear and angular velocity. */
  odometry?: { topic: string; frameId?: string; position?: string; orientation?: string; linearVelocity?: string; angularVelocity?: string };
  /** Plant signals concatenated into a Float64MultiArray per topic. */
  arrays?: { topic: string; signals: string[] }[];
  /** Float64MultiArray commands in physical units, written to the plant. */
  commandTopic?: string;
  /**
   * JointTrajectory commands: the first point's positions, else velocities, else effort, by
   * joint name (`joints[i]` is command component i), written to the plant as its command.
   */
  trajectory?: { topic: string; joints: string[] };
  /**
   * Commands per actuator group, as ros2_control controllers take them (the same groups as
   * RosPlant's 'actuator_groups' command): the robot steps once every group has delivered.
   */
  groups?: { actuators: string[]; actuatorJoints?: string[]; groups: ActuatorGroup[] };
  /** Commands take effect this many steps after they arrive (actuation latency). */
  latencySteps?: number;
  /** Gaussian noise added to every published value. */
  noise?: { std: number; rng: Rng };
  /**
   * Periodic `wait`: 'timer' (default) waits on the event loop's timers, millisecond-grained, and
   * shares the thread; 'block' sleeps the thread in Atomics.wait to each slot (microsecond-grained)
   * and lets the event loop turn once per slot (commands, e-stop, resets), for a robot process
   * of its own (`sacbridge sim-robot`).
   */
  timing: { mode: 'on-command' } | { mode: 'periodic'; periodMs: number; maxCatchUp?: number; wait?: 'timer' | 'block' };
  /** Where `reset()` publishes an operator "ready" (std_msgs/msg/Bool true). */
  readyTopic?: string;
  /** std_msgs/msg/Bool: `true` latches the robot's own e-stop (zero command), `false` releases it. */
  estopTopic?: string;
  /** std_msgs/msg/Bool: `true` asks for a reset (`reset()`, which ends with "ready"). */
  resetRequestTopic?: string;
  /** Called by `reset()` before the plant resets: a new draw of the dynamics (domain randomiser). */
  onReset?(plant: Plant): void | Promise<void>;
  /** Called by `reset()` after the plant reset, before the state and "ready" go out (a task's episode start). */
  initialize?(plant: Plant): void;
  /** Wall clock for header stamps, seconds since the epoch (default performance.timeOrigin + now). */
  wallClock?(): number;
}

export class SimulatedRobot {
  readonly stats = { commands: 0, trajectories: 0, steps: 0, published: 0, resets: 0, estops: 0, rejected: 0, skippedSlots: 0 };
  /** The robot's own e-stop (from the e-stop topic): the plant gets zero while it holds. */
  estopped = false;
  private readonly node: RclNode;
  private readonly publishers: (() => void)[] = [];
  private readonly ready: RclPublisher<{ data: boolean }> | null;
  private readonly pending: Float64Array[] = [];
  private readonly latest: Float64Array;
  private readonly zero: Float64Array;
  private readonly wallClock: () => number;
  private sampledAt = 0;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private blocking: Promise<void> | null = null;
  private closing = false;
  /** The first error from stepping the plant (the chain stops). */
  error: unknown = null;

  static open(rcl: RclModule, plant: Plant, config: SimulatedRobotConfig): SimulatedRobot {
    return new SimulatedRobot(rcl, plant, config);
  }

  private constructor(rcl: RclModule, readonly plant: Plant, private readonly config: SimulatedRobotConfig) {
    this.node = new rcl.Node(config.nodeName, config.namespace ?? '');
    const perf = globalThis.performance;
    this.wallClock = config.wallClock ?? (() => (perf.timeOrigin + perf.now()) / 1000);
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
      for (const f of ['position', 'velocity', 'effort'] as const) {
        const name = js[f];
        if (name === undefined) continue;
        const idx = js.index?.[f];
        if (idx === undefined) need(name, n);
        else {
          const size = need(name).length;
          if (idx.length !== n || idx.some((k) => !(Number.isInteger(k) && k >= 0 && k < size))) throw new Error(`simulated robot: jointStates.index.${f} needs ${n} indices into '${name}' (size ${size})`);
        }
      }
      const pub = this.node.createPublisher('sensor_msgs/msg/JointState', js.topic, qos);
      const field = (f: 'position' | 'velocity' | 'effort'): Float64Array => {
        const name = js[f];
        if (name === undefined) return new Float64Array(0);
        const v = this.plant.read().get(name) as Float64Array;
        const idx = js.index?.[f];
        return this.noisy(idx === undefined ? v : Float64Array.from(idx, (k) => v[k] as number));
      };
      this.publishers.push(() => pub.publish({
        header: this.header(''),
        name: js.joints,
        position: field('position'), velocity: field('velocity'), effort: field('effort'),
      }));
    }
    const imu = config.imu;
    if (imu !== undefined) {
      const o = imu.orientation === undefined ? null : need(imu.orientation, 4);
      const w = imu.angularVelocity === undefined ? null : need(imu.angularVelocity, 3);
      const a = imu.linearAcceleration === undefined ? null : need(imu.linearAcceleration, 3);
      const pub = this.node.createPublisher('sensor_msgs/msg/Imu', imu.topic, qos);
      const unknown = [-1, 0, 0, 0, 0, 0, 0, 0, 0]; // REP 145: -1 marks a field the sensor does not give
      this.publishers.push(() => {
        const q = o === null ? null : this.noisy(this.plant.read().get(imu.orientation as string) as Float64Array);
        const g = w === null ? null : this.noisy(this.plant.read().get(imu.angularVelocity as string) as Float64Array);
        const l = a === null ? null : this.noisy(this.plant.read().get(imu.linearAcceleration as string) as Float64Array);
        pub.publish({
          header: this.header(imu.frameId ?? ''),
          orientation: q === null ? { x: 0, y: 0, z: 0, w: 1 } : { w: q[0] as number, x: q[1] as number, y: q[2] as number, z: q[3] as number },
          orientation_covariance: q === null ? unknown : new Array(9).fill(0),
          angular_velocity: g === null ? { x: 0, y: 0, z: 0 } : { x: g[0] as number, y: g[1] as number, z: g[2] as number },
          angular_velocity_covariance: g === null ? unknown : new Array(9).fill(0),
          linear_acceleration: l === null ? { x: 0, y: 0, z: 0 } : { x: l[0] as number, y: l[1] as number, z: l[2] as number },
          linear_acceleration_covariance: l === null ? unknown : new Array(9).fill(0),
        });
      });
    }
    const odom = config.odometry;
    if (odom !== undefined) {
      const sizes = { position: 3, orientation: 4, linearVelocity: 3, angularVelocity: 3 } as const;
      for (const k of Object.keys(sizes) as (keyof typeof sizes)[]) if (odom[k] !== undefined) need(odom[k] as string, sizes[k]);
      const pub = this.node.createPublisher('nav_msgs/msg/Odometry', odom.topic, qos);
      const get = (name: string | undefined, n: number): Float64Array => (name === undefined ? new Float64Array(n) : this.noisy(this.plant.read().get(name) as Float64Array));
      this.publishers.push(() => {
        const p = get(odom.position, 3), v = get(odom.linearVelocity, 3), w = get(odom.angularVelocity, 3);
        const q = odom.orientation === undefined ? Float64Array.of(1, 0, 0, 0) : get(odom.orientation, 4);
        pub.publish({
          header: this.header(odom.frameId ?? 'odom'),
          child_frame_id: 'base_link',
          pose: { pose: { position: { x: p[0] as number, y: p[1] as number, z: p[2] as number }, orientation: { w: q[0] as number, x: q[1] as number, y: q[2] as number, z: q[3] as number } }, covariance: new Array(36).fill(0) },
          twist: { twist: { linear: { x: v[0] as number, y: v[1] as number, z: v[2] as number }, angular: { x: w[0] as number, y: w[1] as number, z: w[2] as number } }, covariance: new Array(36).fill(0) },
        });
      });
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
    this.zero = Float64Array.from(this.latest);
    if (config.commandTopic === undefined && config.trajectory === undefined && config.groups === undefined) throw new Error('simulated robot: give commandTopic, trajectory or groups (where commands come from)');
    if (config.groups !== undefined) {
      const g = config.groups;
      if (g.actuators.length !== this.latest.length) throw new Error(`simulated robot: groups.actuators names ${g.actuators.length} actuators, the plant takes ${this.latest.length} commands`);
      const resolved = resolveActuatorGroups(g.groups, { actuators: g.actuators, joints: g.actuatorJoints }, 'simulated robot: groups.groups');
      const assembled = Float64Array.from(this.latest);
      subscribeActuatorGroups(this.node, resolved, rcl.QoS.profileDefault, assembled, () => this.onCommand(assembled), (message) => {
        this.stats.rejected++;
        this.error ??= new Error(`simulated robot: ${message}`);
      });
    }
    if (config.commandTopic !== undefined) {
      this.node.createSubscription('std_msgs/msg/Float64MultiArray', config.commandTopic, { qos: rcl.QoS.profileDefault }, (m: Float64MultiArray) => this.onCommand(m.data));
    }
    const traj = config.trajectory;
    if (traj !== undefined) {
      if (traj.joints.length !== this.latest.length) throw new Error(`simulated robot: trajectory.joints names ${traj.joints.length} joints, the plant takes ${this.latest.length} commands`);
      const index = new Int32Array(traj.joints.length);
      this.node.createSubscription('trajectory_msgs/msg/JointTrajectory', traj.topic, { qos: rcl.QoS.profileDefault }, (m: JointTrajectory) => {
        const p = m.points[0];
        const values = p === undefined ? null : p.positions.length > 0 ? p.positions : p.velocities.length > 0 ? p.velocities : p.effort;
        for (let j = 0; j < traj.joints.length; j++) index[j] = m.joint_names.indexOf(traj.joints[j] as string);
        if (values === null || index.some((k) => k < 0 || k >= values.length)) {
          this.stats.rejected++;
          this.error ??= new Error(`simulated robot: a JointTrajectory on ${traj.topic} lacks a point or one of the joints ${traj.joints.join(', ')} (has: ${m.joint_names.join(', ')})`);
          return;
        }
        this.stats.trajectories++;
        this.onCommand(Float64Array.from(index, (k) => values[k] as number));
      });
    }
    if (config.estopTopic !== undefined) {
      this.node.createSubscription('std_msgs/msg/Bool', config.estopTopic, { qos: rcl.QoS.profileDefault }, (m: BoolMsg) => {
        if (m.data && !this.estopped) this.stats.estops++;
        this.estopped = m.data;
        if (m.data) this.pending.length = 0;
      });
    }
    if (config.resetRequestTopic !== undefined) {
      this.node.createSubscription('std_msgs/msg/Bool', config.resetRequestTopic, { qos: rcl.QoS.profileDefault }, (m: BoolMsg) => {
        if (m.data) void this.reset().catch((e: unknown) => { this.error ??= e; });
      });
    }
    this.node.spin();
    if (config.timing.mode === 'periodic') {
      // Absolute deadlines (start + k periods): the simulated time keeps up with the wall
      // clock, and every slot is stepped and published with its own stamp, late ones too.
      const period = config.timing.periodMs;
      const maxCatchUp = config.timing.maxCatchUp ?? 10;
      const perf = globalThis.performance;
      const start = perf.now();
      const wallStart = this.wallClock();
      let slot = 0;
      /** Step and publish every slot that has come, each with its own stamp. */
      const catchUp = (): void => {
        const now = Math.floor((perf.now() - start) / period);
        if (now - slot > maxCatchUp) {
          this.stats.skippedSlots += now - slot - maxCatchUp;
          slot = now - maxCatchUp;
        }
        for (; slot < now; ) {
          const stamp = wallStart + ((slot + 1) * period) / 1000;
          slot++;
          this.chain = this.chain.then(() => this.step(stamp));
        }
      };
      if (config.timing.wait === 'block') {
        const sleeper = new Int32Array(new SharedArrayBuffer(4));
        this.blocking = (async () => {
          while (!this.closing) {
            const ms = start + (slot + 1) * period - perf.now();
            if (ms > 0.02) Atomics.wait(sleeper, 0, 0, ms);
            catchUp();
            await this.chain;
            await new Promise<void>((r) => setImmediate(r));
          }
        })();
      } else {
        const tick = (): void => {
          if (this.closing) return;
          catchUp();
          this.timer = setTimeout(tick, Math.max(0, start + (slot + 1) * period - perf.now()));
        };
        this.timer = setTimeout(tick, period);
      }
    }
  }

  /** Reset the plant, forget queued commands, publish the first state and the operator's "ready". */
  async reset(): Promise<void> {
    await this.chain;
    await this.config.onReset?.(this.plant);
    await this.plant.reset();
    this.config.initialize?.(this.plant);
    this.pending.length = 0;
    this.latest.set(this.zero);
    this.stats.resets++;
    this.sampledAt = this.wallClock();
    this.publishState();
    this.announceReady();
  }

  /** "ready" on the ready topic (an operator's confirmation), without a reset. */
  announceReady(): void {
    this.ready?.publish({ data: true });
  }

  publishState(): void {
    for (const p of this.publishers) p();
    this.stats.published++;
  }

  /** The command the plant gets on its next step (zero while the robot's e-stop holds). */
  get command(): Float64Array {
    return this.estopped ? this.zero : this.latest;
  }

  /** Resolves when every command received so far has been applied. */
  idle(): Promise<void> {
    return this.chain;
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.blocking;
    await this.chain;
    this.node.destroy();
  }

  private header(frameId: string): ReturnType<typeof headerAt> {
    return headerAt(this.sampledAt, frameId);
  }

  private onCommand(data: ArrayLike<number>): void {
    if (data.length !== this.latest.length) {
      this.stats.rejected++;
      this.error ??= new Error(`simulated robot: command has ${data.length} values, the plant takes ${this.latest.length}`);
      return;
    }
    this.stats.commands++;
    if (this.estopped) return;
    this.pending.push(Float64Array.from(data));
    const latency = this.config.latencySteps ?? 0;
    while (this.pending.length > latency) this.latest.set(this.pending.shift() as Float64Array);
    if (this.config.timing.mode === 'on-command') this.chain = this.chain.then(() => this.step(null));
  }

  /** One step with the current command, then the state, stamped `stamp` (null: now). */
  private async step(stamp: number | null): Promise<void> {
    if (this.error !== null || this.closing) return;
    try {
      this.plant.write(this.command);
      await this.plant.advance();
      this.sampledAt = stamp ?? this.wallClock();
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
