import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PHASES, type Phase } from '../daemon/phases.js';

/**
 * The daemon's Prometheus metrics behind a typed API: modules call these methods and never touch
 * prom-client. One registry per daemon (not prom-client's global one), so tests can build many.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly envSteps = new Counter({ name: 'sacbridge_env_steps_total', help: 'Environment steps (control ticks that stepped a plant).', registers: [this.registry] });
  private readonly updates = new Counter({ name: 'sacbridge_updates_total', help: 'SAC gradient updates.', registers: [this.registry] });
  private readonly episodes = new Counter({ name: 'sacbridge_episodes_total', help: 'Finished episodes.', labelNames: ['plant'] as const, registers: [this.registry] });
  private readonly lastReturn = new Gauge({ name: 'sacbridge_episode_return', help: 'Return of the last finished episode.', labelNames: ['plant'] as const, registers: [this.registry] });
  private readonly returns = new Histogram({
    name: 'sacbridge_episode_return_distribution',
    help: 'Distribution of episode returns.',
    labelNames: ['plant'] as const,
    buckets: [-1000, -300, -100, -30, 0, 30, 100, 300, 1000, 3000, 10000],
    registers: [this.registry],
  });
  private readonly evalReturn = new Gauge({ name: 'sacbridge_evaluation_return', help: 'Mean return of the last evaluation round (deterministic policy).', registers: [this.registry] });
  private readonly evaluations = new Counter({ name: 'sacbridge_evaluations_total', help: 'Finished evaluation rounds.', registers: [this.registry] });
  private readonly loss = new Gauge({ name: 'sacbridge_loss', help: 'Last value of each training loss.', labelNames: ['name'] as const, registers: [this.registry] });
  private readonly temperature = new Gauge({ name: 'sacbridge_temperature', help: 'SAC temperature alpha.', registers: [this.registry] });
  private readonly tick = new Histogram({
    name: 'sacbridge_tick_seconds',
    help: 'Duration of one control tick.',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25],
    registers: [this.registry],
  });
  private readonly phase = new Gauge({ name: 'sacbridge_phase', help: 'Current phase (1 for the current one, 0 for the others).', labelNames: ['phase'] as const, registers: [this.registry] });
  private readonly transitions = new Counter({ name: 'sacbridge_phase_transitions_total', help: 'Phase transitions.', labelNames: ['to'] as const, registers: [this.registry] });
  private readonly checkpoints = new Counter({ name: 'sacbridge_checkpoints_total', help: 'Checkpoints written.', labelNames: ['reason'] as const, registers: [this.registry] });
  private readonly writeFailures = new Counter({ name: 'sacbridge_write_failures_total', help: 'Writes that failed (a full disk, an I/O error): checkpoints, daemon state, metrics records. The daemon runs on and retries.', labelNames: ['what'] as const, registers: [this.registry] });
  private readonly checkpointSeconds = new Histogram({ name: 'sacbridge_checkpoint_seconds', help: 'Time to write a checkpoint.', buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30], registers: [this.registry] });
  private readonly zmqMessages = new Counter({ name: 'sacbridge_zmq_messages_total', help: 'ZeroMQ messages.', labelNames: ['socket', 'direction'] as const, registers: [this.registry] });
  private readonly zmqErrors = new Counter({ name: 'sacbridge_zmq_errors_total', help: 'Malformed or refused ZeroMQ messages.', labelNames: ['socket', 'kind'] as const, registers: [this.registry] });
  private readonly rosMessages = new Counter({ name: 'sacbridge_ros_messages_total', help: 'ROS 2 messages.', labelNames: ['topic', 'direction'] as const, registers: [this.registry] });
  private readonly rosStale = new Counter({ name: 'sacbridge_ros_stale_ticks_total', help: 'Ticks on which an observation was stale.', registers: [this.registry] });
  private readonly rosStaleOnArrival = new Counter({ name: 'sacbridge_ros_stale_messages_total', help: 'ROS 2 observation messages already older than the fresh age when they arrived (header stamp).', registers: [this.registry] });
  private readonly rosRejects = new Counter({ name: 'sacbridge_ros_rejected_total', help: 'ROS 2 messages refused (NaN, out of range, wrong size).', labelNames: ['topic'] as const, registers: [this.registry] });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'sacbridge_' });
    this.setPhase('idle');
  }

  addEnvSteps(n = 1): void {
    this.envSteps.inc(n);
  }
  addUpdates(n = 1): void {
    this.updates.inc(n);
  }
  episodeFinished(ret: number, plant: 'sim' | 'robot' = 'sim'): void {
    this.episodes.inc({ plant });
    this.lastReturn.set({ plant }, ret);
    this.returns.observe({ plant }, ret);
  }
  evaluationFinished(meanReturn: number): void {
    this.evaluations.inc();
    this.evalReturn.set(meanReturn);
  }
  /** e.g. setLosses({ critic: 1.2, actor: -3.4, alpha: 0.1 }) */
  setLosses(losses: Record<string, number>): void {
    for (const [name, v] of Object.entries(losses)) this.loss.set({ name }, v);
  }
  setTemperature(alpha: number): void {
    this.temperature.set(alpha);
  }
  observeTick(seconds: number): void {
    this.tick.observe(seconds);
  }
  setPhase(p: Phase): void {
    for (const q of PHASES) this.phase.set({ phase: q }, q === p ? 1 : 0);
  }
  phaseChanged(to: Phase): void {
    this.setPhase(to);
    this.transitions.inc({ to });
  }
  checkpointWritten(reason: string, seconds: number): void {
    this.checkpoints.inc({ reason });
    this.checkpointSeconds.observe(seconds);
  }
  /** A write that failed: 'checkpoint', 'daemon_state' or 'metrics_record'. */
  writeFailed(what: string): void {
    this.writeFailures.inc({ what });
  }
  zmqMessage(socket: string, direction: 'in' | 'out', n = 1): void {
    this.zmqMessages.inc({ socket, direction }, n);
  }
  zmqError(socket: string, kind: string): void {
    this.zmqErrors.inc({ socket, kind });
  }
  rosMessage(topic: string, direction: 'in' | 'out'): void {
    this.rosMessages.inc({ topic, direction });
  }
  rosStaleTick(): void {
    this.rosStale.inc();
  }
  /**
   * The robot phase's ROS counts since the last call: observation messages received, stale on
   * arrival (by header stamp) and rejected; commands published; ticks the watchdog called stale.
   */
  addRos(d: { received: number; staleOnArrival: number; rejected: number; commands: number; staleTicks: number }): void {
    if (d.received > 0) this.rosMessages.inc({ topic: 'observations', direction: 'in' }, d.received);
    if (d.commands > 0) this.rosMessages.inc({ topic: 'command', direction: 'out' }, d.commands);
    if (d.staleOnArrival > 0) this.rosStaleOnArrival.inc(d.staleOnArrival);
    if (d.rejected > 0) this.rosRejects.inc({ topic: 'observations' }, d.rejected);
    if (d.staleTicks > 0) this.rosStale.inc(d.staleTicks);
  }
  rosRejected(topic: string): void {
    this.rosRejects.inc({ topic });
  }

  /** Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
  get contentType(): string {
    return this.registry.contentType;
  }
}
