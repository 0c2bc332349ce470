/**
 * Gradients for the few kernels the compute tests and benchmarks differentiate through.
 * tfjs-core's Node bundle registers none (the umbrella @tensorflow/tfjs package does), so tf.grads
 * needs these. BatchMatMul's is tfjs's own rule, matmuls with transpose flags, which is exactly
 * what the GEMM kernels must make fast. Already registered gradients are left alone.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Sum `dy` over the axes along which `shape` was broadcast. */
function unbroadcast(dy: tf.Tensor, shape: number[]): tf.Tensor {
  if (dy.shape.length === shape.length && dy.shape.every((d, i) => d === shape[i])) return dy;
  const lead = dy.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < dy.rank; i++) if ((i < lead ? 1 : shape[i - lead]) === 1 && dy.shape[i] !== 1) axes.push(i);
  return tf.reshape(axes.length > 0 ? tf.sum(dy, axes, true) : dy, shape);
}

function reduceGrad(dy: tf.Tensor, x: tf.Tensor, axis: unknown, mean: boolean): tf.Tensor {
  const list = axis == null ? [...Array(x.rank).keys()] : (Array.isArray(axis) ? (axis as number[]) : [axis as number]).map((a) => (a < 0 ? a + x.rank : a));
  const kept = x.shape.map((d, i) => (list.includes(i) ? 1 : d));
  const g = tf.mul(tf.reshape(dy, kept), tf.ones(x.shape));
  return mean ? tf.div(g, list.reduce((n, a) => n * x.shape[a]!, 1)) : g;
}

const configs: tf.GradConfig[] = [
  {
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return { a: () => tf.matMul(g, b, false, true), b: () => tf.matMul(a, g, true, false) };
      if (!transposeA && transposeB) return { a: () => tf.matMul(g, b, false, false), b: () => tf.matMul(g, a, true, false) };
      if (transposeA && !transposeB) return { a: () => tf.matMul(b, g, false, true), b: () => tf.matMul(a, g, false, false) };
      return { a: () => tf.matMul(b, g, true, true), b: () => tf.matMul(g, a, true, true) };
    },
  },
  {
    kernelName: tf.Add,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => ({ a: () => unbroadcast(dy as tf.Tensor, saved[0]!.shape), b: () => unbroadcast(dy as tf.Tensor, saved[1]!.shape) }),
  },
  {
    kernelName: tf.Sub,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => ({ a: () => unbroadcast(dy as tf.Tensor, saved[0]!.shape), b: () => unbroadcast(tf.neg(dy as tf.Tensor), saved[1]!.shape) }),
  },
  {
    kernelName: tf.Multiply,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => ({
      a: () => unbroadcast(tf.mul(dy as tf.Tensor, saved[1]!), saved[0]!.shape),
      b: () => unbroadcast(tf.mul(dy as tf.Tensor, saved[0]!), saved[1]!.shape),
    }),
  },
  {
    kernelName: tf.Minimum,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => ({
      a: () => unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(tf.lessEqual(saved[0]!, saved[1]!), 'float32')), saved[0]!.shape),
      b: () => unbroadcast(tf.mul(dy as tf.Tensor, tf.cast(tf.greater(saved[0]!, saved[1]!), 'float32')), saved[1]!.shape),
    }),
  },
  { kernelName: tf.Square, inputsToSave: ['x'], gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(saved[0]!, 2)) }) },
  { kernelName: tf.Tanh, outputsToSave: [true], gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as tf.Tensor, tf.sub(1, tf.square(saved[0]!))) }) },
  { kernelName: tf.Log, inputsToSave: ['x'], gradFunc: (dy, saved) => ({ x: () => tf.div(dy as tf.Tensor, saved[0]!) }) },
  { kernelName: tf.Exp, outputsToSave: [true], gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as tf.Tensor, saved[0]!) }) },
  { kernelName: tf.Softplus, inputsToSave: ['x'], gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as tf.Tensor, tf.sigmoid(saved[0]!)) }) },
  { kernelName: tf.Neg, gradFunc: (dy) => ({ x: () => tf.neg(dy as tf.Tensor) }) },
  { kernelName: tf.Relu, inputsToSave: ['x'], gradFunc: (dy, saved) => ({ x: () => tf.mul(dy as tf.Tensor, tf.step(saved[0]!)) }) },
  { kernelName: tf.Reshape, inputsToSave: ['x'], gradFunc: (dy, saved) => ({ x: () => tf.reshape(dy as tf.Tensor, saved[0]!.shape) }) },
  { kernelName: tf.Sum, inputsToSave: ['x'], gradFunc: (dy, saved, attrs) => ({ x: () => reduceGrad(dy as tf.Tensor, saved[0]!, attrs.axis, false) }) },
  { kernelName: tf.Mean, inputsToSave: ['x'], gradFunc: (dy, saved, attrs) => ({ x: () => reduceGrad(dy as tf.Tensor, saved[0]!, attrs.axis, true) }) },
  {
    kernelName: tf.Concat,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const axis = (attrs.axis as number) < 0 ? (attrs.axis as number) + saved[0]!.rank : (attrs.axis as number);
      const parts = tf.split(dy as tf.Tensor, saved.map((t) => t.shape[axis]!), axis);
      return Object.fromEntries(parts.map((p, i) => [String(i), () => p]));
    },
  },
];

let done = false;

export function registerTestGradients(): void {
  if (done) return;
  done = true;
  for (const c of configs) if (tf.getGradient(c.kernelName) === undefined) tf.registerGradient(c);
}
