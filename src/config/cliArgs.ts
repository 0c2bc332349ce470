import { CONFIG_FILE_ENV, type LoadOptions } from './load.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Split a command's arguments into the configuration file (`--config FILE`, else
 * $SACBRIDGE_CONFIG) and the rest, which convict reads as `--key value` flags.
 */
export function configSource(argv: string[], env: NodeJS.ProcessEnv = process.env): LoadOptions {
  const args: string[] = [];
  let file: string | undefined = env[CONFIG_FILE_ENV] || undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config' || a === '-c') {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a file`);
      file = v;
    } else if (a.startsWith('--config=')) {
      file = a.slice('--config='.length);
    } else {
      args.push(a);
    }
  }
  return file === undefined ? { env, args } : { file, env, args };
}

/** Run `main` when this module is the process's entry point (`node dist/src/cli/run.js ...`). */
export function runIfEntry(moduleUrl: string, main: (argv: string[]) => Promise<number>): void {
  const entry = process.argv[1];
  if (entry === undefined) return;
  if (moduleUrl === new URL(`file://${entry}`).href) {
    main(process.argv.slice(2)).then(
      (code) => {
        process.exitCode = code;
      },
      (err: unknown) => {
        process.stderr.write(`sacbridge: ${(err as Error).stack ?? String(err)}\n`);
        process.exitCode = 1;
      },
    );
  }
}
