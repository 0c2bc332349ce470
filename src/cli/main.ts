#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --single-threaded-gc --max-semi-space-size=2
import { ConfigError, EX_CONFIG } from '../config/load.js';
import { EX_USAGE, formatFlags, UsageError } from './args.js';
import { COMMANDS } from './commands.js';
import { packageVersion } from './version.js';

function usage(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: sacbridge <command> [flags]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    "'sacbridge <command> --help' shows a command's flags; 'sacbridge --version' the version.",
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  // No arguments prints help rather than starting anything long (training takes tens of minutes).
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (argv[0] === '--version' || argv[0] === '-V' || argv[0] === 'version') {
    process.stdout.write(`sacbridge ${packageVersion()}\n`);
    return 0;
  }
  if (argv[0].startsWith('-')) {
    process.stderr.write(`sacbridge: a command comes first (e.g. 'sacbridge train ${argv.join(' ')}'); commands: ${COMMANDS.map((c) => c.name).join(', ')}\n`);
    return EX_USAGE;
  }
  const name = argv[0];
  const rest = argv.slice(1);
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`sacbridge: unknown command '${name}' (known: ${COMMANDS.map((c) => c.name).join(', ')})\n`);
    return EX_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: sacbridge ${command.usage}\n\n${command.summary}\n\n${formatFlags(command.flags)}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sacbridge ${command.name}: ${err.message}\n`);
      return EX_USAGE;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`sacbridge ${command.name}: ${err.message}\n`);
      return EX_CONFIG;
    }
    process.stderr.write(`sacbridge ${command.name}: ${(err as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
