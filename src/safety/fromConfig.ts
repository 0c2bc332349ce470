import type { SafetyConfig } from '../config/schema.js';
import type { CommandSpec } from '../plant/plant.js';
import type { SafetyOptions } from './safetyLayer.js';

/**
 * The convict `safety.*` keys as SafetyLayer options for a plant's command. The same mapping
 * serves sim and robot, so the limits a policy trains under are the ones it meets on the robot.
 * `staleAgeS` arms the watchdog (robot only: in sim nothing is ever stale).
 */
export function safetyOptionsFromConfig(c: SafetyConfig, command: CommandSpec, staleAgeS?: number): SafetyOptions {
  const limits = (key: 'commandMin' | 'commandMax', fallback: Float64Array): ArrayLike<number> => {
    const v = c[key];
    if (v.length === 0) return fallback;
    if (v.length !== command.size) {
      throw new Error(`safety.${key} has ${v.length} elements, the plant has ${command.size} actuators`);
    }
    return v;
  };
  const low = limits('commandMin', command.low);
  const high = limits('commandMax', command.high);
  // maxDeltaPerTick is a fraction of each actuator's range; 2 spans the whole range (no limit).
  const maxDelta = c.maxDeltaPerTick >= 2 ? undefined : Array.from(command.low, (lo, i) => (c.maxDeltaPerTick * (command.high[i] - lo)) / 2);
  return {
    low,
    high,
    ...(maxDelta === undefined ? {} : { maxDelta }),
    ...(staleAgeS === undefined ? {} : { watchdog: { maxAge: staleAgeS, action: c.staleAction } }),
    workspace: c.workspace.map((w) => ({ signal: w.signal, index: w.index, low: w.min, high: w.max })),
    safeCommand: c.staleAction,
  };
}
