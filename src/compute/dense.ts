/**
 * A dense layer y = act(x W + b) for 2-D x [batch, in], W [in, out], b [out], with the fewest
 * kernels the compute path allows (a building block for src/agent/networks.ts).
 *
 * Forward: one `_FusedMatMul` kernel on the 2-D tensors when sacbridge's GEMM kernels are
 * installed (tf.fused.matMul would add three Reshape kernels around it); elsewhere it is
 * tf.fused.matMul. Backward: tfjs's matmuls with transpose flags, which those kernels run at full
 * speed (explicit tf.transpose calls would each cost a kernel and a copy): dx = g W^T,
 * dW = x^T g, db = column sums of g, with g = dy * step(y) for ReLU.
 *
 * Only the gradients asked for are computed (`grads`): a layer reading data needs no dx, and a
 * network held fixed (SAC's critics in the actor step) needs only dx. tfjs's customGrad computes
 * every gradient it returns, so each case is its own op over just the tensors that get one.
 *
 * Saved for the backward pass is only what it reads: y for ReLU, x when dW is wanted. tfjs copies
 * every saved tensor (an Identity kernel; 256 KB for a 256x256 activation), so a variable's W
 * is read in place instead: nothing assigns a variable between a forward pass and its backward
 * pass. (Intermediate tensors must be saved: tfjs disposes the loss function's tensors before
 * the backward pass runs.)
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

/** Which gradients a dense layer passes back: all, only W and b (x is data), only x (W, b fixed). */
export type DenseGrads = 'all' | 'weights' | 'input';

/** act(x W + b), differentiable with respect to the tensors `grads` names. */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, activation: DenseActivation, grads: DenseGrads = 'all'): tf.Tensor2D {
  const relu = activation === 'relu';
  const needX = grads !== 'input';
  const wInPlace = w instanceof tf.Variable;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const y = forward(x, w, b, activation);
    save([...(needX ? [x] : []), ...(wInPlace ? [] : [w]), ...(relu ? [y] : [])]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const sx = (needX ? saved[0] : null) as tf.Tensor2D | null;
        const sw = (wInPlace ? w : saved[needX ? 1 : 0]) as tf.Tensor2D;
        // ReLU'(z) = step(y): y > 0 exactly where z > 0.
        const g = (relu ? tf.mul(dy, tf.step(saved[saved.length - 1]!)) : dy) as tf.Tensor2D;
        const dx = (): tf.Tensor => tf.matMul(g, sw, false, true);
        const dw = (): tf.Tensor => tf.matMul(sx!, g, true, false);
        const db = (): tf.Tensor => tf.sum(g, 0);
        return grads === 'all' ? [dx(), dw(), db()] : grads === 'weights' ? [dw(), db()] : [dx()];
      },
    };
  }) as unknown as (...inputs: tf.Tensor[]) => tf.Tensor2D;
  return grads === 'all' ? op(x, w, b) : grads === 'weights' ? op(w, b) : op(x);
}
