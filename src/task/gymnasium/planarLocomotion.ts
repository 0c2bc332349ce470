import type { Signals, SimulatorAccess } from '../../plant/plant.js';
import { requireSignal } from '../../plant/plant.js';
import type { Rng } from '../../util/rng.js';
import type { StepScore, Task } from '../task.js';
import { put, setNoisyInitialState, sumOfSquares, type ResetNoise } from '../taskMath.js';

/** Parameters of a planar runner in the style of Gymnasium's HalfCheetah/Hopper/Walker2d v5. */
export interface PlanarLocomotionConfig {
  readonly name: string;
  readonly nq: number;
  readonly nv: number;
  readonly forwardRewardWeight: number;
  readonly ctrlCostWeight: number;
  /** Clip velocities in the observation to [-c, c] (Hopper/Walker2d: 10); none if absent. */
  readonly observationVelocityClip?: number;
  /** Healthy bonus and the check; without a check the episode never terminates. */
  readonly healthy?: { readonly reward: number; readonly check: (qpos: Float64Array, qvel: Float64Array) => boolean };
  readonly maxEpisodeSteps: number;
  readonly resetNoise: { readonly qpos: ResetNoise; readonly qvel: ResetNoise };
}

/**
 * Observation qpos[1:] (x excluded) then qvel; reward = w * vx + healthy_reward - ctrl_cost,
 * vx = (x_after - x_before) / dt with x = qpos[0] and dt from the 'time' signal (the control
 * period on MuJoCo). Terms carry their sign so that they sum to the reward.
 */
export class PlanarLocomotionTask implements Task {
  readonly name: string;
  readonly observationSize: number;
  readonly maxEpisodeSteps: number;
  readonly requiredSignals: readonly { name: string; size: number }[];
  private x = 0;
  private t = 0;

  constructor(private readonly config: PlanarLocomotionConfig) {
    this.name = config.name;
    this.observationSize = config.nq - 1 + config.nv;
    this.maxEpisodeSteps = config.maxEpisodeSteps;
    this.requiredSignals = [
      { name: 'qpos', size: config.nq },
      { name: 'qvel', size: config.nv },
      { name: 'time', size: 1 },
    ];
  }

  initializeEpisode(sim: SimulatorAccess, rng: Rng): void {
    setNoisyInitialState(sim, rng, this.config.resetNoise.qpos, this.config.resetNoise.qvel);
  }

  beginEpisode(signals: Signals): void {
    this.x = requireSignal(signals, 'qpos')[0];
    this.t = requireSignal(signals, 'time')[0];
  }

  observe(signals: Signals, out: Float32Array): void {
    const qpos = requireSignal(signals, 'qpos');
    const qvel = requireSignal(signals, 'qvel');
    const c = this.config.observationVelocityClip ?? Infinity;
    const at = put(out, 0, qpos, 1);
    put(out, at, qvel, 0, qvel.length, -c, c);
  }

  score(signals: Signals, command: Float64Array): StepScore {
    const qpos = requireSignal(signals, 'qpos');
    const qvel = requireSignal(signals, 'qvel');
    const t = requireSignal(signals, 'time')[0];
    const vx = (qpos[0] - this.x) / (t - this.t);
    this.x = qpos[0];
    this.t = t;
    const forward = this.config.forwardRewardWeight * vx;
    const ctrl = this.config.ctrlCostWeight * sumOfSquares(command);
    const terms: Record<string, number> = { forward_reward: forward, ctrl_cost: -ctrl };
    let reward = forward - ctrl;
    let terminated = false;
    const healthy = this.config.healthy;
    if (healthy !== undefined) {
      const ok = healthy.check(qpos, qvel);
      const bonus = ok ? healthy.reward : 0;
      terms.healthy_reward = bonus;
      reward += bonus;
      terminated = !ok;
    }
    return { reward, terms, terminated };
  }
}
