import { changedKeys, ConfigError, getKey, loadConfig, type LoadOptions } from '../config/load.js';
import { LIVE_KEYS, type SacbridgeConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';

export interface ReloadResult {
  applied: string[];
  ignored: string[];
}

/**
 * SIGHUP: load the configuration again the way it was first loaded (`source`), and hand the
 * new one with its changed live keys to `apply`, which returns the keys the job took. The
 * daemon takes logging.* and daemon.* itself; changed keys outside LIVE_KEYS need a restart
 * and are reported as ignored. An invalid configuration is refused (null): the running one stays.
 */
export function reloadConfig(
  current: SacbridgeConfig,
  source: LoadOptions | undefined,
  logger: Logger,
  apply: (next: SacbridgeConfig, live: string[]) => string[],
): ReloadResult | null {
  let next: SacbridgeConfig;
  try {
    next = loadConfig({ ...source, env: process.env }).config;
  } catch (err) {
    const msg = err instanceof ConfigError ? err.message : String(err);
    logger.error({ error: msg }, 'reload refused: the configuration is invalid; keeping the running one');
    return null;
  }
  const changed = changedKeys(current, next);
  const live = changed.filter((k) => LIVE_KEYS.includes(k));
  const ignored = changed.filter((k) => !LIVE_KEYS.includes(k));
  const jobApplied = apply(next, live);
  const daemonKeys = live.filter((k) => k.startsWith('logging.') || k.startsWith('daemon.'));
  const applied = [...new Set([...daemonKeys, ...jobApplied])];
  const notTaken = live.filter((k) => !applied.includes(k));
  logger.info(
    {
      applied: applied.map((k) => `${k}=${JSON.stringify(getKey(next, k))}`),
      ignored: ignored.map((k) => `${k} (needs a restart)`),
      unused: notTaken,
    },
    `configuration reloaded: ${applied.length} applied, ${ignored.length} ignored`,
  );
  return { applied, ignored };
}
