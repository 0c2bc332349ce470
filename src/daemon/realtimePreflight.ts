/**
 * The realtime.* keys checked and taken at start-up, before anything runs: a right the process
 * lacks is a configuration error (exit 78 naming the key), not a surprise hours later.
 */
import { ConfigError } from '../config/load.js';
import type { RealtimeConfig } from '../config/schema.js';
import { CpuWakeupLatencyRequest } from '../control/cpuWakeupLatency.js';
import { cpuListProblem, fifoSchedulingProblem } from '../control/realtime.js';

/** realtime.cpuWakeupLatencyUs: the request, held for the daemon's whole life (ticks and ZeroMQ replies both gain); null when off. */
export function holdCpuWakeupLatency(realtime: RealtimeConfig): CpuWakeupLatencyRequest | null {
  const us = realtime.cpuWakeupLatencyUs;
  if (us < 0) return null;
  try {
    return CpuWakeupLatencyRequest.hold(us);
  } catch (err) {
    throw new ConfigError([{ key: 'realtime.cpuWakeupLatencyUs', value: us, origin: 'unknown', reason: `${(err as Error).message}; set -1 to run without it` }]);
  }
}

/**
 * realtime.controlThreadPriority applies when fine-tuning starts on the robot, maybe hours from
 * now, and the policy server's thread takes its priority and CPUs itself: find out at start-up,
 * on this thread, whether this process may use them.
 */
export function checkThreadSettings(realtime: RealtimeConfig): void {
  for (const key of ['controlThreadPriority', 'policyThreadPriority'] as const) {
    const priority = realtime[key];
    const problem = priority === 0 ? null : fifoSchedulingProblem(priority);
    if (problem !== null) {
      throw new ConfigError([{ key: `realtime.${key}`, value: priority, origin: 'unknown', reason: `${problem}; set 0 to run without it` }]);
    }
  }
  const cpus = realtime.policyThreadCpus;
  const problem = cpus === '' ? null : cpuListProblem(cpus);
  if (problem !== null) {
    throw new ConfigError([{ key: 'realtime.policyThreadCpus', value: cpus, origin: 'unknown', reason: `${problem}; leave empty for any CPU` }]);
  }
}
