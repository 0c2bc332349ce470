import type { Command } from './command.js';
import { configCommand } from './config.js';
import { evalCommand } from './evalCommand.js';
import { exportCommand } from './export.js';
import { plotCommand } from './plot.js';
import { runCommand } from './run.js';
import { simRobotCommand } from './simRobot.js';
import { statusCommand } from './status.js';
import { tasksCommand } from './tasks.js';
import { trainCommand } from './train.js';
import { viewCommand } from './view.js';

/** Every CLI command; add one by writing its file and a line here. */
export const COMMANDS: readonly Command[] = [runCommand, statusCommand, configCommand, trainCommand, evalCommand, exportCommand, tasksCommand, plotCommand, viewCommand, simRobotCommand];
