/** The daemon's one-line status (sd_notify STATUS=) and its periodic progress log record. Pure. */
import type { JobStatus } from './job.js';

export function statusLine(phase: string, s: JobStatus): string {
  const ret = s.lastReturn === null ? '' : `, last return ${s.lastReturn.toFixed(2)}`;
  return `${phase}: ${s.envSteps} steps, ${s.updates} updates, ${s.episodes} episodes${ret}`;
}

/** The progress record and message for `steps` at `rate` steps per second. */
export function progressRecord(phase: string, s: JobStatus, rate: number): { fields: Record<string, unknown>; message: string } {
  return {
    fields: { phase, steps: s.envSteps, stepsPerSecond: Number(rate.toFixed(1)), updates: s.updates, episodes: s.episodes, lastReturn: s.lastReturn === null ? null : Number(s.lastReturn.toFixed(2)), ...s.extra },
    message: `progress: ${s.envSteps} steps (${rate.toFixed(0)}/s), last return ${s.lastReturn === null ? '-' : s.lastReturn.toFixed(1)}`,
  };
}
