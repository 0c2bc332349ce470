import type { TaskDefinition } from '../task.js';
import { PlanarLocomotionTask } from '../gymnasium/planarLocomotion.js';

/**
 * A planar two-legged runner (sim/planar_runner.xml: root x, z, pitch + hip and knee per leg).
 * Observation qpos[1:] (6) and qvel (7); reward forward velocity - 0.1 |u|^2, never
 * terminates, 1000 ticks of 0.025 s. Reset noise as HalfCheetah's.
 */
export const planarRunner: TaskDefinition = {
  name: 'planar_runner',
  description: 'built-in: planar two-legged runner, reward forward speed minus control cost (obs 13, act 4, 1000 steps)',
  defaultModel: 'planar_runner.xml',
  frameSkip: 5,
  create: () =>
    new PlanarLocomotionTask({
      name: 'planar_runner',
      nq: 7,
      nv: 7,
      forwardRewardWeight: 1,
      ctrlCostWeight: 0.1,
      maxEpisodeSteps: 1000,
      resetNoise: { qpos: { kind: 'uniform', scale: 0.1 }, qvel: { kind: 'normal', scale: 0.1 } },
    }),
};
