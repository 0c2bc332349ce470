import { UsageError } from './args.js';
import { CONFIG_FILE_ENV, type LoadOptions } from '../config/load.js';

/**
 * Split a command's arguments into the configuration file (`--config FILE`, else
 * $SACBRIDGE_CONFIG) and the rest, which convict reads as `--key value` flags.
 */
export function configSource(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): LoadOptions {
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
