/**
 * Anything that turns an observation into an action in [-1, 1]^n: the SAC actor's fast path,
 * a random policy, a remote controller. `version` counts weight updates so that every action
 * can be traced to the weights that produced it.
 */
export interface ActionPolicy {
  readonly observationSize: number;
  readonly actionSize: number;
  readonly version: number;
  /** Write the action for `observation` into `out`. Deterministic = tanh(mean). */
  act(observation: Float32Array, deterministic: boolean, out: Float32Array): void;
}

/**
 * The actor's weights outside tfjs, for the fast policy (fastPolicy.ts).
 * Dense layers store W row-major as [in][out] (tfjs's kernel layout), so y = x W + b.
 * Hidden layers use ReLU; the two heads read the last hidden layer. The log-std head output is
 * squashed as CleanRL does: logStd = LOG_STD_MIN + 0.5 (LOG_STD_MAX - LOG_STD_MIN)(tanh(raw) + 1).
 */
export interface DenseWeights {
  readonly inSize: number;
  readonly outSize: number;
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
}

export interface ActorWeights {
  readonly hidden: readonly DenseWeights[];
  readonly mean: DenseWeights;
  readonly logStd: DenseWeights;
  /** Running observation normaliser, applied before the first layer: (obs - mean) / std, clipped. */
  readonly normalizer?: { readonly mean: Float32Array; readonly std: Float32Array; readonly clip: number };
}

export const LOG_STD_MIN = -5;
export const LOG_STD_MAX = 2;
