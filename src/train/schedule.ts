/**
 * When recurring work is due (evaluations, checkpoints): each time the step count crosses a
 * multiple of `everySteps`, and/or `everySeconds` after the last time it was done, provided steps
 * were taken since. 0 turns a rule off. Pure: the caller passes the step count and the clock.
 * Multiples (not "N steps after the last one") keep the cadence of a resumed run the same as
 * the uninterrupted one's.
 */
export class Schedule {
  private lastSteps: number;
  private lastMs: number;

  constructor(
    private everySteps: number,
    private everySeconds: number,
    steps: number,
    nowMs: number,
  ) {
    for (const [k, v] of [['everySteps', everySteps], ['everySeconds', everySeconds]] as const) {
      if (!(v >= 0)) throw new Error(`schedule ${k}=${v}: must be >= 0`);
    }
    this.lastSteps = steps;
    this.lastMs = nowMs;
  }

  configure(everySteps: number, everySeconds: number): void {
    this.everySteps = everySteps;
    this.everySeconds = everySeconds;
  }

  due(steps: number, nowMs = 0): 'steps' | 'time' | null {
    if (this.everySteps > 0 && Math.floor(steps / this.everySteps) > Math.floor(this.lastSteps / this.everySteps)) return 'steps';
    if (this.everySeconds > 0 && nowMs - this.lastMs >= this.everySeconds * 1000 && steps !== this.lastSteps) return 'time';
    return null;
  }

  done(steps: number, nowMs = 0): void {
    this.lastSteps = steps;
    this.lastMs = nowMs;
  }
}
