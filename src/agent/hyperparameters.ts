/** SAC's hyperparameters (defaults and checks: sac.ts's DEFAULT_SAC_HYPERPARAMETERS, resolveHyperparameters). */

export type SacVariant = 'v1' | 'v2';

export interface SacHyperparameters {
  variant: SacVariant;
  /** Hidden layer sizes of every network. */
  hidden: number[];
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
  /** Actor and temperature steps every this many updates, f of them at once (1: every update). */
  policyFrequency: number;
  /** Learn the temperature (true) or keep it at initialAlpha. */
  autoAlpha: boolean;
  initialAlpha: number;
  /** Target entropy for the learned temperature; null means -|A|. */
  targetEntropy: number | null;
  /** Normalise observations with running statistics. */
  normalizeObservations: boolean;
}
