import path from 'node:path';
import { packageRoot } from '../util/packageRoot.js';
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
