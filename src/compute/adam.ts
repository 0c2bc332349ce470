/**
 * Adam's parameter update as one kernel dispatch for a whole list of variables.
 *
 * Written with tfjs ops, one Adam step costs about 12 kernels per variable (~350 for SAC's
 * networks), and on the wasm backend each dispatch costs ~6-10 us before any arithmetic. The
 * `SacbridgeAdam` kernel does the same arithmetic, in the same order, in WebAssembly SIMD on
 * tfjs-wasm's memory, writing fresh output tensors (inputs are never written: XNNPACK caches by
 * tensor id). Its results are bit-identical to the op version, which other backends run.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { wasmAdamOn } from './gemmProviders.js';
import type { WasmMemory } from './webAssembly.js';

export const ADAM_KERNEL = 'SacbridgeAdam';

export interface AdamCoefficients {
  beta1: number;
  beta2: number;
  /** Bias-corrected step size, lr sqrt(1 - beta2^t) / (1 - beta1^t). */
  stepSize: number;
  /** Epsilon in the same correction, eps sqrt(1 - beta2^t). */
  epsHat: number;
}

/** Adam's coefficients at step t (1-based): the bias corrections folded into the step size and epsilon. */
export function adamCoefficients(learningRate: number, beta1: number, beta2: number, epsilon: number, t: number): AdamCoefficients {
  const c1 = 1 - Math.pow(beta1, t);
  const c2 = 1 - Math.pow(beta2, t);
  return { beta1, beta2, stepSize: (learningRate * Math.sqrt(c2)) / c1, epsHat: epsilon * Math.sqrt(c2) };
}

interface WasmBackendInternals {
  wasm: { asm: { memory: WasmMemory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

/** Register the fused Adam kernel on the (initialised) wasm backend. Idempotent. */
export function installAdamKernel(): void {
  if (tf.getKernel(ADAM_KERNEL, 'wasm') !== undefined) return;
  const backend = tf.findBackend('wasm') as unknown as WasmBackendInternals | null;
  if (backend == null) throw new Error('the tfjs wasm backend is not initialised');
  const adam = wasmAdamOn(backend.wasm.asm.memory);
  const kernelFunc: KernelFunc = (args) => {
    const b = args.backend as unknown as WasmBackendInternals;
    const inputs = args.inputs as Record<string, TensorInfo>;
    const attrs = args.attrs as NamedAttrMap;
    const count = attrs.count as number;
    const [b1, b2, step, eps] = [attrs.beta1, attrs.beta2, attrs.stepSize, attrs.epsHat] as number[];
    const offset = (t: TensorInfo): number => (b.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset;
    const outputs: TensorInfo[] = [];
    for (let i = 0; i < count; i++) {
      const p = inputs[`p${i}`]!;
      const pOut = b.makeOutput(p.shape, 'float32');
      const mOut = b.makeOutput(p.shape, 'float32');
      const vOut = b.makeOutput(p.shape, 'float32');
      adam(offset(p), offset(inputs[`g${i}`]!), offset(inputs[`m${i}`]!), offset(inputs[`v${i}`]!), offset(pOut), offset(mOut), offset(vOut),
        tf.util.sizeFromShape(p.shape), b1!, 1 - b1!, b2!, 1 - b2!, step!, eps!);
      outputs.push(pOut, mOut, vOut);
    }
    return outputs;
  };
  tf.registerKernel({ kernelName: ADAM_KERNEL, backendName: 'wasm', kernelFunc });
}

/**
 * One Adam step: params, first and second moments are updated in place (as tf.Variables) from
 * `grads`. One kernel on wasm (after installAdamKernel), tfjs ops elsewhere.
 */
export function adamStep(params: readonly tf.Variable[], grads: readonly tf.Tensor[], m: readonly tf.Variable[], v: readonly tf.Variable[], c: AdamCoefficients): void {
  const n = params.length;
  if (grads.length !== n || m.length !== n || v.length !== n) throw new Error(`adamStep: ${n} params but ${grads.length} grads, ${m.length} m, ${v.length} v`);
  params.forEach((p, i) => {
    for (const [what, t] of [['gradient', grads[i]!], ['m', m[i]!], ['v', v[i]!]] as const) {
      if (t.dtype !== 'float32' || !tf.util.arraysEqual(t.shape, p.shape)) {
        throw new Error(`adamStep: ${what} ${i} has shape [${t.shape}] (${t.dtype}), variable ${p.name} has [${p.shape}] (float32 expected)`);
      }
    }
  });
  if (tf.getBackend() === 'wasm' && tf.getKernel(ADAM_KERNEL, 'wasm') !== undefined) {
    const inputs: Record<string, tf.Tensor> = {};
    params.forEach((p, i) => {
      inputs[`p${i}`] = p;
      inputs[`g${i}`] = grads[i]!;
      inputs[`m${i}`] = m[i]!;
      inputs[`v${i}`] = v[i]!;
    });
    const attrs = { count: n, beta1: c.beta1, beta2: c.beta2, stepSize: c.stepSize, epsHat: c.epsHat };
    const out = tf.engine().runKernel(ADAM_KERNEL, inputs as unknown as tf.NamedTensorMap, attrs as unknown as NamedAttrMap) as unknown as tf.Tensor[];
    for (let i = 0; i < n; i++) {
      params[i]!.assign(out[3 * i]!);
      m[i]!.assign(out[3 * i + 1]!);
      v[i]!.assign(out[3 * i + 2]!);
    }
    tf.dispose(out);
    return;
  }
  adamStepWithOps(params, grads, m, v, c);
}

/** The same step with tfjs ops (~12 kernels per variable): the reference, and other backends' path. */
export function adamStepWithOps(params: readonly tf.Variable[], grads: readonly tf.Tensor[], m: readonly tf.Variable[], v: readonly tf.Variable[], c: AdamCoefficients): void {
  const n = params.length;
  tf.tidy(() => {
    for (let i = 0; i < n; i++) {
      const g = grads[i]!;
      const mi = tf.add(tf.mul(m[i]!, c.beta1), tf.mul(g, 1 - c.beta1));
      const vi = tf.add(tf.mul(v[i]!, c.beta2), tf.mul(tf.square(g), 1 - c.beta2));
      m[i]!.assign(mi);
      v[i]!.assign(vi);
      params[i]!.assign(tf.sub(params[i]!, tf.div(tf.mul(mi, c.stepSize), tf.add(tf.sqrt(vi), c.epsHat))));
    }
  });
}
