import type { SacbridgeConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { DaemonStatus } from './control.js';
import { TICKING_PHASES, type JobStatus } from './job.js';
import type { Phase } from './phases.js';
import type { SdNotify } from './sdNotify.js';
import type { StateDir } from './stateDir.js';
import { progressRecord, statusLine } from './statusText.js';

/** A progress line in the log this often while the job works (the terminal shows learning). */
const PROGRESS_EVERY_MS = 10_000;

export interface StatusReportsDeps {
  notify: SdNotify;
  stateDir: StateDir;
  logger: Logger;
  config: () => SacbridgeConfig;
  /** The current phase; undefined before the phase machine exists. */
  phase: () => Phase | undefined;
  job: () => JobStatus;
  status: () => DaemonStatus;
}

/**
 * What the daemon tells the outside between ticks, each at its own cadence: systemd's watchdog
 * ping, the status file and STATUS= line (daemon.statusEverySeconds), the progress log line.
 */
export class StatusReports {
  private lastWatchdog = 0;
  private lastStatus = 0;
  private lastProgress: { at: number; steps: number };

  constructor(
    private readonly deps: StatusReportsDeps,
    steps: number,
  ) {
    this.lastProgress = { at: Date.now(), steps };
  }

  /** The status file written and READY=1 sent, with the first status line. */
  async ready(): Promise<void> {
    this.writeStatus();
    this.lastStatus = Date.now();
    await this.deps.notify.ready(this.line());
  }

  kickWatchdog(): void {
    const every = this.deps.notify.watchdogIntervalMs;
    if (every === null || !this.deps.config().daemon.watchdog) return;
    const now = Date.now();
    if (now - this.lastWatchdog >= every) {
      this.lastWatchdog = now;
      void this.deps.notify.watchdog();
    }
  }

  statusIfDue(): void {
    this.progressIfDue();
    const now = Date.now();
    if (now - this.lastStatus < this.deps.config().daemon.statusEverySeconds * 1000) return;
    this.lastStatus = now;
    this.writeStatus();
    void this.deps.notify.status(this.line());
  }

  writeStatus(): void {
    try {
      this.deps.stateDir.writeStatus(this.deps.status());
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'could not write the status file');
    }
  }

  private progressIfDue(): void {
    const now = Date.now();
    if (now - this.lastProgress.at < PROGRESS_EVERY_MS) return;
    const s = this.deps.job();
    const rate = ((s.envSteps - this.lastProgress.steps) * 1000) / (now - this.lastProgress.at);
    this.lastProgress = { at: now, steps: s.envSteps };
    const phase = this.deps.phase();
    if (phase === undefined || !TICKING_PHASES.includes(phase)) return;
    const { fields, message } = progressRecord(phase, s, rate);
    this.deps.logger.info(fields, message);
  }

  private line(): string {
    return statusLine(this.deps.phase() ?? 'starting', this.deps.job());
  }
}
