/**
 * How many cores the sim trainer's SAC update uses, chosen by measurement while training.
 *
 * The fused update on OpenBLAS can split each GEMM with the addon's helper thread
 * (FlatKernels.cores = 2), and its results are bit-identical either way (the same blocks by the
 * same kernels; test/agent/fusedSac.test.ts checks it). So the choice changes only speed, and
 * the real updates can be timed in alternation: `trial` updates on each setting, then the
 * faster median (2 only when it is at least `margin` faster, since a second core that other
 * work holds makes the split slower), kept for `keep` updates before measuring again, as the
 * load on a shared machine moves.
 */
export type CoreSetting = 'auto' | 1 | 2;

export interface CoreChoiceOptions {
  /** Updates timed on each setting per round. */
  trial?: number;
  /** Updates run on the chosen setting before the next round. */
  keep?: number;
  /** The relative speed-up 2 cores must show to be chosen. */
  margin?: number;
}

export interface CoreRound {
  /** Median wall time of one update (ms) on 1 and on 2 cores in the last round. */
  oneMs: number;
  twoMs: number;
  chosen: 1 | 2;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1]! : 0.5 * (s[s.length / 2 - 1]! + s[s.length / 2]!);
};

export class CoreChoice {
  private readonly trial: number;
  private readonly keep: number;
  private readonly margin: number;
  private readonly times: { 1: number[]; 2: number[] } = { 1: [], 2: [] };
  private chosen: 1 | 2 | null = null;
  private keptFor = 0;
  private last: CoreRound | null = null;

  /** `setting`: 1 or 2 fixes the cores; 'auto' measures. */
  constructor(readonly setting: CoreSetting, options: CoreChoiceOptions = {}) {
    this.trial = options.trial ?? 25;
    this.keep = options.keep ?? 5000;
    this.margin = options.margin ?? 0.1;
    for (const [name, v] of [['trial', this.trial], ['keep', this.keep]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`CoreChoice: ${name} must be a positive integer, not ${v}`);
    }
    if (!(this.margin >= 0 && this.margin < 1)) throw new Error(`CoreChoice: margin must be in [0, 1), not ${this.margin}`);
  }

  /** Cores for the next update. */
  next(): 1 | 2 {
    if (this.setting !== 'auto') return this.setting;
    if (this.chosen !== null) return this.chosen;
    // Alternate within the round, so both settings see the same load.
    return this.times[1].length <= this.times[2].length ? 1 : 2;
  }

  /** The wall time (ms) of the update just run on `cores` (what next() returned). */
  record(cores: 1 | 2, ms: number): void {
    if (this.setting !== 'auto') return;
    if (this.chosen !== null) {
      if (++this.keptFor >= this.keep) {
        this.chosen = null;
        this.keptFor = 0;
      }
      return;
    }
    this.times[cores].push(ms);
    if (this.times[1].length >= this.trial && this.times[2].length >= this.trial) {
      const oneMs = median(this.times[1]);
      const twoMs = median(this.times[2]);
      this.chosen = twoMs < oneMs * (1 - this.margin) ? 2 : 1;
      this.last = { oneMs, twoMs, chosen: this.chosen };
      this.times[1] = [];
      this.times[2] = [];
    }
  }

  /** The last round's figures, or null before the first round ends (or with fixed cores). */
  get lastRound(): CoreRound | null {
    return this.last;
  }
}
