import type { ActorWeights } from '../agent/policy.js';
import type { ZmqConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { ZmqMetricsSink } from '../zmq/codec.js';
import { ControlRefused, ControlServer, type ControlHandler } from '../zmq/controlServer.js';
import type { JsonObject } from '../util/json.js';
import { loadCurveServerKeys, type BindSecurity } from '../zmq/security.js';
import { TelemetryPublisher, type TickTelemetry, type UpdateTelemetry } from '../zmq/telemetry.js';
import { ThreadedPolicyServer, type ThreadedPolicyServerStatus } from '../zmq/threadedPolicyServer.js';
import type { PolicySink, ServedPolicy, TelemetrySink } from './job.js';
import { PhaseError, type PhaseChange } from './phases.js';

/**
 * The daemon's ZeroMQ face (docs/protocol.md): telemetry PUB, policy ROUTER and control REP,
 * each bound when its endpoint is set. The job publishes through `telemetry` (a no-op when the
 * PUB socket is off); phase changes are published from the phase machine's hook.
 *
 * The policy server runs on a worker thread of its own (ThreadedPolicyServer), so outside
 * controllers are answered while this thread trains; the job's new actor weights reach it
 * through `publish` (PolicySink), a copy into shared memory.
 */
export class DaemonZmq implements TelemetrySink, PolicySink {
  private constructor(
    private readonly publisher: TelemetryPublisher | null,
    private readonly policyServer: ThreadedPolicyServer | null,
    private readonly controlServer: ControlServer | null,
  ) {}

  /** Bind what the configuration asks for; on failure everything bound so far is closed. */
  static async open(
    c: ZmqConfig,
    deps: { handler: ControlHandler; policy: ServedPolicy | undefined; seed?: number; policyThreadPriority?: number; policyThreadCpus?: string; metrics: ZmqMetricsSink; logger: Logger },
  ): Promise<DaemonZmq> {
    const security: BindSecurity = {
      insecure: c.insecure,
      ...(c.curveSecretKeyFile !== ''
        ? { curve: await loadCurveServerKeys({ publicKeyFile: c.curvePublicKeyFile, secretKeyFile: c.curveSecretKeyFile, allowedClientKeysDir: c.curveAuthorizedKeysDir }) }
        : {}),
    };
    let publisher: TelemetryPublisher | null = null;
    let policyServer: ThreadedPolicyServer | null = null;
    try {
      if (c.telemetry !== '') publisher = await TelemetryPublisher.open({ endpoint: c.telemetry, security, sendHighWaterMark: c.hwm, metrics: deps.metrics });
      if (c.policy !== '' && deps.policy !== undefined) {
        policyServer = await ThreadedPolicyServer.open({
          endpoint: c.policy,
          security,
          weights: deps.policy.weights,
          version: deps.policy.version,
          seed: deps.seed ?? 0,
          actionBounds: deps.policy.actionBounds ?? null,
          threadPriority: deps.policyThreadPriority ?? 0,
          threadCpus: deps.policyThreadCpus ?? '',
          sendHighWaterMark: c.hwm,
          metrics: deps.metrics,
          onError: (err) => deps.logger.error({ err: err.message }, 'the policy server stopped'),
        });
      }
      const controlServer = c.control !== '' ? await ControlServer.open({ endpoint: c.control, security, handler: refusingWith(deps.handler), metrics: deps.metrics }) : null;
      const face = new DaemonZmq(publisher, policyServer, controlServer);
      deps.logger.info({ ...face.endpoints(), curve: security.curve !== undefined }, 'ZeroMQ sockets bound');
      return face;
    } catch (err) {
      publisher?.close();
      await policyServer?.close();
      throw err;
    }
  }

  /** The bound endpoints (real ports when the configuration asked for '*'). */
  endpoints(): { telemetry: string | null; policy: string | null; control: string | null } {
    return { telemetry: this.publisher?.endpoint ?? null, policy: this.policyServer?.endpoint ?? null, control: this.controlServer?.endpoint ?? null };
  }

  /** Counters and state of the policy server (null when it is off). */
  policyServerStatus(): ThreadedPolicyServerStatus | null {
    return this.policyServer?.status() ?? null;
  }

  publish(weights: ActorWeights, version: number): void {
    this.policyServer?.publish(weights, version);
  }

  tick(t: TickTelemetry): void {
    this.publisher?.publishTick(t);
  }

  update(u: UpdateTelemetry): void {
    this.publisher?.publishUpdate(u);
  }

  phase(c: PhaseChange): void {
    this.publisher?.publishPhase({ from: c.from.phase, to: c.to.phase, reason: c.reason });
  }

  async close(): Promise<void> {
    await this.controlServer?.close();
    await this.policyServer?.close();
    this.publisher?.close();
  }
}

/** The daemon's handler with phase refusals turned into the control server's refusal replies. */
function refusingWith(h: ControlHandler): ControlHandler {
  const wrap = <A>(fn: (a: A) => JsonObject | Promise<JsonObject>) => async (a: A): Promise<JsonObject> => {
    try {
      return await fn(a);
    } catch (err) {
      if (err instanceof PhaseError) throw new ControlRefused(err.message);
      throw err;
    }
  };
  return {
    status: wrap((_: void) => h.status()),
    pause: wrap((a) => h.pause(a)),
    resume: wrap((a) => h.resume(a)),
    estop: wrap((a) => h.estop(a)),
    clearEstop: wrap((a) => h.clearEstop(a)),
    checkpoint: wrap((a) => h.checkpoint(a)),
    evaluate: wrap((a) => h.evaluate(a)),
    switchPhase: wrap((a) => h.switchPhase(a)),
  };
}
