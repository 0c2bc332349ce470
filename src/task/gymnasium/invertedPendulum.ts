import type { Signals, SimulatorAccess } from '../../plant/plant.js';
import { requireSignal } from '../../plant/plant.js';
import type { Rng } from '../../util/rng.js';
import type { StepScore, Task, TaskDefinition } from '../task.js';
import { allFiniteValues, clip, put, setNoisyInitialState } from '../taskMath.js';

/** Gymnasium InvertedPendulum-v5: observation qpos, qvel; reward 1 per tick while the pole is up. */
export class InvertedPendulumTask implements Task {
  readonly name = 'InvertedPendulum-v5';
  readonly observationSize = 4;
  readonly maxEpisodeSteps = 1000;
  readonly requiredSignals = [
    { name: 'qpos', size: 2 },
    { name: 'qvel', size: 2 },
  ] as const;

  initializeEpisode(sim: SimulatorAccess, rng: Rng): void {
    setNoisyInitialState(sim, rng, { kind: 'uniform', scale: 0.01 }, { kind: 'uniform', scale: 0.01 });
  }

  beginEpisode(): void {}

  observe(signals: Signals, out: Float32Array): void {
    put(out, put(out, 0, requireSignal(signals, 'qpos')), requireSignal(signals, 'qvel'));
  }

  score(signals: Signals): StepScore {
    const qpos = requireSignal(signals, 'qpos');
    const qvel = requireSignal(signals, 'qvel');
    const terminated = !(allFiniteValues(qpos) && allFiniteValues(qvel)) || Math.abs(qpos[1]) > 0.2;
    const survive = terminated ? 0 : 1;
    return { reward: survive, terms: { survive_reward: survive }, terminated };
  }
}

/**
 * Gymnasium InvertedDoublePendulum-v5. Observation qpos[0], sin(qpos[1:3]), cos(qpos[1:3]),
 * clip(qvel, -10, 10), clip(qfrc_constraint[0], -10, 10); reward alive_bonus - distance_penalty
 * - velocity_penalty with the tip position from site 0 ('tip').
 */
export class InvertedDoublePendulumTask implements Task {
  readonly name = 'InvertedDoublePendulum-v5';
  readonly observationSize = 9;
  readonly maxEpisodeSteps = 1000;
  readonly requiredSignals = [
    { name: 'qpos', size: 3 },
    { name: 'qvel', size: 3 },
    { name: 'qfrc_constraint', size: 3 },
    { name: 'site_xpos', size: 3 },
  ] as const;

  initializeEpisode(sim: SimulatorAccess, rng: Rng): void {
    setNoisyInitialState(sim, rng, { kind: 'uniform', scale: 0.1 }, { kind: 'normal', scale: 0.1 });
  }

  beginEpisode(): void {}

  observe(signals: Signals, out: Float32Array): void {
    const qpos = requireSignal(signals, 'qpos');
    out[0] = qpos[0];
    out[1] = Math.sin(qpos[1]);
    out[2] = Math.sin(qpos[2]);
    out[3] = Math.cos(qpos[1]);
    out[4] = Math.cos(qpos[2]);
    put(out, 5, requireSignal(signals, 'qvel'), 0, 3, -10, 10);
    out[8] = clip(requireSignal(signals, 'qfrc_constraint')[0], -10, 10);
  }

  score(signals: Signals): StepScore {
    const qvel = requireSignal(signals, 'qvel');
    const tip = requireSignal(signals, 'site_xpos');
    const x = tip[0];
    const y = tip[2];
    const terminated = y <= 1;
    const alive = terminated ? 0 : 10;
    const distance = 0.01 * x * x + (y - 2) * (y - 2);
    const velocity = 1e-3 * qvel[1] * qvel[1] + 5e-3 * qvel[2] * qvel[2];
    return {
      reward: alive - distance - velocity,
      terms: { alive_bonus: alive, distance_penalty: -distance, velocity_penalty: -velocity },
      terminated,
    };
  }
}

export const invertedPendulumV5: TaskDefinition = {
  name: 'InvertedPendulum-v5',
  description: 'Gymnasium InvertedPendulum-v5: balance a pole on a cart (obs 4, act 1, 1000 steps)',
  defaultModel: 'inverted_pendulum.xml',
  frameSkip: 2,
  create: () => new InvertedPendulumTask(),
};

export const invertedDoublePendulumV5: TaskDefinition = {
  name: 'InvertedDoublePendulum-v5',
  description: 'Gymnasium InvertedDoublePendulum-v5: balance two poles on a cart (obs 9, act 1, 1000 steps)',
  defaultModel: 'inverted_double_pendulum.xml',
  frameSkip: 5,
  create: () => new InvertedDoublePendulumTask(),
};
