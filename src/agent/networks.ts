import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import { adamCoefficients, adamStep } from '../compute/adam.js';
import { dense, type DenseGrads } from '../compute/dense.js';
import { registerSacGradients } from './gradients.js';
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
 * He-uniform for ReLU layers (keeps activations' variance through depth), Glorot-uniform for
 * linear outputs, drawn row by row from the seeded Rng; biases start at zero.
 */
export function initialKernel(rng: Rng, inSize: number, outSize: number, activation: Activation): Float32Array {
  const limit = activation === 'relu' ? Math.sqrt(6 / inSize) : Math.sqrt(6 / (inSize + outSize));
  const k = new Float32Array(inSize * outSize);
  for (let i = 0; i < k.length; i++) k[i] = rng.range(-limit, limit);
  return k;
}

/** A fully connected layer whose weights are tf.variables initialised from the seeded Rng. */
export class Dense {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly inSize: number,
    readonly outSize: number,
    readonly activation: Activation,
    rng: Rng,
    readonly name: string,
    /** Initial kernel [in][out]; default: drawn from `rng` by initialKernel. */
    kernel: Float32Array = initialKernel(rng, inSize, outSize, activation),
  ) {
    if (kernel.length !== inSize * outSize) throw new Error(`${name}: initial kernel has ${kernel.length} values, expected ${inSize}x${outSize}`);
    // tfjs variable names are global to the process: suffix an instance number (see logicalName).
    const id = ++denseInstances;
    this.kernel = tf.variable(tf.tensor2d(kernel, [inSize, outSize]), true, `${name}/kernel#${id}`);
    this.bias = tf.variable(tf.zeros([outSize]), true, `${name}/bias#${id}`);
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

/** ReLU hidden layers followed by a linear output layer. */
export class Mlp {
  readonly layers: Dense[];

  constructor(inSize: number, hidden: readonly number[], outSize: number, rng: Rng, name: string) {
    const sizes = [inSize, ...hidden];
    this.layers = hidden.map((h, i) => new Dense(sizes[i], h, 'relu', rng, `${name}/l${i}`));
    this.layers.push(new Dense(sizes[sizes.length - 1], outSize, 'linear', rng, `${name}/out`));
  }

  /**
   * Forward pass. `gradient` names what gradients are wanted: 'weights' (training the network
   * on data: no gradient into x) or 'input' (the network held fixed: only d/dx, as SAC's critics
   * in the actor step). Asking for only what is needed skips their GEMMs in the backward pass.
   */
  apply(x: tf.Tensor, gradient: 'weights' | 'input' = 'weights'): tf.Tensor2D {
    let h = x as tf.Tensor2D;
    this.layers.forEach((layer, i) => {
      h = layer.apply(h, gradient === 'input' ? 'input' : i === 0 ? 'weights' : 'all');
    });
    return h;
  }

  get variables(): tf.Variable[] {
    return this.layers.flatMap((l) => l.variables);
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
