import type { Signals, SimulatorAccess } from '../../plant/plant.js';
import { requireSignal } from '../../plant/plant.js';
import type { Rng } from '../../util/rng.js';
import type { StepScore, Task, TaskDefinition } from '../task.js';
import { wrapAngle } from '../taskMath.js';

/**
 * Swing-up of a torque-limited pendulum (sim/pendulum.xml), scored like Gymnasium's
 * Pendulum-v1: observation [cos(theta), sin(theta), theta_dot] with theta = 0 upright, reward
 * -(wrap(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2). Unlike Pendulum-v1 the cost is taken on the
 * state after the tick, so it reflects the action just applied. Never terminates; 200 ticks.
 */
export class PendulumTask implements Task {
  readonly name = 'pendulum';
  readonly observationSize = 3;
  readonly maxEpisodeSteps = 200;
  readonly requiredSignals = [
    { name: 'qpos', size: 1 },
    { name: 'qvel', size: 1 },
  ] as const;

  initializeEpisode(sim: SimulatorAccess, rng: Rng): void {
    sim.setState(Float64Array.of(rng.range(-Math.PI, Math.PI)), Float64Array.of(rng.range(-1, 1)));
  }

  beginEpisode(): void {}

  observe(signals: Signals, out: Float32Array): void {
    const theta = requireSignal(signals, 'qpos')[0];
    out[0] = Math.cos(theta);
    out[1] = Math.sin(theta);
    out[2] = requireSignal(signals, 'qvel')[0];
  }

  score(signals: Signals, command: Float64Array): StepScore {
    const theta = wrapAngle(requireSignal(signals, 'qpos')[0]);
    const thetaDot = requireSignal(signals, 'qvel')[0];
    const angle = theta * theta;
    const velocity = 0.1 * thetaDot * thetaDot;
    const ctrl = 0.001 * command[0] * command[0];
    return {
      reward: -(angle + velocity + ctrl),
      terms: { angle_cost: -angle, velocity_cost: -velocity, ctrl_cost: -ctrl },
      terminated: false,
    };
  }
}

export const pendulum: TaskDefinition = {
  name: 'pendulum',
  description: 'built-in: swing up and balance a torque-limited pendulum (obs 3, act 1, 200 steps of 0.05 s)',
  defaultModel: 'pendulum.xml',
  frameSkip: 5,
  create: () => new PendulumTask(),
};
