import type { ThreadedPolicyServerStatus } from '../zmq/threadedPolicyServer.js';
import type { EvaluationRequest, JobStatus } from './job.js';
import type { JsonObject } from '../util/json.js';
import { eventTo, PhaseError, type Phase, type PhaseChange, type PhaseEvent, type PhaseState } from './phases.js';

export interface CheckpointInfo {
  /** Generation name under the state directory's run/checkpoints/. */
  name: string;
  steps: number;
  replaySize: number;
}

export interface DaemonStatus {
  pid: number;
  phase: Phase;
  resumeTo: PhaseState['resumeTo'];
  stateDir: string;
  job: string;
  jobStatus: JobStatus;
  starts: number;
  transitions: number;
  checkpoints: number;
  lastCheckpoint: string | null;
  metricsUrl: string | null;
  /** The web UI (ui.*), or null when it is off. */
  uiUrl: string | null;
  /** Bound ZeroMQ endpoints (null = off). */
  zmq: { telemetry: string | null; policy: string | null; control: string | null };
  /** The policy server's counters and served version (null when it is off). */
  policyServer: ThreadedPolicyServerStatus | null;
  notify: string;
  startedAt: string;
  updatedAt: string;
  uptimeSeconds: number;
}

export type ControlRequest =
  | { kind: 'phase'; event: PhaseEvent; source: string; reason: string; evaluation?: EvaluationRequest }
  | { kind: 'checkpoint'; source: string };

/** What the control API drives: the daemon. */
export interface ControlTarget {
  request(r: ControlRequest): Promise<PhaseChange | CheckpointInfo>;
  status(): DaemonStatus;
  readonly phaseState: PhaseState;
}

function changeJson(c: PhaseChange): JsonObject {
  return { from: c.from.phase, to: c.to.phase, event: c.event, seq: c.seq, at: new Date(c.at).toISOString() };
}

/**
 * The daemon's side of the ZeroMQ control API: one method per command, JSON-safe results.
 * Structurally the `ControlHandler` of src/zmq/controlServer.ts; a refused command throws
 * PhaseError with the reason (zmqFace.ts maps it to the server's refusal reply).
 */
export class DaemonControl {
  constructor(private readonly daemon: ControlTarget) {}

  private async phase(event: ControlRequest & { kind: 'phase' }): Promise<JsonObject> {
    return changeJson((await this.daemon.request(event)) as PhaseChange);
  }

  status(): JsonObject {
    return JSON.parse(JSON.stringify(this.daemon.status())) as JsonObject & DaemonStatus;
  }
  pause(a: { reason: string }): Promise<JsonObject> {
    return this.phase({ kind: 'phase', event: 'pause', source: 'control-api', reason: a.reason });
  }
  resume(a: { reason: string }): Promise<JsonObject> {
    return this.phase({ kind: 'phase', event: 'resume', source: 'control-api', reason: a.reason });
  }
  estop(a: { reason: string }): Promise<JsonObject> {
    return this.phase({ kind: 'phase', event: 'estop', source: 'control-api', reason: a.reason });
  }
  clearEstop(a: { reason: string }): Promise<JsonObject> {
    return this.phase({ kind: 'phase', event: 'clear', source: 'control-api', reason: a.reason });
  }
  async checkpoint(a: { tag?: string }): Promise<JsonObject> {
    const info = (await this.daemon.request({ kind: 'checkpoint', source: `control-api${a.tag ? ` (${a.tag})` : ''}` })) as CheckpointInfo;
    return { name: info.name, steps: info.steps, replaySize: info.replaySize };
  }
  /**
   * Starts an evaluation phase of `episodes` episodes, acting as `deterministic` says (the job's
   * gate decides only on a round at least as long as the one it is configured for). Already
   * evaluating: nothing to do.
   */
  async evaluate(a: { episodes: number; deterministic: boolean }): Promise<JsonObject> {
    if (this.daemon.phaseState.phase === 'evaluating') return { phase: 'evaluating', already: true };
    const change = await this.phase({
      kind: 'phase',
      event: 'evaluate',
      source: 'control-api',
      reason: `asked for ${a.episodes} ${a.deterministic ? 'deterministic' : 'sampled'} episodes`,
      evaluation: { episodes: a.episodes, deterministic: a.deterministic },
    });
    return { ...change, episodes: a.episodes, deterministic: a.deterministic };
  }
  /** Moves one edge of the state machine; a target further away is refused with the reason. */
  switchPhase(a: { phase: Phase; reason: string }): Promise<JsonObject> {
    const event = eventTo(this.daemon.phaseState, a.phase);
    if (event === null) {
      return Promise.reject(new PhaseError(`no single transition from '${this.daemon.phaseState.phase}' to '${a.phase}'`));
    }
    return this.phase({ kind: 'phase', event, source: 'control-api', reason: a.reason });
  }
}
