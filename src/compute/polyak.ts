/**
 * Polyak averaging of target networks, target <- tau source + (1 - tau) target, as one kernel
 * dispatch for a whole variable list on wasm (three tfjs ops per variable otherwise). The
 * `SacbridgePolyak` kernel writes fresh outputs (inputs are never written) with the same
 * arithmetic in the same order as the op version, so results are bit-identical.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { wasmPolyakOn } from './gemmProviders.js';
import type { WasmMemory } from './webAssembly.js';

export const POLYAK_KERNEL = 'SacbridgePolyak';

interface WasmBackendInternals {
  wasm: { asm: { memory: WasmMemory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

/** Register the Polyak kernel on the (initialised) wasm backend. Idempotent. */
export function installPolyakKernel(): void {
  if (tf.getKernel(POLYAK_KERNEL, 'wasm') !== undefined) return;
  const backend = tf.findBackend('wasm') as unknown as WasmBackendInternals | null;
  if (backend == null) throw new Error('the tfjs wasm backend is not initialised');
  const polyak = wasmPolyakOn(backend.wasm.asm.memory);
  const kernelFunc: KernelFunc = (args) => {
    const b = args.backend as unknown as WasmBackendInternals;
    const inputs = args.inputs as Record<string, TensorInfo>;
    const { count, tau } = args.attrs as { count: number; tau: number };
    const offset = (t: TensorInfo): number => (b.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset;
    const outputs: TensorInfo[] = [];
    for (let i = 0; i < count; i++) {
      const t = inputs[`t${i}`]!;
      const out = b.makeOutput(t.shape, 'float32');
      polyak(offset(t), offset(inputs[`s${i}`]!), offset(out), tf.util.sizeFromShape(t.shape), tau, 1 - tau);
      outputs.push(out);
    }
    return outputs;
  };
  tf.registerKernel({ kernelName: POLYAK_KERNEL, backendName: 'wasm', kernelFunc });
}

/** target <- tau source + (1 - tau) target for each pair; one kernel on wasm, tfjs ops elsewhere. */
export function polyakUpdate(targets: readonly tf.Variable[], sources: readonly tf.Variable[], tau: number): void {
  if (targets.length !== sources.length) throw new Error(`polyakUpdate: ${targets.length} targets but ${sources.length} sources`);
  targets.forEach((t, i) => {
    const s = sources[i]!;
    if (t.dtype !== 'float32' || s.dtype !== 'float32' || !tf.util.arraysEqual(t.shape, s.shape)) {
      throw new Error(`polyakUpdate: target ${t.name} [${t.shape}] and source ${s.name} [${s.shape}] must be float32 of one shape`);
    }
  });
  if (tf.getBackend() === 'wasm' && tf.getKernel(POLYAK_KERNEL, 'wasm') !== undefined) {
    const inputs: Record<string, tf.Tensor> = {};
    targets.forEach((t, i) => {
      inputs[`t${i}`] = t;
      inputs[`s${i}`] = sources[i]!;
    });
    const attrs = { count: targets.length, tau };
    const out = tf.engine().runKernel(POLYAK_KERNEL, inputs as unknown as tf.NamedTensorMap, attrs as unknown as NamedAttrMap) as unknown as tf.Tensor[];
    targets.forEach((t, i) => t.assign(out[i]!));
    tf.dispose(out);
    return;
  }
  polyakUpdateWithOps(targets, sources, tau);
}

/** The op version: the reference, and other backends' path. */
export function polyakUpdateWithOps(targets: readonly tf.Variable[], sources: readonly tf.Variable[], tau: number): void {
  tf.tidy(() => {
    targets.forEach((t, i) => t.assign(tf.add(tf.mul(sources[i]!, tau), tf.mul(t, 1 - tau))));
  });
}
