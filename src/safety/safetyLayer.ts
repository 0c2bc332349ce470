/**
 * SafetyLayer: the last word between the policy and the plant, in sim and on the robot.
 *
 * Per tick, in this order:
 * 1. observations: a non-finite or out-of-range value in a checked signal → safe command, end episode;
 * 2. watchdog: a watched signal older than `watchdog.maxAge` → hold the last safe command or
 *    zero it, and raise `learningPaused` (the transition must not be learned from);
 * 3. command: a non-finite component → safe command, end episode;
 * 4. per-actuator limits (clamp), then rate limit (max change per tick from the last command sent);
 * 5. workspace bounds on named signals → safe command, end episode.
 * "Zero" means 0 clamped into the actuator range; "hold" repeats the last command that went out.
 */
import type { CommandFilter, Signals } from '../plant/plant.js';

export type SafeCommand = 'hold' | 'zero';

/** Bounds on one signal: whole vector, or one component with `index`. Scalars apply to every component. */
export interface SignalBounds {
  signal: string;
  index?: number;
  low: number | number[];
  high: number | number[];
}

export interface SafetyOptions {
  /** Per-actuator limits in physical units (may be tighter than the plant's range). */
  low: ArrayLike<number>;
  high: ArrayLike<number>;
  /** Maximum change of each component per tick (scalar for all, or per actuator). */
  maxDelta?: number | ArrayLike<number>;
  /** Start point for the rate limit after a reset (default: no limit on the first tick). */
  initialCommand?: ArrayLike<number>;
  watchdog?: {
    /** Seconds. */
    maxAge: number;
    /** Signals to watch (default: every signal the plant gives on the tick). */
    signals?: string[];
    action: SafeCommand;
  };
  /** Age of a signal in seconds; the plant provides it (RosPlant.signalAge; MuJoCo: always 0). */
  ageOf?: (signal: string) => number;
  /** Checked observation signals: non-finite always refused; out-of-range refused when bounds are given. */
  observations?: { signals?: string[]; ranges?: SignalBounds[] };
  /** Leaving these bounds ends the episode with the safe command. */
  workspace?: SignalBounds[];
  /** Command sent when refusing or ending the episode (default 'zero'). */
  safeCommand?: SafeCommand;
}

export interface SafetyCounters {
  ticks: number;
  clamped: number;
  rateLimited: number;
  stale: number;
  nonFiniteObservation: number;
  outOfRangeObservation: number;
  nonFiniteCommand: number;
  workspace: number;
}

export class SafetyLayer implements CommandFilter {
  readonly counters: SafetyCounters = { ticks: 0, clamped: 0, rateLimited: 0, stale: 0, nonFiniteObservation: 0, outOfRangeObservation: 0, nonFiniteCommand: 0, workspace: 0 };
  /** Last non-routine event ("stale 'q' 0.35 s > 0.05 s", "workspace: ..."), with its tick. */
  lastReason: string | null = null;
  lastReasonTick = -1;
  /** True while the watchdog holds: the learner must not learn from these ticks. */
  learningPaused = false;

  private readonly size: number;
  private readonly low: Float64Array;
  private readonly high: Float64Array;
  private readonly maxDelta: Float64Array | null;
  private readonly last: Float64Array;
  private hasLast = false;

  constructor(private readonly options: SafetyOptions) {
    this.size = options.low.length;
    if (options.high.length !== this.size) throw new Error(`safety: low has ${this.size} limits, high ${options.high.length}`);
    this.low = Float64Array.from(options.low);
    this.high = Float64Array.from(options.high);
    for (let i = 0; i < this.size; i++) {
      if (!(this.low[i] <= this.high[i])) throw new Error(`safety: low[${i}]=${this.low[i]} is not <= high[${i}]=${this.high[i]}`);
    }
    const d = options.maxDelta;
    this.maxDelta = d === undefined ? null : typeof d === 'number' ? new Float64Array(this.size).fill(d) : Float64Array.from(d);
    if (this.maxDelta !== null) {
      if (this.maxDelta.length !== this.size) throw new Error(`safety: maxDelta has ${this.maxDelta.length} entries for ${this.size} actuators`);
      this.maxDelta.forEach((v, i) => { if (!(v > 0)) throw new Error(`safety: maxDelta[${i}] must be > 0, got ${v}`); });
    }
    if (options.initialCommand !== undefined && options.initialCommand.length !== this.size) {
      throw new Error(`safety: initialCommand has ${options.initialCommand.length} entries for ${this.size} actuators`);
    }
    if (options.watchdog !== undefined) {
      if (!(options.watchdog.maxAge > 0)) throw new Error(`safety: watchdog.maxAge must be > 0 seconds, got ${options.watchdog.maxAge}`);
      if (options.ageOf === undefined) throw new Error('safety: watchdog needs ageOf (the plant\'s signal age source)');
    }
    this.last = new Float64Array(this.size);
    this.reset();
  }

  reset(): void {
    this.learningPaused = false;
    const init = this.options.initialCommand;
    this.hasLast = init !== undefined;
    if (init !== undefined) this.last.set(Array.from(init));
  }

  /** The last command that went out (after filtering). */
  get lastCommand(): Float64Array {
    return this.last;
  }

  filter(command: Float64Array, signals: Signals): string | null {
    if (command.length !== this.size) throw new Error(`safety: command has ${command.length} components, limits are for ${this.size}`);
    this.counters.ticks++;

    const badObs = this.checkObservations(signals);
    if (badObs !== null) return this.endWithSafe(command, badObs);

    const stale = this.staleSignal(signals);
    this.learningPaused = stale !== null;
    if (stale !== null) {
      this.counters.stale++;
      this.note(stale);
      this.safe(command, this.options.watchdog?.action ?? 'zero');
      this.remember(command);
      return null;
    }

    for (let i = 0; i < this.size; i++) {
      if (!Number.isFinite(command[i])) {
        this.counters.nonFiniteCommand++;
        return this.endWithSafe(command, `non-finite command component ${i} (${command[i]})`);
      }
    }

    let clamped = false, limited = false;
    for (let i = 0; i < this.size; i++) {
      let c = command[i];
      if (c < this.low[i]) { c = this.low[i]; clamped = true; }
      else if (c > this.high[i]) { c = this.high[i]; clamped = true; }
      if (this.maxDelta !== null && this.hasLast) {
        const lo = this.last[i] - this.maxDelta[i], hi = this.last[i] + this.maxDelta[i];
        if (c < lo) { c = lo; limited = true; }
        else if (c > hi) { c = hi; limited = true; }
      }
      command[i] = c;
    }
    if (clamped) this.counters.clamped++;
    if (limited) this.counters.rateLimited++;

    const out = this.outside(this.options.workspace, signals);
    if (out !== null) {
      this.counters.workspace++;
      return this.endWithSafe(command, `workspace: ${out}`);
    }
    this.remember(command);
    return null;
  }

  /** A snapshot for status and metrics. */
  report(): { counters: SafetyCounters; lastReason: string | null; lastReasonTick: number; learningPaused: boolean } {
    return { counters: { ...this.counters }, lastReason: this.lastReason, lastReasonTick: this.lastReasonTick, learningPaused: this.learningPaused };
  }

  private note(reason: string): void {
    this.lastReason = reason;
    this.lastReasonTick = this.counters.ticks;
  }

  private endWithSafe(command: Float64Array, reason: string): string {
    this.note(reason);
    this.safe(command, this.options.safeCommand ?? 'zero');
    this.remember(command);
    return reason;
  }

  /** Write the safe command: the last one sent (if any) or zero, inside the limits. */
  private safe(command: Float64Array, kind: SafeCommand): void {
    for (let i = 0; i < this.size; i++) {
      const v = kind === 'hold' && this.hasLast ? this.last[i] : 0;
      command[i] = Math.min(this.high[i], Math.max(this.low[i], v));
    }
  }

  private remember(command: Float64Array): void {
    this.last.set(command);
    this.hasLast = true;
  }

  private checkObservations(signals: Signals): string | null {
    const names = this.options.observations?.signals ?? signals.keys();
    for (const name of names) {
      const v = signals.get(name);
      if (v === undefined) throw new Error(`safety: checked signal '${name}' is not provided by the plant`);
      for (let i = 0; i < v.length; i++) {
        if (!Number.isFinite(v[i])) {
          this.counters.nonFiniteObservation++;
          return `non-finite observation ${name}[${i}] (${v[i]})`;
        }
      }
    }
    const out = this.outside(this.options.observations?.ranges, signals);
    if (out !== null) {
      this.counters.outOfRangeObservation++;
      return `observation out of range: ${out}`;
    }
    return null;
  }

  /**
   * Between episodes (a reset under way) no command goes out, but the robot can still fall
   * silent: the watchdog judges the data anyway and counts it as stale, so status and the UI say
   * so before the reset times out. A signal never received yet is the reset's to wait for.
   */
  watchIdle(signals: Signals): void {
    const stale = this.staleSignal(signals, true);
    if (stale === null) return;
    this.counters.stale++;
    this.note(stale);
  }

  private staleSignal(signals: Signals, receivedOnly = false): string | null {
    const w = this.options.watchdog;
    const ageOf = this.options.ageOf;
    if (w === undefined || ageOf === undefined) return null;
    for (const name of w.signals ?? signals.keys()) {
      const age = ageOf(name);
      if (receivedOnly && !Number.isFinite(age)) continue;
      if (!(age <= w.maxAge)) return `stale '${name}': ${Number.isFinite(age) ? `${age.toFixed(3)} s` : 'never received'} > ${w.maxAge} s`;
    }
    return null;
  }

  private outside(bounds: SignalBounds[] | undefined, signals: Signals): string | null {
    if (bounds === undefined) return null;
    for (const b of bounds) {
      const v = signals.get(b.signal);
      if (v === undefined) throw new Error(`safety: bounds on signal '${b.signal}' which the plant does not provide`);
      const from = b.index ?? 0, to = b.index === undefined ? v.length : b.index + 1;
      for (let i = from; i < to; i++) {
        const k = i - from;
        const lo = typeof b.low === 'number' ? b.low : b.low[k];
        const hi = typeof b.high === 'number' ? b.high : b.high[k];
        if (!(v[i] >= lo && v[i] <= hi)) return `${b.signal}[${i}] = ${v[i]} outside [${lo}, ${hi}]`;
      }
    }
    return null;
  }
}
