import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ModelInfo } from '../plant/modelInfo.js';
import { loadModelFile } from '../plant/mujoco/modelLoader.js';
import { loadMujoco } from '../plant/mujoco/mujocoModule.js';
import { readModelInfo } from '../plant/mujoco/readModelInfo.js';
import { compileTaskSpec, type CompiledTaskSpec } from './spec/compileTask.js';
import { TaskSpecError } from './spec/specReader.js';
import type { TaskDefinition } from './task.js';

/**
 * Tasks from the user's files: a JSON task file (`--task reach.json`) or an ES module
 * (`--task ./my_task.mjs`) whose default export is a task definition made with `defineTask`
 * (or a hand-written TaskDefinition). Loading compiles the task against its model, so every
 * error shows before a run starts.
 */

/** A `--task` value names a file (rather than a built-in task) when it has a path or a file extension. */
export function isTaskFile(task: string): boolean {
  return /\.(json|mjs|js)$/i.test(task) || task.includes('/') || task.includes(path.sep);
}

export interface LoadedTaskFile {
  /** Absolute path of the task file. */
  readonly file: string;
  readonly modelPath: string;
  readonly definition: TaskDefinition;
  /** The compiled declarative task (absent for a module exporting a hand-written TaskDefinition). */
  readonly compiled?: CompiledTaskSpec;
  readonly model?: ModelInfo;
}

export interface LoadTaskFileOptions {
  /** MJCF file instead of the one the task names. */
  modelPath?: string;
}

/** Read, compile and check a task file against its model. Throws TaskSpecError naming the file. */
export async function loadTaskFile(task: string, options: LoadTaskFileOptions = {}): Promise<LoadedTaskFile> {
  const file = path.resolve(task);
  const raw = await readDefinition(file);
  if (isTaskDefinition(raw)) {
    const modelPath = path.resolve(options.modelPath ?? path.resolve(path.dirname(file), raw.defaultModel));
    return { file, modelPath, definition: raw };
  }
  const relative = path.relative(process.cwd(), file);
  const where = relative === '' || relative.startsWith('..') ? file : relative;
  const modelField = (raw as { model?: unknown } | null)?.model;
  if (options.modelPath === undefined && (typeof modelField !== 'string' || modelField === '')) {
    throw new TaskSpecError(`${where}: 'model' must name the MJCF file the task runs on (relative to the task file), or pass --model`);
  }
  const modelPath = path.resolve(options.modelPath ?? path.resolve(path.dirname(file), modelField as string));
  const model = await readModelInfoFile(modelPath);
  const compiled = compileTaskSpec(raw, model, where);
  const definition: TaskDefinition = {
    name: compiled.name,
    description: compiled.description,
    defaultModel: modelPath,
    frameSkip: compiled.frameSkip,
    create: compiled.create,
  };
  return { file, modelPath, definition, compiled, model };
}

/** Names and addresses of an MJCF file's elements, compiled by MuJoCo. */
export async function readModelInfoFile(modelPath: string): Promise<ModelInfo> {
  const mujoco = await loadMujoco();
  const m = loadModelFile(mujoco, modelPath);
  try {
    return readModelInfo(mujoco, m, modelPath);
  } finally {
    m.delete();
  }
}

async function readDefinition(file: string): Promise<unknown> {
  if (/\.json$/i.test(file)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new TaskSpecError(`cannot read task file ${file}: ${(err as Error).message}`);
    }
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new TaskSpecError(`task file ${file} is not valid JSON: ${withLine(text, (err as Error).message)}`);
    }
  }
  if (/\.(mjs|js)$/i.test(file)) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      throw new TaskSpecError(`cannot load task module ${file}: ${(err as Error).message}`);
    }
    const value = mod.default ?? mod.task;
    if (value === undefined) throw new TaskSpecError(`task module ${file} exports no task: export default defineTask({...}) (or export const task = ...)`);
    return value;
  }
  throw new TaskSpecError(`task file ${file}: expected a .json task file or a .mjs/.js module`);
}

function isTaskDefinition(v: unknown): v is TaskDefinition {
  const d = v as Partial<TaskDefinition> | null;
  return typeof d === 'object' && d !== null && typeof d.create === 'function' && typeof d.defaultModel === 'string' && typeof d.name === 'string' && typeof d.frameSkip === 'number';
}

/** JSON.parse reports a character position; say the line and column too. */
function withLine(text: string, message: string): string {
  const m = /position (\d+)/.exec(message);
  if (m === null) return message;
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${message} (line ${line}, column ${column})`;
}
