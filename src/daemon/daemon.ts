import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { changedKeys, ConfigError, getKey, loadConfig, type LoadOptions } from '../config/load.js';
import { LIVE_KEYS, type SacbridgeConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { Metrics } from '../metrics/metrics.js';
import { serveMetrics, type MetricsServer } from '../metrics/server.js';
import { liveSources } from '../ui/liveSources.js';
import { startUiServer, type UiServer } from '../ui/server.js';
import type { Json } from '../util/json.js';
import type { CpuWakeupLatencyRequest } from '../control/cpuWakeupLatency.js';
import { checkThreadSettings, holdCpuWakeupLatency } from './realtimePreflight.js';
import { progressRecord, statusLine } from './statusText.js';
import type { TickTelemetry, UpdateTelemetry } from '../zmq/telemetry.js';
import { Schedule } from '../train/schedule.js';
import { CheckpointRetry } from './checkpointRetry.js';
import { DaemonControl, type CheckpointInfo, type ControlRequest, type DaemonStatus } from './control.js';
import { TICKING_PHASES, type CreateJob, type Job, type PolicySink, type TelemetrySink } from './job.js';
import { createJob } from './jobs.js';
import { isPhaseState, PhaseMachine, type Phase, type PhaseChange, type PhaseState } from './phases.js';
import { DaemonZmq } from './zmqFace.js';
import { SdNotify } from './sdNotify.js';
import { resolveStateDir, StateDir, type DaemonState } from './stateDir.js';

/** sysexits.h EX_TEMPFAIL: another daemon holds the state directory. */
export const EX_TEMPFAIL = 75;
/** sysexits.h EX_SOFTWARE: the stop took longer than daemon.stopTimeoutSeconds. */
export const EX_SOFTWARE = 70;
/** sysexits.h EX_IOERR: no checkpoint could be saved (daemon.checkpointFailureTimeoutSeconds, or the final one). */
export const EX_IOERR = 74;

/** Nothing could be saved for daemon.checkpointFailureTimeoutSeconds. */
class CheckpointStarved extends Error {
  override name = 'CheckpointStarved';
}

export interface DaemonOptions {
  config: SacbridgeConfig;
  logger: Logger;
  /** How the configuration was loaded, so SIGHUP can load it again the same way. */
  source?: LoadOptions;
  env?: NodeJS.ProcessEnv;
  /** Use this job instead of `daemon.job` (the trainer wiring may pass its own). */
  job?: CreateJob;
  /** Install SIGTERM/SIGINT/SIGHUP handlers (the CLI does; library users may not). */
  handleSignals?: boolean;
}

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

interface Pending {
  request: ControlRequest;
  resolve: (v: PhaseChange | CheckpointInfo) => void;
  reject: (err: Error) => void;
}

const IDLE_WAIT_MS = 50;
/** A progress line in the log this often while the job works (the terminal shows learning). */
const PROGRESS_EVERY_MS = 10_000;

/**
 * The daemon: owns the state directory, the phase machine, the job and the loop that ticks it.
 * `start` brings everything up (lock, state, checkpoint restore, metrics, READY); `run` turns the
 * loop until a stop is requested, then checkpoints, persists the phase and releases everything.
 */
export class Daemon {
  readonly metrics = new Metrics();
  readonly notify: SdNotify;
  readonly stateDir: StateDir;
  private phases!: PhaseMachine;
  private zmq: DaemonZmq | null = null;
  /** Phases left since the last tick, for the job's phaseLeft hook (awaited between ticks). */
  private readonly left: PhaseChange[] = [];
  private job!: Job;
  private state!: DaemonState;
  private schedule!: Schedule;
  private retry!: CheckpointRetry;
  private metricsServer: MetricsServer | null = null;
  private uiServer: UiServer | null = null;
  private wakeupLatency: CpuWakeupLatencyRequest | null = null;
  private config: SacbridgeConfig;
  private readonly logger: Logger;
  private readonly startedAt = new Date();
  private stopReason: string | null = null;
  private stopTimer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private readonly pending: Pending[] = [];
  private lastWatchdog = 0;
  private lastStatus = 0;
  private lastProgress = { at: Date.now(), steps: 0 };
  private lastCheckpointSteps = -1;
  /** Job counters already added to the Prometheus counters. */
  private counted = { envSteps: 0, updates: 0 };
  private readonly signalHandlers: [NodeJS.Signals, () => void][] = [];

  private constructor(private readonly options: DaemonOptions) {
    this.config = options.config;
    this.logger = options.logger;
    const env = options.env ?? process.env;
    this.notify = new SdNotify({ env, onError: (err) => this.logger.warn({ err: err.message }, 'systemd notification failed') });
    this.stateDir = new StateDir(resolveStateDir(this.config.daemon.stateDir, env));
  }

  /** Bring the daemon up; throws LockError when another daemon owns the state directory. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const d = new Daemon(options);
    await d.init();
    return d;
  }

  private async init(): Promise<void> {
    const log = this.logger;
    const sd = this.stateDir;
    sd.prepare();
    sd.lock();
    // From here a SIGTERM is a clean stop: run() sees it before its first tick.
    if (this.options.handleSignals) this.installSignals();
    try {
      this.wakeupLatency = holdCpuWakeupLatency(this.config.realtime);
      if (this.wakeupLatency !== null) this.logger.info({ maxUs: this.config.realtime.cpuWakeupLatencyUs, device: this.wakeupLatency.path }, 'cpu wake-up latency request held');
      checkThreadSettings(this.config.realtime);
      const loaded = sd.loadState();
      for (const r of loaded.refused) log.warn({ file: r }, 'daemon state copy refused; using the other one');
      this.state = sd.saveState({
        ...loaded.state,
        counters: { ...loaded.state.counters, starts: loaded.state.counters.starts + 1 },
        cleanStop: false,
      });
      log.info({ stateDir: sd.dir, starts: this.state.counters.starts, previousStopClean: loaded.state.cleanStop, phase: this.state.phase.phase }, 'state directory ready');

      // The job publishes through this before the sockets exist; it forwards once they do.
      const telemetry: TelemetrySink = {
        tick: (t: TickTelemetry) => this.zmq?.tick(t),
        update: (u: UpdateTelemetry) => this.zmq?.update(u),
      };
      // Likewise for actor weights: the policy server starts from job.servedPolicy().
      const policy: PolicySink = { publish: (weights, version) => this.zmq?.publish(weights, version) };
      this.job = await (this.options.job ?? ((ctx) => createJob(this.config.daemon.job, ctx)))({
        config: this.config,
        logger: log.child({ job: this.config.daemon.job }),
        metrics: this.metrics,
        runDir: sd.runDir,
        checkpointDir: sd.checkpointsDir,
        telemetry,
        policy,
        phase: () => this.phases?.phase ?? this.state.phase.phase,
      });
      await this.restoreNewestCheckpoint();

      const restored = this.job.status();
      const jobSteps = restored.envSteps;
      this.lastCheckpointSteps = jobSteps;
      this.lastProgress = { at: Date.now(), steps: jobSteps };
      this.counted = { envSteps: restored.envSteps, updates: restored.updates };
      this.schedule = new Schedule(this.config.daemon.checkpointEverySteps, this.config.daemon.checkpointEverySeconds, jobSteps, Date.now());
      this.retry = new CheckpointRetry(this.config.daemon.checkpointFailureTimeoutSeconds * 1000);
      this.phases = new PhaseMachine(this.state.phase, this.state.counters.transitions, {
        persist: (to, seq) => this.persistPhase(to, seq),
        log: (c) => log.info({ event: c.event, from: c.from.phase, to: c.to.phase, source: c.source, reason: c.reason, seq: c.seq }, `phase ${c.from.phase} -> ${c.to.phase}`),
      }, (err) => log.error({ err }, 'a phase listener failed'));
      this.phases.onChange((c) => this.metrics.phaseChanged(c.to.phase));
      this.phases.onChange((c) => {
        this.zmq?.phase(c);
        if (c.from.phase !== c.to.phase) this.left.push(c);
      });
      this.metrics.setPhase(this.phases.phase);
      this.zmq = await DaemonZmq.open(this.config.zmq, { handler: new DaemonControl(this), policy: this.job.servedPolicy?.(), seed: this.config.sim.seed + 37, policyThreadPriority: this.config.realtime.policyThreadPriority, policyThreadCpus: this.config.realtime.policyThreadCpus, metrics: this.metrics, logger: log });

      if (this.config.metrics.enabled) {
        this.metricsServer = await serveMetrics(this.metrics, this.config.metrics.host, this.config.metrics.port, () => this.status());
        log.info({ url: this.metricsUrl() }, 'metrics served');
      }
      if (this.config.ui.enabled) {
        const job = this.job;
        this.uiServer = await startUiServer(liveSources(sd.runDir, () => job.viewedPlant?.() ?? null, () => this.status()), this.config.ui.host, this.config.ui.port);
        log.info({ url: this.uiServer.url }, 'web UI served');
      }
      this.writeStatus();
      this.lastStatus = Date.now();
      await this.notify.ready(this.statusLine());
      // The job's state as restored, before the first tick (the crash test reads it here).
      log.info({ pid: process.pid, notify: this.notify.transport, watchdogMs: this.notify.watchdogIntervalMs, job: this.job.name, restored: restored, phase: this.phases.phase }, 'ready');
      if (this.phases.phase === 'idle' && jobSteps < this.config.sim.totalSteps) {
        this.phases.apply('start_training', 'daemon', 'start-up with training left to do');
      }
    } catch (err) {
      await this.release();
      await (this.job as Job | undefined)?.close?.().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Resume the job from its newest good checkpoint (the checkpoint module verifies checksums and
   * falls back to older generations). The daemon's state stored with it takes over when it is
   * newer than the state file's (the file was lost or refused): phase and counters resume with
   * the networks. Otherwise the state file wins, being written at every transition (an e-stop
   * after the last checkpoint is not forgotten).
   */
  private async restoreNewestCheckpoint(): Promise<void> {
    const log = this.logger;
    const r = await this.job.resume();
    if (r === null) {
      log.info('no checkpoint: starting fresh');
      return;
    }
    log.info({ checkpoint: r.id, steps: r.steps, replay: r.replaySize }, 'resumed from checkpoint');
    if (r.steps < this.state.jobSteps) {
      log.warn({ checkpoint: r.id, steps: r.steps, recorded: this.state.jobSteps }, 'resumed from an older checkpoint than the last one recorded (the newer ones did not verify)');
    }
    const d = r.daemon;
    if (!isDaemonSnapshot(d)) return;
    const c = this.state.counters;
    if (d.transitions > c.transitions) {
      log.warn({ phase: d.phase.phase, transitions: d.transitions, stateFile: { phase: this.state.phase.phase, transitions: c.transitions } }, 'the checkpoint knows a newer phase than the state file: resuming its phase');
    }
    const newer = d.transitions > c.transitions;
    this.state = this.stateDir.saveState({
      ...this.state,
      phase: newer ? d.phase : this.state.phase,
      lastCheckpoint: this.state.lastCheckpoint ?? r.id,
      counters: {
        starts: Math.max(c.starts, d.starts + 1),
        transitions: Math.max(c.transitions, d.transitions),
        checkpoints: Math.max(c.checkpoints, d.checkpoints),
      },
    });
  }

  private snapshot(checkpoints: number): DaemonSnapshot {
    const c = this.state.counters;
    return { phase: this.phases.state, transitions: this.phases.transitions, starts: c.starts, checkpoints };
  }

  private persistPhase(to: PhaseState, seq: number): void {
    // 'stopping' is not a phase to resume in: keep the one being left, and mark the stop clean.
    const stopping = to.phase === 'stopping';
    const next: DaemonState = {
      ...this.state,
      phase: stopping ? this.state.phase : to,
      counters: { ...this.state.counters, transitions: seq },
      cleanStop: stopping,
    };
    try {
      this.state = this.stateDir.saveState(next);
    } catch (err) {
      // A phase change (an e-stop above all) never waits for the disk: it holds in memory and
      // goes to disk with the next state write or checkpoint.
      this.state = next;
      this.metrics.writeFailed('daemon_state');
      this.logger.error({ err: (err as Error).message, phase: to.phase }, 'could not write the daemon state file; the phase change holds');
    }
  }

  get phase(): Phase {
    return this.phases.phase;
  }

  /** The phase and where pause/e-stop return to. */
  get phaseState(): PhaseState {
    return this.phases.state;
  }

  /** Subscribe to phase changes (telemetry publishes them). Returns the unsubscribe function. */
  onPhaseChange(listener: (c: PhaseChange) => void): () => void {
    return this.phases.onChange(listener);
  }

  /**
   * Ask for a phase change or a checkpoint (control API, ROS, operator). Applied between two
   * ticks; resolves with the change, rejects with the reason it was refused.
   */
  request(r: ControlRequest): Promise<PhaseChange | CheckpointInfo> {
    if (r.kind === 'phase' && r.event === 'stop') {
      this.requestStop(`${r.source}: ${r.reason}`);
      return Promise.reject(new Error('stopping; the stop is acknowledged by the process exit'));
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ request: r, resolve, reject });
      this.wake?.();
    });
  }

  /** Stop after the current tick (SIGTERM). */
  requestStop(reason: string): void {
    if (this.stopReason !== null) {
      this.logger.info({ reason }, 'stop already under way');
      return;
    }
    this.stopReason = reason;
    this.logger.info({ reason }, 'stop requested: finishing the tick');
    const limit = this.config.daemon.stopTimeoutSeconds * 1000;
    if (this.options.handleSignals) {
      this.stopTimer = setTimeout(() => {
        this.logger.fatal({ limitSeconds: limit / 1000 }, 'stop timed out; exiting without a final checkpoint');
        // Sockets first: exiting while the policy server's worker thread still has its socket
        // open aborts the process in zeromq.js's teardown (SIGABRT, not 70; zeromq/zeromq.js#411).
        const exit = (): never => process.exit(EX_SOFTWARE);
        setTimeout(exit, 1000);
        void (this.zmq?.close() ?? Promise.resolve()).then(exit, exit);
      }, limit);
    }
    this.wake?.();
  }

  /** SIGHUP: load the configuration again; apply the live keys, report the others as ignored. */
  reload(): { applied: string[]; ignored: string[] } | null {
    let next: SacbridgeConfig;
    try {
      next = loadConfig({ ...this.options.source, env: process.env }).config;
    } catch (err) {
      const msg = err instanceof ConfigError ? err.message : String(err);
      this.logger.error({ error: msg }, 'reload refused: the configuration is invalid; keeping the running one');
      return null;
    }
    const changed = changedKeys(this.config, next);
    const live = changed.filter((k) => LIVE_KEYS.includes(k));
    const ignored = changed.filter((k) => !LIVE_KEYS.includes(k));
    this.config = next;
    this.logger.level = next.logging.level;
    this.schedule.configure(next.daemon.checkpointEverySteps, next.daemon.checkpointEverySeconds);
    this.retry.configure(next.daemon.checkpointFailureTimeoutSeconds * 1000);
    const jobApplied = this.job.reconfigure?.(next, live) ?? [];
    const daemonKeys = live.filter((k) => k.startsWith('logging.') || k.startsWith('daemon.'));
    const applied = [...new Set([...daemonKeys, ...jobApplied])];
    const notTaken = live.filter((k) => !applied.includes(k));
    this.logger.info(
      {
        applied: applied.map((k) => `${k}=${JSON.stringify(getKey(next, k))}`),
        ignored: ignored.map((k) => `${k} (needs a restart)`),
        unused: notTaken,
      },
      `configuration reloaded: ${applied.length} applied, ${ignored.length} ignored`,
    );
    void this.notify.status(`reloaded: ${applied.length} applied, ${ignored.length} ignored`);
    return { applied, ignored };
  }

  private installSignals(): void {
    const on = (sig: NodeJS.Signals, fn: () => void): void => {
      process.on(sig, fn);
      this.signalHandlers.push([sig, fn]);
    };
    on('SIGTERM', () => this.requestStop('SIGTERM'));
    on('SIGINT', () => this.requestStop('SIGINT'));
    on('SIGHUP', () => void this.reload());
  }

  /** Turn the loop until stopped; resolves with the exit code. */
  async run(): Promise<number> {
    const log = this.logger;
    try {
      while (this.stopReason === null) {
        await this.servePending();
        await this.tellJobPhasesLeft();
        if (this.stopReason !== null) break;
        const phase = this.phases.phase;
        if (TICKING_PHASES.includes(phase)) {
          const t0 = performance.now();
          const r = await this.job.tick(phase);
          this.metrics.observeTick((performance.now() - t0) / 1000);
          this.countJobProgress();
          if (r.request) {
            const c = this.phases.tryApply(r.request.event, 'job', r.request.reason);
            if (c === null) log.warn({ event: r.request.event, phase: this.phases.phase }, 'the job asked for a phase change the state machine refuses');
            else if (c.to.phase === 'armed' && this.config.switch.mode === 'automatic') {
              this.phases.apply('go_real', 'daemon', 'switch.mode is automatic: no operator confirmation');
            }
          }
          await yieldToLoop();
        } else {
          await this.sleep(IDLE_WAIT_MS);
        }
        this.kickWatchdog();
        await this.checkpointIfDue();
        this.statusIfDue();
      }
      return await this.shutdown();
    } catch (err) {
      if (err instanceof CheckpointStarved) {
        log.fatal(err.message);
        await this.zmq?.close();
        this.zmq = null;
        await this.job.close?.().catch(() => undefined);
        await this.release();
        return EX_IOERR;
      }
      log.fatal({ err }, 'the control loop failed');
      await this.release();
      return 1;
    }
  }

  private async tellJobPhasesLeft(): Promise<void> {
    for (const c of this.left.splice(0)) {
      try {
        await this.job.phaseLeft?.(c.from.phase, c.to.phase);
      } catch (err) {
        this.logger.error({ err, from: c.from.phase, to: c.to.phase }, 'the job failed to leave its phase cleanly');
      }
    }
  }

  /** The daemon, not the job, feeds the step and update counters, from the job's status. */
  private countJobProgress(): void {
    const s = this.job.status();
    if (s.envSteps > this.counted.envSteps) this.metrics.addEnvSteps(s.envSteps - this.counted.envSteps);
    if (s.updates > this.counted.updates) this.metrics.addUpdates(s.updates - this.counted.updates);
    this.counted = { envSteps: s.envSteps, updates: s.updates };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private async servePending(): Promise<void> {
    while (this.pending.length > 0) {
      const p = this.pending.shift()!;
      try {
        if (p.request.kind === 'checkpoint') p.resolve(await this.checkpoint(`requested by ${p.request.source}`));
        else {
          const r = p.request;
          // Refused transitions throw before the job hears of the round's size.
          const change = this.phases.apply(r.event, r.source, r.reason);
          if (r.evaluation !== undefined && change.to.phase === 'evaluating') this.job.evaluationRequested?.(r.evaluation);
          p.resolve(change);
        }
      } catch (err) {
        p.reject(err as Error);
      }
    }
  }

  private kickWatchdog(): void {
    const every = this.notify.watchdogIntervalMs;
    if (every === null || !this.config.daemon.watchdog) return;
    const now = Date.now();
    if (now - this.lastWatchdog >= every) {
      this.lastWatchdog = now;
      void this.notify.watchdog();
    }
  }

  /**
   * A scheduled checkpoint, or a retry of one that failed. A failure never stops the loop: the
   * previous generation stays, the failure is logged and counted, and the next attempt waits
   * for the backoff. Only when nothing could be saved for daemon.checkpointFailureTimeoutSeconds
   * does this throw CheckpointStarved, which stops the daemon (exit 74).
   */
  private async checkpointIfDue(): Promise<void> {
    const now = Date.now();
    let reason: string;
    if (this.retry.failing) {
      if (!this.retry.mayRetry(now)) return;
      reason = `retry ${this.retry.failedAttempts} after a failed checkpoint`;
    } else {
      const due = this.schedule.due(this.job.status().envSteps, now);
      if (due === null) return;
      reason = due === 'steps' ? 'schedule (steps)' : 'schedule (time)';
    }
    try {
      await this.checkpoint(reason);
    } catch (err) {
      const f = this.retry.failed(Date.now());
      this.logger.error({ err: (err as Error).message, reason, retryInSeconds: f.retryInMs / 1000, failingForSeconds: Math.round(f.failingForMs / 1000), previous: this.state.lastCheckpoint }, 'checkpoint failed; the previous one is intact, training goes on');
      if (f.giveUp) {
        throw new CheckpointStarved(`no checkpoint could be saved for ${Math.round(f.failingForMs / 1000)} s (daemon.checkpointFailureTimeoutSeconds = ${this.config.daemon.checkpointFailureTimeoutSeconds}); the last one is ${this.state.lastCheckpoint ?? 'none'}: ${(err as Error).message}`);
      }
    }
  }

  /** Write a checkpoint now (between ticks): the job's state and the daemon's, in one generation. */
  async checkpoint(reason: string): Promise<CheckpointInfo> {
    const t0 = performance.now();
    const count = this.state.counters.checkpoints + 1;
    let info: CheckpointInfo;
    try {
      const r = await this.job.checkpoint(reason, this.snapshot(count) as unknown as Json);
      info = { name: r.id, steps: r.steps, replaySize: r.replaySize };
      this.state = this.stateDir.saveState({
        ...this.state,
        lastCheckpoint: info.name,
        jobSteps: info.steps,
        counters: { ...this.state.counters, checkpoints: count },
      });
    } catch (err) {
      this.metrics.writeFailed('checkpoint');
      throw err;
    }
    this.retry.succeeded();
    const seconds = (performance.now() - t0) / 1000;
    this.schedule.done(info.steps, Date.now());
    this.lastCheckpointSteps = info.steps;
    this.metrics.checkpointWritten(reason, seconds);
    this.logger.info({ checkpoint: info.name, steps: info.steps, replay: info.replaySize, reason, seconds: Number(seconds.toFixed(3)) }, 'checkpoint written');
    return info;
  }

  private progressIfDue(): void {
    const now = Date.now();
    if (now - this.lastProgress.at < PROGRESS_EVERY_MS) return;
    const s = this.job.status();
    const rate = ((s.envSteps - this.lastProgress.steps) * 1000) / (now - this.lastProgress.at);
    this.lastProgress = { at: now, steps: s.envSteps };
    if (!TICKING_PHASES.includes(this.phases.phase)) return;
    const { fields, message } = progressRecord(this.phases.phase, s, rate);
    this.logger.info(fields, message);
  }

  private statusIfDue(): void {
    this.progressIfDue();
    const now = Date.now();
    if (now - this.lastStatus < this.config.daemon.statusEverySeconds * 1000) return;
    this.lastStatus = now;
    this.writeStatus();
    void this.notify.status(this.statusLine());
  }

  private writeStatus(): void {
    try {
      this.stateDir.writeStatus(this.status());
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'could not write the status file');
    }
  }

  private statusLine(): string {
    return statusLine(this.phases?.phase ?? 'starting', this.job.status());
  }

  private metricsUrl(): string | null {
    if (this.metricsServer === null) return null;
    const h = this.metricsServer.host.includes(':') ? `[${this.metricsServer.host}]` : this.metricsServer.host;
    return `http://${h}:${this.metricsServer.port}`;
  }

  status(): DaemonStatus {
    const now = new Date();
    return {
      pid: process.pid,
      phase: this.phases.phase,
      resumeTo: this.phases.state.resumeTo,
      stateDir: this.stateDir.dir,
      job: this.job.name,
      jobStatus: this.job.status(),
      starts: this.state.counters.starts,
      transitions: this.phases.transitions,
      checkpoints: this.state.counters.checkpoints,
      lastCheckpoint: this.state.lastCheckpoint,
      metricsUrl: this.metricsUrl(),
      uiUrl: this.uiServer?.url ?? null,
      zmq: this.zmq?.endpoints() ?? { telemetry: null, policy: null, control: null },
      policyServer: this.zmq?.policyServerStatus() ?? null,
      notify: this.notify.transport,
      startedAt: this.startedAt.toISOString(),
      updatedAt: now.toISOString(),
      uptimeSeconds: (now.getTime() - this.startedAt.getTime()) / 1000,
    };
  }

  private async shutdown(): Promise<number> {
    const log = this.logger;
    await this.notify.stopping(`stopping (${this.stopReason})`);
    for (const p of this.pending.splice(0)) p.reject(new Error('the daemon is stopping'));
    let code = 0;
    if (this.job.status().envSteps !== this.lastCheckpointSteps) {
      try {
        await this.checkpoint(`stop (${this.stopReason})`);
      } catch (err) {
        // The previous generation is intact; the steps since it are what is lost.
        log.error({ err: (err as Error).message, previous: this.state.lastCheckpoint }, 'the final checkpoint failed; the previous one is intact');
        code = EX_IOERR;
      }
    }
    this.phases.tryApply('stop', 'daemon', this.stopReason ?? '');
    await this.zmq?.close();
    this.zmq = null;
    await this.job.close?.();
    this.writeStatus();
    await this.release();
    log.info({ reason: this.stopReason, exitCode: code }, 'stopped');
    return code;
  }

  private async release(): Promise<void> {
    if (this.stopTimer !== null) clearTimeout(this.stopTimer);
    for (const [sig, fn] of this.signalHandlers.splice(0)) process.off(sig, fn);
    await this.metricsServer?.close();
    this.metricsServer = null;
    await this.uiServer?.close();
    this.uiServer = null;
    await this.zmq?.close();
    this.zmq = null;
    this.wakeupLatency?.release();
    this.wakeupLatency = null;
    this.stateDir.unlock();
  }
}
