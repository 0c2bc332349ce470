/**
 * Fixed-rate control loop on the daemon's own timer (ros2_control's read → update → write cycle
 * lives in `onTick`). Deadlines are absolute (t0 + k·period) so errors never accumulate.
 *
 * Waiting, in three stages per period (`wait: 'sleep'`, the default):
 * 1. block the thread in Atomics.wait (a futex with a microsecond timeout, far finer than libuv's
 *    millisecond timers) until `ioWindowUs + spinUs` before the deadline: no CPU is spent;
 * 2. yield one turn of the event loop (setImmediate), or run `io` (RosPlant drains its
 *    queues), so ROS callbacks and ZeroMQ messages that arrived meanwhile are handled right
 *    before the tick reads them, then block again;
 * 3. busy-wait the last `spinUs` on the high-resolution clock (see spinUntil).
 * Measured here: V8's parallel scavenger makes the main thread wait for GC helper threads, which
 * a loaded machine starves for milliseconds; the daemon runs with `--single-threaded-gc` (the
 * `sacbridge` bin, `npm start` and systemd/sacbridge-start all pass it), and with
 * `--max-semi-space-size=2` so that a scavenge (mostly freeing ZeroMQ frames' array buffers)
 * takes ~0.5 ms, not the 1-1.6 ms measured with V8's default young generation.
 * `wait: 'yield'` replaces stage 1 with setTimeout (while more than `coarseMarginUs` remain) and
 * setImmediate spinning: it never blocks the event loop, at the price of a busy core; `io`
 * still runs once, `ioWindowUs + spinUs` before the deadline.
 *
 * A tick that starts more than a period late skips the missed slots instead of bursting.
 */
import { performance } from 'node:perf_hooks';

export interface TickInfo {
  /** Tick number since start (slots skipped by an overrun count too). */
  readonly index: number;
  /** Scheduled and actual start, ms on performance.now()'s clock. */
  readonly scheduledMs: number;
  readonly startedMs: number;
  /** startedMs - scheduledMs, microseconds. */
  readonly latenessUs: number;
}

export interface ControlLoopOptions {
  rateHz: number;
  /** The read → update → write cycle. Keep it synchronous; a returned promise is awaited. */
  onTick(tick: TickInfo): void | Promise<void>;
  /** A tick starting later than this is counted late (default: 10% of the period). */
  lateThresholdUs?: number;
  /** setTimeout is used only while more than this remains (default 1500 us). */
  coarseMarginUs?: number;
  /** Busy-wait the last this many microseconds (default 200). */
  spinUs?: number;
  /** How to spend the period before the I/O window (default 'sleep'). */
  wait?: 'sleep' | 'yield';
  /** The event loop runs (and `io`) for this long before each deadline (default 300 us). */
  ioWindowUs?: number;
  /**
   * What runs in the I/O window, given the time (performance.now() ms) it must end by.
   * Default: one turn of the event loop. RosPlant.drain takes what its topics hold.
   */
  io?(untilMs: number): Promise<void>;
  /** systemd watchdog: `ping` is called from the loop every `intervalMs`, so a stuck loop stops pinging. */
  watchdog?: { intervalMs: number; ping(): void };
  /** Called with the error when onTick throws; the loop stops. */
  onError?(error: unknown): void;
}

export interface LoopStats {
  rateHz: number;
  ticks: number;
  late: number;
  lateFraction: number;
  missedSlots: number;
  jitterUsP50: number;
  jitterUsP99: number;
  jitterUsMax: number;
  /** Mean time spent inside onTick, us. */
  tickUsMean: number;
  tickUsMax: number;
  lateThresholdUs: number;
}

/** Histogram of microsecond values, 1 us bins up to 100 ms, for percentiles without allocation. */
export class MicrosecondHistogram {
  private readonly bins = new Uint32Array(100_001);
  count = 0;
  max = 0;
  add(us: number): void {
    const v = us < 0 ? 0 : us;
    this.bins[Math.min(this.bins.length - 1, Math.floor(v))]++;
    this.count++;
    if (v > this.max) this.max = v;
  }
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const target = Math.ceil(q * this.count);
    let acc = 0;
    for (let i = 0; i < this.bins.length; i++) {
      acc += this.bins[i];
      if (acc >= target) return i;
    }
    return this.max;
  }
  clear(): void {
    this.bins.fill(0);
    this.count = 0;
    this.max = 0;
  }
}

export class ControlLoop {
  readonly periodMs: number;
  private readonly jitter = new MicrosecondHistogram();
  private ticks = 0;
  private late = 0;
  private missed = 0;
  private tickUsSum = 0;
  private tickUsMax = 0;
  private running = false;
  private stopped: Promise<void> | null = null;
  private readonly lateThresholdUs: number;
  private readonly coarseMarginMs: number;
  private readonly spinMs: number;
  private readonly ioWindowMs: number;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));

  constructor(private readonly options: ControlLoopOptions) {
    if (!(options.rateHz > 0 && options.rateHz <= 10_000)) throw new Error(`control loop: rateHz must be in (0, 10000], got ${options.rateHz}`);
    this.periodMs = 1000 / options.rateHz;
    this.lateThresholdUs = options.lateThresholdUs ?? this.periodMs * 100;
    this.coarseMarginMs = (options.coarseMarginUs ?? 1500) / 1000;
    this.spinMs = (options.spinUs ?? 200) / 1000;
    this.ioWindowMs = (options.ioWindowUs ?? 300) / 1000;
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) throw new Error('control loop already running');
    this.running = true;
    this.stopped = this.run();
  }

  /** Stop after the current tick; resolves when the loop has exited. */
  async stop(): Promise<void> {
    this.running = false;
    await this.stopped;
  }

  stats(): LoopStats {
    return {
      rateHz: this.options.rateHz,
      ticks: this.ticks,
      late: this.late,
      lateFraction: this.ticks === 0 ? 0 : this.late / this.ticks,
      missedSlots: this.missed,
      jitterUsP50: this.jitter.quantile(0.5),
      jitterUsP99: this.jitter.quantile(0.99),
      jitterUsMax: this.jitter.max,
      tickUsMean: this.ticks === 0 ? 0 : this.tickUsSum / this.ticks,
      tickUsMax: this.tickUsMax,
      lateThresholdUs: this.lateThresholdUs,
    };
  }

  resetStats(): void {
    this.jitter.clear();
    this.ticks = this.late = this.missed = this.tickUsSum = this.tickUsMax = 0;
  }

  private async run(): Promise<void> {
    const period = this.periodMs;
    let slot = 0;
    const t0 = performance.now() + period;
    let lastPing = performance.now();
    try {
      while (this.running) {
        const deadline = t0 + slot * period;
        await this.waitUntil(deadline);
        if (!this.running) break;
        const started = performance.now();
        const latenessUs = (started - deadline) * 1000;
        this.ticks++;
        this.jitter.add(latenessUs);
        if (latenessUs > this.lateThresholdUs) this.late++;
        const r = this.options.onTick({ index: slot, scheduledMs: deadline, startedMs: started, latenessUs });
        if (r !== undefined) await r;
        const ended = performance.now();
        const tickUs = (ended - started) * 1000;
        this.tickUsSum += tickUs;
        if (tickUs > this.tickUsMax) this.tickUsMax = tickUs;
        const wd = this.options.watchdog;
        if (wd !== undefined && ended - lastPing >= wd.intervalMs) {
          lastPing = ended;
          wd.ping();
        }
        // Next slot; skip slots whose deadline has already passed by more than a period.
        slot++;
        const behind = Math.floor((ended - (t0 + slot * period)) / period);
        if (behind > 0) {
          slot += behind;
          this.missed += behind;
        }
      }
    } catch (e) {
      this.running = false;
      if (this.options.onError) this.options.onError(e);
      else throw e;
    }
  }

  private async waitUntil(deadline: number): Promise<void> {
    if ((this.options.wait ?? 'sleep') === 'sleep') {
      // Blocks this thread and its event loop, at most one period, without spinning.
      const sleepMs = deadline - performance.now() - this.ioWindowMs - this.spinMs;
      if (sleepMs > 0.05) Atomics.wait(this.sleeper, 0, 0, sleepMs);
      // One turn of the event loop: pending I/O (ROS callbacks, ZeroMQ) runs now, right before the tick.
      // One turn, not a spin of turns, keeps allocation (and so GC pauses) per tick constant.
      if (this.options.io !== undefined) await this.options.io(deadline - this.spinMs);
      else await new Promise<void>((r) => setImmediate(r));
      const restMs = deadline - performance.now() - this.spinMs;
      if (restMs > 0.05) Atomics.wait(this.sleeper, 0, 0, restMs);
      spinUntil(deadline);
      return;
    }
    let io = this.options.io;
    for (;;) {
      const remaining = deadline - performance.now();
      if (!this.running) break;
      // Late rather than never: the tick acts on what io takes.
      if (io !== undefined && remaining <= this.ioWindowMs + this.spinMs) {
        await io(deadline - this.spinMs);
        io = undefined;
        continue;
      }
      if (remaining <= this.spinMs) break;
      const sleepMs = Math.floor(remaining - this.coarseMarginMs - (io === undefined ? 0 : this.ioWindowMs));
      if (sleepMs >= 1) {
        await new Promise<void>((r) => setTimeout(r, sleepMs));
      } else {
        await new Promise<void>((r) => setImmediate(r));
      }
    }
    // The event loop cannot wake us this precisely.
    spinUntil(deadline);
  }
}

let spinSink = 0;

/**
 * Busy-wait until `deadline` (performance.now() ms). In Node 20 every performance.now() allocates
 * (it builds a process.hrtime() pair), so reading it back to back for 200 µs made tens of KB of
 * garbage per tick and put young-generation GCs right before the deadline. Reading the clock
 * every ~1 µs keeps the spin allocation-light at a precision far below the jitter that matters.
 */
function spinUntil(deadline: number): void {
  while (performance.now() < deadline) {
    for (let i = 0; i < 2000; i++) spinSink = (spinSink + i) | 0;
  }
}
