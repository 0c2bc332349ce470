/**
 * Running observation normaliser: per-component mean and variance over every observation seen,
 * merged with Chan et al.'s parallel formula so a batch and a single observation update alike.
 * Normalised = clip((x - mean) / sqrt(var + eps), -clip, clip).
 */
export interface NormalizerState {
  count: number;
  mean: Float64Array;
  m2: Float64Array;
  clip: number;
}

const VAR_EPS = 1e-8;

export class ObservationNormalizer {
  private count = 0;
  private readonly mean: Float64Array;
  /** Sum of squared deviations from the mean. */
  private readonly m2: Float64Array;

  constructor(
    readonly size: number,
    readonly clip = 10,
  ) {
    this.mean = new Float64Array(size);
    this.m2 = new Float64Array(size);
  }

  get samples(): number {
    return this.count;
  }

  /** Add `n` observations stored row-major in `batch` (n * size values). */
  update(batch: ArrayLike<number>, n = 1): void {
    if (batch.length < n * this.size) throw new Error(`normaliser: expected ${n * this.size} values, got ${batch.length}`);
    const d = this.size;
    for (let j = 0; j < d; j++) {
      let bMean = 0;
      for (let i = 0; i < n; i++) bMean += batch[i * d + j];
      bMean /= n;
      let bM2 = 0;
      for (let i = 0; i < n; i++) {
        const e = batch[i * d + j] - bMean;
        bM2 += e * e;
      }
      const total = this.count + n;
      const delta = bMean - this.mean[j];
      this.mean[j] += (delta * n) / total;
      this.m2[j] += bM2 + (delta * delta * this.count * n) / total;
    }
    this.count += n;
  }

  variance(j: number): number {
    return this.count > 0 ? this.m2[j] / this.count : 1;
  }

  /** Normalise `n` rows of `input` into `out` (may alias). */
  normalize(input: ArrayLike<number>, out: Float32Array, n = 1): void {
    const d = this.size;
    for (let j = 0; j < d; j++) {
      const mu = this.count > 0 ? this.mean[j] : 0;
      const inv = 1 / Math.sqrt(this.variance(j) + VAR_EPS);
      for (let i = 0; i < n; i++) {
        const z = (input[i * d + j] - mu) * inv;
        out[i * d + j] = z > this.clip ? this.clip : z < -this.clip ? -this.clip : z;
      }
    }
  }

  /** Mean and std as the fast policy applies them (ActorWeights.normalizer). */
  snapshot(): { mean: Float32Array; std: Float32Array; clip: number } {
    const mean = new Float32Array(this.size);
    const std = new Float32Array(this.size);
    for (let j = 0; j < this.size; j++) {
      mean[j] = this.count > 0 ? this.mean[j] : 0;
      std[j] = Math.sqrt(this.variance(j) + VAR_EPS);
    }
    return { mean, std, clip: this.clip };
  }

  exportState(): NormalizerState {
    return { count: this.count, mean: this.mean.slice(), m2: this.m2.slice(), clip: this.clip };
  }

  importState(state: NormalizerState): void {
    if (state.mean.length !== this.size || state.m2.length !== this.size) {
      throw new Error(`normaliser state has size ${state.mean.length}, expected ${this.size}`);
    }
    if (!(state.count >= 0)) throw new Error(`normaliser state has invalid count ${state.count}`);
    this.count = state.count;
    this.mean.set(state.mean);
    this.m2.set(state.m2);
  }
}
