/**
 * What the daemon does when a checkpoint cannot be written (a full disk, an I/O error): the
 * previous generation stays, the daemon keeps running and tries again with backoff (1 s,
 * doubling, at most `maxDelayMs`), and gives up only when nothing could be saved for
 * `giveUpAfterMs`. Pure: the daemon feeds it the clock.
 */
export class CheckpointRetry {
  private firstFailureAt: number | null = null;
  private nextAttemptAt = 0;
  private failures = 0;

  constructor(
    /** 0: never give up. */
    private giveUpAfterMs: number,
    private readonly baseDelayMs = 1000,
    private readonly maxDelayMs = 60_000,
  ) {}

  configure(giveUpAfterMs: number): void {
    this.giveUpAfterMs = giveUpAfterMs;
  }

  /** Whether the last attempt failed (the schedule is then replaced by the backoff). */
  get failing(): boolean {
    return this.firstFailureAt !== null;
  }

  /** Consecutive failed attempts. */
  get failedAttempts(): number {
    return this.failures;
  }

  /** While failing: whether the backoff allows another attempt now. */
  mayRetry(now: number): boolean {
    return this.firstFailureAt !== null && now >= this.nextAttemptAt;
  }

  /** A failed attempt at `now`: when the next is due, and whether it is time to give up. */
  failed(now: number): { retryInMs: number; failingForMs: number; giveUp: boolean } {
    this.firstFailureAt ??= now;
    this.failures++;
    const retryInMs = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(20, this.failures - 1));
    this.nextAttemptAt = now + retryInMs;
    const failingForMs = now - this.firstFailureAt;
    return { retryInMs, failingForMs, giveUp: this.giveUpAfterMs > 0 && failingForMs >= this.giveUpAfterMs };
  }

  succeeded(): void {
    this.firstFailureAt = null;
    this.failures = 0;
    this.nextAttemptAt = 0;
  }
}
