import { configSource, runIfEntry, UsageError } from '../config/cliArgs.js';
import { ConfigError, EX_CONFIG, loadConfig } from '../config/load.js';
import { Daemon, EX_TEMPFAIL } from '../daemon/daemon.js';
import { LockError } from '../daemon/stateDir.js';
import { createLogger } from '../log/logger.js';

const USAGE = `usage: sacbridge run [--config FILE] [--key value ...]
Start the daemon. FILE (or $SACBRIDGE_CONFIG) is a JSON configuration; --key value sets one
configuration key (see \`sacbridge config docs\`). SIGTERM stops after a checkpoint; SIGHUP reloads.
`;

/** `sacbridge run`: exit 0 after a clean stop, 78 on a bad configuration, 75 when the state dir is taken. */
export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let loaded;
  let source;
  try {
    source = configSource(argv);
    loaded = loadConfig(source);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UsageError) {
      process.stderr.write(`sacbridge run: ${err.message}\n`);
      return err instanceof ConfigError ? EX_CONFIG : 64;
    }
    throw err;
  }
  const logger = createLogger(loaded.config.logging);
  for (const w of loaded.warnings) logger.warn(w);
  logger.info({ file: source.file ?? null }, 'configuration loaded');
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({ config: loaded.config, logger, source, handleSignals: true });
  } catch (err) {
    if (err instanceof LockError) {
      logger.error(err.message);
      return EX_TEMPFAIL;
    }
    logger.fatal({ err }, 'start-up failed');
    return 1;
  }
  return daemon.run();
}

runIfEntry(import.meta.url, main);
