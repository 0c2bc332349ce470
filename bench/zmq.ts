/**
 * ZeroMQ benchmarks (issue 4). Each function returns figures; run directly for a JSON report:
 *   node dist/bench/zmq.js [--lockstep-seconds 60] [--telemetry-seconds 10]
 *
 * zmq_policy_rtt_us          observation -> action over TCP loopback, inference included:
 *                            HalfCheetah shapes (17 -> 6), 2x256 ReLU MLP, client in another process.
 * zmq_lockstep_1khz          ZmqPlant driving an outside plant process at 1 kHz with the policy
 *                            in the loop; a tick is late when it ends after its slot (1 ms).
 * zmq_telemetry_msgs_per_s   tick telemetry published at 1 kHz to three subscribers in another
 *                            process, one of which never reads.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PolicyServer } from '../src/zmq/policyServer.js';
import { TelemetryPublisher } from '../src/zmq/telemetry.js';
import { RemotePlantTimeout, ZmqPlant } from '../src/plant/zmq/zmqPlant.js';
import type { ActionPolicy, ActorWeights } from '../src/agent/policy.js';
import { Rng } from '../src/util/rng.js';
import { MlpPolicy, randomActor } from '../test/zmq/fixtures/mlpPolicy.js';

const PEER = fileURLToPath(new URL('./zmqPeer.js', import.meta.url));

/**
 * The project's FastPolicy when it is there (src/agent/fastPolicy.ts, branch compute; or the
 * module named by SACBRIDGE_FAST_POLICY_MODULE), else the plain TypeScript MLP of the tests.
 */
async function benchPolicy(observationSize: number, actionSize: number, seed: number): Promise<{ policy: ActionPolicy; kind: string }> {
  const weights = randomActor(observationSize, [256, 256], actionSize, seed);
  const path = process.env.SACBRIDGE_FAST_POLICY_MODULE ?? fileURLToPath(new URL('../src/agent/fastPolicy.js', import.meta.url));
  try {
    const mod = (await import(pathToFileURL(path).href)) as { FastPolicy?: new (w: ActorWeights, rng: Rng, version?: number) => ActionPolicy };
    if (mod.FastPolicy !== undefined) return { policy: new mod.FastPolicy(weights, new Rng(seed + 1), 1), kind: 'FastPolicy' };
  } catch {
    // not there: fall back
  }
  return { policy: new MlpPolicy(weights, new Rng(seed + 1)), kind: 'MlpPolicy (plain TypeScript test fixture)' };
}

function peer(args: string[]): { child: ChildProcess; next: () => Promise<Record<string, unknown>> } {
  const child = spawn(process.execPath, [PEER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const queue: string[] = [];
  const waiting: ((s: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    const w = waiting.shift();
    if (w) w(l);
    else queue.push(l);
  });
  const next = (): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`bench peer ${args[0]} exited (${code})`));
      child.once('exit', onExit);
      const take = (l: string): void => {
        child.off('exit', onExit);
        resolve(JSON.parse(l) as Record<string, unknown>);
      };
      const q = queue.shift();
      if (q !== undefined) take(q);
      else waiting.push(take);
    });
  return { child, next };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Wait until `targetNs` (hrtime): setTimeout while far, a blocking Atomics.wait for most of the
 * last 2 ms (sub-millisecond, without spinning a core), then setImmediate turns so that I/O runs.
 * The blocking part suits this benchmark's loop, which has nothing else to serve meanwhile.
 */
async function waitUntil(targetNs: bigint): Promise<void> {
  for (;;) {
    const left = Number(targetNs - process.hrtime.bigint()) / 1e6;
    if (left <= 0) return;
    if (left > 2) await new Promise((r) => setTimeout(r, left - 1.5));
    else if (left > 0.15) Atomics.wait(sleeper, 0, 0, left - 0.1);
    else await new Promise((r) => setImmediate(r));
  }
}

export interface RttFigures {
  p50: number;
  p99: number;
  p999: number;
  mean: number;
  samples: number;
  policy: string;
}

export async function zmqPolicyRttUs(options: { iterations?: number; warmup?: number } = {}): Promise<RttFigures> {
  const { policy, kind } = await benchPolicy(17, 6, 1);
  const server = await PolicyServer.open({ endpoint: 'tcp://127.0.0.1:*', policy });
  try {
    const p = peer(['rtt-client', server.endpoint, String(options.iterations ?? 20_000), String(options.warmup ?? 2000)]);
    const { us } = (await p.next()) as { us: number[] };
    const sorted = [...us].sort((a, b) => a - b);
    return {
      p50: round(percentile(sorted, 0.5)),
      p99: round(percentile(sorted, 0.99)),
      p999: round(percentile(sorted, 0.999)),
      mean: round(us.reduce((a, b) => a + b, 0) / us.length),
      samples: us.length,
      policy: kind,
    };
  } finally {
    await server.close();
  }
}

export interface LockstepFigures {
  seconds: number;
  ticks: number;
  late: number;
  /** Steps with no reply within the step timeout (counted as late). */
  timeouts: number;
  /** Ticks that by themselves took longer than a period (a late tick can also be one that started late). */
  overruns: number;
  lateFraction: number;
  onTimeFraction: number;
  policy: string;
  tickUs: { p50: number; p99: number; max: number };
}

export async function zmqLockstep1kHz(options: { seconds?: number } = {}): Promise<LockstepFigures> {
  const seconds = options.seconds ?? 60;
  const p = peer(['plant']);
  const { endpoint } = (await p.next()) as { endpoint: string };
  const plant = await ZmqPlant.connect({ endpoint });
  const { policy, kind } = await benchPolicy(18, 6, 2);
  const obs = new Float32Array(18);
  const action = new Float32Array(6);
  const command = new Float64Array(6);
  try {
    await plant.reset();
    const periodNs = BigInt(Math.round(plant.controlPeriod * 1e9));
    const ticks = Math.round(seconds / plant.controlPeriod);
    const durations: number[] = new Array(ticks);
    let late = 0;
    let timeouts = 0;
    let overruns = 0;
    const t0 = process.hrtime.bigint() + 10_000_000n;
    for (let k = 0; k < ticks; k++) {
      const slot = t0 + BigInt(k) * periodNs;
      await waitUntil(slot);
      const start = process.hrtime.bigint();
      const signals = plant.read();
      obs.set(signals.get('qpos')!);
      obs.set(signals.get('qvel')!, 9);
      policy.act(obs, true, action);
      for (let i = 0; i < 6; i++) command[i] = action[i];
      plant.write(command);
      try {
        await plant.advance();
      } catch (err) {
        // A timed-out step is a late tick; its reply is discarded by seq when it comes.
        if (!(err instanceof RemotePlantTimeout)) throw err;
        timeouts++;
      }
      const end = process.hrtime.bigint();
      if (end > slot + periodNs) late++;
      if (end - start > periodNs) overruns++;
      durations[k] = Number(end - start) / 1000;
    }
    durations.sort((a, b) => a - b);
    return {
      seconds,
      ticks,
      late,
      timeouts,
      overruns,
      lateFraction: late / ticks,
      onTimeFraction: 1 - late / ticks,
      policy: kind,
      tickUs: { p50: round(percentile(durations, 0.5)), p99: round(percentile(durations, 0.99)), max: round(durations[durations.length - 1]) },
    };
  } finally {
    await plant.close();
    p.child.stdin!.end();
  }
}

export interface TelemetryFigures {
  seconds: number;
  publishedPerS: number;
  /** Tick messages per second received by each reading subscriber. */
  deliveredPerS: number[];
  /** Ticks the reading subscribers missed (gaps in seq). */
  readerMissed: number[];
  /** What the stalled subscriber had queued when finally drained, and what PUB dropped for it. */
  stalledReceived: number;
  stalledDropped: number;
  publishUs: { p50: number; p99: number; max: number };
  localDrops: number;
}

export async function zmqTelemetryMsgsPerS(options: { seconds?: number } = {}): Promise<TelemetryFigures> {
  const seconds = options.seconds ?? 10;
  const pub = await TelemetryPublisher.open({ endpoint: 'tcp://127.0.0.1:*' });
  const p = peer(['subscribers', pub.endpoint]);
  try {
    await p.next(); // subscribers connected
    await new Promise((r) => setTimeout(r, 300)); // let subscriptions reach the publisher
    const observation = new Float32Array(17);
    const action = new Float32Array(6);
    const ticks = seconds * 1000;
    const publishUs: number[] = new Array(ticks);
    const t0 = process.hrtime.bigint() + 5_000_000n;
    const start = performance.now();
    for (let k = 0; k < ticks; k++) {
      await waitUntil(t0 + BigInt(k) * 1_000_000n);
      for (let i = 0; i < 17; i++) observation[i] = Math.sin(k + i);
      const s = process.hrtime.bigint();
      pub.publishTick({
        step: k, episode: 0, episodeStep: k, phase: 'sim_training', policyVersion: 1, observation, action,
        reward: -1, terminated: false, truncated: false, timing: { periodNs: 1e6, jitterNs: 0, computeNs: 0, late: false },
      });
      publishUs[k] = Number(process.hrtime.bigint() - s) / 1000;
    }
    const elapsed = (performance.now() - start) / 1000;
    pub.publishPhase({ from: 'sim_training', to: 'idle', reason: 'end' });
    const result = (await p.next()) as { readers: { received: number; missed: number }[]; stalledReceived: number };
    publishUs.sort((a, b) => a - b);
    return {
      seconds,
      publishedPerS: round(ticks / elapsed),
      deliveredPerS: result.readers.map((r) => round(r.received / elapsed)),
      readerMissed: result.readers.map((r) => r.missed),
      stalledReceived: result.stalledReceived,
      stalledDropped: ticks + 1 - result.stalledReceived,
      publishUs: { p50: round(percentile(publishUs, 0.5)), p99: round(percentile(publishUs, 0.99)), max: round(publishUs[publishUs.length - 1]) },
      localDrops: pub.counters.dropped,
    };
  } finally {
    pub.close();
    p.child.stdin!.end();
  }
}

/** All three, keyed as `npm run bench` reports them. */
export async function zmqBench(options: { lockstepSeconds?: number; telemetrySeconds?: number } = {}): Promise<Record<string, unknown>> {
  const rtt = await zmqPolicyRttUs();
  const lockstep = await zmqLockstep1kHz({ seconds: options.lockstepSeconds ?? 60 });
  const telemetry = await zmqTelemetryMsgsPerS({ seconds: options.telemetrySeconds ?? 10 });
  return {
    zmq_policy_rtt_us: rtt,
    zmq_lockstep_1khz: { late_fraction: lockstep.lateFraction, ...lockstep },
    zmq_telemetry_msgs_per_s: { published: telemetry.publishedPerS, ...telemetry },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { 'lockstep-seconds': { type: 'string' }, 'telemetry-seconds': { type: 'string' } } });
  const figures = await zmqBench({
    lockstepSeconds: values['lockstep-seconds'] !== undefined ? Number(values['lockstep-seconds']) : undefined,
    telemetrySeconds: values['telemetry-seconds'] !== undefined ? Number(values['telemetry-seconds']) : undefined,
  });
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
}
