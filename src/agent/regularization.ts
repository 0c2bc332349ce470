import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../util/rng.js';

/**
 * The pieces of a DroQ-style critic hidden layer (Hiraoka et al. 2022, "Dropout Q-Functions for
 * Doubly Efficient Reinforcement Learning"): after the linear map, dropout, then LayerNorm with a
 * learned gain and bias, then ReLU, as one differentiable op (tfjs-core here registers no
 * gradients of its own for these kernels, and one op is fewer dispatches than ~12 recorded ones).
 * Pure tfjs: runs on every backend.
 */

/** PyTorch's LayerNorm epsilon. */
export const LAYER_NORM_EPSILON = 1e-5;

/**
 * A dropout mask for a [rows, cols] activation: 0 with probability `rate`, else 1 / (1 - rate)
 * (inverted dropout, so the expected activation is unchanged). The dropped positions are drawn as
 * geometric gaps between them, which is the same distribution as one Bernoulli draw per entry
 * but costs one uniform per dropped entry (rate 0.01: ~650 draws for 256x256 instead of 65,536).
 */
export function dropoutMask(rows: number, cols: number, rate: number, rng: Rng): Float32Array {
  const mask = new Float32Array(rows * cols).fill(1 / (1 - rate));
  if (rate <= 0) return mask.fill(1);
  const logKeep = Math.log(1 - rate);
  // Position of the next dropped entry: the number of kept entries before it is Geometric(rate).
  let i = -1;
  for (;;) {
    const u = 1 - rng.uniform(); // (0, 1]
    i += 1 + Math.floor(Math.log(u) / logKeep);
    if (i >= mask.length) return mask;
    mask[i] = 0;
  }
}

/**
 * relu(LayerNorm(z * mask) * gain + bias) over the last axis of z [B, H]; `mask` null means no
 * dropout. With x = z * mask, xhat = (x - mean) / sqrt(var + eps), y = relu(xhat gain + bias) and
 * upstream dy: d = dy step(y), dgain = sum_rows d xhat, dbias = sum_rows d, and with g = d gain,
 * dx = (g - mean(g) - xhat mean(g xhat)) / sqrt(var + eps), dz = dx * mask.
 */
export function normalizedRelu(z: tf.Tensor2D, gain: tf.Tensor1D, bias: tf.Tensor1D, mask: tf.Tensor2D | null): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [zIn, g, b] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
    const save = args[3] as tf.GradSaveFunc;
    const x = mask === null ? zIn : tf.mul(zIn, mask);
    const mean = tf.mean(x, 1, true);
    const centred = tf.sub(x, mean);
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), 1, true), LAYER_NORM_EPSILON));
    const xhat = tf.mul(centred, rstd);
    const y = tf.relu(tf.add(tf.mul(xhat, g), b)) as tf.Tensor2D;
    // The mask is saved too: tfjs disposes the forward pass's tensors before the backward pass.
    save([xhat, rstd, y, g, ...(mask === null ? [] : [mask])]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sr, sy, sg, sm] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D | undefined];
        const d = tf.mul(dy, tf.step(sy));
        const gx = tf.mul(d, sg);
        const dx = tf.mul(tf.sub(tf.sub(gx, tf.mean(gx, 1, true)), tf.mul(sx, tf.mean(tf.mul(gx, sx), 1, true))), sr);
        return [sm === undefined ? dx : tf.mul(dx, sm), tf.sum(tf.mul(d, sx), 0), tf.sum(d, 0)];
      },
    };
  }) as unknown as (z: tf.Tensor2D, gain: tf.Tensor1D, bias: tf.Tensor1D) => tf.Tensor2D;
  return op(z, gain, bias);
}

/** relu(z * mask): dropout without LayerNorm, as one op (d/dz = dy step(y) mask). */
export function maskedRelu(z: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const y = tf.relu(tf.mul(args[0] as tf.Tensor2D, mask)) as tf.Tensor2D;
    (args[1] as tf.GradSaveFunc)([y, mask]);
    return { value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(tf.mul(dy, tf.step(saved[0]!)), saved[1]!)] };
  }) as unknown as (z: tf.Tensor2D) => tf.Tensor2D;
  return op(z);
}
