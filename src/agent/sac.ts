import * as tf from '@tensorflow/tfjs-core';
import { sacUpdateSelection, type SacUpdateChoice } from '../compute/backend.js';
import { Rng, type RngState } from '../util/rng.js';
import { FusedSac, type SampleNoise } from './fusedSac.js';
import type { SacHyperparameters } from './hyperparameters.js';
import { Adam, Dense, INITIALIZATIONS, Mlp, assignFlat, copyVariables, initialLayer, logicalName, polyakUpdate, type Initialization, type MlpRegularization } from './networks.js';
import type { ObservationNormalizer } from './normalizer.js';
import { LOG_STD_MAX, LOG_STD_MIN, type ActionPolicy, type ActorWeights, type DenseWeights } from './policy.js';
import type { TransitionBatch } from './replayBuffer.js';

/**
 * Soft Actor-Critic (Haarnoja et al. 2018), written the way CleanRL writes it: the networks,
 * then the whole update top to bottom in `update()`.
 *
 * - v2 (default): twin soft Q-functions with Polyak-averaged targets, a tanh-squashed Gaussian
 *   actor trained by the reparameterisation trick, learned temperature against a target
 *   entropy of -|A|.
 * - v1: the first paper's separate soft value network V with a Polyak-averaged target V:
 *   Q is trained toward r + gamma V_target(s'), V toward E_a~pi[min Q(s,a) - alpha log pi(a|s)];
 *   alpha fixed or learned.
 *
 * Plain tfjs throughout, so the same code runs on tfjs-node(-gpu). What keeps it fast on the
 * wasm compute path (~10 us per kernel dispatch there): dense layers are one fused matmul each
 * and compute only the gradients asked for (src/compute/dense.ts), the actor's heads are one
 * layer, its squashed-Gaussian sample is one op with a written-out gradient, Adam and Polyak
 * are one kernel per variable list (src/compute/), and per-row values are [B, 1] columns.
 *
 * The same update also runs fused, outside tfjs, over one flat parameter buffer (fusedSac.ts):
 * the default where initCompute chose the wasm backend with sacbridge's GEMM kernels, since it
 * is several times faster there (bench/sac.ts measures both). The tfjs variables then stay the
 * checkpoint format: they are brought up to date from the flat buffer whenever they are read.
 *
 * Call initCompute() (src/compute/backend.ts) before constructing.
 */

export type { SacHyperparameters, SacVariant } from './hyperparameters.js';

export const DEFAULT_SAC_HYPERPARAMETERS: Readonly<SacHyperparameters> = Object.freeze({
  variant: 'v2',
  hidden: [256, 256],
  criticHidden: null,
  criticLayerNorm: false,
  criticDropout: 0,
  learningRate: 3e-4,
  actorLearningRate: null,
  criticLearningRate: null,
  alphaLearningRate: null,
  batchSize: 256,
  gamma: 0.99,
  tau: 0.005,
  bufferSize: 1_000_000,
  learningStarts: 5000,
  updatesPerStep: 1,
  policyFrequency: 1,
  policyCatchUp: true,
  targetUpdateFrequency: 1,
  autoAlpha: true,
  initialAlpha: 1,
  targetEntropy: null,
  normalizeObservations: false,
  initialization: 'uniform-fan-in',
}) as Readonly<SacHyperparameters>;

/** Fill in defaults and check every value; errors name the hyperparameter. */
export function resolveHyperparameters(partial: Partial<SacHyperparameters> = {}): SacHyperparameters {
  // Keys a caller set to undefined keep their defaults (checkpoints from before a key existed).
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<SacHyperparameters>;
  const h: SacHyperparameters = { ...DEFAULT_SAC_HYPERPARAMETERS, hidden: [...DEFAULT_SAC_HYPERPARAMETERS.hidden], ...given };
  const fail = (key: string, why: string): never => {
    throw new Error(`SAC hyperparameter ${key}=${JSON.stringify((h as unknown as Record<string, unknown>)[key])}: ${why}`);
  };
  if (h.variant !== 'v1' && h.variant !== 'v2') fail('variant', "must be 'v1' or 'v2'");
  const sizes = (v: unknown): boolean => Array.isArray(v) && v.length > 0 && v.every((n) => Number.isInteger(n) && n > 0);
  if (!sizes(h.hidden)) fail('hidden', 'must be a non-empty list of positive integers');
  if (h.criticHidden !== null && !sizes(h.criticHidden)) fail('criticHidden', 'must be a non-empty list of positive integers, or null');
  if (typeof h.criticLayerNorm !== 'boolean') fail('criticLayerNorm', 'must be true or false');
  if (!(h.criticDropout >= 0 && h.criticDropout < 1)) fail('criticDropout', 'must be in [0, 1)');
  if (!(h.learningRate > 0)) fail('learningRate', 'must be > 0');
  for (const key of ['actorLearningRate', 'criticLearningRate', 'alphaLearningRate'] as const) {
    if (h[key] !== null && !(typeof h[key] === 'number' && h[key] > 0)) fail(key, 'must be > 0 or null');
  }
  if (!Number.isInteger(h.batchSize) || h.batchSize <= 0) fail('batchSize', 'must be a positive integer');
  if (!(h.gamma >= 0 && h.gamma <= 1)) fail('gamma', 'must be in [0, 1]');
  if (!(h.tau > 0 && h.tau <= 1)) fail('tau', 'must be in (0, 1]');
  if (!Number.isInteger(h.bufferSize) || h.bufferSize <= 0) fail('bufferSize', 'must be a positive integer');
  if (!Number.isInteger(h.learningStarts) || h.learningStarts < 0) fail('learningStarts', 'must be an integer >= 0');
  if (!Number.isInteger(h.updatesPerStep) || h.updatesPerStep < 0) fail('updatesPerStep', 'must be an integer >= 0');
  if (!Number.isInteger(h.policyFrequency) || h.policyFrequency < 1) fail('policyFrequency', 'must be an integer >= 1');
  if (typeof h.policyCatchUp !== 'boolean') fail('policyCatchUp', 'must be true or false');
  if (!Number.isInteger(h.targetUpdateFrequency) || h.targetUpdateFrequency < 1) fail('targetUpdateFrequency', 'must be an integer >= 1');
  if (typeof h.autoAlpha !== 'boolean') fail('autoAlpha', 'must be true or false');
  if (!(h.initialAlpha > 0)) fail('initialAlpha', 'must be > 0');
  if (h.targetEntropy !== null && !Number.isFinite(h.targetEntropy)) fail('targetEntropy', 'must be a number or null');
  if (typeof h.normalizeObservations !== 'boolean') fail('normalizeObservations', 'must be true or false');
  if (!INITIALIZATIONS.includes(h.initialization)) fail('initialization', `must be one of ${INITIALIZATIONS.map((x) => `'${x}'`).join(', ')}`);
  return h;
}

export interface SacMetrics {
  qf1_loss: number;
  qf2_loss: number;
  actor_loss: number;
  alpha: number;
  alpha_loss: number;
  /** Estimate of the policy's entropy: -mean log pi(a|s) over the batch. */
  entropy: number;
  /** Mean Q1 on the batch (a sanity signal for divergence). */
  qf1_mean: number;
  /** v1 only. */
  vf_loss?: number;
}

/** A variable's values for a checkpoint. */
export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface SacState {
  hyperparameters: SacHyperparameters;
  observationSize: number;
  actionSize: number;
  updates: number;
  logAlpha: number;
  alphaAdam: { step: number; m: number; v: number };
  updateRng: { words: RngState; spare: number | null };
  actRng: { words: RngState; spare: number | null };
  /** Network variables, then each optimiser's moments (names say which). */
  arrays: NamedArray[];
  optimizerSteps: Record<string, number>;
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * tanh-squashed Gaussian actor: ReLU trunk, then the mean and log-std heads as one linear layer
 * `heads` (columns [0, A) the mean, [A, 2A) the raw log-std): one GEMM of width 2A instead of two
 * narrow ones, and fewer kernels both ways. actorWeights() splits it back into the two heads of
 * the ActorWeights layout.
 */
class Actor {
  readonly trunk: Dense[];
  readonly heads: Dense;

  constructor(obsSize: number, actSize: number, hidden: readonly number[], rng: Rng, init: Initialization) {
    const sizes = [obsSize, ...hidden];
    this.trunk = hidden.map((h, i) => new Dense(sizes[i], h, 'relu', initialLayer(rng, sizes[i], h, 'relu', init), `actor/l${i}`));
    // Each head initialised as its own layer (mean first), then interleaved row by row.
    const last = sizes[sizes.length - 1];
    const mean = initialLayer(rng, last, actSize, 'linear', init);
    const logStd = initialLayer(rng, last, actSize, 'linear', init);
    const kernel = new Float32Array(last * 2 * actSize);
    for (let i = 0; i < last; i++) {
      kernel.set(mean.kernel.subarray(i * actSize, (i + 1) * actSize), i * 2 * actSize);
      kernel.set(logStd.kernel.subarray(i * actSize, (i + 1) * actSize), i * 2 * actSize + actSize);
    }
    const bias = new Float32Array(2 * actSize);
    bias.set(mean.bias);
    bias.set(logStd.bias, actSize);
    this.heads = new Dense(last, 2 * actSize, 'linear', { kernel, bias }, 'actor/heads');
  }

  get variables(): tf.Variable[] {
    return [...this.trunk.flatMap((l) => l.variables), ...this.heads.variables];
  }

  /** The merged heads' output [B, 2A]: mean, then raw log-std. */
  headsOutput(obs: tf.Tensor2D): tf.Tensor2D {
    let h = obs;
    // Observations are data: the first layer passes no gradient back to them.
    this.trunk.forEach((l, i) => {
      h = l.apply(h, i === 0 ? 'weights' : 'all');
    });
    return this.heads.apply(h, this.trunk.length === 0 ? 'weights' : 'all');
  }

  /** Mean and log-std (CleanRL's tanh rescaling into [LOG_STD_MIN, LOG_STD_MAX]). */
  forward(obs: tf.Tensor2D): { mean: tf.Tensor2D; logStd: tf.Tensor2D } {
    const a = this.heads.outSize / 2;
    const [mean, raw] = tf.split(this.headsOutput(obs), [a, a], 1) as [tf.Tensor2D, tf.Tensor2D];
    return { mean, logStd: squashLogStd(raw) };
  }

  /** The heads' weights in the ActorWeights layout: two [in][A] layers. */
  headWeights(): { mean: DenseWeights; logStd: DenseWeights } {
    return splitHeads(this.heads.weights());
  }

  /** Reparameterised sample and its log-probability (see squashedSample). */
  sample(obs: tf.Tensor2D, eps: tf.Tensor2D, gaussTerm: tf.Tensor1D): { action: tf.Tensor2D; logProb: tf.Tensor2D } {
    return squashedSample(this.headsOutput(obs), eps, gaussTerm);
  }
}

/** The merged heads layer [in][2A] as the ActorWeights layout's two [in][A] layers (copies). */
function splitHeads({ inSize, outSize, kernel, bias }: DenseWeights): { mean: DenseWeights; logStd: DenseWeights } {
  const a = outSize / 2;
  const part = (from: number): DenseWeights => {
    const k = new Float32Array(inSize * a);
    for (let i = 0; i < inSize; i++) k.set(kernel.subarray(i * outSize + from, i * outSize + from + a), i * a);
    return { inSize, outSize: a, kernel: k, bias: bias.slice(from, from + a) };
  };
  return { mean: part(0), logStd: part(a) };
}

const LOG_STD_HALF_RANGE = 0.5 * (LOG_STD_MAX - LOG_STD_MIN);

/** CleanRL's log-std squashing: LOG_STD_MIN + 0.5 (LOG_STD_MAX - LOG_STD_MIN)(tanh(raw) + 1). */
function squashLogStd(raw: tf.Tensor2D): tf.Tensor2D {
  return tf.add(tf.mul(tf.tanh(raw), LOG_STD_HALF_RANGE), LOG_STD_MIN + LOG_STD_HALF_RANGE) as tf.Tensor2D;
}

/**
 * The reparameterised sample a = tanh(mu + sigma eps) of the tanh-squashed Gaussian and its
 * log pi(a|s), from the heads' output [mu | raw log-std], as one differentiable op.
 * `gaussTerm` = sum_j (-eps_j^2 / 2 - log(2 pi) / 2) per row, precomputed in JS from the same
 * noise (like eps, it carries no gradient).
 *
 * Why one op: recorded op by op, each of its ~18 elementwise kernels saves copies of its inputs
 * for the backward pass and gets 2-4 gradient kernels, ~80 dispatches at ~10 us each on wasm;
 * written out, the gradient is ~15 kernels. With s = tanh(raw), sigma = exp(logStd),
 * u = mu + sigma eps, a = tanh(u), and upstream gradients da (of a) and dlp (of log pi):
 *   d/du log(1 - tanh(u)^2) = -2a,  so  du = da (1 - a^2) + 2 a dlp
 *   dmu = du,  dlogStd = du sigma eps - dlp,  draw = dlogStd HALF_RANGE (1 - s^2).
 * The SAC tests check this against finite differences of a double-precision reference.
 */
export function squashedSample(heads: tf.Tensor2D, eps: tf.Tensor2D, gaussTerm: tf.Tensor1D): { action: tf.Tensor2D; logProb: tf.Tensor2D } {
  const A = eps.shape[1];
  // The op's only input is the heads' output: eps and gaussTerm carry no gradient.
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const z = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    const [mean, raw] = tf.split(z, [A, A], 1) as [tf.Tensor2D, tf.Tensor2D];
    const s = tf.tanh(raw);
    const logStd = tf.add(tf.mul(s, LOG_STD_HALF_RANGE), LOG_STD_MIN + LOG_STD_HALF_RANGE) as tf.Tensor2D;
    const sigma = tf.exp(logStd);
    const u = tf.add(mean, tf.mul(sigma, eps)) as tf.Tensor2D;
    const a = tf.tanh(u);
    save([s, sigma, a, eps]);
    return {
      // Action columns, then log pi as one more column (customGrad ops have one output).
      value: tf.concat([a, tf.reshape(squashedLogProb(u, logStd, gaussTerm), [-1, 1])], 1),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [ss, sig, act, e] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const [da, dlp] = tf.split(dy, [A, 1], 1);
        const du = tf.add(tf.mul(da, tf.sub(1, tf.square(act))), tf.mul(act, tf.mul(dlp, 2)));
        const dLogStd = tf.sub(tf.mul(du, tf.mul(sig, e)), dlp);
        const dRaw = tf.mul(dLogStd, tf.mul(tf.sub(1, tf.square(ss)), LOG_STD_HALF_RANGE));
        return [tf.concat([du, dRaw], 1)];
      },
    };
  });
  const [action, logProb] = tf.split((op as unknown as (z: tf.Tensor2D) => tf.Tensor2D)(heads), [A, 1], 1) as [tf.Tensor2D, tf.Tensor2D];
  return { action, logProb };
}

/**
 * log pi(a|s) for a = tanh(u), u ~ N(mu, sigma): the Gaussian log-density minus the log-Jacobian
 * of tanh, sum_j log(1 - tanh(u_j)^2), in the stable form 2 (log 2 - u - softplus(-2u)), which
 * does not lose precision when |u| is large (1 - tanh^2 underflows to 0 there).
 */
export function squashedLogProb(u: tf.Tensor2D, logStd: tf.Tensor2D, gaussTerm: tf.Tensor1D): tf.Tensor1D {
  const logDetJacobian = tf.mul(tf.sub(tf.sub(Math.LN2, u), tf.softplus(tf.mul(u, -2))), 2);
  return tf.sub(gaussTerm, tf.sum(tf.add(logStd, logDetJacobian), 1)) as tf.Tensor1D;
}

/** Soft Q(s, a) or V(s): an MLP with one output. */
class Critic {
  readonly net: Mlp;
  constructor(inSize: number, hidden: readonly number[], rng: Rng, init: Initialization, name: string, regularization: MlpRegularization | null) {
    this.net = new Mlp(inSize, hidden, 1, rng, init, name, regularization);
  }
  get variables(): tf.Variable[] {
    return this.net.variables;
  }
  /**
   * Q of the rows of `stateAction` ([s, a] concatenated once for both twins). `gradient`:
   * 'weights' to train the critic on data, 'input' when it is held fixed and only dQ/da is
   * wanted (the actor step).
   */
  q(stateAction: tf.Tensor2D, gradient: 'weights' | 'input' = 'weights'): tf.Tensor2D {
    return this.net.apply(stateAction, gradient);
  }
  v(obs: tf.Tensor2D): tf.Tensor2D {
    return this.net.apply(obs);
  }
}

const stateAction = (obs: tf.Tensor2D, action: tf.Tensor2D): tf.Tensor2D => tf.concat([obs, action], 1);

/**
 * Mean squared error of `pred` against a fixed `target` (a regression target: no gradient), as
 * one op whose gradient, 2 (pred - target) / n, is two kernels (op by op it is ~15 with copies).
 */
function mse(pred: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const diff = tf.sub(args[0] as tf.Tensor, target);
    (args[1] as tf.GradSaveFunc)([diff]);
    return {
      value: tf.mean(tf.square(diff)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(saved[0]!, tf.mul(dy, 2 / saved[0]!.size))],
    };
  }) as unknown as (pred: tf.Tensor2D) => tf.Scalar;
  return op(pred);
}

export type { SampleNoise } from './fusedSac.js';

/**
 * States saved before the actor's heads were merged hold 'actor/mean/*' and 'actor/log_std/*'
 * (and their Adam moments): interleave them into the 'actor/heads/*' layout, so that such
 * checkpoints still resume. Adam's moments are per entry, so they merge the same way.
 */
function mergeSeparateHeads(byName: Map<string, Float32Array>, actionSize: number): void {
  for (const prefix of ['', 'actor_adam/m/', 'actor_adam/v/']) {
    const mean = byName.get(`${prefix}actor/mean/kernel`);
    const logStd = byName.get(`${prefix}actor/log_std/kernel`);
    const meanBias = byName.get(`${prefix}actor/mean/bias`);
    const logStdBias = byName.get(`${prefix}actor/log_std/bias`);
    if (byName.has(`${prefix}actor/heads/kernel`) || !mean || !logStd || !meanBias || !logStdBias) continue;
    const rows = mean.length / actionSize;
    const kernel = new Float32Array(2 * mean.length);
    for (let i = 0; i < rows; i++) {
      kernel.set(mean.subarray(i * actionSize, (i + 1) * actionSize), i * 2 * actionSize);
      kernel.set(logStd.subarray(i * actionSize, (i + 1) * actionSize), i * 2 * actionSize + actionSize);
    }
    const bias = new Float32Array(2 * actionSize);
    bias.set(meanBias);
    bias.set(logStdBias, actionSize);
    byName.set(`${prefix}actor/heads/kernel`, kernel);
    byName.set(`${prefix}actor/heads/bias`, bias);
  }
}

export class SoftActorCritic implements ActionPolicy {
  readonly hp: SacHyperparameters;
  readonly targetEntropy: number;
  private readonly actor: Actor;
  private readonly qf1: Critic;
  private readonly qf2: Critic;
  /** v2: target Q networks. */
  private readonly qf1Target: Critic | null;
  private readonly qf2Target: Critic | null;
  /** v1: soft value network and its target. */
  private readonly vf: Critic | null;
  private readonly vfTarget: Critic | null;
  private readonly criticOptimizer: Adam;
  private readonly actorOptimizer: Adam;
  private logAlpha: number;
  private readonly alphaAdam = { step: 0, m: 0, v: 0 };
  /** Noise for the update's reparameterised samples. */
  private readonly updateRng: Rng;
  /** Noise for sampled actions in act(). */
  private readonly actRng: Rng;
  private updates = 0;
  /**
   * While true, updates step the critics only: the actor and the temperature stay put (a critic
   * warm-up on new data before the policy moves, as when fine-tuning starts on a robot).
   */
  freezePolicy = false;
  /** The last actor/temperature step's figures, reported by updates that skip it (policyFrequency > 1). */
  private lastPolicyStep = { actorLoss: NaN, meanLogProb: NaN, alphaLoss: NaN };
  private normalizer: ObservationNormalizer | null = null;
  private readonly obsScratch: Float32Array;
  private readonly nextObsScratch: Float32Array;
  private readonly actScratch: Float32Array;
  /** Noise of one sampled action on the fused path. */
  private readonly epsScratch: Float32Array;
  /** The fused update over a flat buffer (fusedSac.ts), or null: the tfjs update below runs. */
  private readonly fused: FusedSac | null;
  /** The fused update changed the flat buffer since the tfjs variables were last written. */
  private tfjsStale = false;

  constructor(
    readonly observationSize: number,
    readonly actionSize: number,
    hyperparameters: Partial<SacHyperparameters> = {},
    seed = 0,
    /** 'auto' (default): initCompute's choice (compute.sacUpdate); 'fused' or 'tfjs' to force one. */
    update: SacUpdateChoice = 'auto',
  ) {
    this.hp = resolveHyperparameters(hyperparameters);
    const h = this.hp.hidden;
    this.targetEntropy = this.hp.targetEntropy ?? -actionSize;
    const initRng = new Rng(seed);
    this.updateRng = new Rng(seed + 1);
    this.actRng = new Rng(seed + 2);

    const init = this.hp.initialization;
    this.actor = new Actor(observationSize, actionSize, h, initRng, init);
    const ch = this.hp.criticHidden ?? h;
    // Dropout masks come from the update's noise stream (checkpointed with it).
    const reg: MlpRegularization = { layerNorm: this.hp.criticLayerNorm, dropout: this.hp.criticDropout, rng: this.updateRng };
    const critic = (inSize: number, name: string): Critic => new Critic(inSize, ch, initRng, init, name, reg);
    this.qf1 = critic(observationSize + actionSize, 'qf1');
    this.qf2 = critic(observationSize + actionSize, 'qf2');
    if (this.hp.variant === 'v2') {
      this.qf1Target = critic(observationSize + actionSize, 'qf1_target');
      this.qf2Target = critic(observationSize + actionSize, 'qf2_target');
      copyVariables(this.qf1Target.variables, this.qf1.variables);
      copyVariables(this.qf2Target.variables, this.qf2.variables);
      this.vf = this.vfTarget = null;
    } else {
      this.vf = critic(observationSize, 'vf');
      this.vfTarget = critic(observationSize, 'vf_target');
      copyVariables(this.vfTarget.variables, this.vf.variables);
      this.qf1Target = this.qf2Target = null;
    }
    this.criticOptimizer = new Adam(this.criticVariables, { learningRate: this.hp.criticLearningRate ?? this.hp.learningRate });
    this.actorOptimizer = new Adam(this.actor.variables, { learningRate: this.hp.actorLearningRate ?? this.hp.learningRate });
    this.logAlpha = Math.log(this.hp.initialAlpha);
    this.obsScratch = new Float32Array(this.hp.batchSize * observationSize);
    this.nextObsScratch = new Float32Array(this.hp.batchSize * observationSize);
    this.actScratch = new Float32Array(observationSize);
    this.epsScratch = new Float32Array(actionSize);
    // The fused update covers the paper's networks: critics shaped like the actor, without
    // LayerNorm or dropout, targets averaged on every update. Other options run on tfjs.
    const fusable = this.hp.criticHidden === null && !this.hp.criticLayerNorm && this.hp.criticDropout === 0 && this.hp.targetUpdateFrequency === 1;
    const selected = fusable ? sacUpdateSelection(update) : ({ kind: 'tfjs' } as const);
    this.fused = selected.kind === 'fused'
      ? new FusedSac(this.hp, observationSize, actionSize, this.criticOptimizer, { provider: selected.provider, coreType: selected.coreType })
      : null;
    this.loadFused();
  }

  /** Which update runs: 'fused (openblas)', 'fused (wasm-simd)' or 'tfjs'. */
  get updateKind(): string {
    return this.fused === null ? 'tfjs' : `fused (${this.fused.provider})`;
  }

  /**
   * Cores the update's GEMMs use: 1, or 2 where the fused update runs on the OpenBLAS addon
   * (it splits each GEMM with its helper thread; the results are bit-identical). Setting 2 where
   * that cannot run throws, naming why; twoCoresUnavailable says so beforehand.
   */
  get updateCores(): number {
    return this.fused?.cores ?? 1;
  }

  set updateCores(n: number) {
    if (this.fused === null) {
      if (n !== 1) throw new Error(`SAC update: cannot use ${n} cores: ${this.twoCoresUnavailable ?? ''}`);
      return;
    }
    this.fused.cores = n;
  }

  /** Why the update cannot use two cores here, or null when it can. */
  get twoCoresUnavailable(): string | null {
    return this.fused === null ? 'the tfjs update runs on one core only (two need the fused update on OpenBLAS)' : this.fused.twoCoresUnavailable;
  }

  /** Copy the tfjs variables and Adam moments (the checkpoint format) into the fused update's buffer. */
  private loadFused(): void {
    if (this.fused === null) return;
    const params = this.fused.flatNamed('param');
    for (const [name, v] of this.namedVariablesAsStored()) params.get(name)!.set(v.dataSync() as Float32Array);
    const m = this.fused.flatNamed('m');
    const vv = this.fused.flatNamed('v');
    for (const opt of [this.criticOptimizer, this.actorOptimizer]) {
      const s = opt.exportState();
      opt.variables.forEach((v, i) => {
        m.get(logicalName(v))!.set(s.m[i]!);
        vv.get(logicalName(v))!.set(s.v[i]!);
      });
    }
    this.fused.optimizerSteps = { actor: this.actorOptimizer.step, critic: this.criticOptimizer.step };
    this.tfjsStale = false;
  }

  /** Write the fused update's parameters and moments back into the tfjs variables, if they moved. */
  private syncTfjs(): void {
    if (this.fused === null || !this.tfjsStale) return;
    const params = this.fused.flatNamed('param');
    for (const [name, v] of this.namedVariablesAsStored()) assignFlat(v, params.get(name)!, name);
    const m = this.fused.flatNamed('m');
    const vv = this.fused.flatNamed('v');
    const steps = this.fused.optimizerSteps;
    for (const [opt, step] of [[this.criticOptimizer, steps.critic], [this.actorOptimizer, steps.actor]] as const) {
      opt.importState({ step, m: opt.variables.map((v) => m.get(logicalName(v))!), v: opt.variables.map((v) => vv.get(logicalName(v))!) });
    }
    this.tfjsStale = false;
  }

  get alpha(): number {
    return Math.exp(this.logAlpha);
  }

  /** Weight version: the number of updates applied. */
  get version(): number {
    return this.updates;
  }

  /** Use running observation statistics before every network (null: raw observations). */
  setNormalizer(normalizer: ObservationNormalizer | null): void {
    if (normalizer !== null && normalizer.size !== this.observationSize) {
      throw new Error(`normaliser size ${normalizer.size} does not match observation size ${this.observationSize}`);
    }
    this.normalizer = normalizer;
  }

  /** Variables the critic optimiser trains: Q1, Q2 (and V in v1). */
  private get criticVariables(): tf.Variable[] {
    return [...this.qf1.variables, ...this.qf2.variables, ...(this.vf?.variables ?? [])];
  }

  private get targetVariables(): { target: tf.Variable[]; source: tf.Variable[] } {
    if (this.vf !== null && this.vfTarget !== null) return { target: this.vfTarget.variables, source: this.vf.variables };
    return {
      target: [...this.qf1Target!.variables, ...this.qf2Target!.variables],
      source: [...this.qf1.variables, ...this.qf2.variables],
    };
  }

  /** Draw the noise for one reparameterised sample of `rows` rows. */
  drawNoise(rows: number, rng: Rng = this.updateRng): SampleNoise {
    const a = this.actionSize;
    const eps = new Float32Array(rows * a);
    rng.fillNormal(eps);
    const gaussTerm = new Float32Array(rows);
    for (let i = 0; i < rows; i++) {
      let s = 0;
      for (let j = 0; j < a; j++) s -= 0.5 * eps[i * a + j] * eps[i * a + j] + HALF_LOG_2PI;
      gaussTerm[i] = s;
    }
    return { eps, gaussTerm };
  }

  private normalized(obs: Float32Array, rows: number, scratch: Float32Array): Float32Array {
    if (this.normalizer === null) return obs;
    const out = scratch.length >= obs.length ? scratch.subarray(0, obs.length) : new Float32Array(obs.length);
    this.normalizer.normalize(obs, out, rows);
    return out;
  }

  private noiseTensors(n: SampleNoise, rows: number): { eps: tf.Tensor2D; gaussTerm: tf.Tensor1D } {
    return { eps: tf.tensor2d(n.eps, [rows, this.actionSize]), gaussTerm: tf.tensor1d(n.gaussTerm) };
  }

  /** ActionPolicy: tanh(mean) when deterministic, else a sample from the squashed Gaussian. */
  act(observation: Float32Array, deterministic: boolean, out: Float32Array): void {
    const obs = this.normalized(observation, 1, this.actScratch);
    if (this.fused !== null) {
      if (!deterministic) this.actRng.fillNormal(this.epsScratch);
      this.fused.act(obs, deterministic, deterministic ? null : this.epsScratch, out);
      return;
    }
    const values = tf.tidy(() => {
      const { mean, logStd } = this.actor.forward(tf.tensor2d(obs, [1, this.observationSize]));
      if (deterministic) return tf.tanh(mean).dataSync();
      const eps = new Float32Array(this.actionSize);
      this.actRng.fillNormal(eps);
      return tf.tanh(tf.add(mean, tf.mul(tf.exp(logStd), tf.tensor2d(eps, [1, this.actionSize])))).dataSync();
    });
    out.set(values);
  }

  /** One gradient step on every network from a replay minibatch. */
  update(batch: TransitionBatch): SacMetrics {
    if (batch.size !== this.hp.batchSize) throw new Error(`batch has ${batch.size} rows, batchSize is ${this.hp.batchSize}`);
    return this.updateWithNoise(batch, this.drawNoise(batch.size), this.drawNoise(batch.size));
  }

  /**
   * The update with its noise given: `targetNoise` samples a' ~ pi(s') for the Q target (v2)
   * or a ~ pi(s) for the V target (v1); `actorNoise` samples a ~ pi(s) for the actor and
   * temperature losses.
   */
  updateWithNoise(batch: TransitionBatch, targetNoise: SampleNoise, actorNoise: SampleNoise): SacMetrics {
    if (this.fused !== null) return this.fusedUpdate(this.fused, batch, targetNoise, actorNoise);
    const B = batch.size;
    const O = this.observationSize;
    const A = this.actionSize;
    const gamma = this.hp.gamma;
    const alpha = this.alpha;
    const metrics = tf.tidy(() => {
      const obs = tf.tensor2d(this.normalized(batch.observations, B, this.obsScratch), [B, O]);
      const nextObs = tf.tensor2d(this.normalized(batch.nextObservations, B, this.nextObsScratch), [B, O]);
      const actions = tf.tensor2d(batch.actions, [B, A]);
      // Per-row quantities are [B, 1] columns, like each network's output: no reshapes needed.
      const rewards = tf.tensor2d(batch.rewards, [B, 1]);
      const notDone = tf.sub(1, tf.tensor2d(batch.terminated, [B, 1]));
      const tNoise = this.noiseTensors(targetNoise, B);
      const aNoise = this.noiseTensors(actorNoise, B);

      // 1. Critic targets (no gradient flows into them).
      let qTarget: tf.Tensor2D;
      let vTarget: tf.Tensor2D | null = null;
      if (this.hp.variant === 'v2') {
        // y = r + gamma (1 - d) [min_i Q_i'(s', a') - alpha log pi(a'|s')],  a' ~ pi(.|s')
        const next = this.actor.sample(nextObs, tNoise.eps, tNoise.gaussTerm);
        const sa = stateAction(nextObs, next.action);
        const minQNext = tf.minimum(this.qf1Target!.q(sa), this.qf2Target!.q(sa));
        const softV = tf.sub(minQNext, tf.mul(next.logProb, alpha));
        qTarget = tf.add(rewards, tf.mul(tf.mul(notDone, softV), gamma));
      } else {
        // y_Q = r + gamma (1 - d) V'(s');  y_V = min_i Q_i(s, a) - alpha log pi(a|s),  a ~ pi(.|s)
        qTarget = tf.add(rewards, tf.mul(tf.mul(notDone, this.vfTarget!.v(nextObs)), gamma));
        const cur = this.actor.sample(obs, tNoise.eps, tNoise.gaussTerm);
        const sa = stateAction(obs, cur.action);
        const minQ = tf.minimum(this.qf1.q(sa), this.qf2.q(sa));
        vTarget = tf.sub(minQ, tf.mul(cur.logProb, alpha)) as tf.Tensor2D;
      }

      // 2. Critic step: mean squared soft Bellman error of each Q (and V's regression, v1).
      let qf1Loss = 0;
      let qf2Loss = 0;
      let vfLoss = 0;
      let qf1Mean = 0;
      const sa = stateAction(obs, actions);
      const critic = tf.variableGrads(() => {
        const q1 = this.qf1.q(sa);
        const l1 = mse(q1, qTarget);
        const l2 = mse(this.qf2.q(sa), qTarget);
        qf1Loss = l1.dataSync()[0];
        qf2Loss = l2.dataSync()[0];
        qf1Mean = tf.mean(q1).dataSync()[0];
        let loss = tf.add(l1, l2);
        if (this.vf !== null && vTarget !== null) {
          const lv = mse(this.vf.v(obs), vTarget);
          vfLoss = lv.dataSync()[0];
          loss = tf.add(loss, lv);
        }
        return loss as tf.Scalar;
      }, this.criticVariables);
      this.criticOptimizer.apply(this.criticVariables.map((v) => critic.grads[v.name]));

      // 3. Actor step: minimise E[alpha log pi(a|s) - min_i Q_i(s, a)], a = tanh(mu + sigma eps).
      //    Delayed (policyFrequency f > 1, as TD3 and CleanRL): every f-th update takes f actor
      //    and temperature steps, each on fresh noise, so the policy lags a settled critic
      //    while taking as many steps in total.
      let { actorLoss, meanLogProb, alphaLoss } = this.lastPolicyStep;
      const policySteps = this.policySteps();
      const actorVars = this.actor.variables;
      for (let k = 0; k < policySteps; k++) {
        const noise = k === 0 ? aNoise : this.noiseTensors(this.drawNoise(B), B);
        const stepAlpha = this.alpha;
        const actorStep = tf.variableGrads(() => {
          const pi = this.actor.sample(obs, noise.eps, noise.gaussTerm);
          meanLogProb = tf.mean(pi.logProb).dataSync()[0];
          // The critics are held fixed here: only dQ/da flows back, into the actor.
          const sa = stateAction(obs, pi.action);
          const minQ = tf.minimum(this.qf1.q(sa, 'input'), this.qf2.q(sa, 'input'));
          return tf.mean(tf.sub(tf.mul(pi.logProb, stepAlpha), minQ)) as tf.Scalar;
        }, actorVars);
        this.actorOptimizer.apply(actorVars.map((v) => actorStep.grads[v.name]));
        actorLoss = actorStep.value.dataSync()[0];

        // 4. Temperature step.
        alphaLoss = this.temperatureStep(meanLogProb, stepAlpha);
      }
      this.lastPolicyStep = { actorLoss, meanLogProb, alphaLoss };

      return { qf1Loss, qf2Loss, vfLoss, qf1Mean, actorLoss, meanLogProb, alphaLoss };
    });

    // 5. Polyak-average the target networks (every targetUpdateFrequency-th update).
    if (this.updates % this.hp.targetUpdateFrequency === 0) {
      const { target, source } = this.targetVariables;
      polyakUpdate(target, source, this.hp.tau);
    }

    this.updates++;
    return this.metricsOf(metrics);
  }

  /**
   * The critics' fit on `batch` without learning from it (a diagnostic): the mean squared soft
   * Bellman error of the two Q networks against the update's target, and their mean Q. The
   * target's action samples draw from `rng`, not from the update's noise, so measuring does not
   * change what is learned. NaN with critic dropout (its masks would draw from the update's noise).
   */
  evaluateCritics(batch: TransitionBatch, rng: Rng): { tdError: number; q: number } {
    if (this.hp.criticDropout > 0 || batch.size === 0) return { tdError: Number.NaN, q: Number.NaN };
    this.syncTfjs();
    const B = batch.size, O = this.observationSize, A = this.actionSize;
    const noise = this.drawNoise(B, rng);
    const obsIn = this.normalizedCopy(batch.observations, B);
    const nextIn = this.normalizedCopy(batch.nextObservations, B);
    return tf.tidy(() => {
      const obs = tf.tensor2d(obsIn, [B, O]);
      const nextObs = tf.tensor2d(nextIn, [B, O]);
      const rewards = tf.tensor2d(batch.rewards.subarray(0, B), [B, 1]);
      const notDone = tf.sub(1, tf.tensor2d(batch.terminated.subarray(0, B), [B, 1]));
      const t = this.noiseTensors(noise, B);
      let target: tf.Tensor2D;
      if (this.hp.variant === 'v2') {
        const next = this.actor.sample(nextObs, t.eps, t.gaussTerm);
        const sa = stateAction(nextObs, next.action);
        const softV = tf.sub(tf.minimum(this.qf1Target!.q(sa), this.qf2Target!.q(sa)), tf.mul(next.logProb, this.alpha));
        target = tf.add(rewards, tf.mul(tf.mul(notDone, softV), this.hp.gamma));
      } else {
        target = tf.add(rewards, tf.mul(tf.mul(notDone, this.vfTarget!.v(nextObs)), this.hp.gamma));
      }
      const sa = stateAction(obs, tf.tensor2d(batch.actions.subarray(0, B * A), [B, A]));
      const q1 = this.qf1.q(sa), q2 = this.qf2.q(sa);
      const td = tf.div(tf.add(tf.mean(tf.square(tf.sub(q1, target))), tf.mean(tf.square(tf.sub(q2, target)))), 2);
      const q = tf.div(tf.add(tf.mean(q1), tf.mean(q2)), 2);
      return { tdError: td.dataSync()[0]!, q: q.dataSync()[0]! };
    });
  }

  /**
   * Put these actor weights (e.g. an earlier version's, from actorWeights()) back into the actor;
   * the critics, the temperature and the optimisers' moments stay as they are.
   */
  setActorWeights(w: ActorWeights): void {
    const state = this.exportState();
    const byName = new Map(state.arrays.map((a) => [a.name, a]));
    const put = (name: string, data: Float32Array): void => {
      const a = byName.get(name);
      if (a === undefined || a.data.length !== data.length) throw new Error(`actor weights: '${name}' has ${data.length} values, the actor ${a?.data.length ?? 'none'}`);
      a.data = data.slice();
    };
    if (w.hidden.length !== this.actor.trunk.length) throw new Error(`actor weights: ${w.hidden.length} hidden layers, the actor has ${this.actor.trunk.length}`);
    w.hidden.forEach((l, i) => {
      put(`actor/l${i}/kernel`, l.kernel);
      put(`actor/l${i}/bias`, l.bias);
    });
    const A = this.actionSize, rows = w.mean.kernel.length / A;
    const kernel = new Float32Array(2 * w.mean.kernel.length);
    for (let i = 0; i < rows; i++) {
      kernel.set(w.mean.kernel.subarray(i * A, (i + 1) * A), i * 2 * A);
      kernel.set(w.logStd.kernel.subarray(i * A, (i + 1) * A), i * 2 * A + A);
    }
    const bias = new Float32Array(2 * A);
    bias.set(w.mean.bias);
    bias.set(w.logStd.bias, A);
    put('actor/heads/kernel', kernel);
    put('actor/heads/bias', bias);
    this.importState(state);
  }

  /** The first `rows` observations, normalised into a fresh array (raw ones without a normaliser). */
  private normalizedCopy(obs: Float32Array, rows: number): Float32Array {
    const x = obs.slice(0, rows * this.observationSize);
    if (this.normalizer === null) return x;
    const out = new Float32Array(x.length);
    this.normalizer.normalize(x, out, rows);
    return out;
  }

  /** The critics' mean Q of each (observation, action) row, (Q1 + Q2) / 2 (a diagnostic). */
  criticValues(observations: Float32Array, actions: Float32Array, rows: number): Float32Array {
    this.syncTfjs();
    const O = this.observationSize, A = this.actionSize;
    const obsIn = this.normalizedCopy(observations, rows);
    return tf.tidy(() => {
      const sa = stateAction(tf.tensor2d(obsIn, [rows, O]), tf.tensor2d(actions.subarray(0, rows * A), [rows, A]));
      return tf.div(tf.add(this.qf1.q(sa), this.qf2.q(sa)), 2).dataSync() as Float32Array;
    });
  }

  /**
   * Actor and temperature steps this update takes: every policyFrequency-th update, f of them at
   * once (policyCatchUp, CleanRL) or one (TD3, DroQ).
   */
  private policySteps(): number {
    if (this.freezePolicy || this.updates % this.hp.policyFrequency !== 0) return 0;
    return this.hp.policyCatchUp ? this.hp.policyFrequency : 1;
  }

  /** The same update, fused over the flat buffer (fusedSac.ts mirrors the steps above). */
  private fusedUpdate(fused: FusedSac, batch: TransitionBatch, targetNoise: SampleNoise, actorNoise: SampleNoise): SacMetrics {
    const B = batch.size;
    const normalized: TransitionBatch = {
      ...batch,
      observations: this.normalized(batch.observations, B, this.obsScratch),
      nextObservations: this.normalized(batch.nextObservations, B, this.nextObsScratch),
    };
    const r = fused.update(normalized, targetNoise, actorNoise, {
      alpha: () => this.alpha,
      policySteps: this.policySteps(),
      drawNoise: (rows) => this.drawNoise(rows),
      temperatureStep: (meanLogProb, stepAlpha) => this.temperatureStep(meanLogProb, stepAlpha),
    });
    if (r.policy !== null) this.lastPolicyStep = r.policy;
    this.tfjsStale = true;
    this.updates++;
    return this.metricsOf({ ...r, ...this.lastPolicyStep });
  }

  private metricsOf(m: { qf1Loss: number; qf2Loss: number; vfLoss: number; qf1Mean: number; actorLoss: number; meanLogProb: number; alphaLoss: number }): SacMetrics {
    const out: SacMetrics = {
      qf1_loss: m.qf1Loss,
      qf2_loss: m.qf2Loss,
      actor_loss: m.actorLoss,
      alpha: this.alpha,
      alpha_loss: m.alphaLoss,
      entropy: -m.meanLogProb,
      qf1_mean: m.qf1Mean,
    };
    if (this.hp.variant === 'v1') out.vf_loss = m.vfLoss;
    return out;
  }

  /**
   * The temperature's step (a scalar: plain JS Adam on log alpha); returns alpha_loss.
   * loss = -alpha (log pi + target_entropy), so d/d(log alpha) = -alpha (E[log pi] + target_entropy):
   * alpha grows while the policy's entropy is below the target and shrinks above it.
   */
  private temperatureStep(meanLogProb: number, stepAlpha: number): number {
    const alphaLoss = -stepAlpha * (meanLogProb + this.targetEntropy);
    if (this.hp.autoAlpha) this.logAlpha -= this.adamScalarStep(alphaLoss);
    return alphaLoss;
  }

  /** Adam on the scalar log alpha (same constants as the network optimisers); returns the step. */
  private adamScalarStep(grad: number): number {
    const s = this.alphaAdam;
    const b1 = 0.9;
    const b2 = 0.999;
    s.step++;
    s.m = b1 * s.m + (1 - b1) * grad;
    s.v = b2 * s.v + (1 - b2) * grad * grad;
    const mHat = s.m / (1 - Math.pow(b1, s.step));
    const vHat = s.v / (1 - Math.pow(b2, s.step));
    return ((this.hp.alphaLearningRate ?? this.hp.learningRate) * mHat) / (Math.sqrt(vHat) + 1e-8);
  }

  /** The actor's weights outside tfjs, in the ActorWeights layout of policy.ts. */
  actorWeights(): ActorWeights {
    const w: ActorWeights = this.fused !== null ? this.fusedActorWeights(this.fused) : { hidden: this.actor.trunk.map((l) => l.weights()), ...this.actor.headWeights() };
    return this.normalizer === null ? w : { ...w, normalizer: this.normalizer.snapshot() };
  }

  /** The same from the fused update's buffer (copies; the tfjs variables may be stale). */
  private fusedActorWeights(fused: FusedSac): ActorWeights {
    const p = fused.flatNamed('param');
    const layer = (l: Dense): DenseWeights => ({ inSize: l.inSize, outSize: l.outSize, kernel: p.get(`${l.name}/kernel`)!.slice(), bias: p.get(`${l.name}/bias`)!.slice() });
    return { hidden: this.actor.trunk.map(layer), ...splitHeads(layer(this.actor.heads)) };
  }

  /** Every network variable by name (for tests and inspection), up to date. */
  namedVariables(): Map<string, tf.Variable> {
    this.syncTfjs();
    return this.namedVariablesAsStored();
  }

  /** The variables as tfjs holds them (stale while the fused update has moved on). */
  private namedVariablesAsStored(): Map<string, tf.Variable> {
    const all = [...this.actor.variables, ...this.criticVariables, ...this.targetVariables.target];
    return new Map(all.map((v) => [logicalName(v), v]));
  }

  /** Differentiable pieces exposed for tests: the actor's squashed sample. */
  sampleActionTensors(obs: tf.Tensor2D, noise: SampleNoise): { action: tf.Tensor2D; logProb: tf.Tensor2D } {
    this.syncTfjs();
    const t = this.noiseTensors(noise, obs.shape[0]);
    return this.actor.sample(obs, t.eps, t.gaussTerm);
  }

  exportState(): SacState {
    this.syncTfjs();
    const arrays: NamedArray[] = [...this.namedVariables()].map(([name, v]) => ({ name, shape: [...v.shape], data: v.dataSync() as Float32Array }));
    const optimizerSteps: Record<string, number> = {};
    for (const [label, opt] of [['critic_adam', this.criticOptimizer], ['actor_adam', this.actorOptimizer]] as const) {
      const s = opt.exportState();
      optimizerSteps[label] = s.step;
      opt.variables.forEach((v, i) => {
        arrays.push({ name: `${label}/m/${logicalName(v)}`, shape: [...v.shape], data: s.m[i] });
        arrays.push({ name: `${label}/v/${logicalName(v)}`, shape: [...v.shape], data: s.v[i] });
      });
    }
    return {
      hyperparameters: { ...this.hp, hidden: [...this.hp.hidden] },
      observationSize: this.observationSize,
      actionSize: this.actionSize,
      updates: this.updates,
      logAlpha: this.logAlpha,
      alphaAdam: { ...this.alphaAdam },
      updateRng: this.updateRng.getState(),
      actRng: this.actRng.getState(),
      arrays,
      optimizerSteps,
    };
  }

  /** Restore a state exported by an agent with the same sizes and hyperparameters. */
  importState(state: SacState): void {
    if (state.observationSize !== this.observationSize || state.actionSize !== this.actionSize) {
      throw new Error(`agent state is for obs ${state.observationSize} / action ${state.actionSize}, this agent has ${this.observationSize} / ${this.actionSize}`);
    }
    const theirs = resolveHyperparameters(state.hyperparameters);
    const shape = (h: SacHyperparameters): string => `SAC ${h.variant} [${h.hidden}] critic [${h.criticHidden ?? h.hidden}]${h.criticLayerNorm ? ' LayerNorm' : ''}`;
    if (shape(theirs) !== shape(this.hp)) throw new Error(`agent state is ${shape(theirs)}, this agent is ${shape(this.hp)}`);
    const byName = new Map(state.arrays.map((a) => [a.name, a.data]));
    mergeSeparateHeads(byName, this.actionSize);
    const need = (name: string): Float32Array => {
      const d = byName.get(name);
      if (d === undefined) throw new Error(`agent state lacks array '${name}'`);
      return d;
    };
    for (const [name, v] of this.namedVariables()) assignFlat(v, need(name), name);
    for (const [label, opt] of [['critic_adam', this.criticOptimizer], ['actor_adam', this.actorOptimizer]] as const) {
      const step = state.optimizerSteps[label];
      if (!Number.isInteger(step) || step < 0) throw new Error(`agent state has invalid ${label} step ${step}`);
      opt.importState({
        step,
        m: opt.variables.map((v) => need(`${label}/m/${logicalName(v)}`)),
        v: opt.variables.map((v) => need(`${label}/v/${logicalName(v)}`)),
      });
    }
    if (!Number.isFinite(state.logAlpha)) throw new Error(`agent state has non-finite log alpha ${state.logAlpha}`);
    this.updates = state.updates;
    this.logAlpha = state.logAlpha;
    Object.assign(this.alphaAdam, state.alphaAdam);
    this.updateRng.setState(state.updateRng);
    this.actRng.setState(state.actRng);
    this.loadFused();
  }

  dispose(): void {
    this.fused?.dispose();
    for (const v of this.namedVariablesAsStored().values()) v.dispose();
    this.criticOptimizer.dispose();
    this.actorOptimizer.dispose();
  }
}
