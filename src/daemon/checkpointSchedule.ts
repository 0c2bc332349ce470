/** When to checkpoint: every N steps and/or every N seconds (0 = that rule off). Pure. */
export class CheckpointSchedule {
  private lastSteps: number;
  private lastMs: number;

  constructor(
    private everySteps: number,
    private everySeconds: number,
    steps: number,
    nowMs: number,
  ) {
    this.lastSteps = steps;
    this.lastMs = nowMs;
  }

  configure(everySteps: number, everySeconds: number): void {
    this.everySteps = everySteps;
    this.everySeconds = everySeconds;
  }

  due(steps: number, nowMs: number): 'steps' | 'time' | null {
    if (this.everySteps > 0 && steps - this.lastSteps >= this.everySteps) return 'steps';
    if (this.everySeconds > 0 && nowMs - this.lastMs >= this.everySeconds * 1000 && steps !== this.lastSteps) return 'time';
    return null;
  }

  done(steps: number, nowMs: number): void {
    this.lastSteps = steps;
    this.lastMs = nowMs;
  }
}
