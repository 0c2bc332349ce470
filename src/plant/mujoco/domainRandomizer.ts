import type { EpisodeRandomizer, Plant } from '../plant.js';
import type { Rng } from '../../util/rng.js';
import { MujocoPlant, type NominalParameters } from './mujocoPlant.js';

/** A closed range [low, high] of multiplicative factors; [1, 1] leaves a parameter nominal. */
export type FactorRange = readonly [low: number, high: number];

export interface DomainRandomizationOptions {
  /** Factor on every body's mass (and, with it, its rotational inertia), drawn per body. Default [1, 1]. */
  mass?: FactorRange;
  /** Factor on every geom's sliding friction coefficient, drawn per geom. Default [1, 1]. */
  friction?: FactorRange;
  /**
   * Factor on every actuator's gain (gainprm[0]; for affine-biased servos the matching
   * biasprm[1..2] scale with it so position/velocity servos stay consistent), drawn per actuator.
   * Default [1, 1].
   */
  actuatorGain?: FactorRange;
  /** Standard deviation of Gaussian noise added to every observation component. Default 0. */
  observationNoiseStd?: number;
  /** Largest action latency in control ticks; each episode draws 0..maxActionLatency uniformly. Default 0. */
  maxActionLatency?: number;
}

/**
 * Sim domain randomisation, per episode, relative to the nominal model values the plant saved
 * when it loaded the model (so draws never compound across episodes).
 */
export class DomainRandomizer implements EpisodeRandomizer {
  private readonly mass: FactorRange;
  private readonly friction: FactorRange;
  private readonly actuatorGain: FactorRange;
  private readonly noiseStd: number;
  private readonly maxLatency: number;

  constructor(options: DomainRandomizationOptions) {
    this.mass = checkRange('mass', options.mass);
    this.friction = checkRange('friction', options.friction);
    this.actuatorGain = checkRange('actuatorGain', options.actuatorGain);
    this.noiseStd = options.observationNoiseStd ?? 0;
    if (!(this.noiseStd >= 0 && Number.isFinite(this.noiseStd))) {
      throw new Error(`domain randomisation: observationNoiseStd must be a finite number >= 0, got ${options.observationNoiseStd}`);
    }
    this.maxLatency = options.maxActionLatency ?? 0;
    if (!Number.isInteger(this.maxLatency) || this.maxLatency < 0) {
      throw new Error(`domain randomisation: maxActionLatency must be an integer >= 0 (ticks), got ${options.maxActionLatency}`);
    }
  }

  apply(plant: Plant, rng: Rng): void {
    if (!(plant instanceof MujocoPlant)) {
      throw new Error(`domain randomisation needs a MuJoCo plant, got a '${plant.kind}' plant`);
    }
    const model = plant.model;
    const nominal: NominalParameters = plant.nominal;
    // Views are taken fresh: a cached model view dies when WebAssembly memory grows.
    const mass = model.body_mass as Float64Array;
    const inertia = model.body_inertia as Float64Array;
    for (let b = 0; b < mass.length; b++) {
      const f = draw(rng, this.mass);
      mass[b] = nominal.bodyMass[b] * f;
      for (let k = 0; k < 3; k++) inertia[3 * b + k] = nominal.bodyInertia[3 * b + k] * f;
    }
    const friction = model.geom_friction as Float64Array;
    friction.set(nominal.geomFriction);
    for (let g = 0; g < friction.length / 3; g++) friction[3 * g] = nominal.geomFriction[3 * g] * draw(rng, this.friction);
    const gain = model.actuator_gainprm as Float64Array;
    const bias = model.actuator_biasprm as Float64Array;
    gain.set(nominal.actuatorGainprm);
    bias.set(nominal.actuatorBiasprm);
    const biasAffine = model.actuator_biastype as Int32Array;
    const stride = gain.length / Math.max(1, plant.command.size);
    for (let a = 0; a < plant.command.size; a++) {
      const f = draw(rng, this.actuatorGain);
      gain[a * stride] *= f;
      if (biasAffine[a] === plant.mujoco.mjtBias.mjBIAS_AFFINE.value) {
        bias[a * stride + 1] *= f;
        bias[a * stride + 2] *= f;
      }
    }
    plant.setCommandDelay(this.maxLatency === 0 ? 0 : rng.int(this.maxLatency + 1));
  }

  perturbObservation(observation: Float32Array, rng: Rng): void {
    if (this.noiseStd === 0) return;
    for (let i = 0; i < observation.length; i++) observation[i] += this.noiseStd * rng.normal();
  }
}

function checkRange(name: string, range: FactorRange | undefined): FactorRange {
  if (range === undefined) return [1, 1];
  const [low, high] = range;
  if (!(Number.isFinite(low) && Number.isFinite(high) && low > 0 && low <= high)) {
    throw new Error(`domain randomisation: ${name} must be a range [low, high] of factors with 0 < low <= high, got [${low}, ${high}]`);
  }
  return range;
}

/** A factor in [low, high]; no draw for a fixed range so unrandomised parameters cost no numbers. */
function draw(rng: Rng, [low, high]: FactorRange): number {
  return low === high ? low : rng.range(low, high);
}
