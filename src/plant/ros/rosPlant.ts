/**
 * RosPlant: a robot seen through ROS 2 topics. Observation messages update named signals as
 * they arrive (latest message per topic); `write` publishes the command; `advance` returns at
 * once because wall-clock time runs on its own (the control loop paces). It also owns the e-stop
 * subscription (latched until `clearEstop()`), the DiagnosticArray status publication, the
 * phase-command topic and the episode reset procedure.
 *
 * Fresh data: a spinning rclnodejs node takes one message per ready subscription each time its
 * wait thread wakes the main thread, and the control thread lets the event loop run only in the
 * I/O window before each tick; each further message needs another round trip between the two
 * threads (measured 0.2-0.5 ms on a loaded machine), so a tick acted on an old sample of the
 * KEEP_LAST history and the rest was overwritten. So this node never spins: `drain()` lets the
 * event loop turn once, then takes on the calling thread (`spinOnce(0)`, one message per ready
 * subscription per call) until a call finds nothing; the tick itself takes once more first
 * (`takeNow`), so what arrived before the tick started has reached the plant, e-stop included.
 * Between control loops (resets, the ready wait) a timer takes every `pumpMs`; a lockstep
 * `advance()` polls.
 * A sample's age is the time since it was received plus, where the message has a
 * header stamp (JointState, Imu, Odometry), how old it already was on arrival (clock-skew guard:
 * a stamp ahead of this clock counts as age 0 and is counted in `clockSkew`; an unset stamp,
 * 0.0, falls back to the receive time).
 */
import { groupCommandPublisher, resolveActuatorGroups } from './actuatorGroups.js';
import type { CommandSpec, Plant, SignalSpec, Signals } from '../plant.js';
import type {
  BoolMsg, DiagnosticArray, Float64MultiArray, Float64Msg, Imu, JointState, JointTrajectory, KeyValue, Odometry,
  RosMessages, StringMsg, Time, Twist,
} from './messages.js';
import { DiagnosticLevel, durationOf, headerAt } from './messages.js';
import type { RclEntityOptions, RclMessageInfo, RclModule, RclNode, RclPublisher, RclQoSArg } from './rclnodejs.js';
import { RmwDurability, RmwHistory, RmwReliability } from './rclnodejs.js';
import type { CommandSink, ObservationSource, QosSetting, RosPlantConfig, TwistAxis } from './rosPlantConfig.js';
import { validateRosPlantConfig } from './rosPlantConfig.js';
import { decodeCdr, type CdrTypeName } from './cdr.js';

export interface RosPlantHooks {
  /**
   * The e-stop latched (from the topic or `triggerEstop`), after its zero command went out;
   * `receivedAt`: when the e-stop message reached this node's reader (wall clock, s; from the topic only).
   */
  onEstop?(reason: string, receivedAt?: number): void;
  /** A phase command arrived on the phase topic; throwing marks it rejected in the status. */
  onPhaseCommand?(command: string): void;
  /** Extra status for the DiagnosticArray (phase, tick stats, safety counters...). */
  status?(): { phase?: string; values?: Record<string, string | number | boolean> };
  /** Monotonic clock in seconds (default performance.now()/1000). */
  now?(): number;
  /** Wall clock in seconds since the epoch, the clock of header stamps (default performance.timeOrigin + now). */
  wallClock?(): number;
  /** A reset waits for the operator's "ready" (logged by the caller: topic, type, timeout). */
  onReadyWait?(wait: { topic: string | null; type: string; timeoutSeconds: number }): void;
  /** An observation sample was accepted: its topic and header stamp (s since the epoch; null without one). */
  onSample?(topic: string, stamp: number | null): void;
}

/** Counters exposed for status and metrics. */
export interface RosPlantCounters {
  /** Observation messages received (accepted or not). */
  messages: number;
  /** Observation messages rejected (a missing joint, too few values...). */
  malformed: number;
  /** Observation messages older than the fresh age already when they arrived (by header stamp). */
  stale: number;
  /** Messages whose header stamp was ahead of this clock by more than the skew tolerance. */
  clockSkew: number;
  /**
   * Times a topic gave as many samples as its KEEP_LAST depth (where known) before its queue was
   * found empty: its history was (or may have been) full, and older samples overwritten.
   */
  historyFull: number;
  commandsPublished: number;
  estops: number;
  phaseCommands: number;
  phaseRejected: number;
}

interface SourceState {
  readonly topic: string;
  readonly type: string;
  /** Monotonic receive time of the newest sample (s). */
  receivedAt: number;
  /** How old the newest sample was on arrival, from its header stamp (s; 0 without a stamp). */
  ageOnArrival: number;
  /** Messages accepted, and the count when the last command went out (lockstep advance). */
  count: number;
  countAtCommand: number;
  /** Samples taken since the queues were last found empty. */
  run: number;
  /** KEEP_LAST depth of its subscription, where known (see `historyFull`). */
  depth: number | null;
}

/** Depth of a KEEP_LAST QoS setting, where the setting says it (rclcpp's profiles: sensor data 5, default 10). */
function historyDepth(q: QosSetting | undefined, fallback: 'sensor_data' | 'default'): number | null {
  const s = q ?? fallback;
  if (s === 'sensor_data') return 5;
  if (s === 'default') return 10;
  if (s === 'system_default') return null;
  return s.depth;
}

/** The message type of the operator's "ready" topic (`true` = ready). */
export const READY_TYPE = 'std_msgs/msg/Bool';

export function qosArg(rcl: RclModule, q: QosSetting | undefined, fallback: 'sensor_data' | 'default'): RclQoSArg {
  const s = q ?? fallback;
  if (s === 'sensor_data') return rcl.QoS.profileSensorData;
  if (s === 'default') return rcl.QoS.profileDefault;
  if (s === 'system_default') return rcl.QoS.profileSystemDefault;
  return new rcl.QoS(
    RmwHistory.KEEP_LAST,
    s.depth,
    s.reliability === 'reliable' ? RmwReliability.RELIABLE : RmwReliability.BEST_EFFORT,
    s.durability === 'transient_local' ? RmwDurability.TRANSIENT_LOCAL : RmwDurability.VOLATILE,
  );
}

export class RosPlant implements Plant {
  readonly kind = 'ros';
  readonly signals: readonly SignalSpec[];
  readonly command: CommandSpec;
  readonly controlPeriod: number;
  readonly counters: RosPlantCounters = { messages: 0, malformed: 0, stale: 0, clockSkew: 0, historyFull: 0, commandsPublished: 0, estops: 0, phaseCommands: 0, phaseRejected: 0 };
  /** Between drains, a timer takes what arrived this often (ms). */
  readonly pumpMs: number;
  lastError: string | null = null;

  private readonly values = new Map<string, Float64Array>();
  private readonly sources: SourceState[] = [];
  private readonly sourceOfSignal = new Map<string, SourceState>();
  private readonly node: RclNode;
  private readonly now: () => number;
  private readonly wallClock: () => number;
  private readonly skewTolerance: number;
  private readonly publishCommand: (command: Float64Array) => void;
  private readonly statusPublisher: RclPublisher<DiagnosticArray>;
  private readonly resetRequest: RclPublisher<BoolMsg> | null = null;
  private readonly statusTimer: NodeJS.Timeout;
  private readonly pumpTimer: NodeJS.Timeout;
  /** performance.now() of the last take (drain, pump or poll). */
  private lastTakeMs = 0;
  private readonly freshAge: number;
  private estopReason: string | null = null;
  private readyAt = -Infinity;
  private waiter: { wake: () => void } | null = null;
  private resetCancelled = false;
  private closed = false;
  /** A command went out since the last lockstep advance. */
  private lockstepPending = false;
  /** Messages taken on any subscription (a take that adds none has emptied the queues). */
  private taken = 0;

  /** Validate the config, create the node, subscriptions and publishers, and start taking (see `drain`). */
  static open(rcl: RclModule, config: RosPlantConfig, hooks: RosPlantHooks = {}): RosPlant {
    return new RosPlant(rcl, config, hooks);
  }

  private constructor(rcl: RclModule, private readonly config: RosPlantConfig, private readonly hooks: RosPlantHooks) {
    const sizes = validateRosPlantConfig(config);
    this.signals = [...sizes].map(([name, size]) => ({ name, size }));
    for (const s of this.signals) this.values.set(s.name, new Float64Array(s.size).fill(Number.NaN));
    this.controlPeriod = config.controlPeriod;
    this.freshAge = config.freshAge ?? Math.max(0.1, 10 * config.controlPeriod);
    const cmd = config.command;
    this.command = {
      size: cmd.low.length,
      low: Float64Array.from(cmd.low),
      high: Float64Array.from(cmd.high),
      names: commandNames(cmd),
    };
    const perf = globalThis.performance;
    this.now = hooks.now ?? (() => perf.now() / 1000);
    this.wallClock = hooks.wallClock ?? (() => (perf.timeOrigin + perf.now()) / 1000);
    this.skewTolerance = config.clockSkewTolerance ?? 0.05;

    this.node = new rcl.Node(config.nodeName, config.namespace ?? '');
    try {
      for (const src of config.observations) this.subscribeObservation(rcl, src);
      if (config.reward !== undefined) {
        const out = this.values.get(config.reward.signal ?? 'reward') as Float64Array;
        const state = this.addSource(config.reward.topic, 'std_msgs/msg/Float64', [config.reward.signal ?? 'reward'], historyDepth(config.reward.qos, 'default'));
        this.subscribeDecoded('std_msgs/msg/Float64', config.reward.topic, { qos: qosArg(rcl, config.reward.qos, 'default') }, (m: Float64Msg) => {
          if (!this.accept(typeof m.data === 'number', config.reward?.topic ?? '', 'data is not a number')) return;
          out[0] = m.data;
          this.received(state, null);
        });
      }
      this.publishCommand = this.makeCommandPublisher(rcl, cmd);
      this.subscribe('std_msgs/msg/Bool', config.estop.topic, { qos: qosArg(rcl, config.estop.qos, 'default') }, (m: BoolMsg, info?: RclMessageInfo) => {
        if (m.data === true) this.triggerEstop(`e-stop message on ${config.estop.topic}`, info === undefined ? undefined : Number(info.receivedTimestamp) / 1e9);
      });
      if (config.phaseTopic !== undefined) {
        this.subscribe('std_msgs/msg/String', config.phaseTopic, { qos: rcl.QoS.profileDefault }, (m: StringMsg) => this.phaseCommand(m.data));
      }
      if (config.reset.mode === 'operator' && config.reset.topic !== undefined) {
        this.subscribe(READY_TYPE, config.reset.topic, { qos: rcl.QoS.profileDefault }, (m: BoolMsg) => {
          if (m.data === true) this.confirmReady();
        });
      }
      if (config.reset.mode === 'operator' && config.reset.requestTopic !== undefined) {
        this.resetRequest = this.node.createPublisher('std_msgs/msg/Bool', config.reset.requestTopic, { qos: rcl.QoS.profileDefault });
      }
      this.statusPublisher = this.node.createPublisher('diagnostic_msgs/msg/DiagnosticArray', config.status?.topic ?? '/diagnostics', { qos: rcl.QoS.profileDefault });
      // Not spin(): see drain(). The first take marks the subscriptions as taken from.
      this.take(Infinity);
    } catch (e) {
      this.node.destroy();
      throw e;
    }
    this.statusTimer = setInterval(() => this.publishStatus(), (config.status?.period ?? 1) * 1000);
    this.statusTimer.unref();
    this.pumpMs = Math.max(1, Math.min(2, config.controlPeriod * 1000));
    this.pumpTimer = setInterval(() => {
      const t = globalThis.performance.now();
      if (t - this.lastTakeMs >= this.pumpMs) this.take(t + this.pumpMs);
    }, this.pumpMs);
    this.pumpTimer.unref();
  }

  get estopped(): boolean {
    return this.estopReason !== null;
  }
  get estopCause(): string | null {
    return this.estopReason;
  }

  /** Latch the e-stop (topic or control API). Commands stop or go to zero until `clearEstop()`. */
  triggerEstop(reason: string, receivedAt?: number): void {
    if (this.estopReason !== null) return;
    this.estopReason = reason;
    this.counters.estops++;
    // The safe command goes out now, not at the next tick.
    if (!this.closed && (this.config.estopCommand ?? 'silence') === 'zero') {
      try {
        this.publishCommand(this.zeroCommand());
      } catch (e) {
        this.lastError = `e-stop command: ${(e as Error).message}`;
      }
    }
    this.waiter?.wake();
    this.hooks.onEstop?.(reason, receivedAt);
  }

  /** Release the e-stop latch; only the control API calls this. */
  clearEstop(): void {
    this.estopReason = null;
  }

  /** The operator's "ready" for a pending reset (also from the reset topic). False when none is pending. */
  confirmReady(): boolean {
    this.readyAt = this.now();
    if (this.waiter === null) return false;
    this.waiter.wake();
    return true;
  }

  /**
   * Age of the sample that last updated `signal`, seconds: since it arrived, plus how old it
   * was on arrival by its header stamp (Infinity if never received).
   */
  signalAge(signal: string): number {
    const s = this.sourceOfSignal.get(signal);
    if (s === undefined) throw new Error(`signal '${signal}' is not provided by the ros plant`);
    return this.ageOf(s, this.now());
  }

  /** Age of the oldest observation source, seconds. */
  maxAge(): number {
    const t = this.now();
    let m = 0;
    for (const s of this.sources) m = Math.max(m, this.ageOf(s, t));
    return m;
  }

  /**
   * The control loop's I/O window: let the event loop turn once (ZeroMQ, timers, other nodes),
   * then take every message that has arrived (see `take`), last, so every signal holds the
   * newest sample its topic had when this returns and an e-stop that arrived before is
   * latched. Stops taking at `deadlineMs` (performance.now() clock) if messages keep coming.
   */
  async drain(deadlineMs: number): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    this.take(deadlineMs);
  }

  /** See Plant.takeNow: a take bounded by a quarter of the control period. */
  takeNow(): void {
    this.take(globalThis.performance.now() + this.controlPeriod * 250);
  }

  /**
   * Take on this thread until the queues are empty: `spinOnce(0)` takes one message per ready
   * subscription, so call it until a call takes none (or `deadlineMs` passes; the next take goes
   * on). Counts the topics that gave a whole KEEP_LAST history before running empty.
   */
  private take(deadlineMs: number): void {
    if (this.closed) return;
    const perf = globalThis.performance;
    let empty = false;
    for (;;) {
      const before = this.taken;
      this.node.spinOnce(0);
      if (this.taken === before) empty = true;
      if (empty || this.closed || perf.now() >= deadlineMs) break;
    }
    this.lastTakeMs = perf.now();
    if (!empty) return;
    for (const s of this.sources) {
      if (s.depth !== null && s.run >= s.depth) this.counters.historyFull++;
      s.run = 0;
    }
  }

  /**
   * An observation subscription: raw, decoded here (cdr.ts: a tenth of rclnodejs's conversion
   * time); a message that does not decode is counted malformed and named in `lastError`.
   */
  private subscribeDecoded<K extends CdrTypeName>(type: K, topic: string, options: RclEntityOptions, callback: (m: RosMessages[K]) => void): void {
    this.node.createSubscription(type, topic, { ...options, isRaw: true }, (bytes: Uint8Array) => {
      this.taken++;
      let m: RosMessages[K];
      try {
        m = decodeCdr(type, bytes);
      } catch (e) {
        this.accept(false, topic, (e as Error).message);
        return;
      }
      callback(m);
    });
  }

  /** A subscription whose callback counts the take (see `take`) and gets the MessageInfo. */
  private subscribe<K extends Parameters<RclNode['createSubscription']>[0]>(type: K, topic: string, options: RclEntityOptions, callback: (m: RosMessages[K], info?: RclMessageInfo) => void): void {
    this.node.createSubscription(type, topic, options, (m: RosMessages[K], info: RclMessageInfo) => {
      this.taken++;
      callback(m, info);
    });
  }

  read(): Signals {
    return this.values;
  }

  write(command: Float64Array): void {
    if (command.length !== this.command.size) throw new Error(`command has ${command.length} components, the ros plant expects ${this.command.size}`);
    if (this.estopReason !== null) {
      if ((this.config.estopCommand ?? 'silence') === 'silence') return;
      this.publishCommand(this.zeroCommand());
      this.markCommand();
      return;
    }
    this.publishCommand(command);
    this.markCommand();
  }

  /** Wall clock: returns at once. Lockstep: waits for an answer on every observation topic. */
  async advance(): Promise<void> {
    const a = this.config.advance;
    if (a === undefined || a.mode === 'wallclock' || !this.lockstepPending) return;
    const deadline = this.now() + a.timeout;
    const perf = globalThis.performance;
    const polling = perf.now();
    try {
      for (;;) {
        this.take(perf.now() + 5);
        const waiting = this.sources.filter((s) => s.count <= s.countAtCommand);
        if (waiting.length === 0) return;
        if (this.closed) throw new Error('advance: the ros plant is closed');
        if (this.now() >= deadline) throw new Error(`advance: no message on ${waiting.map((s) => s.topic).join(', ')} within ${a.timeout} s after the command`);
        // Poll: every turn of the event loop for the first 2 ms (an answer is usually that
        // quick), then every millisecond.
        if (perf.now() - polling < 2) await new Promise<void>((r) => setImmediate(r));
        else await this.sleepOrWake(Math.min(0.001, deadline - this.now()));
      }
    } finally {
      this.lockstepPending = false;
    }
  }

  /** Zero clamped into the command range. */
  private zeroCommand(): Float64Array {
    const zero = new Float64Array(this.command.size);
    for (let i = 0; i < zero.length; i++) zero[i] = Math.min(this.command.high[i], Math.max(this.command.low[i], 0));
    return zero;
  }

  private markCommand(): void {
    if (this.config.advance?.mode !== 'lockstep') return;
    for (const s of this.sources) s.countAtCommand = s.count;
    this.lockstepPending = true;
  }

  /** Scripted reset or operator confirmation, then fresh observations. Rejects on e-stop or timeout. */
  async reset(): Promise<void> {
    this.resetCancelled = false;
    this.assertRunnable('reset');
    const r = this.config.reset;
    if (r.mode === 'scripted') {
      for (const step of r.steps) {
        const cmd = Float64Array.from(step.command);
        // One command per control period on absolute deadlines: a late timer neither adds
        // sliver ticks at the end of a step nor stretches the script.
        const ticks = Math.max(1, Math.round(step.duration / this.controlPeriod));
        const start = this.now();
        for (let i = 1; i <= ticks; i++) {
          this.assertRunnable('scripted reset');
          this.publishCommand(cmd);
          const due = start + i * this.controlPeriod;
          // Woken early (a message, an e-stop): check, then sleep out the rest of the period.
          while (this.now() < due) {
            await this.sleepOrWake(due - this.now());
            this.assertRunnable('scripted reset');
          }
        }
      }
    } else {
      const since = this.now();
      const deadline = since + r.timeout;
      this.hooks.onReadyWait?.({ topic: r.topic ?? null, type: READY_TYPE, timeoutSeconds: r.timeout });
      this.resetRequest?.publish({ data: true });
      while (!(this.readyAt >= since)) {
        this.assertRunnable('waiting for the operator');
        if (this.now() >= deadline) throw new Error(`reset: no operator "ready" within ${r.timeout} s${r.topic ? ` (topic ${r.topic} or the control API)` : ' (control API)'}`);
        await this.sleepOrWake(deadline - this.now());
      }
    }
    const timeout = this.config.freshTimeout ?? 5;
    const deadline = this.now() + timeout;
    while (this.staleSources().length > 0) {
      this.assertRunnable('waiting for fresh observations');
      if (this.now() >= deadline) throw new Error(`reset: no fresh observations within ${timeout} s on ${this.staleSources().join(', ')}`);
      await this.sleepOrWake(Math.min(this.controlPeriod, deadline - this.now()));
    }
  }

  /** The DiagnosticArray this plant publishes. */
  statusMessage(): DiagnosticArray {
    const extra = this.hooks.status?.() ?? {};
    const stale = this.staleSources();
    const level = this.estopReason !== null ? DiagnosticLevel.ERROR : stale.length > 0 ? DiagnosticLevel.WARN : DiagnosticLevel.OK;
    const message = this.estopReason !== null ? `e-stop: ${this.estopReason}` : stale.length > 0 ? `stale: ${stale.join(', ')}` : 'ok';
    const t = this.now();
    const values: KeyValue[] = [
      { key: 'phase', value: extra.phase ?? 'unknown' },
      { key: 'estop', value: String(this.estopReason !== null) },
      ...this.sources.map((s) => ({ key: `age_ms ${s.topic}`, value: Number.isFinite(this.ageOf(s, t)) ? (this.ageOf(s, t) * 1000).toFixed(1) : 'never' })),
      ...Object.entries(this.counters).map(([k, v]) => ({ key: k, value: String(v) })),
      ...Object.entries(extra.values ?? {}).map(([k, v]) => ({ key: k, value: String(v) })),
    ];
    if (this.lastError !== null) values.push({ key: 'last_error', value: this.lastError });
    return {
      header: headerAt(Date.now() / 1000),
      status: [{ level, name: this.config.status?.name ?? `sacbridge/${this.config.nodeName}`, message, hardware_id: this.config.status?.hardwareId ?? '', values }],
    };
  }

  publishStatus(): void {
    if (!this.closed) this.statusPublisher.publish(this.statusMessage());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.statusTimer);
    clearInterval(this.pumpTimer);
    this.waiter?.wake();
    this.node.destroy();
  }

  /** Abandon a reset under way (the daemon stops): the pending `reset()` rejects at once. */
  cancelReset(): void {
    this.resetCancelled = true;
    this.waiter?.wake();
  }

  private assertRunnable(what: string): void {
    if (this.resetCancelled) throw new Error(`${what}: cancelled`);
    if (this.closed) throw new Error(`${what}: the ros plant is closed`);
    if (this.estopReason !== null) throw new Error(`${what}: e-stop is latched (${this.estopReason}); clear it through the control API`);
  }

  private staleSources(): string[] {
    const t = this.now();
    return this.sources.filter((s) => !(this.ageOf(s, t) <= this.freshAge)).map((s) => s.topic);
  }

  private ageOf(s: SourceState, t: number): number {
    return t - s.receivedAt + s.ageOnArrival;
  }

  /** Sleep up to `seconds`, waking early on operator ready, e-stop or close. */
  private sleepOrWake(seconds: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, seconds * 1000));
      const self = this;
      function done(): void {
        clearTimeout(timer);
        if (self.waiter?.wake === done) self.waiter = null;
        resolve();
      }
      this.waiter = { wake: done };
    });
  }

  private phaseCommand(data: string): void {
    this.counters.phaseCommands++;
    try {
      this.hooks.onPhaseCommand?.(data.trim());
    } catch (e) {
      this.counters.phaseRejected++;
      this.lastError = `phase command '${data}': ${(e as Error).message}`;
    }
  }

  /** A sample was accepted; `stamp` is its header stamp (null: the message has none). */
  private received(state: SourceState, stamp: Time | null): void {
    state.receivedAt = this.now();
    state.ageOnArrival = 0;
    if (stamp !== null && (stamp.sec !== 0 || stamp.nanosec !== 0)) {
      const age = this.wallClock() - (stamp.sec + stamp.nanosec * 1e-9);
      if (age < -this.skewTolerance) {
        this.counters.clockSkew++;
        this.lastError = `${state.topic}: header stamp ${(-age).toFixed(3)} s ahead of this clock (clock skew?); its age counts from receipt`;
      } else {
        state.ageOnArrival = Math.max(0, age);
        if (age > this.freshAge) {
          this.counters.stale++;
          this.lastError = `${state.topic}: sample ${age.toFixed(3)} s old on arrival by its header stamp (fresh age ${this.freshAge} s)`;
        }
      }
    }
    state.count++;
    state.run++;
    this.hooks.onSample?.(state.topic, stamp === null || (stamp.sec === 0 && stamp.nanosec === 0) ? null : stamp.sec + stamp.nanosec * 1e-9);
  }

  private accept(ok: boolean, topic: string, why: string): boolean {
    this.counters.messages++;
    if (!ok) {
      this.counters.malformed++;
      this.lastError = `${topic}: ${why}`;
    }
    return ok;
  }

  private addSource(topic: string, type: string, signalNames: (string | undefined)[], depth: number | null): SourceState {
    const state: SourceState = { topic, type, receivedAt: -Infinity, ageOnArrival: 0, count: 0, countAtCommand: 0, run: 0, depth };
    this.sources.push(state);
    for (const n of signalNames) if (n !== undefined) this.sourceOfSignal.set(n, state);
    return state;
  }

  private signal(name: string | undefined): Float64Array | null {
    return name === undefined ? null : (this.values.get(name) as Float64Array);
  }

  private subscribeObservation(rcl: RclModule, src: ObservationSource): void {
    const qos = { qos: qosArg(rcl, src.qos, 'sensor_data') };
    const depth = historyDepth(src.qos, 'sensor_data');
    switch (src.type) {
      case 'sensor_msgs/msg/JointState': {
        const state = this.addSource(src.topic, src.type, [src.signals.position, src.signals.velocity, src.signals.effort], depth);
        const fields = (['position', 'velocity', 'effort'] as const)
          .map((f) => ({ f, out: this.signal(src.signals[f]) }))
          .filter((x): x is { f: 'position' | 'velocity' | 'effort'; out: Float64Array } => x.out !== null);
        const index = new Int32Array(src.joints.length);
        let cachedNames: string[] | null = null;
        this.subscribeDecoded(src.type, src.topic, qos, (m: JointState) => {
          if (cachedNames === null || !sameNames(cachedNames, m.name)) {
            const missing = jointIndex(src.joints, m.name, index);
            if (!this.accept(missing === null, src.topic, `joint '${missing}' is not in the message (has: ${m.name.join(', ')})`)) {
              cachedNames = null;
              return;
            }
            cachedNames = [...m.name];
          } else {
            this.counters.messages++;
          }
          for (const { f } of fields) {
            if (m[f].length < m.name.length) {
              this.counters.malformed++;
              this.lastError = `${src.topic}: ${f} has ${m[f].length} entries for ${m.name.length} joints`;
              return;
            }
          }
          for (const { f, out } of fields) {
            const arr = m[f];
            for (let j = 0; j < index.length; j++) out[j] = arr[index[j]];
          }
          this.received(state, m.header.stamp);
        });
        return;
      }
      case 'sensor_msgs/msg/Imu': {
        const s = src.signals;
        const state = this.addSource(src.topic, src.type, [s.orientation, s.angularVelocity, s.linearAcceleration], depth);
        const o = this.signal(s.orientation), w = this.signal(s.angularVelocity), a = this.signal(s.linearAcceleration);
        this.subscribeDecoded(src.type, src.topic, qos, (m: Imu) => {
          this.counters.messages++;
          if (o) quatInto(m.orientation, o);
          if (w) vecInto(m.angular_velocity, w);
          if (a) vecInto(m.linear_acceleration, a);
          this.received(state, m.header.stamp);
        });
        return;
      }
      case 'nav_msgs/msg/Odometry': {
        const s = src.signals;
        const state = this.addSource(src.topic, src.type, [s.position, s.orientation, s.linearVelocity, s.angularVelocity], depth);
        const p = this.signal(s.position), o = this.signal(s.orientation), v = this.signal(s.linearVelocity), w = this.signal(s.angularVelocity);
        this.subscribeDecoded(src.type, src.topic, qos, (m: Odometry) => {
          this.counters.messages++;
          if (p) vecInto(m.pose.pose.position, p);
          if (o) quatInto(m.pose.pose.orientation, o);
          if (v) vecInto(m.twist.twist.linear, v);
          if (w) vecInto(m.twist.twist.angular, w);
          this.received(state, m.header.stamp);
        });
        return;
      }
      case 'std_msgs/msg/Float64MultiArray': {
        const state = this.addSource(src.topic, src.type, src.signals.map((s) => s.name), depth);
        const slices = src.signals.map((s) => ({ ...s, out: this.values.get(s.name) as Float64Array }));
        const need = Math.max(...src.signals.map((s) => s.offset + s.size));
        this.subscribeDecoded(src.type, src.topic, qos, (m: Float64MultiArray) => {
          const base = m.layout.data_offset;
          if (!this.accept(m.data.length - base >= need, src.topic, `data has ${m.data.length - base} values after data_offset ${base}, need ${need}`)) return;
          for (const s of slices) for (let i = 0; i < s.size; i++) s.out[i] = m.data[base + s.offset + i];
          this.received(state, null);
        });
        return;
      }
    }
  }

  private makeCommandPublisher(rcl: RclModule, cmd: CommandSink): (command: Float64Array) => void {
    if (cmd.type === 'actuator_groups') {
      const groups = resolveActuatorGroups(cmd.groups, { actuators: cmd.actuators, joints: cmd.actuatorJoints }, 'ros config: command.groups');
      const publish = groupCommandPublisher(this.node, groups, (q) => qosArg(rcl, q, 'default'));
      return (c) => { publish(c); this.counters.commandsPublished++; };
    }
    const qos = { qos: qosArg(rcl, cmd.qos, 'default') };
    const n = cmd.low.length;
    const count = (): void => { this.counters.commandsPublished++; };
    switch (cmd.type) {
      case 'std_msgs/msg/Float64MultiArray': {
        const pub = this.node.createPublisher(cmd.type, cmd.topic, qos);
        const msg: Float64MultiArray = { layout: { dim: [{ label: 'command', size: n, stride: n }], data_offset: 0 }, data: new Float64Array(n) };
        return (c) => { (msg.data as Float64Array).set(c); pub.publish(msg); count(); };
      }
      case 'trajectory_msgs/msg/JointTrajectory': {
        const pub = this.node.createPublisher(cmd.type, cmd.topic, qos);
        const values = new Float64Array(n);
        const empty = new Float64Array(0);
        // A zero stamp tells joint_trajectory_controller to start the trajectory on receipt.
        const msg: JointTrajectory = {
          header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' },
          joint_names: [...cmd.joints],
          points: [{
            positions: cmd.field === 'positions' ? values : empty,
            velocities: cmd.field === 'velocities' ? values : empty,
            accelerations: empty,
            effort: cmd.field === 'effort' ? values : empty,
            time_from_start: durationOf(cmd.timeFromStart),
          }],
        };
        return (c) => { values.set(c); pub.publish(msg); count(); };
      }
      case 'geometry_msgs/msg/Twist': {
        const pub = this.node.createPublisher(cmd.type, cmd.topic, qos);
        const msg: Twist = { linear: { x: 0, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } };
        const targets = cmd.axes.map(axisTarget(msg));
        return (c) => { for (let i = 0; i < n; i++) targets[i](c[i]); pub.publish(msg); count(); };
      }
    }
  }
}


function commandNames(cmd: CommandSink): string[] {
  switch (cmd.type) {
    case 'std_msgs/msg/Float64MultiArray': return cmd.names ?? cmd.low.map((_, i) => `u${i}`);
    case 'trajectory_msgs/msg/JointTrajectory': return [...cmd.joints];
    case 'geometry_msgs/msg/Twist': return [...cmd.axes];
    case 'actuator_groups': return [...cmd.actuators];
  }
}

function axisTarget(msg: Twist): (axis: TwistAxis) => (v: number) => void {
  return (axis) => {
    const [part, comp] = axis.split('.') as ['linear' | 'angular', 'x' | 'y' | 'z'];
    return (v) => { msg[part][comp] = v; };
  };
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Fill `index[j]` with the position of `joints[j]` in `names`; return the first missing joint or null. */
export function jointIndex(joints: readonly string[], names: readonly string[], index: Int32Array): string | null {
  for (let j = 0; j < joints.length; j++) {
    const k = names.indexOf(joints[j]);
    if (k < 0) return joints[j];
    index[j] = k;
  }
  return null;
}

function vecInto(v: { x: number; y: number; z: number }, out: Float64Array): void {
  out[0] = v.x; out[1] = v.y; out[2] = v.z;
}
function quatInto(q: { x: number; y: number; z: number; w: number }, out: Float64Array): void {
  out[0] = q.w; out[1] = q.x; out[2] = q.y; out[3] = q.z;
}
