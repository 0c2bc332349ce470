/**
 * Swing-up task for the example remote pendulum (clients/python/examples/pendulum_plant.py).
 * Gymnasium Pendulum-v1's observation and cost, scored on the state after the tick (Gymnasium
 * scores the state before it; the difference is one tick of delay in the reward).
 * Signals: `theta` [1] (rad, 0 = upright), `theta_dot` [1] (rad/s); command: torque [1].
 */
import { requireSignal, type Signals } from '../plant/plant.js';
import type { StepScore, Task } from '../task/task.js';

export const PENDULUM_SIGNALS = [
  { name: 'theta', size: 1 },
  { name: 'theta_dot', size: 1 },
] as const;

export class PendulumSwingUpTask implements Task {
  readonly name = 'remote_pendulum_swingup';
  readonly observationSize = 3;
  readonly requiredSignals = PENDULUM_SIGNALS;

  constructor(readonly maxEpisodeSteps = 200) {}

  beginEpisode(): void {}

  observe(signals: Signals, out: Float32Array): void {
    const th = requireSignal(signals, 'theta')[0];
    out[0] = Math.cos(th);
    out[1] = Math.sin(th);
    out[2] = requireSignal(signals, 'theta_dot')[0];
  }

  score(signals: Signals, command: Float64Array): StepScore {
    const th = angleNormalize(requireSignal(signals, 'theta')[0]);
    const thdot = requireSignal(signals, 'theta_dot')[0];
    const u = command[0];
    const angle = -(th * th);
    const velocity = -0.1 * thdot * thdot;
    const effort = -0.001 * u * u;
    return { reward: angle + velocity + effort, terms: { angle, velocity, effort }, terminated: false };
  }
}

/** Angle wrapped into [-pi, pi). */
export function angleNormalize(x: number): number {
  return ((((x + Math.PI) % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI)) - Math.PI;
}
