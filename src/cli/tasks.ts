import { DEFAULT_TASK, listTasks } from '../task/registry.js';
import { parseFlags, UsageError, type FlagSpecs } from './args.js';
import type { Command } from './command.js';

const flags: FlagSpecs = {};

export const tasksCommand: Command = {
  name: 'tasks',
  summary: 'list the tasks sacbridge can train',
  usage: 'tasks',
  flags,
  async run(argv) {
    const { positionals } = parseFlags(argv, flags);
    if (positionals.length > 0) throw new UsageError(`tasks: unexpected argument '${positionals[0]}'`);
    const tasks = listTasks();
    const w = Math.max(...tasks.map((t) => t.name.length));
    for (const t of tasks) process.stdout.write(`${t.name.padEnd(w)}  ${t.description}${t.name === DEFAULT_TASK ? ' [default]' : ''}\n`);
    return 0;
  },
};
