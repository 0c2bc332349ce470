import { configSource } from './configSource.js';
import { ConfigError, EX_CONFIG, getKey, leaves, loadConfig, schemaDocs } from '../config/load.js';
import { preflight } from '../daemon/preflight.js';
import { resolveStateDir } from '../daemon/stateDir.js';
import { EX_USAGE, UsageError } from './args.js';
import type { Command } from './command.js';
import { CONFIG_FLAGS } from './configFlags.js';

const USAGE = `usage:
  sacbridge config check FILE [--key value ...]   validate FILE (plus environment and flags), print the resolved configuration
  sacbridge config docs                           print every configuration key with its doc, format, default, env variable and flag
`;

/** `sacbridge config check|docs`. Exit 0 when valid (and `run` would start), 78 (EX_CONFIG) when not, 64 on bad usage. */
export const configCommand: Command = {
  name: 'config',
  summary: 'check a configuration file (config check FILE) or print the documented schema (config docs)',
  usage: 'config check FILE [--<key> VALUE ...] | config docs',
  flags: CONFIG_FLAGS,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'docs') {
      process.stdout.write(schemaDocs());
      return 0;
    }
    if (sub !== 'check') {
      process.stderr.write(USAGE);
      return EX_USAGE;
    }
    const file = rest[0] !== undefined && !rest[0].startsWith('--') ? rest.shift() : undefined;
    try {
      const source = configSource(file === undefined ? rest : ['--config', file, ...rest]);
      const { config, origins, warnings } = loadConfig(source);
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      // The start-up checks `run` makes (ports, paths, task, models, ROS): valid means `run` starts.
      await preflight(config, { origins, warn: (w) => process.stderr.write(`warning: ${w}\n`) });
      const set = leaves()
        .filter(({ key, leaf }) => JSON.stringify(getKey(config, key)) !== JSON.stringify(leaf.default))
        .map(({ key }) => [key, origins[key] ?? 'default'] as const);
      process.stdout.write(JSON.stringify(config, null, 2) + '\n');
      process.stderr.write(
        `${source.file ?? '(no file)'}: valid; ${set.length} key(s) differ from the defaults` +
          (set.length ? `: ${set.map(([k, o]) => `${k} (${o.split(' ')[0]})`).join(', ')}` : '') +
          `; state directory ${resolveStateDir(config.daemon.stateDir)}\n`,
      );
      return 0;
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`sacbridge config check: ${err.message}\n`);
        return EX_CONFIG;
      }
      if (err instanceof UsageError) throw new UsageError(`${err.message}\n${USAGE}`);
      throw err;
    }
  },
};
