import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';
import { registerSacGradients } from './gradients.js';
import type { DenseWeights } from './policy.js';

registerSacGradients();

/**
 * Plain tfjs-core building blocks for SAC: a dense layer with a hand-written gradient, an MLP
 * and Adam. Kernels are [in][out] so y = x W + b (the layout of ActorWeights).
 *
 * Why the custom gradient: tfjs's stock matMul gradient multiplies with transpose flags, and on
 * the wasm backend a transposed matMul falls to a slow scalar loop. Transposing explicitly and
 * then multiplying plainly keeps every GEMM on the fast path (and on whatever faster
 * BatchMatMul/_FusedMatMul kernel the compute path registers).
 */

export type Activation = 'relu' | 'linear';

function denseOp(activation: Activation): (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D {
  const relu = activation === 'relu';
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor2D;
    const w = args[1] as tf.Tensor2D;
    const b = args[2] as tf.Tensor1D;
    const save = args[3] as tf.GradSaveFunc;
    // One fused kernel: matMul + bias (+ ReLU).
    const y = tf.fused.matMul({ a: x, b: w, bias: b, activation: relu ? 'relu' : 'linear' });
    save(relu ? [x, w, y] : [x, w]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved;
        // ReLU'(z) = step(y): y > 0 exactly where z > 0.
        const g = relu ? tf.mul(dy, tf.step(saved[2])) : dy;
        const dx = tf.matMul(g, tf.transpose(sw));
        const dw = tf.matMul(tf.transpose(sx), g);
        const db = tf.sum(g, 0);
        return [dx, dw, db];
      },
    };
  });
  return op as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;
}

const denseRelu = denseOp('relu');
const denseLinear = denseOp('linear');

let denseInstances = 0;

/** A variable's name without the per-process instance suffix, e.g. 'qf1/l0/kernel'. */
export function logicalName(v: tf.Variable): string {
  return v.name.replace(/#\d+$/, '');
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
  ) {
    // He-uniform for ReLU layers (keeps activations' variance through depth), Glorot-uniform
    // for linear outputs; zero biases.
    const limit = activation === 'relu' ? Math.sqrt(6 / inSize) : Math.sqrt(6 / (inSize + outSize));
    const k = new Float32Array(inSize * outSize);
    for (let i = 0; i < k.length; i++) k[i] = rng.range(-limit, limit);
    // tfjs variable names are global to the process: suffix an instance number (see logicalName).
    const id = ++denseInstances;
    this.kernel = tf.variable(tf.tensor2d(k, [inSize, outSize]), true, `${name}/kernel#${id}`);
    this.bias = tf.variable(tf.zeros([outSize]), true, `${name}/bias#${id}`);
  }

  apply(x: tf.Tensor): tf.Tensor2D {
    return (this.activation === 'relu' ? denseRelu : denseLinear)(x, this.kernel, this.bias);
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

  apply(x: tf.Tensor): tf.Tensor2D {
    let h = x as tf.Tensor2D;
    for (const layer of this.layers) h = layer.apply(h);
    return h;
  }

  get variables(): tf.Variable[] {
    return this.layers.flatMap((l) => l.variables);
  }
}

/** Polyak averaging: target <- tau * source + (1 - tau) * target, variable by variable. */
export function polyakUpdate(target: readonly tf.Variable[], source: readonly tf.Variable[], tau: number): void {
  if (target.length !== source.length) throw new Error('polyakUpdate: variable lists differ in length');
  tf.tidy(() => {
    for (let i = 0; i < target.length; i++) {
      target[i].assign(tf.add(tf.mul(source[i], tau), tf.mul(target[i], 1 - tau)));
    }
  });
}

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
    const b1 = this.beta1;
    const b2 = this.beta2;
    // Bias-corrected step size; epsilon scaled the same way (the "epsilon hat" form).
    const c1 = 1 - Math.pow(b1, this.t);
    const c2 = 1 - Math.pow(b2, this.t);
    const stepSize = (this.learningRate * Math.sqrt(c2)) / c1;
    const epsHat = this.epsilon * Math.sqrt(c2);
    tf.tidy(() => {
      for (let i = 0; i < this.variables.length; i++) {
        const g = grads[i];
        const m = tf.add(tf.mul(this.m[i], b1), tf.mul(g, 1 - b1));
        const v = tf.add(tf.mul(this.v[i], b2), tf.mul(tf.square(g), 1 - b2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        this.variables[i].assign(tf.sub(this.variables[i], tf.div(tf.mul(m, stepSize), tf.add(tf.sqrt(v), epsHat))));
      }
    });
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
