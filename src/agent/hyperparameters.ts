/** SAC's hyperparameters (defaults and checks: sac.ts's DEFAULT_SAC_HYPERPARAMETERS, resolveHyperparameters). */
import type { Initialization } from './networks.js';

export type SacVariant = 'v1' | 'v2';

export interface SacHyperparameters {
  variant: SacVariant;
  /** Hidden layer sizes of the actor, and of the critics unless criticHidden is set. */
  hidden: number[];
  /** Hidden layer sizes of the critics (Q, and V in v1); null means `hidden`. */
  criticHidden: number[] | null;
  /** LayerNorm (learned gain and bias) before each critic hidden layer's ReLU (DroQ). */
  criticLayerNorm: boolean;
  /** Dropout rate on each critic hidden layer, before the LayerNorm (DroQ: 0.01); 0 = none. */
  criticDropout: number;
  /** Adam step size of every network and the temperature, unless overridden below. */
  learningRate: number;
  /** Actor's step size; null means learningRate. */
  actorLearningRate: number | null;
  /** Q (and V) step size; null means learningRate. */
  criticLearningRate: number | null;
  /** Temperature's step size; null means learningRate. */
  alphaLearningRate: number | null;
  batchSize: number;
  gamma: number;
  tau: number;
  bufferSize: number;
  /** Env steps with uniform random actions and no updates before learning starts. */
  learningStarts: number;
  /** Gradient steps per env step. */
  updatesPerStep: number;
  /** Actor and temperature steps every this many updates (1: every update). */
  policyFrequency: number;
  /**
   * With policyFrequency f > 1: true takes f actor steps at once every f-th update (CleanRL),
   * false takes one (TD3, DroQ: one actor step per f critic steps).
   */
  policyCatchUp: boolean;
  /** Polyak-average the targets every this many updates (CleanRL's target_network_frequency). */
  targetUpdateFrequency: number;
  /** Learn the temperature (true) or keep it at initialAlpha. */
  autoAlpha: boolean;
  initialAlpha: number;
  /** Target entropy for the learned temperature; null means -|A|. */
  targetEntropy: number | null;
  /** Normalise observations with running statistics. */
  normalizeObservations: boolean;
  /** How every network's weights start (see initialLayer in networks.ts). */
  initialization: Initialization;
}
