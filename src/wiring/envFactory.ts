/**
 * The one place an Env is built from a task and a plant: MuJoCo for sim training and
 * evaluation (`createEnv`), any other plant (the robot, a remote plant) with `envOnPlant`.
 * The task registry only names tasks and their models; the plant modules only know plants.
 */
import { Env } from '../env/env.js';
import { MujocoPlant } from '../plant/mujoco/mujocoPlant.js';
import type { CommandFilter, CommandSpec, EpisodeRandomizer, Plant } from '../plant/plant.js';
import { getTaskDefinition, loadTask, type ModelLocation } from '../task/registry.js';

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

/** The env of a registered task on a plant the caller opened (and closes). */
export function envOnPlant(name: string, plant: Plant, options: EnvParts): Env {
  return new Env(plant, getTaskDefinition(name).create(), {
    seed: options.seed,
    filter: options.filter ?? options.filterFor?.(plant.command),
    randomizer: options.randomizer,
    maxEpisodeSteps: options.maxEpisodeSteps,
  });
}
