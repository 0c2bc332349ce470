import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { SacbridgeConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { CheckpointInfo, ControlRequest } from './control.js';
import { TICKING_PHASES, type Job } from './job.js';
import type { PhaseChange, PhaseMachine } from './phases.js';

const IDLE_WAIT_MS = 50;

interface Pending {
  request: ControlRequest;
  resolve: (v: PhaseChange | CheckpointInfo) => void;
  reject: (err: Error) => void;
}

export interface PhaseLoopDeps {
  phases: PhaseMachine;
  job: Job;
  metrics: Metrics;
  logger: Logger;
  /** The running configuration (switch.mode is a live key). */
  config: () => SacbridgeConfig;
  /** Write a checkpoint now (a control request for one). */
  checkpoint: (reason: string) => Promise<CheckpointInfo>;
  /** The daemon's own duties between two ticks (watchdog, checkpoint, status). */
  betweenTicks: () => Promise<void>;
  /** Whether a stop was requested: the loop ends after the current tick. */
  stopping: () => boolean;
}

/**
 * The loop that works the phases: the job's tick in the phases that tick, a short wait in the
 * others, and between two ticks the requests (phase changes, checkpoints), the job's phaseLeft
 * hook and the daemon's duties. Nothing changes phase in the middle of a tick.
 */
export class PhaseLoop {
  private readonly pending: Pending[] = [];
  /** Phases left since the last tick, for the job's phaseLeft hook (awaited between ticks). */
  private readonly left: PhaseChange[] = [];
  private wakeUp: (() => void) | null = null;
  /** Job counters already added to the Prometheus counters. */
  private counted: { envSteps: number; updates: number };

  constructor(private readonly deps: PhaseLoopDeps) {
    const s = deps.job.status();
    this.counted = { envSteps: s.envSteps, updates: s.updates };
    deps.phases.onChange((c) => {
      if (c.from.phase !== c.to.phase) this.left.push(c);
    });
  }

  /** Queue a request, applied between two ticks; resolves with its result, rejects with the refusal. */
  request(r: ControlRequest): Promise<PhaseChange | CheckpointInfo> {
    return new Promise((resolve, reject) => {
      this.pending.push({ request: r, resolve, reject });
      this.wake();
    });
  }

  /** End an idle wait now (a request or a stop came in). */
  wake(): void {
    this.wakeUp?.();
  }

  /** Refuse every request still queued (the daemon is stopping). */
  refusePending(reason: string): void {
    for (const p of this.pending.splice(0)) p.reject(new Error(reason));
  }

  /** Turn until a stop is requested. Throws what a tick or a between-ticks duty throws. */
  async run(): Promise<void> {
    const { phases, job, metrics, logger: log } = this.deps;
    while (!this.deps.stopping()) {
      await this.servePending();
      await this.tellJobPhasesLeft();
      if (this.deps.stopping()) break;
      const phase = phases.phase;
      if (TICKING_PHASES.includes(phase)) {
        const t0 = performance.now();
        const r = await job.tick(phase);
        metrics.observeTick((performance.now() - t0) / 1000);
        this.countJobProgress();
        if (r.request) {
          const c = phases.tryApply(r.request.event, 'job', r.request.reason);
          if (c === null) log.warn({ event: r.request.event, phase: phases.phase }, 'the job asked for a phase change the state machine refuses');
          else if (c.to.phase === 'armed' && this.deps.config().switch.mode === 'automatic') {
            phases.apply('go_real', 'daemon', 'switch.mode is automatic: no operator confirmation');
          }
        }
        await yieldToLoop();
      } else {
        await this.sleep(IDLE_WAIT_MS);
      }
      await this.deps.betweenTicks();
    }
  }

  private async servePending(): Promise<void> {
    while (this.pending.length > 0) {
      const p = this.pending.shift()!;
      try {
        if (p.request.kind === 'checkpoint') p.resolve(await this.deps.checkpoint(`requested by ${p.request.source}`));
        else {
          const r = p.request;
          // Refused transitions throw before the job hears of the round's size.
          const change = this.deps.phases.apply(r.event, r.source, r.reason);
          if (r.evaluation !== undefined && change.to.phase === 'evaluating') this.deps.job.evaluationRequested?.(r.evaluation);
          p.resolve(change);
        }
      } catch (err) {
        p.reject(err as Error);
      }
    }
  }

  private async tellJobPhasesLeft(): Promise<void> {
    for (const c of this.left.splice(0)) {
      try {
        await this.deps.job.phaseLeft?.(c.from.phase, c.to.phase);
      } catch (err) {
        this.deps.logger.error({ err, from: c.from.phase, to: c.to.phase }, 'the job failed to leave its phase cleanly');
      }
    }
  }

  /** The daemon, not the job, feeds the step and update counters, from the job's status. */
  private countJobProgress(): void {
    const s = this.deps.job.status();
    if (s.envSteps > this.counted.envSteps) this.deps.metrics.addEnvSteps(s.envSteps - this.counted.envSteps);
    if (s.updates > this.counted.updates) this.deps.metrics.addUpdates(s.updates - this.counted.updates);
    this.counted = { envSteps: s.envSteps, updates: s.updates };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = null;
        done();
      };
    });
  }
}
