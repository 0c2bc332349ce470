/**
 * Where a task name (or task file) becomes an Env on MuJoCo, for sim training and evaluation.
 * The task registry only names tasks and their models; the plant modules only know plants; the
 * Env composes a plant, a task and a command filter (robot fine-tuning builds its Env from the
 * plant it opened).
 */
import { Env } from '../env/env.js';
import { parseContactPairSignal } from '../plant/mujoco/contactPairs.js';
import { MujocoPlant } from '../plant/mujoco/mujocoPlant.js';
import type { CommandFilter, CommandSpec, EpisodeRandomizer } from '../plant/plant.js';
import { loadTask, type ModelLocation } from '../task/registry.js';

export interface EnvParts {
  seed: number;
  randomizer?: EpisodeRandomizer;
  filter?: CommandFilter;
  /** Build the command filter once the plant's command range is known (the SafetyLayer). */
  filterFor?: (command: CommandSpec) => CommandFilter;
  /** Override the task's time limit (ticks). */
  maxEpisodeSteps?: number;
}

export interface CreateEnvOptions extends EnvParts, ModelLocation {
  /** Physics steps per control tick instead of the task's. */
  frameSkip?: number;
}

/** Build MuJoCo plant + task + env for a registered task or a task file. The caller closes `env.plant`. */
export async function createEnv(name: string, options: CreateEnvOptions): Promise<Env> {
  const { definition, modelPath } = await loadTask(name, options);
  const task = definition.create();
  const plant = await MujocoPlant.create(modelPath, {
    frameSkip: options.frameSkip ?? definition.frameSkip,
    contactForces: task.requiredSignals.some((s) => s.name === 'cfrc_ext'),
    contactPairs: task.requiredSignals.filter((s) => parseContactPairSignal(s.name) !== null).map((s) => s.name),
  });
  try {
    if (plant.command.size === 0) throw new Error(`the MuJoCo model ${modelPath} has no actuators: there is nothing for a policy to control`);
    return new Env(plant, task, {
      seed: options.seed,
      filter: options.filter ?? options.filterFor?.(plant.command),
      randomizer: options.randomizer,
      maxEpisodeSteps: options.maxEpisodeSteps,
    });
  } catch (err) {
    await plant.close();
    throw err;
  }
}
