import type { FlagSpecs } from './args.js';

/**
 * The flags of the commands that read the configuration (run, config check, status): the file,
 * and any configuration key as `--<key> VALUE` (convict parses those; see `sacbridge config docs`).
 */
export const CONFIG_FLAGS: FlagSpecs = {
  config: { kind: 'string', value: 'FILE', help: 'JSON configuration file (default $SACBRIDGE_CONFIG, else the built-in defaults)' },
  '<key>': { kind: 'string', value: 'VALUE', help: "any configuration key, e.g. --sim.task point_reach (environment: SACBRIDGE_<KEY>); 'sacbridge config docs' lists them" },
};
