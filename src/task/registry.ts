import path from 'node:path';
import { packageRoot } from '../util/packageRoot.js';
import { pendulum } from './builtin/pendulum.js';
import { planarRunner } from './builtin/planarRunner.js';
import { pointReach } from './builtin/pointReach.js';
import { antV5 } from './gymnasium/ant.js';
import { invertedDoublePendulumV5, invertedPendulumV5 } from './gymnasium/invertedPendulum.js';
import { halfCheetahV5, hopperV5, walker2dV5 } from './gymnasium/locomotion.js';
import type { TaskDefinition } from './task.js';
import { isTaskFile, loadTaskFile } from './taskFile.js';
import { nearestNames } from '../util/nearestNames.js';

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
    const near = nearestNames(name, ENTRIES.map((e) => e.definition.name), 1);
    throw new Error(`unknown task '${name}'${near.length > 0 ? ` (nearest: '${near[0]}')` : ''}; known tasks: ${ENTRIES.map((e) => e.definition.name).join(', ')}; or a task file (reach.json, my_task.mjs)`);
  }
  return found;
}

export function getTaskDefinition(name: string): TaskDefinition {
  return entry(name).definition;
}


/** Where a task's model comes from when not the default. */
export interface ModelLocation {
  /** MJCF file to use instead of the task's default model. */
  modelPath?: string;
  /** Directory holding Gymnasium's MJCF files (half_cheetah.xml, ...); needed by the *-v5 tasks. */
  gymnasiumModelDir?: string;
}

/** The MJCF file a task runs on, given the options. */
export function resolveModelPath(name: string, options: ModelLocation = {}): string {
  const { definition, source } = entry(name);
  if (options.modelPath !== undefined) return path.resolve(options.modelPath);
  if (source === 'builtin') return path.join(packageRoot(), 'sim', definition.defaultModel);
  if (options.gymnasiumModelDir === undefined) {
    throw new Error(`task '${name}' needs the directory of Gymnasium's MJCF files (option gymnasiumModelDir, holding ${definition.defaultModel}) or an explicit modelPath`);
  }
  return path.resolve(options.gymnasiumModelDir, definition.defaultModel);
}

/**
 * A built-in task by name or a task file (`isTaskFile`: compiled against its model, so an error
 * in it shows here), with the MJCF file it runs on.
 */
export async function loadTask(name: string, options: ModelLocation = {}): Promise<{ definition: TaskDefinition; modelPath: string }> {
  if (!isTaskFile(name)) return { definition: getTaskDefinition(name), modelPath: resolveModelPath(name, options) };
  const loaded = await loadTaskFile(name, { modelPath: options.modelPath });
  return { definition: loaded.definition, modelPath: loaded.modelPath };
}

/** Check that `name` is a built-in task or a task file that compiles; throws the reason. Run before anything is written for a run. */
export async function checkTask(name: string, options: Pick<ModelLocation, 'modelPath'> = {}): Promise<void> {
  if (isTaskFile(name)) await loadTaskFile(name, { modelPath: options.modelPath });
  else getTaskDefinition(name);
}
