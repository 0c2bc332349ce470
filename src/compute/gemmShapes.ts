/**
 * The GEMMs of one fused SAC (v2) update, as shapes: what the kernel choice times
 * (kernelChoice.ts). The list follows src/agent/fusedSac.ts: the actor's forward pass over s' and
 * s together (as two batch items of B rows, its weights shared), the twin critics as batch-2
 * calls, then each backward pass (weight gradients as
 * transposed-A products, bias gradients as ones-vector products, input gradients as
 * transposed-B products). Defaults: HalfCheetah (obs 17, act 6), hidden 2x256, batch 256.
 */
export interface GemmShape {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  /** Batch items in one call (the twin critics: 2). */
  batch: number;
  /** A is shared by every batch item (stride 0). */
  broadcastA: boolean;
  bias: boolean;
  relu: boolean;
}

export interface UpdateSizes {
  observation: number;
  action: number;
  hidden: number;
  batch: number;
}

export const HALF_CHEETAH_SIZES: Readonly<UpdateSizes> = Object.freeze({ observation: 17, action: 6, hidden: 256, batch: 256 });

const g = (m: number, n: number, k: number, o: Partial<GemmShape> = {}): GemmShape => ({
  transA: false, transB: false, m, n, k, batch: 1, broadcastA: false, bias: false, relu: false, ...o,
});

export function updateGemmShapes(s: UpdateSizes = HALF_CHEETAH_SIZES): GemmShape[] {
  const { observation: O, action: A, hidden: H, batch: B } = s;
  const twin = { batch: 2 };
  const criticForward = [
    g(B, H, O + A, { ...twin, broadcastA: true, bias: true, relu: true }),
    g(B, H, H, { ...twin, bias: true, relu: true }),
    g(B, 1, H, { ...twin, bias: true }),
  ];
  return [
    // Actor forward on [s'; s], as two halves.
    g(B, H, O, { ...twin, bias: true, relu: true }),
    g(B, H, H, { ...twin, bias: true, relu: true }),
    g(B, 2 * A, H, { ...twin, bias: true }),
    // Target critics, then critics on the batch.
    ...criticForward,
    ...criticForward,
    // Critic backward: out layer, hidden layer, first layer (weights and biases).
    g(H, 1, B, { ...twin, transA: true }),
    g(1, 1, B, { ...twin, broadcastA: true }),
    g(B, H, 1, { ...twin, transB: true }),
    g(H, H, B, { ...twin, transA: true }),
    g(1, H, B, { ...twin, broadcastA: true }),
    g(B, H, H, { ...twin, transB: true }),
    g(O + A, H, B, { ...twin, transA: true, broadcastA: true }),
    g(1, H, B, { ...twin, broadcastA: true }),
    // Actor step: critics forward on (s, pi(s)), then back to the action only.
    ...criticForward,
    g(B, H, 1, { ...twin, transB: true }),
    g(B, H, H, { ...twin, transB: true }),
    g(B, A, H, { ...twin, transB: true }),
    // Actor backward.
    g(H, 2 * A, B, { transA: true }),
    g(1, 2 * A, B),
    g(B / 2, H, 2 * A, { ...twin, transB: true }),
    g(H, H, B, { transA: true }),
    g(1, H, B),
    g(B / 2, H, H, { ...twin, transB: true }),
    g(O, H, B, { transA: true }),
    g(1, H, B),
  ];
}

/** Floating-point operations of the shapes (2 m n k per product). */
export function shapesFlops(shapes: readonly GemmShape[]): number {
  return shapes.reduce((f, s) => f + 2 * s.m * s.n * s.k * s.batch, 0);
}
