import type { TaskDefinition } from '../task.js';
import { PlanarLocomotionTask } from './planarLocomotion.js';

/** Gymnasium HalfCheetah-v5: never terminates. */
export const halfCheetahV5: TaskDefinition = {
  name: 'HalfCheetah-v5',
  description: 'Gymnasium HalfCheetah-v5: planar cheetah runs forward (obs 17, act 6, 1000 steps)',
  defaultModel: 'half_cheetah.xml',
  frameSkip: 5,
  create: () =>
    new PlanarLocomotionTask({
      name: 'HalfCheetah-v5',
      nq: 9,
      nv: 9,
      forwardRewardWeight: 1,
      ctrlCostWeight: 0.1,
      maxEpisodeSteps: 1000,
      resetNoise: { qpos: { kind: 'uniform', scale: 0.1 }, qvel: { kind: 'normal', scale: 0.1 } },
    }),
};

/** Every element of [qpos[2:], qvel] strictly inside (-100, 100), z > 0.7, |angle| < 0.2. */
export function hopperIsHealthy(qpos: Float64Array, qvel: Float64Array): boolean {
  for (let i = 2; i < qpos.length; i++) if (!(qpos[i] > -100 && qpos[i] < 100)) return false;
  for (let i = 0; i < qvel.length; i++) if (!(qvel[i] > -100 && qvel[i] < 100)) return false;
  const z = qpos[1];
  const angle = qpos[2];
  return z > 0.7 && angle > -0.2 && angle < 0.2;
}

/** 0.8 < z < 2.0 and -1 < angle < 1 (strict). */
export function walkerIsHealthy(qpos: Float64Array): boolean {
  const z = qpos[1];
  const angle = qpos[2];
  return z > 0.8 && z < 2 && angle > -1 && angle < 1;
}

export const hopperV5: TaskDefinition = {
  name: 'Hopper-v5',
  description: 'Gymnasium Hopper-v5: one-legged hopper (obs 11, act 3, 1000 steps, terminates when unhealthy)',
  defaultModel: 'hopper.xml',
  frameSkip: 4,
  create: () =>
    new PlanarLocomotionTask({
      name: 'Hopper-v5',
      nq: 6,
      nv: 6,
      forwardRewardWeight: 1,
      ctrlCostWeight: 1e-3,
      observationVelocityClip: 10,
      healthy: { reward: 1, check: hopperIsHealthy },
      maxEpisodeSteps: 1000,
      resetNoise: { qpos: { kind: 'uniform', scale: 5e-3 }, qvel: { kind: 'uniform', scale: 5e-3 } },
    }),
};

export const walker2dV5: TaskDefinition = {
  name: 'Walker2d-v5',
  description: 'Gymnasium Walker2d-v5: planar biped (obs 17, act 6, 1000 steps, terminates when unhealthy)',
  defaultModel: 'walker2d_v5.xml',
  frameSkip: 4,
  create: () =>
    new PlanarLocomotionTask({
      name: 'Walker2d-v5',
      nq: 9,
      nv: 9,
      forwardRewardWeight: 1,
      ctrlCostWeight: 1e-3,
      observationVelocityClip: 10,
      healthy: { reward: 1, check: walkerIsHealthy },
      maxEpisodeSteps: 1000,
      resetNoise: { qpos: { kind: 'uniform', scale: 5e-3 }, qvel: { kind: 'uniform', scale: 5e-3 } },
    }),
};
