/**
 * The rollback guard's judgement, on episode returns alone (pure: no weights, no learner, no I/O).
 * After every episode the mean return of the last `window` episodes is compared with the best such
 * mean so far: a new best says "keep these weights", a mean more than `tolerance` x |best| below it
 * says "roll back". Windows that straddle a rollback mix two policies, so after one the guard waits
 * for a full window acted from there before it judges again. In lockstep the verdicts fall on the
 * same episodes whatever the thread timing, since they depend on returns only.
 */
export interface GuardWindow {
  /** Episodes per window. */
  window: number;
  /** How far below the best window (as a fraction of its magnitude) a window may fall. */
  tolerance: number;
}

export type GuardVerdict =
  | { kind: 'keep' }
  | { kind: 'best'; mean: number }
  /** `windowTransitions`: robot transitions pushed during the window that fell. */
  | { kind: 'rollback'; mean: number; best: number; windowTransitions: number };

const KEEP: GuardVerdict = Object.freeze({ kind: 'keep' });

export class ReturnWindows {
  private readonly returns: number[] = [];
  /** Robot transitions pushed before the first episode (index 0) and by the end of each. */
  private readonly transitionsAt: number[] = [0];
  private best = -Infinity;
  /** Episodes before this index were acted by weights a rollback replaced. */
  private judgeFrom = 0;

  constructor(private readonly s: GuardWindow) {
    if (!Number.isInteger(s.window) || s.window < 1) throw new Error(`guard window must be a positive integer, got ${s.window}`);
    if (!(s.tolerance >= 0)) throw new Error(`guard tolerance must be >= 0, got ${s.tolerance}`);
  }

  /** The best window mean so far (-Infinity before the first full window). */
  get bestMean(): number {
    return this.best;
  }

  /** After an episode with return `episodeReturn`, `transitions` robot transitions pushed so far. */
  afterEpisode(episodeReturn: number, transitions: number): GuardVerdict {
    this.returns.push(episodeReturn);
    this.transitionsAt.push(transitions);
    const n = this.returns.length;
    const w = this.s.window;
    if (n - this.judgeFrom < w) return KEEP;
    let sum = 0;
    for (let i = n - w; i < n; i++) sum += this.returns[i]!;
    const mean = sum / w;
    if (mean > this.best) {
      this.best = mean;
      return { kind: 'best', mean };
    }
    if (!(mean < this.best - this.s.tolerance * Math.abs(this.best))) return KEEP;
    this.judgeFrom = n;
    return { kind: 'rollback', mean, best: this.best, windowTransitions: transitions - this.transitionsAt[n - w]! };
  }
}
