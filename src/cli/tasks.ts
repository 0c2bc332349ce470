import { resolve } from 'node:path';
import { DEFAULT_TASK, listTasks } from '../task/registry.js';
import { describeTask } from '../task/spec/describeTask.js';
import { loadTaskFile } from '../task/taskFile.js';
import { parseFlags, UsageError, type FlagSpecs } from './args.js';
import type { Command } from './command.js';

const flags: FlagSpecs = {
  describe: { kind: 'string', value: 'FILE', help: 'check a task file or module against its model and print its observation layout, reward, termination and reset' },
  model: { kind: 'string', value: 'FILE', help: "with --describe: the MJCF file instead of the task's own" },
};

export const tasksCommand: Command = {
  name: 'tasks',
  summary: 'list the tasks sacbridge can train, or describe a task file',
  usage: 'tasks [--describe FILE [--model FILE]]',
  flags,
  async run(argv) {
    const { flags: f, positionals } = parseFlags(argv, flags);
    if (positionals.length > 0) throw new UsageError(`tasks: unexpected argument '${positionals[0]}'`);
    if (f.describe !== undefined) {
      const file = f.describe as string;
      const loaded = await loadTaskFile(file, { modelPath: f.model === undefined ? undefined : resolve(f.model as string) });
      if (loaded.compiled === undefined || loaded.model === undefined) {
        process.stdout.write(`task ${loaded.definition.name} (${loaded.file}): a hand-written TaskDefinition; model ${loaded.modelPath}, frame skip ${loaded.definition.frameSkip}\n  ${loaded.definition.description}\n`);
      } else {
        process.stdout.write(describeTask(loaded.compiled, loaded.model, file));
      }
      return 0;
    }
    if (f.model !== undefined) throw new UsageError('tasks: --model goes with --describe FILE');
    const tasks = listTasks();
    const w = Math.max(...tasks.map((t) => t.name.length));
    for (const t of tasks) process.stdout.write(`${t.name.padEnd(w)}  ${t.description}${t.name === DEFAULT_TASK ? ' [default]' : ''}\n`);
    process.stdout.write(`\nor a task file: sacbridge train --task reach.json (docs/tasks.md); 'sacbridge tasks --describe FILE' checks one\n`);
    return 0;
  },
};
