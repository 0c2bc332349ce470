import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandFilter, EpisodeRandomizer } from '../env/env.js';
import { Env } from '../env/env.js';
import { MujocoPlant } from '../plant/mujoco/mujocoPlant.js';
import type { CommandSpec } from '../plant/plant.js';
import { pendulum } from './builtin/pendulum.js';
import { planarRunner } from './builtin/planarRunner.js';
import { pointReach } from './builtin/pointReach.js';
import { antV5 } from './gymnasium/ant.js';
import { invertedDoublePendulumV5, invertedPendulumV5 } from './gymnasium/invertedPendulum.js';
import { halfCheetahV5, hopperV5, walker2dV5 } from './gymnasium/locomotion.js';
import type { TaskDefinition } from './task.js';

/** The task `npm start` trains: learns visibly within minutes on 2 cores. */
export const DEFAULT_TASK = 'pendulum';

/** Where a task's default model lives: sacbridge's own sim/ or the configured Gymnasium directory. */
type ModelSource = 'builtin' | 'gymnasium';

const ENTRIES: readonly { definition: TaskDefinition; source: ModelSource }[] = [
  { definition: pendulum, source: 'builtin' },
  { definition: planarRunner, source: 'builtin' },
  { definition: pointReach, source: 'builtin' },
  { definition: halfCheetahV5, source: 'gymnasium' },
  { definition: hopperV5, source: 'gymnasium' },
  { definition: walker2dV5, source: 'gymnasium' },
  { definition: antV5, source: 'gymnasium' },
  { definition: invertedPendulumV5, source: 'gymnasium' },
  { definition: invertedDoublePendulumV5, source: 'gymnasium' },
];

export function listTasks(): TaskDefinition[] {
  return ENTRIES.map((e) => e.definition);
}

function entry(name: string): { definition: TaskDefinition; source: ModelSource } {
  const found = ENTRIES.find((e) => e.definition.name === name);
  if (found === undefined) {
    throw new Error(`unknown task '${name}'; known tasks: ${ENTRIES.map((e) => e.definition.name).join(', ')}`);
  }
  return found;
}

export function getTaskDefinition(name: string): TaskDefinition {
  return entry(name).definition;
}

export interface CreateEnvOptions {
  seed: number;
  /** MJCF file to use instead of the task's default model. */
  modelPath?: string;
  /** Directory holding Gymnasium's MJCF files (half_cheetah.xml, ...); needed by the *-v5 tasks. */
  gymnasiumModelDir?: string;
  /** Physics steps per control tick instead of the task's. */
  frameSkip?: number;
  randomizer?: EpisodeRandomizer;
  filter?: CommandFilter;
  /** Build the command filter once the plant's command range is known (the SafetyLayer). */
  filterFor?: (command: CommandSpec) => CommandFilter;
  /** Override the task's time limit (ticks). */
  maxEpisodeSteps?: number;
}

/** The MJCF file a task runs on, given the options. */
export function resolveModelPath(name: string, options: Pick<CreateEnvOptions, 'modelPath' | 'gymnasiumModelDir'> = {}): string {
  const { definition, source } = entry(name);
  if (options.modelPath !== undefined) return path.resolve(options.modelPath);
  if (source === 'builtin') return path.join(packageRoot(), 'sim', definition.defaultModel);
  if (options.gymnasiumModelDir === undefined) {
    throw new Error(`task '${name}' needs the directory of Gymnasium's MJCF files (option gymnasiumModelDir, holding ${definition.defaultModel}) or an explicit modelPath`);
  }
  return path.resolve(options.gymnasiumModelDir, definition.defaultModel);
}

/** Build MuJoCo plant + task + env for a registered task. The caller closes `env.plant`. */
export async function createEnv(name: string, options: CreateEnvOptions): Promise<Env> {
  const definition = getTaskDefinition(name);
  const modelPath = resolveModelPath(name, options);
  const task = definition.create();
  const plant = await MujocoPlant.create(modelPath, {
    frameSkip: options.frameSkip ?? definition.frameSkip,
    contactForces: task.requiredSignals.some((s) => s.name === 'cfrc_ext'),
  });
  try {
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

let root: string | null = null;

/**
 * The sacbridge package directory: the nearest ancestor of this module with sacbridge's
 * package.json. Works from src/ (ts) and dist/src/ (compiled) alike.
 */
export function packageRoot(): string {
  if (root !== null) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'sacbridge') {
      root = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find sacbridge's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
