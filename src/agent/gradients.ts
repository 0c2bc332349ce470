import * as tf from '@tensorflow/tfjs-core';

/**
 * Gradients for the kernels SAC differentiates through.
 *
 * Why this file exists: in Node, `@tensorflow/tfjs-core` resolves to its CommonJS bundle, which
 * registers no gradients at all (the umbrella `@tensorflow/tfjs` package does that, and only
 * tfjs-core is installed); its ES-module `register_all_gradients` belongs to a different module
 * instance. So every kernel on the backward path needs a gradient here. A gradient that is
 * already registered (a fuller tfjs loaded in the same process) is left alone.
 *
 * Dense layers carry their own gradient (tf.customGrad in networks.ts) and are not listed.
 */

/** Sum `dy` over the axes along which `shape` was broadcast, then give it `shape`. */
function unbroadcast(dy: tf.Tensor, shape: number[]): tf.Tensor {
  if (dy.shape.length === shape.length && dy.shape.every((d, i) => d === shape[i])) return dy;
  const lead = dy.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < dy.rank; i++) {
    const inDim = i < lead ? 1 : shape[i - lead];
    if (inDim === 1 && dy.shape[i] !== 1) axes.push(i);
  }
  const summed = axes.length > 0 ? tf.sum(dy, axes, true) : dy;
  return tf.reshape(summed, shape);
}

/** Normalise a reduction's axis attribute to a sorted list of non-negative axes. */
function reductionAxes(axis: unknown, rank: number): number[] {
  if (axis === null || axis === undefined) return [...Array(rank).keys()];
  const list = Array.isArray(axis) ? (axis as number[]) : [axis as number];
  return list.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
}

/** Gradient of a sum or mean: dy broadcast back over the reduced axes (divided by their size for a mean). */
function reductionGrad(dy: tf.Tensor, x: tf.Tensor, axis: unknown, mean: boolean): tf.Tensor {
  const axes = reductionAxes(axis, x.rank);
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  let g = tf.mul(tf.reshape(dy, kept), tf.ones(x.shape));
  if (mean) g = tf.div(g, axes.reduce((n, a) => n * x.shape[a], 1));
  return g;
}

const configs: tf.GradConfig[] = [
  {
    kernelName: tf.Add,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => ({ a: () => unbroadcast(dy as tf.Tensor, saved[0].shape), b: () => unbroadcast(dy as tf.Tensor, saved[1].shape) }),
  },
  {
    kernelName: tf.Sub,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => ({ a: () => unbroadcast(dy as tf.Tensor, saved[0].shape), b: () => unbroadcast(tf.neg(dy as tf.Tensor), saved[1].shape) }),
  },
  {
    kernelName: tf.Multiply,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved;
      return { a: () => unbroadcast(tf.mul(dy as tf.Tensor, b), a.shape), b: () => unbroadcast(tf.mul(dy as tf.Tensor, a), b.shape) };
    },
  },
  {
    kernelName: tf.Minimum,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved;
      // Ties go to `a`, as in tfjs's own gradient.
      return {
        a: () => unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(tf.lessEqual(a, b), 'float32')), a.shape),
        b: () => unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(tf.greater(a, b), 'float32')), b.shape),
      };
    },
  },
  {
    kernelName: tf.Square,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(saved[0], 2)) }),
  },
  {
    kernelName: tf.Tanh,
    outputsToSave: [true],
    gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as tf.Tensor, tf.sub(1, tf.square(saved[0]))) }),
  },
  {
    kernelName: tf.Exp,
    outputsToSave: [true],
    gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as tf.Tensor, saved[0]) }),
  },
  {
    kernelName: tf.Softplus,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as tf.Tensor, tf.sigmoid(saved[0])) }),
  },
  {
    kernelName: tf.Neg,
    gradFunc: (dy) => ({ x: () => tf.neg(dy as tf.Tensor) }),
  },
  {
    kernelName: tf.Reshape,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => tf.reshape(dy as tf.Tensor, saved[0].shape) }),
  },
  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => ({ x: () => reductionGrad(dy as tf.Tensor, saved[0], attrs.axis, false) }),
  },
  {
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => ({ x: () => reductionGrad(dy as tf.Tensor, saved[0], attrs.axis, true) }),
  },
  {
    kernelName: tf.Concat,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const rank = saved[0].rank;
      const axis = (attrs.axis as number) < 0 ? (attrs.axis as number) + rank : (attrs.axis as number);
      const parts = tf.split(dy as tf.Tensor, saved.map((t) => t.shape[axis]), axis);
      const grads: Record<string, () => tf.Tensor> = {};
      parts.forEach((p, i) => (grads[i] = () => p));
      return grads;
    },
  },
  {
    // The actor's merged heads are split into mean and log-std columns. An output that got no
    // gradient (null) contributes zeros: its size along the axis is its listed split size, or
    // that of any other part for an even split.
    kernelName: tf.SplitV,
    gradFunc: (dy, _saved, attrs) => {
      const dys = dy as (tf.Tensor | null)[];
      const some = dys.find((d): d is tf.Tensor => d !== null)!;
      const axis = (attrs.axis as number) < 0 ? (attrs.axis as number) + some.rank : (attrs.axis as number);
      const sizes = attrs.numOrSizeSplits;
      const part = (d: tf.Tensor | null, i: number): tf.Tensor =>
        d ?? tf.zeros(some.shape.map((n, a) => (a === axis && Array.isArray(sizes) ? (sizes as number[])[i]! : n)));
      return { x: () => tf.concat(dys.map(part), axis) };
    },
  },
];

let registered = false;

/** Register the gradients above once per process (idempotent). */
export function registerSacGradients(): void {
  if (registered) return;
  registered = true;
  for (const c of configs) if (tf.getGradient(c.kernelName) === undefined) tf.registerGradient(c);
}
