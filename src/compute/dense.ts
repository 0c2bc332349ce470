/**
 * A dense layer y = act(x W + b) for 2-D x [batch, in], W [in, out], b [out], with the fewest
 * kernels the compute path allows (a building block for src/agent/networks.ts).
 *
 * Forward: one `_FusedMatMul` kernel on the 2-D tensors when sacbridge's GEMM kernels are
 * installed (tf.fused.matMul would add three Reshape kernels around it); elsewhere it is
 * tf.fused.matMul. Backward: tfjs's matmuls with transpose flags, which those kernels run at full
 * speed (explicit tf.transpose calls would each cost a kernel and a copy): dx = g W^T,
 * dW = x^T g, db = column sums of g, with g = dy * step(y) for ReLU.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedAttrMap } from '@tensorflow/tfjs-core';
import { gemmProvider } from './gemmKernels.js';

export type DenseActivation = 'relu' | 'linear';

/** True when _FusedMatMul accepts 2-D operands: our heap GEMM kernels on the wasm backend. */
function directKernel(): boolean {
  const p = gemmProvider();
  return tf.getBackend() === 'wasm' && (p === 'openblas' || p === 'wasm-simd' || p === 'wasm-simd-copy');
}

function forward(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, activation: DenseActivation): tf.Tensor2D {
  if (directKernel()) {
    const attrs = { transposeA: false, transposeB: false, activation, leakyreluAlpha: 0 };
    return tf.engine().runKernel('_FusedMatMul', { a: x, b: w, bias: b }, attrs as unknown as NamedAttrMap) as tf.Tensor2D;
  }
  return tf.fused.matMul({ a: x, b: w, bias: b, activation }) as tf.Tensor2D;
}

function makeDense(activation: DenseActivation): (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D {
  const relu = activation === 'relu';
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w, b] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
    const save = args[3] as tf.GradSaveFunc;
    const y = forward(x, w, b, activation);
    // tfjs copies every saved tensor (one Identity kernel each). A variable's weights are read
    // in place instead: nothing assigns a variable between a forward pass and its backward pass.
    const wIsVariable = w instanceof tf.Variable;
    save([x, ...(wIsVariable ? [] : [w]), ...(relu ? [y] : [])]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const sx = saved[0] as tf.Tensor2D;
        const sw = (wIsVariable ? w : saved[1]) as tf.Tensor2D;
        // ReLU'(z) = step(y): y > 0 exactly where z > 0.
        const g = (relu ? tf.mul(dy, tf.step(saved[saved.length - 1]!)) : dy) as tf.Tensor2D;
        return [tf.matMul(g, sw, false, true), tf.matMul(sx, g, true, false), tf.sum(g, 0)];
      },
    };
  });
  return op as unknown as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;
}

const denseRelu = makeDense('relu');
const denseLinear = makeDense('linear');

/** act(x W + b), differentiable with respect to x, W and b. */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, activation: DenseActivation): tf.Tensor2D {
  return (activation === 'relu' ? denseRelu : denseLinear)(x, w, b);
}
