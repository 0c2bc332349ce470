import type { LoadOptions } from '../config/load.js';
import type { SacbridgeConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { Metrics } from '../metrics/metrics.js';
import { serveMetrics, type MetricsServer } from '../metrics/server.js';
import { UiEvents } from '../ui/events.js';
import { liveSources } from '../ui/liveSources.js';
import { startUiServer, type UiServer } from '../ui/server.js';
import type { CpuWakeupLatencyRequest } from '../control/cpuWakeupLatency.js';
import { checkThreadSettings, holdCpuWakeupLatency } from './realtimePreflight.js';
import type { TickTelemetry, UpdateTelemetry } from '../zmq/telemetry.js';
import { DaemonControl, type CheckpointInfo, type ControlRequest, type DaemonStatus } from './control.js';
import { CheckpointStarved, DaemonCheckpoints, restoreNewestCheckpoint } from './daemonCheckpoints.js';
import type { CreateJob, Job, PolicySink, TelemetrySink } from './job.js';
import { createJob } from './jobs.js';
import { PhaseLoop } from './phaseLoop.js';
import { PhaseMachine, type Phase, type PhaseChange, type PhaseState } from './phases.js';
import { reloadConfig, type ReloadResult } from './reload.js';
import { DaemonZmq } from './zmqFace.js';
import { SdNotify } from './sdNotify.js';
import { resolveStateDir, StateDir } from './stateDir.js';
import { StateRecord } from './stateRecord.js';
import { StatusReports } from './statusReports.js';

/** sysexits.h EX_TEMPFAIL: another daemon holds the state directory. */
export const EX_TEMPFAIL = 75;
/** sysexits.h EX_SOFTWARE: the stop took longer than daemon.stopTimeoutSeconds. */
export const EX_SOFTWARE = 70;
/** sysexits.h EX_IOERR: no checkpoint could be saved (daemon.checkpointFailureTimeoutSeconds, or the final one). */
export const EX_IOERR = 74;

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

/**
 * The daemon's lifecycle: `start` brings everything up (lock, state, checkpoint restore, sockets,
 * servers, READY); `run` turns the phase loop (phaseLoop.ts) until a stop is requested, then
 * checkpoints, persists the phase and releases everything. Signals: SIGTERM/SIGINT stop, SIGHUP
 * reloads (reload.ts). Checkpoint cadence: daemonCheckpoints.ts; status lines: statusReports.ts.
 */
export class Daemon {
  readonly metrics = new Metrics();
  readonly notify: SdNotify;
  readonly stateDir: StateDir;
  private phases!: PhaseMachine;
  private loop!: PhaseLoop;
  private checkpoints!: DaemonCheckpoints;
  private reports!: StatusReports;
  private record!: StateRecord;
  private zmq: DaemonZmq | null = null;
  private job!: Job;
  private metricsServer: MetricsServer | null = null;
  private uiServer: UiServer | null = null;
  private wakeupLatency: CpuWakeupLatencyRequest | null = null;
  private config: SacbridgeConfig;
  private readonly logger: Logger;
  private readonly startedAt = new Date();
  private stopReason: string | null = null;
  private stopTimer: NodeJS.Timeout | null = null;
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
      this.record = new StateRecord(sd, loaded.state);
      this.record.save({
        ...loaded.state,
        counters: { ...loaded.state.counters, starts: loaded.state.counters.starts + 1 },
        cleanStop: false,
      });
      const state = this.record.current;
      log.info({ stateDir: sd.dir, starts: state.counters.starts, previousStopClean: loaded.state.cleanStop, phase: state.phase.phase }, 'state directory ready');

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
        phase: () => this.phases?.phase ?? this.record.current.phase.phase,
      });
      await restoreNewestCheckpoint(this.job, this.record, log);

      const restored = this.job.status();
      const jobSteps = restored.envSteps;
      this.checkpoints = new DaemonCheckpoints(
        { job: this.job, record: this.record, metrics: this.metrics, logger: log, phases: () => this.phases },
        this.config.daemon,
        jobSteps,
        Date.now(),
      );
      const resumed = this.record.current;
      this.phases = new PhaseMachine(resumed.phase, resumed.counters.transitions, {
        persist: (to, seq) => this.persistPhase(to, seq),
        log: (c) => log.info({ event: c.event, from: c.from.phase, to: c.to.phase, source: c.source, reason: c.reason, seq: c.seq }, `phase ${c.from.phase} -> ${c.to.phase}`),
      }, (err) => log.error({ err }, 'a phase listener failed'));
      this.phases.onChange((c) => this.metrics.phaseChanged(c.to.phase));
      this.phases.onChange((c) => this.zmq?.phase(c));
      this.loop = new PhaseLoop({
        phases: this.phases,
        job: this.job,
        metrics: this.metrics,
        logger: log,
        config: () => this.config,
        checkpoint: (reason) => this.checkpoint(reason),
        betweenTicks: () => this.betweenTicks(),
        stopping: () => this.stopReason !== null,
      });
      this.reports = new StatusReports(
        { notify: this.notify, stateDir: sd, logger: log, config: () => this.config, phase: () => this.phases?.phase, job: () => this.job.status(), status: () => this.status() },
        jobSteps,
      );
      this.metrics.setPhase(this.phases.phase);
      this.zmq = await DaemonZmq.open(this.config.zmq, { handler: new DaemonControl(this), policy: this.job.servedPolicy?.(), seed: this.config.sim.seed + 37, policyThreadPriority: this.config.realtime.policyThreadPriority, policyThreadCpus: this.config.realtime.policyThreadCpus, metrics: this.metrics, logger: log });

      if (this.config.metrics.enabled) {
        this.metricsServer = await serveMetrics(this.metrics, this.config.metrics.host, this.config.metrics.port, () => this.status());
        log.info({ url: this.metricsUrl() }, 'metrics served');
      }
      if (this.config.ui.enabled) {
        const job = this.job;
        const events = new UiEvents();
        this.phases.onChange((c) => {
          if (c.from.phase !== c.to.phase) events.push('phase', `phase ${c.from.phase} -> ${c.to.phase}: ${c.reason}`, { from: c.from.phase, to: c.to.phase, event: c.event, source: c.source });
        });
        this.uiServer = await startUiServer(liveSources(sd.runDir, { view: () => job.view?.() ?? null, status: () => this.status(), events, safety: () => job.safety?.() ?? null }), this.config.ui.host, this.config.ui.port);
        log.info({ url: this.uiServer.url }, 'web UI served');
      }
      await this.reports.ready();
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

  private persistPhase(to: PhaseState, seq: number): void {
    // 'stopping' is not a phase to resume in: keep the one being left, and mark the stop clean.
    const stopping = to.phase === 'stopping';
    const state = this.record.current;
    const next = { ...state, phase: stopping ? state.phase : to, counters: { ...state.counters, transitions: seq }, cleanStop: stopping };
    try {
      this.record.save(next);
    } catch (err) {
      // A phase change (an e-stop above all) never waits for the disk: it holds in memory and
      // goes to disk with the next state write or checkpoint.
      this.record.hold(next);
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
    return this.loop.request(r);
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
    this.loop?.wake();
  }

  /** SIGHUP: load the configuration again; apply the live keys, report the others as ignored. */
  reload(): ReloadResult | null {
    const r = reloadConfig(this.config, this.options.source, this.logger, (next, live) => {
      this.config = next;
      this.logger.level = next.logging.level;
      this.checkpoints.configure(next.daemon);
      return this.job.reconfigure?.(next, live) ?? [];
    });
    if (r !== null) void this.notify.status(`reloaded: ${r.applied.length} applied, ${r.ignored.length} ignored`);
    return r;
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
      await this.loop.run();
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

  /** The daemon's promises between two ticks: the watchdog, checkpoints on schedule, status. */
  private async betweenTicks(): Promise<void> {
    this.reports.kickWatchdog();
    await this.checkpoints.ifDue();
    this.reports.statusIfDue();
  }

  /** Write a checkpoint now (between ticks): the job's state and the daemon's, in one generation. */
  checkpoint(reason: string): Promise<CheckpointInfo> {
    return this.checkpoints.write(reason);
  }

  private metricsUrl(): string | null {
    if (this.metricsServer === null) return null;
    const h = this.metricsServer.host.includes(':') ? `[${this.metricsServer.host}]` : this.metricsServer.host;
    return `http://${h}:${this.metricsServer.port}`;
  }

  status(): DaemonStatus {
    const now = new Date();
    const state = this.record.current;
    return {
      pid: process.pid,
      phase: this.phases.phase,
      resumeTo: this.phases.state.resumeTo,
      stateDir: this.stateDir.dir,
      job: this.job.name,
      jobStatus: this.job.status(),
      starts: state.counters.starts,
      transitions: this.phases.transitions,
      checkpoints: state.counters.checkpoints,
      lastCheckpoint: state.lastCheckpoint,
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
    this.loop.refusePending('the daemon is stopping');
    let code = 0;
    try {
      await this.job.quiesce?.();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'the job did not stop cleanly before the final checkpoint');
    }
    if (this.checkpoints.unsaved) {
      try {
        await this.checkpoint(`stop (${this.stopReason})`);
      } catch (err) {
        // The previous generation is intact; the steps since it are what is lost.
        log.error({ err: (err as Error).message, previous: this.record.current.lastCheckpoint }, 'the final checkpoint failed; the previous one is intact');
        code = EX_IOERR;
      }
    }
    this.phases.tryApply('stop', 'daemon', this.stopReason ?? '');
    await this.zmq?.close();
    this.zmq = null;
    await this.job.close?.();
    this.reports.writeStatus();
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
