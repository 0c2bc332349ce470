import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import { adamCoefficients, adamStep } from '../compute/adam.js';
import { dense, type DenseGrads } from '../compute/dense.js';
import { registerSacGradients } from './gradients.js';
import { dropoutMask, maskedRelu, normalizedRelu } from './regularization.js';
import type { DenseWeights } from './policy.js';

registerSacGradients();

/**
 * Plain tfjs-core building blocks for SAC: a dense layer, an MLP, Adam and Polyak averaging.
 * Kernels are [in][out] so y = x W + b (the layout of ActorWeights).
 *
 * Every piece is tfjs ops or kernels, so the same code runs on any tfjs backend; on the wasm
 * backend the compute path (src/compute/) makes each of them few kernel dispatches: the dense
 * layer is one fused matmul forward and three kernels backward (matmuls with transpose flags run
 * at full speed on sacbridge's GEMM kernels), and Adam and Polyak are one kernel for a whole
 * variable list.
 */

export type Activation = 'relu' | 'linear';

let denseInstances = 0;

/** A variable's name without the per-process instance suffix, e.g. 'qf1/l0/kernel'. */
export function logicalName(v: tf.Variable): string {
  return v.name.replace(/#\d+$/, '');
}

/**
 * How a layer's weights start:
 * - 'uniform-fan-in' (PyTorch's nn.Linear default, which CleanRL and the SAC paper's code use):
 *   kernel and bias both U(+-1/sqrt(fan_in)).
 * - 'he-glorot': He-uniform U(+-sqrt(6/fan_in)) for ReLU layers, Glorot-uniform
 *   U(+-sqrt(6/(fan_in+fan_out))) for linear outputs, biases zero (Keras-style).
 */
export type Initialization = 'uniform-fan-in' | 'he-glorot';
export const INITIALIZATIONS: readonly Initialization[] = ['uniform-fan-in', 'he-glorot'];

/** Initial kernel [in][out] and bias of one layer, drawn row by row (then the bias) from the seeded Rng. */
export function initialLayer(rng: Rng, inSize: number, outSize: number, activation: Activation, init: Initialization): { kernel: Float32Array; bias: Float32Array } {
  const kernel = new Float32Array(inSize * outSize);
  const bias = new Float32Array(outSize);
  if (init === 'uniform-fan-in') {
    const limit = 1 / Math.sqrt(inSize);
    for (let i = 0; i < kernel.length; i++) kernel[i] = rng.range(-limit, limit);
    for (let i = 0; i < bias.length; i++) bias[i] = rng.range(-limit, limit);
  } else {
    const limit = activation === 'relu' ? Math.sqrt(6 / inSize) : Math.sqrt(6 / (inSize + outSize));
    for (let i = 0; i < kernel.length; i++) kernel[i] = rng.range(-limit, limit);
  }
  return { kernel, bias };
}

/** A fully connected layer whose weights are tf.variables initialised from the seeded Rng. */
export class Dense {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly inSize: number,
    readonly outSize: number,
    readonly activation: Activation,
    /** Initial kernel [in][out] and bias (see initialLayer). */
    initial: { kernel: Float32Array; bias: Float32Array },
    readonly name: string,
  ) {
    if (initial.kernel.length !== inSize * outSize) throw new Error(`${name}: initial kernel has ${initial.kernel.length} values, expected ${inSize}x${outSize}`);
    if (initial.bias.length !== outSize) throw new Error(`${name}: initial bias has ${initial.bias.length} values, expected ${outSize}`);
    // tfjs variable names are global to the process: suffix an instance number (see logicalName).
    const id = ++denseInstances;
    this.kernel = tf.variable(tf.tensor2d(initial.kernel, [inSize, outSize]), true, `${name}/kernel#${id}`);
    this.bias = tf.variable(tf.tensor1d(initial.bias), true, `${name}/bias#${id}`);
  }

  /** act(x W + b); `grads` says which gradients flow back (see compute/dense.ts). */
  apply(x: tf.Tensor, grads: DenseGrads = 'all'): tf.Tensor2D {
    return dense(x as tf.Tensor2D, this.kernel as tf.Tensor as tf.Tensor2D, this.bias as tf.Tensor as tf.Tensor1D, this.activation, grads);
  }

  get variables(): tf.Variable[] {
    return [this.kernel, this.bias];
  }

  /** Copy out of tfjs (ActorWeights layout). */
  weights(): DenseWeights {
    return {
      inSize: this.inSize,
      outSize: this.outSize,
      kernel: this.kernel.dataSync() as Float32Array,
      bias: this.bias.dataSync() as Float32Array,
    };
  }
}

/**
 * Regularised hidden layers (DroQ): dropout at `dropout` rate, then LayerNorm, before each ReLU.
 * Dropout masks are drawn from `rng` on every forward pass (training mode throughout: SAC only
 * evaluates critics while updating).
 */
export interface MlpRegularization {
  layerNorm: boolean;
  dropout: number;
  rng: Rng;
}

/** ReLU hidden layers followed by a linear output layer. */
export class Mlp {
  readonly layers: Dense[];
  /** LayerNorm gain and bias per hidden layer (with `regularization.layerNorm`). */
  readonly norms: { gain: tf.Variable; bias: tf.Variable }[] = [];

  constructor(
    inSize: number,
    hidden: readonly number[],
    outSize: number,
    rng: Rng,
    init: Initialization,
    name: string,
    private readonly regularization: MlpRegularization | null = null,
  ) {
    const sizes = [inSize, ...hidden];
    const plain = regularization === null || (!regularization.layerNorm && regularization.dropout === 0);
    if (plain) this.regularization = null;
    // Regularised layers apply ReLU after normalising: their linear map has no activation of its own.
    this.layers = hidden.map((h, i) => new Dense(sizes[i], h, plain ? 'relu' : 'linear', initialLayer(rng, sizes[i], h, 'relu', init), `${name}/l${i}`));
    const last = sizes[sizes.length - 1];
    this.layers.push(new Dense(last, outSize, 'linear', initialLayer(rng, last, outSize, 'linear', init), `${name}/out`));
    if (regularization?.layerNorm) {
      const id = ++denseInstances;
      hidden.forEach((h, i) => {
        this.norms.push({
          gain: tf.variable(tf.ones([h]), true, `${name}/ln${i}/gain#${id}`),
          bias: tf.variable(tf.zeros([h]), true, `${name}/ln${i}/bias#${id}`),
        });
      });
    }
  }

  /**
   * Forward pass. `gradient` names what gradients are wanted: 'weights' (training the network
   * on data: no gradient into x) or 'input' (the network held fixed: only d/dx, as SAC's critics
   * in the actor step). Asking for only what is needed skips their GEMMs in the backward pass.
   */
  apply(x: tf.Tensor, gradient: 'weights' | 'input' = 'weights'): tf.Tensor2D {
    let h = x as tf.Tensor2D;
    const reg = this.regularization;
    this.layers.forEach((layer, i) => {
      h = layer.apply(h, gradient === 'input' ? 'input' : i === 0 ? 'weights' : 'all');
      if (reg !== null && i < this.layers.length - 1) {
        const [rows, cols] = h.shape;
        const mask = reg.dropout > 0 ? tf.tensor2d(dropoutMask(rows, cols, reg.dropout, reg.rng), [rows, cols]) : null;
        const norm = this.norms[i];
        h = norm !== undefined ? normalizedRelu(h, norm.gain as tf.Tensor as tf.Tensor1D, norm.bias as tf.Tensor as tf.Tensor1D, mask) : maskedRelu(h, mask!);
      }
    });
    return h;
  }

  get variables(): tf.Variable[] {
    return [...this.layers.flatMap((l) => l.variables), ...this.norms.flatMap((n) => [n.gain, n.bias])];
  }
}

/** Polyak averaging: target <- tau * source + (1 - tau) * target (one kernel on wasm). */
export { polyakUpdate } from '../compute/polyak.js';

/** Copy values of `source` into `target` (hard update). */
export function copyVariables(target: readonly tf.Variable[], source: readonly tf.Variable[]): void {
  tf.tidy(() => {
    for (let i = 0; i < target.length; i++) target[i].assign(source[i]);
  });
}

export interface AdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/**
 * Adam (Kingma & Ba) over a fixed list of variables. Written out rather than tf.train.adam so
 * that its whole state (moments and step) saves and restores exactly: the bias correction is
 * computed from the integer step in double precision, so a resumed run takes bit-identical
 * steps.
 */
export class Adam {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private t = 0;

  constructor(
    readonly variables: readonly tf.Variable[],
    options: AdamOptions,
  ) {
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.m = variables.map((v) => tf.variable(tf.zerosLike(v), false));
    this.v = variables.map((v) => tf.variable(tf.zerosLike(v), false));
  }

  get step(): number {
    return this.t;
  }

  /** Apply one step with gradients given in the order of `variables`. */
  apply(grads: readonly tf.Tensor[]): void {
    this.t++;
    // Bias-corrected step size; epsilon scaled the same way (the "epsilon hat" form).
    adamStep(this.variables, grads, this.m, this.v, adamCoefficients(this.learningRate, this.beta1, this.beta2, this.epsilon, this.t));
  }

  /** Moments as flat arrays, in variable order, plus the step. */
  exportState(): { step: number; m: Float32Array[]; v: Float32Array[] } {
    return {
      step: this.t,
      m: this.m.map((x) => x.dataSync() as Float32Array),
      v: this.v.map((x) => x.dataSync() as Float32Array),
    };
  }

  importState(state: { step: number; m: readonly Float32Array[]; v: readonly Float32Array[] }): void {
    if (state.m.length !== this.m.length || state.v.length !== this.v.length) {
      throw new Error(`Adam state has ${state.m.length} moments, the optimiser has ${this.m.length} variables`);
    }
    this.t = state.step;
    tf.tidy(() => {
      for (let i = 0; i < this.m.length; i++) {
        assignFlat(this.m[i], state.m[i], `adam m[${i}]`);
        assignFlat(this.v[i], state.v[i], `adam v[${i}]`);
      }
    });
  }

  dispose(): void {
    for (const x of [...this.m, ...this.v]) x.dispose();
  }
}

/** Assign flat values to a variable, checking the size. */
export function assignFlat(variable: tf.Variable, values: Float32Array, what: string): void {
  if (values.length !== variable.size) {
    throw new Error(`${what}: expected ${variable.size} values (shape [${variable.shape.join(', ')}]), got ${values.length}`);
  }
  tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
}
