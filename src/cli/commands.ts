import type { Command } from './command.js';
import { evalCommand } from './evalCommand.js';
import { tasksCommand } from './tasks.js';
import { trainCommand } from './train.js';

/** Every CLI command; add one by writing its file and a line here. */
export const COMMANDS: readonly Command[] = [trainCommand, evalCommand, tasksCommand];
