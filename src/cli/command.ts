import type { FlagSpecs } from './args.js';

/**
 * One CLI command. Each lives in its own file under src/cli/ and is listed in commands.ts, so
 * a command is added by writing its file and one line in the table.
 */
export interface Command {
  readonly name: string;
  /** One line for `sacbridge --help`. */
  readonly summary: string;
  /** Usage line after `sacbridge `, e.g. 'train [--task NAME] ...'. */
  readonly usage: string;
  readonly flags: FlagSpecs;
  /** Run with the arguments after the command name; resolves to the exit code. */
  run(argv: readonly string[]): Promise<number>;
}
