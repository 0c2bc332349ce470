import type { SacbridgeConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { Schedule } from '../train/schedule.js';
import type { Json } from '../util/json.js';
import { CheckpointRetry } from './checkpointRetry.js';
import type { CheckpointInfo } from './control.js';
import type { Job } from './job.js';
import { isPhaseState, type PhaseState } from './phases.js';
import type { StateRecord } from './stateRecord.js';

/** The daemon's part of every checkpoint (the job stores it with its own state). */
export interface DaemonSnapshot {
  phase: PhaseState;
  transitions: number;
  starts: number;
  checkpoints: number;
}

function isDaemonSnapshot(v: Json): v is Json & DaemonSnapshot {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, Json>;
  return isPhaseState(o.phase) && ['transitions', 'starts', 'checkpoints'].every((k) => Number.isInteger(o[k]));
}

/** Nothing could be saved for daemon.checkpointFailureTimeoutSeconds. */
export class CheckpointStarved extends Error {
  override name = 'CheckpointStarved';
}

/**
 * Resume the job from its newest good checkpoint (the checkpoint module verifies checksums and
 * falls back to older generations). The daemon's state stored with it takes over when it is
 * newer than the state file's (the file was lost or refused): phase and counters resume with
 * the networks. Otherwise the state file wins, being written at every transition (an e-stop
 * after the last checkpoint is not forgotten).
 */
export async function restoreNewestCheckpoint(job: Job, record: StateRecord, log: Logger): Promise<void> {
  const r = await job.resume();
  if (r === null) {
    log.info('no checkpoint: starting fresh');
    return;
  }
  log.info({ checkpoint: r.id, steps: r.steps, replay: r.replaySize }, 'resumed from checkpoint');
  const state = record.current;
  if (r.steps < state.jobSteps) {
    log.warn({ checkpoint: r.id, steps: r.steps, recorded: state.jobSteps }, 'resumed from an older checkpoint than the last one recorded (the newer ones did not verify)');
  }
  const d = r.daemon;
  if (!isDaemonSnapshot(d)) return;
  const c = state.counters;
  const newer = d.transitions > c.transitions;
  if (newer) {
    log.warn({ phase: d.phase.phase, transitions: d.transitions, stateFile: { phase: state.phase.phase, transitions: c.transitions } }, 'the checkpoint knows a newer phase than the state file: resuming its phase');
  }
  record.save({
    ...state,
    phase: newer ? d.phase : state.phase,
    lastCheckpoint: state.lastCheckpoint ?? r.id,
    counters: {
      starts: Math.max(c.starts, d.starts + 1),
      transitions: Math.max(c.transitions, d.transitions),
      checkpoints: Math.max(c.checkpoints, d.checkpoints),
    },
  });
}

export interface DaemonCheckpointsDeps {
  job: Job;
  record: StateRecord;
  metrics: Metrics;
  logger: Logger;
  /** The phase machine's part of the snapshot stored with each checkpoint. */
  phases: () => { state: PhaseState; transitions: number };
}

/**
 * When and how the daemon checkpoints: on schedule (daemon.checkpointEvery*), on request, at the
 * stop, with backoff after a failure. Each checkpoint is one generation holding the job's state
 * and the daemon's (DaemonSnapshot); the state record then names it.
 */
export class DaemonCheckpoints {
  private readonly schedule: Schedule;
  private readonly retry: CheckpointRetry;
  private giveUpSeconds: number;
  /** Job steps held by the newest checkpoint (or restored at start). */
  private lastSteps: number;

  constructor(
    private readonly deps: DaemonCheckpointsDeps,
    config: SacbridgeConfig['daemon'],
    steps: number,
    nowMs: number,
  ) {
    this.lastSteps = steps;
    this.giveUpSeconds = config.checkpointFailureTimeoutSeconds;
    this.schedule = new Schedule(config.checkpointEverySteps, config.checkpointEverySeconds, steps, nowMs);
    this.retry = new CheckpointRetry(config.checkpointFailureTimeoutSeconds * 1000);
  }

  /** A reload changed daemon.* keys. */
  configure(config: SacbridgeConfig['daemon']): void {
    this.schedule.configure(config.checkpointEverySteps, config.checkpointEverySeconds);
    this.retry.configure(config.checkpointFailureTimeoutSeconds * 1000);
    this.giveUpSeconds = config.checkpointFailureTimeoutSeconds;
  }

  /** Whether the job took steps since the newest checkpoint. */
  get unsaved(): boolean {
    return this.deps.job.status().envSteps !== this.lastSteps;
  }

  /**
   * A scheduled checkpoint, or a retry of one that failed. A failure never stops the loop: the
   * previous generation stays, the failure is logged and counted, and the next attempt waits
   * for the backoff. Only when nothing could be saved for daemon.checkpointFailureTimeoutSeconds
   * does this throw CheckpointStarved, which stops the daemon (exit 74).
   */
  async ifDue(): Promise<void> {
    const now = Date.now();
    let reason: string;
    if (this.retry.failing) {
      if (!this.retry.mayRetry(now)) return;
      reason = `retry ${this.retry.failedAttempts} after a failed checkpoint`;
    } else {
      const due = this.schedule.due(this.deps.job.status().envSteps, now);
      if (due === null) return;
      reason = due === 'steps' ? 'schedule (steps)' : 'schedule (time)';
    }
    try {
      await this.write(reason);
    } catch (err) {
      const f = this.retry.failed(Date.now());
      const last = this.deps.record.current.lastCheckpoint;
      this.deps.logger.error({ err: (err as Error).message, reason, retryInSeconds: f.retryInMs / 1000, failingForSeconds: Math.round(f.failingForMs / 1000), previous: last }, 'checkpoint failed; the previous one is intact, training goes on');
      if (f.giveUp) {
        throw new CheckpointStarved(`no checkpoint could be saved for ${Math.round(f.failingForMs / 1000)} s (daemon.checkpointFailureTimeoutSeconds = ${this.giveUpSeconds}); the last one is ${last ?? 'none'}: ${(err as Error).message}`);
      }
    }
  }

  /** Write a checkpoint now (between ticks): the job's state and the daemon's, in one generation. */
  async write(reason: string): Promise<CheckpointInfo> {
    const { job, record, metrics, logger } = this.deps;
    const t0 = performance.now();
    const count = record.current.counters.checkpoints + 1;
    let info: CheckpointInfo;
    try {
      const r = await job.checkpoint(reason, this.snapshot(count) as unknown as Json);
      info = { name: r.id, steps: r.steps, replaySize: r.replaySize };
      const state = record.current;
      record.save({ ...state, lastCheckpoint: info.name, jobSteps: info.steps, counters: { ...state.counters, checkpoints: count } });
    } catch (err) {
      metrics.writeFailed('checkpoint');
      throw err;
    }
    this.retry.succeeded();
    const seconds = (performance.now() - t0) / 1000;
    this.schedule.done(info.steps, Date.now());
    this.lastSteps = info.steps;
    metrics.checkpointWritten(reason, seconds);
    logger.info({ checkpoint: info.name, steps: info.steps, replay: info.replaySize, reason, seconds: Number(seconds.toFixed(3)) }, 'checkpoint written');
    return info;
  }

  private snapshot(checkpoints: number): DaemonSnapshot {
    const p = this.deps.phases();
    return { phase: p.state, transitions: p.transitions, starts: this.deps.record.current.counters.starts, checkpoints };
  }
}
