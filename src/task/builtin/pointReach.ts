import type { Signals, SimulatorAccess } from '../../plant/plant.js';
import { requireSignal } from '../../plant/plant.js';
import type { Rng } from '../../util/rng.js';
import type { StepScore, Task, TaskDefinition } from '../task.js';
import { sumOfSquares } from '../taskMath.js';

/** Half-width of the square the target is drawn from (the point can travel +-0.5 m). */
export const TARGET_RANGE = 0.35;
/**
 * Reward per metre of distance: -1 per 10 cm per tick. Rewards of order 1 keep SAC's entropy
 * bonus (temperature starts at 1) from drowning the task signal early in training.
 */
export const DISTANCE_WEIGHT = 10;
/** Cost weight on |u|^2 (u in [-1, 1] N): at most 0.2 per tick, small next to the distance. */
export const CTRL_WEIGHT = 0.1;

/**
 * A damped point mass (sim/point_reach.xml) reaches a target drawn per episode. Designed to be
 * learned quickly (it is CI's learning test): small observation [dx, dy, vx, vy] with
 * (dx, dy) = target - position (the absolute position is irrelevant to the task), dense reward
 * -10 distance - 0.1 |u|^2 (distance in metres, u in [-1, 1]), 50-tick episodes.
 * Acting at random scores about -140 per episode, standing still about -155, a proportional
 * controller going straight to the target about -20.
 * The target is drawn in `initializeEpisode` (sim); elsewhere the last target is kept.
 */
export class PointReachTask implements Task {
  readonly name = 'point_reach';
  readonly observationSize = 4;
  readonly maxEpisodeSteps = 50;
  readonly requiredSignals = [
    { name: 'qpos', size: 2 },
    { name: 'qvel', size: 2 },
  ] as const;
  readonly target = Float64Array.of(0.2, 0.2);

  initializeEpisode(sim: SimulatorAccess, rng: Rng): void {
    this.target[0] = rng.range(-TARGET_RANGE, TARGET_RANGE);
    this.target[1] = rng.range(-TARGET_RANGE, TARGET_RANGE);
    sim.setState(Float64Array.of(rng.range(-0.05, 0.05), rng.range(-0.05, 0.05)), new Float64Array(2));
  }

  beginEpisode(): void {}

  observe(signals: Signals, out: Float32Array): void {
    const qpos = requireSignal(signals, 'qpos');
    const qvel = requireSignal(signals, 'qvel');
    out[0] = this.target[0] - qpos[0];
    out[1] = this.target[1] - qpos[1];
    out[2] = qvel[0];
    out[3] = qvel[1];
  }

  score(signals: Signals, command: Float64Array): StepScore {
    const qpos = requireSignal(signals, 'qpos');
    const distance = DISTANCE_WEIGHT * Math.hypot(this.target[0] - qpos[0], this.target[1] - qpos[1]);
    const ctrl = CTRL_WEIGHT * sumOfSquares(command);
    return { reward: -distance - ctrl, terms: { distance_cost: -distance, ctrl_cost: -ctrl }, terminated: false };
  }
}

export const pointReach: TaskDefinition = {
  name: 'point_reach',
  description: 'built-in: move a damped point mass to a random target (obs 4, act 2, 50 steps of 0.05 s); learns in about a minute',
  defaultModel: 'point_reach.xml',
  frameSkip: 5,
  create: () => new PointReachTask(),
};
