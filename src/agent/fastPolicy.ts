/**
 * The actor's forward pass for one observation, outside tfjs.
 *
 * The weights are copied into a private WebAssembly memory and the dense layers run on
 * sacbridge's SIMD GEMM kernel (src/compute/wasm/sgemm_simd.c) with M = 1: a 17-256-256-12 actor
 * costs a few microseconds, and an action allocates nothing. tfjs is never touched, so actions
 * can be served while an update runs elsewhere.
 */
import { readFileSync } from 'node:fs';
import { WASM_GEMM_PATH } from '../compute/gemmProviders.js';
import { WebAssemblyApi, type WasmModule } from '../compute/webAssembly.js';
import type { Rng } from '../util/rng.js';
import { LOG_STD_MAX, LOG_STD_MIN, type ActionPolicy, type ActorWeights, type DenseWeights } from './policy.js';

type GemmFn = (
  ta: number, tb: number, m: number, n: number, k: number, batch: number,
  aOff: number, aStride: number, bOff: number, bStride: number, cOff: number,
  biasOff: number, biasMode: number, act: number, scratch: number,
) => void;

const BIAS_PER_COLUMN = 1;
const ACT_LINEAR = 0;
const ACT_RELU = 1;

/** Layer placement in the private memory (float indices). */
interface LayerSlot {
  readonly inSize: number;
  readonly outSize: number;
  readonly kernel: number;
  readonly bias: number;
}

let gemmModule: WasmModule | null = null;

const align4 = (floats: number): number => (floats + 3) & ~3;

export class FastPolicy implements ActionPolicy {
  readonly observationSize: number;
  readonly actionSize: number;
  /** Sampled actions: the policy's standard deviation times this (1: the policy's own exploration). */
  noiseScale = 1;
  private currentVersion: number;
  private readonly gemm: GemmFn;
  private readonly f32: Float32Array;
  private readonly hidden: LayerSlot[];
  /** Mean and log-std heads as one layer: columns [0, A) are the mean, [A, 2A) the raw log-std. */
  private readonly heads: LayerSlot;
  /** Activations: acts[0] holds the (normalised) observation, acts[i + 1] hidden layer i's output. */
  private readonly acts: number[];
  private readonly headOut: number;
  private readonly normalizer: { mean: number; std: number; clip: number } | null;

  constructor(weights: ActorWeights, private readonly rng: Rng, version = 0) {
    checkShapes(weights);
    this.observationSize = weights.hidden.length > 0 ? weights.hidden[0]!.inSize : weights.mean.inSize;
    this.actionSize = weights.mean.outSize;
    this.currentVersion = version;

    let next = 0;
    const take = (floats: number): number => {
      const at = next;
      next += align4(floats);
      return at;
    };
    const slot = (inSize: number, outSize: number): LayerSlot => ({ inSize, outSize, kernel: take(inSize * outSize), bias: take(outSize) });
    this.hidden = weights.hidden.map((layer) => slot(layer.inSize, layer.outSize));
    this.heads = slot(weights.mean.inSize, 2 * this.actionSize);
    this.acts = [take(this.observationSize), ...this.hidden.map((layer) => take(layer.outSize))];
    this.headOut = take(2 * this.actionSize);
    this.normalizer = weights.normalizer === undefined ? null : { mean: take(this.observationSize), std: take(this.observationSize), clip: weights.normalizer.clip };

    const memory = new WebAssemblyApi.Memory({ initial: Math.ceil((next * 4) / 65536) + 1 });
    gemmModule ??= new WebAssemblyApi.Module(readFileSync(WASM_GEMM_PATH()));
    this.gemm = new WebAssemblyApi.Instance(gemmModule, { env: { memory } }).exports.gemm as GemmFn;
    // The memory never grows after this, so the view stays valid.
    this.f32 = new Float32Array(memory.buffer);
    this.install(weights);
  }

  get version(): number {
    return this.currentVersion;
  }

  /**
   * Install new weights (same layer sizes). Synchronous, so an act() never sees half of them;
   * the version tells which weights produced an action.
   */
  swap(weights: ActorWeights, version = this.currentVersion + 1): void {
    checkShapes(weights);
    const sameShape =
      weights.hidden.length === this.hidden.length &&
      weights.hidden.every((layer, i) => layer.inSize === this.hidden[i]!.inSize && layer.outSize === this.hidden[i]!.outSize) &&
      weights.mean.inSize === this.heads.inSize &&
      weights.mean.outSize === this.actionSize &&
      (weights.normalizer === undefined) === (this.normalizer === null);
    if (!sameShape) throw new Error('FastPolicy.swap: the new actor weights have different layer sizes (or normaliser presence) than this policy');
    this.install(weights);
    this.currentVersion = version;
  }

  act(observation: Float32Array, deterministic: boolean, out: Float32Array): void {
    if (observation.length !== this.observationSize) {
      throw new Error(`FastPolicy.act: observation has ${observation.length} values, expected ${this.observationSize}`);
    }
    if (out.length < this.actionSize) throw new Error(`FastPolicy.act: output has room for ${out.length} values, needs ${this.actionSize}`);
    const f = this.f32;
    const x = this.acts[0]!;
    const norm = this.normalizer;
    if (norm === null) {
      f.set(observation, x);
    } else {
      for (let i = 0; i < this.observationSize; i++) {
        const z = (observation[i]! - f[norm.mean + i]!) / f[norm.std + i]!;
        f[x + i] = z < -norm.clip ? -norm.clip : z > norm.clip ? norm.clip : z;
      }
    }
    for (let l = 0; l < this.hidden.length; l++) {
      const layer = this.hidden[l]!;
      this.dense(layer, this.acts[l]!, this.acts[l + 1]!, ACT_RELU);
    }
    this.dense(this.heads, this.acts[this.hidden.length]!, this.headOut, ACT_LINEAR);
    const a = this.actionSize;
    const h = this.headOut;
    for (let j = 0; j < a; j++) {
      const mean = f[h + j]!;
      if (deterministic) {
        out[j] = Math.tanh(mean);
      } else {
        const logStd = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (Math.tanh(f[h + a + j]!) + 1);
        out[j] = Math.tanh(mean + this.noiseScale * Math.exp(logStd) * this.rng.normal());
      }
    }
  }

  /** The heads' outputs for the last act(): mean and squashed log-std (for tests and telemetry). */
  lastHeads(mean: Float32Array, logStd: Float32Array): void {
    const a = this.actionSize;
    for (let j = 0; j < a; j++) {
      mean[j] = this.f32[this.headOut + j]!;
      logStd[j] = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (Math.tanh(this.f32[this.headOut + a + j]!) + 1);
    }
  }

  private dense(layer: LayerSlot, input: number, output: number, act: number): void {
    this.gemm(0, 0, 1, layer.outSize, layer.inSize, 1, input * 4, 0, layer.kernel * 4, 0, output * 4, layer.bias * 4, BIAS_PER_COLUMN, act, 0);
  }

  private install(weights: ActorWeights): void {
    const f = this.f32;
    weights.hidden.forEach((layer, i) => {
      f.set(layer.kernel, this.hidden[i]!.kernel);
      f.set(layer.bias, this.hidden[i]!.bias);
    });
    // Interleave the two heads row by row into one [in][2A] kernel. Element by element: a
    // subarray view per row would allocate on every swap, which runs inside the control tick.
    const a = this.actionSize;
    const { kernel, bias } = this.heads;
    const mean = weights.mean.kernel, logStd = weights.logStd.kernel;
    for (let i = 0; i < this.heads.inSize; i++) {
      const row = kernel + i * 2 * a;
      for (let j = 0; j < a; j++) {
        f[row + j] = mean[i * a + j]!;
        f[row + a + j] = logStd[i * a + j]!;
      }
    }
    f.set(weights.mean.bias, bias);
    f.set(weights.logStd.bias, bias + a);
    if (this.normalizer !== null && weights.normalizer !== undefined) {
      f.set(weights.normalizer.mean, this.normalizer.mean);
      f.set(weights.normalizer.std, this.normalizer.std);
      this.normalizer.clip = weights.normalizer.clip;
    }
  }
}

function checkDense(layer: DenseWeights, where: string): void {
  if (!(layer.inSize > 0 && layer.outSize > 0)) throw new Error(`actor weights: ${where} has sizes ${layer.inSize}x${layer.outSize}`);
  if (layer.kernel.length !== layer.inSize * layer.outSize) {
    throw new Error(`actor weights: ${where} kernel has ${layer.kernel.length} values, expected ${layer.inSize}x${layer.outSize}`);
  }
  if (layer.bias.length !== layer.outSize) throw new Error(`actor weights: ${where} bias has ${layer.bias.length} values, expected ${layer.outSize}`);
}

function checkShapes(w: ActorWeights): void {
  let size = w.hidden.length > 0 ? w.hidden[0]!.inSize : w.mean.inSize;
  const obsSize = size;
  w.hidden.forEach((layer, i) => {
    checkDense(layer, `hidden layer ${i}`);
    if (layer.inSize !== size) throw new Error(`actor weights: hidden layer ${i} takes ${layer.inSize} inputs, the previous layer gives ${size}`);
    size = layer.outSize;
  });
  checkDense(w.mean, 'mean head');
  checkDense(w.logStd, 'log-std head');
  if (w.mean.inSize !== size || w.logStd.inSize !== size) throw new Error(`actor weights: the heads must take the last hidden layer's ${size} outputs`);
  if (w.logStd.outSize !== w.mean.outSize) throw new Error(`actor weights: mean head has ${w.mean.outSize} outputs, log-std head ${w.logStd.outSize}`);
  const n = w.normalizer;
  if (n !== undefined && (n.mean.length !== obsSize || n.std.length !== obsSize || !(n.clip > 0))) {
    throw new Error(`actor weights: the normaliser needs mean and std of ${obsSize} values and a positive clip`);
  }
}
