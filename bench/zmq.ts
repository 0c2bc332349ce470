/**
 * ZeroMQ benchmarks (issue 4). Each function returns figures; run directly for a JSON report:
 *   node dist/bench/zmq.js [--lockstep-seconds 60] [--telemetry-seconds 10] [--realtime both|on|off]
 *
 * zmq_policy_rtt_us          observation -> action over TCP loopback, inference included, against
 *                            the policy server as the daemon runs it (ThreadedPolicyServer, its own
 *                            worker thread): a real SAC actor at HalfCheetah shapes (17 -> 6, 2x256
 *                            ReLU), client in another process. `busy_main`: the same while the main
 *                            thread runs real SAC updates (batch 256) and publishes the actor every
 *                            10 updates, as the daemon does while training.
 * zmq_lockstep_1khz          ZmqPlant driving an outside plant process at 1 kHz with the policy
 *                            in the loop, on the daemon's ControlLoop; a tick is late when it
 *                            ends after its slot (1 ms).
 *
 * zmq_telemetry_msgs_per_s   tick telemetry published at 1 kHz to three subscribers in another
 *                            process, one of which never reads.
 *
 * The first two are measured with the settings of a robot deployment (config realtime.*), then
 * without them (`..._without_realtime`): a 0 µs CPU wake-up latency request held
 * (src/control/cpuWakeupLatency.ts: idle CPUs poll instead of halting, which this VM's idle state
 * does), and as root SCHED_FIFO 20 (src/control/realtime.ts) for the lockstep loop's thread (the
 * control thread), for the policy server's thread and its ZeroMQ I/O thread
 * (realtime.policyThreadPriority), and for the outside process (the round-trip client, the
 * lockstep plant), as a real-time controller or robot driver would run. With two CPUs or more the
 * policy thread is pinned to the last CPU (realtime.policyThreadCpus) and the round-trip client to
 * the others. The measuring processes run with the daemon's V8 flags (bench/nodeFlags.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { TelemetryPublisher } from '../src/zmq/telemetry.js';
import { ThreadedPolicyServer } from '../src/zmq/threadedPolicyServer.js';
import { CpuWakeupLatencyRequest } from '../src/control/cpuWakeupLatency.js';
import { allowedCpus, fifoSchedulingProblem, setMainThreadScheduling } from '../src/control/realtime.js';
import { SoftActorCritic } from '../src/agent/sac.js';
import { initCompute } from '../src/compute/backend.js';
import type { TransitionBatch } from '../src/agent/replayBuffer.js';
import { RemotePlantTimeout, ZmqPlant } from '../src/plant/zmq/zmqPlant.js';
import type { ActionPolicy, ActorWeights } from '../src/agent/policy.js';
import { Rng } from '../src/util/rng.js';
import { ControlLoop } from '../src/control/controlLoop.js';
import { MlpPolicy, randomActor } from '../test/zmq/fixtures/mlpPolicy.js';
import { DAEMON_NODE_FLAGS } from './nodeFlags.js';

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

/**
 * The outside process. `nodeFlags`: V8 flags, as a real-time controller or robot driver written
 * in Node would be tuned (its own GC pauses are in every figure it measures); `fifoPriority`:
 * started under SCHED_FIFO; `cpus`: pinned there.
 */
function peer(args: string[], run: { nodeFlags?: readonly string[]; fifoPriority?: number; cpus?: string } = {}): { child: ChildProcess; next: () => Promise<Record<string, unknown>> } {
  const command = [process.execPath, ...(run.nodeFlags ?? []), PEER, ...args];
  if ((run.fifoPriority ?? 0) > 0) command.unshift('chrt', '-f', String(run.fifoPriority));
  if (run.cpus !== undefined) command.unshift('taskset', '-c', run.cpus);
  const child = spawn(command[0], command.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
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

// ---------------------------------------------------------------------------------------------
// Real-time settings

export interface RealtimeSettings {
  /** The CPU wake-up latency request held (µs), or null when it could not be. */
  cpuWakeupLatencyUs: number | null;
  /** SCHED_FIFO priority of the measured loop's thread; null: normal scheduling (not asked for, or not permitted: see notes). */
  fifoPriority: number | null;
  /** CPUs the policy thread and the round-trip client were pinned to ('' = not pinned; round trip only). */
  policyThreadCpus?: string;
  clientCpus?: string;
  /** Why a setting is missing. */
  notes: string[];
}

const FIFO_PRIORITY = 20;
const RTT_CLIENT_NODE_FLAGS = ['--single-threaded-gc', '--max-semi-space-size=16', '--min-semi-space-size=16'];

/** Hold a 0 µs wake-up latency request; null (with a note) when the device cannot be opened. */
function holdWakeupLatency(notes: string[]): CpuWakeupLatencyRequest | null {
  try {
    return CpuWakeupLatencyRequest.hold(0);
  } catch (err) {
    notes.push((err as Error).message);
    return null;
  }
}

/** Whether this process may use SCHED_FIFO; false with a note if not. */
function fifoPermitted(notes: string[]): boolean {
  const problem = fifoSchedulingProblem(FIFO_PRIORITY);
  if (problem !== null) notes.push(problem);
  return problem === null;
}

/** Put the main thread under SCHED_FIFO; false (with a note) when that is not allowed. */
function mainThreadFifo(notes: string[]): boolean {
  try {
    setMainThreadScheduling('fifo', FIFO_PRIORITY);
    return true;
  } catch (err) {
    notes.push((err as Error).message);
    return false;
  }
}

const loadAverage = (): number[] => loadavg().map((x) => round(x, 2));

/** Steal time of all CPUs so far, ms (0 where /proc/stat has no steal column). */
function stealMs(): number {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    return (Number(cpu[8] ?? 0) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Policy round trip

export interface RttFigures {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  samples: number;
  policy: string;
  /** SAC updates the main thread ran during the measurement (busy_main only). */
  mainThreadUpdates?: number;
  /** Garbage collections in the client process during its run (each one is inside some round trip). */
  clientGcs: number;
  /** The serving thread's young-generation semi-space, MB. */
  serverSemiSpaceMb: number;
}

const OBS = 17;
const ACT = 6;

function randomBatch(size: number, seed: number): TransitionBatch {
  const rng = new Rng(seed);
  const f = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
  return {
    size,
    observations: f(size * OBS),
    actions: Float32Array.from({ length: size * ACT }, () => rng.range(-1, 1)),
    rewards: f(size),
    nextObservations: f(size * OBS),
    terminated: new Float32Array(size),
  };
}

function rttFigures(us: number[], policy: string, clientGcs: number, serverSemiSpaceMb: number): RttFigures {
  const sorted = [...us].sort((a, b) => a - b);
  return {
    p50: round(percentile(sorted, 0.5)),
    p99: round(percentile(sorted, 0.99)),
    p999: round(percentile(sorted, 0.999)),
    max: round(sorted[sorted.length - 1]),
    mean: round(us.reduce((a, b) => a + b, 0) / us.length),
    samples: us.length,
    policy,
    clientGcs,
    serverSemiSpaceMb,
  };
}

/**
 * Round trips against the threaded policy server serving a real SAC actor (wasm backend), with
 * the main thread idle, then with it running SAC updates for the whole measurement.
 */
export async function zmqPolicyRttUs(
  options: { iterations?: number; warmup?: number; realtime?: boolean } = {},
): Promise<RttFigures & { busy_main: RttFigures; settings?: RealtimeSettings }> {
  const iterations = String(options.iterations ?? 20_000);
  const warmup = String(options.warmup ?? 2000);
  await initCompute('wasm');
  const sac = new SoftActorCritic(OBS, ACT, { batchSize: 256, hidden: [256, 256] }, 1);
  const batch = randomBatch(256, 1);
  const kind = 'FastPolicy (real SAC actor 17-256-256-6) in ThreadedPolicyServer';
  const notes: string[] = [];
  const wakeup = options.realtime ? holdWakeupLatency(notes) : null;
  // Real-time: the policy thread as realtime.policyThreadPriority runs it, and the client as a
  // real-time controller would run (when this process may).
  const fifo = options.realtime && fifoPermitted(notes) ? FIFO_PRIORITY : 0;
  // And, with two CPUs or more, the policy thread on the last one (realtime.policyThreadCpus),
  // the client on the others.
  const cpus = allowedCpus();
  const split = options.realtime && cpus.length >= 2;
  if (options.realtime && !split) notes.push(`one CPU only (${cpus.join(',')}): policy thread and client not pinned`);
  const threadCpus = split ? String(cpus[cpus.length - 1]) : '';
  // A request/reply client, tuned like the policy thread: rare scavenges (src/util/workerHeap.ts).
  const client = { nodeFlags: options.realtime ? RTT_CLIENT_NODE_FLAGS : [], fifoPriority: fifo, ...(split ? { cpus: cpus.slice(0, -1).join(',') } : {}) };
  const server = await ThreadedPolicyServer.open({ endpoint: 'tcp://127.0.0.1:*', weights: sac.actorWeights(), version: 0, threadPriority: fifo, threadCpus });
  try {
    const idle = peer(['rtt-client', server.endpoint, iterations, warmup], client);
    const { us: idleUs, gcs: idleGcs } = (await idle.next()) as { us: number[]; gcs: number };

    const busy = peer(['rtt-client', server.endpoint, iterations, warmup], client);
    let done = false;
    const result = busy.next().finally(() => (done = true));
    let updates = 0;
    while (!done) {
      sac.update(batch);
      if (++updates % 10 === 0) server.publish(sac.actorWeights(), updates);
      // One event loop turn between updates, as the daemon's loop has between ticks.
      await new Promise((r) => setImmediate(r));
    }
    const { us: busyUs, gcs: busyGcs } = (await result) as { us: number[]; gcs: number };
    return {
      ...rttFigures(idleUs, kind, idleGcs, server.semiSpaceMb),
      busy_main: { ...rttFigures(busyUs, kind, busyGcs, server.semiSpaceMb), mainThreadUpdates: updates },
      ...(options.realtime
        ? { settings: { cpuWakeupLatencyUs: wakeup === null ? null : 0, fifoPriority: fifo === 0 ? null : fifo, policyThreadCpus: threadCpus, clientCpus: client.cpus ?? '', notes } }
        : {}),
    };
  } finally {
    await server.close();
    wakeup?.release();
    sac.dispose();
  }
}

export interface LockstepFigures {
  seconds: number;
  ticks: number;
  late: number;
  /** Slots skipped because a tick ended more than a period late (counted in `late`). */
  missedSlots: number;
  /**
   * Time the hypervisor ran something else on this VM's CPUs during the run (steal, /proc/stat,
   * 10 ms resolution, all CPUs): each stolen stretch stalls whatever thread was on that CPU.
   */
  stealMs: number;
  /** Steps with no reply within the step timeout (counted as late). */
  timeouts: number;
  /** Ticks that by themselves took longer than a period (a late tick can also be one that started late). */
  overruns: number;
  lateFraction: number;
  onTimeFraction: number;
  policy: string;
  tickUs: { p50: number; p99: number; max: number };
  /** Main-thread garbage collections during the run, and how many late ticks had one in or just before their slot. */
  gc: { count: number; pauseMsMax: number; lateTicksWithGc: number };
  /** The real-time settings in force (realtime runs only). */
  settings?: RealtimeSettings;
}

export async function zmqLockstep1kHz(options: { seconds?: number; realtime?: boolean } = {}): Promise<LockstepFigures> {
  const seconds = options.seconds ?? 60;
  const notes: string[] = [];
  const wakeup = options.realtime ? holdWakeupLatency(notes) : null;
  const fifo = options.realtime ? mainThreadFifo(notes) : false;
  try {
    // The outside plant run as a real-time robot driver would be: SCHED_FIFO, and the daemon's
    // V8 flags, since it too answers at a fixed rate and wants short scavenges.
    const figures = await lockstep(seconds, options.realtime ? { nodeFlags: DAEMON_NODE_FLAGS, fifoPriority: fifo ? FIFO_PRIORITY : 0 } : {});
    return options.realtime ? { ...figures, settings: { cpuWakeupLatencyUs: wakeup === null ? null : 0, fifoPriority: fifo ? FIFO_PRIORITY : null, notes } } : figures;
  } finally {
    if (fifo) setMainThreadScheduling('other');
    wakeup?.release();
  }
}

/**
 * The loop is the daemon's own fixed-rate ControlLoop (src/control/controlLoop.ts): a tick reads
 * the plant's signals, runs the policy, writes the command and waits for the plant's step reply.
 * A tick is late when that reply comes after the tick's slot has ended (a skipped slot counts too).
 */
async function lockstep(seconds: number, plantRun: Parameters<typeof peer>[1]): Promise<LockstepFigures> {
  const p = peer(['plant'], plantRun);
  const { endpoint } = (await p.next()) as { endpoint: string };
  const plant = await ZmqPlant.connect({ endpoint });
  const { policy, kind } = await benchPolicy(18, 6, 2);
  const obs = new Float32Array(18);
  const action = new Float32Array(6);
  const command = new Float64Array(6);
  try {
    await plant.reset();
    const periodMs = plant.controlPeriod * 1000;
    const ticks = Math.round(seconds / plant.controlPeriod);
    const durations = new Float64Array(ticks);
    let k = 0;
    let late = 0;
    let timeouts = 0;
    let overruns = 0;
    let finished!: () => void;
    const done = new Promise<void>((r) => (finished = r));
    let failure: unknown = null;
    const gc = { count: 0, maxMs: 0, lateWithGc: 0 };
    const gcEnds: number[] = [];
    const gcObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        gc.count++;
        gc.maxMs = Math.max(gc.maxMs, e.duration);
        gcEnds.push(e.startTime + e.duration);
      }
    });
    gcObserver.observe({ entryTypes: ['gc'] });
    const lateAt: number[] = [];
    const loop = new ControlLoop({
      rateHz: 1 / plant.controlPeriod,
      onTick: async (t) => {
        if (k >= ticks) return;
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
        const end = performance.now();
        if (end > t.scheduledMs + periodMs) {
          late++;
          lateAt.push(t.scheduledMs);
        }
        if (end - t.startedMs > periodMs) overruns++;
        durations[k] = (end - t.startedMs) * 1000;
        if (++k === ticks) finished();
      },
      onError: (err) => {
        failure = err;
        finished();
      },
    });
    const steal0 = stealMs();
    loop.start();
    await done;
    await loop.stop();
    const steal = stealMs() - steal0;
    gcObserver.disconnect();
    if (failure !== null) throw failure;
    // A late tick "with GC": a collection ended within its slot or the one before.
    for (const at of lateAt) if (gcEnds.some((g) => g > at - periodMs && g < at + periodMs)) gc.lateWithGc++;
    const missed = loop.stats().missedSlots;
    const sorted = [...durations].sort((a, b) => a - b);
    return {
      seconds,
      ticks,
      late: late + missed,
      missedSlots: missed,
      stealMs: steal,
      timeouts,
      overruns,
      lateFraction: (late + missed) / ticks,
      onTimeFraction: 1 - (late + missed) / ticks,
      policy: kind,
      tickUs: { p50: round(percentile(sorted, 0.5)), p99: round(percentile(sorted, 0.99)), max: round(sorted[sorted.length - 1]) },
      gc: { count: gc.count, pauseMsMax: round(gc.maxMs, 2), lateTicksWithGc: gc.lateWithGc },
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

export type RealtimeChoice = 'off' | 'on' | 'both';

/**
 * All three, keyed as `npm run bench` reports them. `realtime`: 'both' (default) measures the
 * round trip and the lockstep loop with the real-time settings, as a robot deployment runs them
 * (`zmq_policy_rtt_us`, `zmq_lockstep_1khz`, as `control_loop` is reported), then without them
 * (`..._without_realtime`); 'on' or 'off' only one way, under the main keys.
 */
export async function zmqBench(options: { lockstepSeconds?: number; telemetrySeconds?: number; realtime?: RealtimeChoice } = {}): Promise<Record<string, unknown>> {
  const choice = options.realtime ?? 'both';
  const load = { before: loadAverage() };
  const lockSeconds = options.lockstepSeconds ?? 60;
  const ways = choice === 'both' ? [true, false] : [choice === 'on'];
  const out: Record<string, unknown> = {};
  // Each measurement in a fresh process: what one leaves behind (a heap grown by SAC updates,
  // ZeroMQ context threads) must not weigh on the next one's tail.
  for (const realtime of ways) {
    const suffix = choice === 'both' && !realtime ? '_without_realtime' : '';
    out[`zmq_policy_rtt_us${suffix}`] = await inChild<Awaited<ReturnType<typeof zmqPolicyRttUs>>>('rtt', { realtime });
  }
  for (const realtime of ways) {
    const suffix = choice === 'both' && !realtime ? '_without_realtime' : '';
    const lock = await inChild<LockstepFigures>('lockstep', { seconds: lockSeconds, realtime });
    out[`zmq_lockstep_1khz${suffix}`] = { late_fraction: lock.lateFraction, ...lock };
  }
  const telemetry = await inChild<TelemetryFigures>('telemetry', { seconds: options.telemetrySeconds ?? 10 });
  out.zmq_telemetry_msgs_per_s = { published: telemetry.publishedPerS, ...telemetry };
  out.load_average = { ...load, after: loadAverage() };
  return out;
}

type Measurement = 'rtt' | 'lockstep' | 'telemetry';

/** Run one measurement in a child process (with the daemon's node flags) and parse its JSON line. */
function inChild<T>(what: Measurement, options: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, fileURLToPath(import.meta.url), '--child', what, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`zmq bench '${what}' exited with ${code}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`zmq bench '${what}' printed no JSON line (last line: ${last.slice(0, 200)})`));
      }
    });
  });
}

async function child(what: Measurement, options: Record<string, unknown>): Promise<unknown> {
  switch (what) {
    case 'rtt':
      return zmqPolicyRttUs(options);
    case 'lockstep':
      return zmqLockstep1kHz(options);
    case 'telemetry':
      return zmqTelemetryMsgsPerS(options);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === '--child') {
    const figures = await child(process.argv[3] as Measurement, JSON.parse(process.argv[4] ?? '{}') as Record<string, unknown>);
    process.stdout.write(`\n${JSON.stringify(figures)}\n`);
  } else {
    const { values } = parseArgs({ options: { 'lockstep-seconds': { type: 'string' }, 'telemetry-seconds': { type: 'string' }, realtime: { type: 'string' } } });
    const realtime = values.realtime ?? 'both';
    if (realtime !== 'off' && realtime !== 'on' && realtime !== 'both') throw new Error(`--realtime must be off, on or both, got ${JSON.stringify(realtime)}`);
    const figures = await zmqBench({
      lockstepSeconds: values['lockstep-seconds'] !== undefined ? Number(values['lockstep-seconds']) : undefined,
      telemetrySeconds: values['telemetry-seconds'] !== undefined ? Number(values['telemetry-seconds']) : undefined,
      realtime,
    });
    process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  }
}
