import { configSource } from './configSource.js';
import { ConfigError, EX_CONFIG, loadConfig } from '../config/load.js';
import { Daemon, EX_TEMPFAIL } from '../daemon/daemon.js';
import { preflight } from '../daemon/preflight.js';
import { LockError } from '../daemon/stateDir.js';
import { createLogger } from '../log/logger.js';
import { CONFIG_FLAGS } from './configFlags.js';
import type { Command } from './command.js';

/** `sacbridge run`: exit 0 after a clean stop, 78 on a bad configuration, 75 when the state dir is taken. */
export const runCommand: Command = {
  name: 'run',
  summary: 'start the daemon: sim training, evaluation, gate, robot fine-tuning; ZeroMQ, metrics, systemd',
  usage: 'run [--config FILE] [--<key> VALUE ...]   (SIGTERM stops after a checkpoint; SIGHUP reloads)',
  flags: CONFIG_FLAGS,
  async run(argv) {
    let loaded;
    const source = configSource(argv);
    try {
      loaded = loadConfig(source);
      // Everything the configuration names outside itself, before anything starts.
      await preflight(loaded.config, { origins: loaded.origins });
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`sacbridge run: ${err.message}\n`);
        return EX_CONFIG;
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
      if (err instanceof ConfigError) {
        // Asked for something this machine does not give (e.g. real-time settings without the rights).
        logger.fatal(err.message);
        return EX_CONFIG;
      }
      logger.fatal({ err }, 'start-up failed');
      return 1;
    }
    return daemon.run();
  },
};
