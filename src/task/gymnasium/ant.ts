import type { Signals, SimulatorAccess } from '../../plant/plant.js';
import { requireSignal } from '../../plant/plant.js';
import type { Rng } from '../../util/rng.js';
import type { StepScore, Task, TaskDefinition } from '../task.js';
import { allFiniteValues, put, setNoisyInitialState, sumOfClippedSquares, sumOfSquares } from '../taskMath.js';

const NQ = 15;
const NV = 14;
const NBODY = 14;
/** Body 1 is the torso, whose x velocity is rewarded. */
const TORSO = 1;

/** 0.2 <= z <= 1.0 (inclusive) and every qpos/qvel finite. */
export function antIsHealthy(qpos: Float64Array, qvel: Float64Array): boolean {
  return allFiniteValues(qpos) && allFiniteValues(qvel) && qpos[2] >= 0.2 && qpos[2] <= 1.0;
}

/**
 * Gymnasium Ant-v5. Observation qpos[2:] (13), qvel (14), clip(cfrc_ext[1:], -1, 1) (78).
 * Reward forward_reward + healthy_reward - ctrl_cost - contact_cost.
 */
export class AntTask implements Task {
  readonly name = 'Ant-v5';
  readonly observationSize = NQ - 2 + NV + (NBODY - 1) * 6;
  readonly maxEpisodeSteps = 1000;
  readonly requiredSignals = [
    { name: 'qpos', size: NQ },
    { name: 'qvel', size: NV },
    { name: 'xpos', size: NBODY * 3 },
    { name: 'cfrc_ext', size: NBODY * 6 },
    { name: 'time', size: 1 },
  ] as const;
  private x = 0;
  private t = 0;

  initializeEpisode(sim: SimulatorAccess, rng: Rng): void {
    setNoisyInitialState(sim, rng, { kind: 'uniform', scale: 0.1 }, { kind: 'normal', scale: 0.1 });
  }

  beginEpisode(signals: Signals): void {
    this.x = requireSignal(signals, 'xpos')[3 * TORSO];
    this.t = requireSignal(signals, 'time')[0];
  }

  observe(signals: Signals, out: Float32Array): void {
    let at = put(out, 0, requireSignal(signals, 'qpos'), 2);
    at = put(out, at, requireSignal(signals, 'qvel'));
    put(out, at, requireSignal(signals, 'cfrc_ext'), 6, (NBODY - 1) * 6, -1, 1);
  }

  score(signals: Signals, command: Float64Array): StepScore {
    const qpos = requireSignal(signals, 'qpos');
    const qvel = requireSignal(signals, 'qvel');
    const x = requireSignal(signals, 'xpos')[3 * TORSO];
    const t = requireSignal(signals, 'time')[0];
    const forward = (x - this.x) / (t - this.t);
    this.x = x;
    this.t = t;
    const healthy = antIsHealthy(qpos, qvel);
    const healthyReward = healthy ? 1 : 0;
    const ctrl = 0.5 * sumOfSquares(command);
    const contact = 5e-4 * sumOfClippedSquares(requireSignal(signals, 'cfrc_ext'), -1, 1);
    return {
      reward: forward + healthyReward - ctrl - contact,
      terms: { forward_reward: forward, healthy_reward: healthyReward, ctrl_cost: -ctrl, contact_cost: -contact },
      terminated: !healthy,
    };
  }
}

export const antV5: TaskDefinition = {
  name: 'Ant-v5',
  description: 'Gymnasium Ant-v5: quadruped walks forward (obs 105 with contact forces, act 8, 1000 steps)',
  defaultModel: 'ant.xml',
  frameSkip: 5,
  create: () => new AntTask(),
};
