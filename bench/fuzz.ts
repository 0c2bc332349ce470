/**
 * `npm run bench:fuzz -- --messages N [--seed S] [--json]` (issue 19): N malformed (and some
 * valid) messages against a running daemon, on every socket it binds: the policy server and the
 * control API (every message must be answered: both reply to everything, malformed envelopes
 * included) and the telemetry publisher (a rogue peer's frames; PUB takes only subscriptions,
 * so what is checked is that it keeps publishing). Every 1,000 messages the daemon must answer
 * a control `status` and a policy `info` (liveness). Reports the replies by error class, the
 * daemon's own counts (sacbridge_zmq_errors_total), and its rss before, right after, and once it
 * settles. Exits 1 when the daemon died, a message went unanswered, liveness failed or the
 * settled rss is more than 10 MB above the rss before the fuzz.
 *
 * The daemon runs a small SAC job (pendulum, tiny networks) on ephemeral loopback ports, started
 * the way it is deployed (DAEMON_NODE_FLAGS, DAEMON_ENV). "Before" is a daemon in service: it has
 * trained while a controller asked it for actions, a client polled its status and a subscriber
 * took its telemetry (--warmup valid policy requests, 20,000 by default: 20 s of a 1 kHz
 * controller). Only then is the job paused (control `pause`), so that what rss does during the
 * fuzz is the sockets'. The rss of the fresh daemon, before any traffic, is reported too: the
 * difference to "before" is what training and serving cost, ~26 MB of it the policy thread's
 * young generation (2 x 16 MB semi-spaces, src/util/workerHeap.ts), which its first ~10,000
 * answers touch whatever they answer (measured with valid requests only: the same).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as zmq from 'zeromq';
import { decodeMessage } from '../src/zmq/codec.js';
import { Rng } from '../src/util/rng.js';
import { FUZZ_KINDS, fuzzControlRequest, fuzzMessage } from '../test/zmq/fixtures/fuzz.js';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from './nodeFlags.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const WINDOW = 64;
/** The bar: settled rss at most this much above the rss before the fuzz (issue 19). */
export const RSS_GROWTH_LIMIT_MB = 10;

interface Daemon {
  pid: number;
  endpoints: { telemetry: string; policy: string; control: string };
  metricsUrl: string;
  exited: () => { code: number | null; signal: string | null } | null;
  stop(): Promise<number | null>;
}

async function startDaemon(stateDir: string): Promise<Daemon> {
  const args = [
    ...DAEMON_NODE_FLAGS, MAIN, 'run', '--logging.pretty', 'never',
    '--daemon.stateDir', stateDir,
    '--sim.task', 'pendulum', '--rl.hiddenSizes', '[16,16]', '--rl.batchSize', '32', '--rl.bufferSize', '20000', '--rl.learningStarts', '100',
    '--sim.totalSteps', '1000000000', '--sim.evalEvery', '0',
    '--zmq.telemetry', 'tcp://127.0.0.1:*', '--zmq.policy', 'tcp://127.0.0.1:*', '--zmq.control', 'tcp://127.0.0.1:*',
    '--metrics.port', '0', '--ui.port', '0',
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...DAEMON_ENV } });
  let exit: { code: number | null; signal: string | null } | null = null;
  const exited = new Promise<number | null>((r) => child.on('exit', (code, signal) => ((exit = { code, signal }), r(code))));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const found: Record<string, Record<string, unknown>> = {};
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`the daemon did not become ready in 120 s: ${stderr}`)), 120_000);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const r = JSON.parse(line) as Record<string, unknown>;
          if (typeof r.msg === 'string') found[r.msg] = r;
          if (r.msg === 'ready') {
            clearTimeout(timer);
            resolve();
          }
        } catch {
          // not a log record
        }
      }
    });
    void exited.then(() => reject(new Error(`the daemon exited before it was ready: ${stderr}`)));
  });
  const z = found['ZeroMQ sockets bound']!;
  return {
    pid: child.pid!,
    endpoints: { telemetry: String(z.telemetry), policy: String(z.policy), control: String(z.control) },
    metricsUrl: String(found['metrics served']!.url),
    exited: () => exit,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** The rss once it stops moving: 1 s samples until two in a row are within 1 MB (at most 30 s). */
async function settledRss(pid: number): Promise<number> {
  let last = rssMb(pid);
  for (let i = 0; i < 30; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = rssMb(pid);
    if (Math.abs(now - last) < 1) return now;
    last = now;
  }
  return last;
}

const empty = Buffer.alloc(0);

/** What a reply says: 'ok' or the error code. */
function policyReplyCode(frames: Buffer[]): string {
  const body = frames[0]?.length === 0 ? frames.slice(1) : frames;
  const m = decodeMessage(body);
  return m.topic === 'error' ? String((m.header.error as { code?: unknown }).code) : 'ok';
}

function controlReplyCode(frames: Buffer[]): string {
  const r = JSON.parse(frames[frames.length - 1]!.toString()) as { ok: boolean; error?: { code: string } };
  return r.ok ? 'ok' : r.error!.code;
}

/** Send `count` messages from one DEALER, up to WINDOW in flight; tally replies by code. */
async function pipelined(dealer: zmq.Dealer, count: number, next: (i: number) => Buffer[], classify: (f: Buffer[]) => string, tally: Map<string, number>): Promise<number> {
  let sent = 0;
  let received = 0;
  const receiving = (async () => {
    while (received < sent || sent < count) {
      const frames = await dealer.receive();
      received++;
      let code: string;
      try {
        code = classify(frames);
      } catch {
        code = 'unreadable_reply';
      }
      tally.set(code, (tally.get(code) ?? 0) + 1);
    }
  })().catch(() => undefined); // a receive timeout: the unanswered are counted below
  while (sent < count) {
    if (sent - received < WINDOW) await dealer.send(next(sent++));
    else await new Promise((r) => setImmediate(r));
  }
  await receiving;
  return received;
}

export interface WarmUp {
  policyRequests: number;
  controlRequests: number;
  telemetryReceived: number;
  seconds: number;
}

/**
 * Valid traffic on every socket while the job trains, as a daemon in service sees it: a
 * controller's `act` requests, a status poll every 20 of them, a subscriber to all telemetry.
 */
async function warmUp(d: Daemon, requests: number, obsSize: number, rng: Rng): Promise<WarmUp> {
  const t0 = Date.now();
  const sub = new zmq.Subscriber({ linger: 0 });
  sub.subscribe();
  sub.connect(d.endpoints.telemetry);
  let telemetryReceived = 0;
  let listening = true;
  const subscribed = (async () => {
    for await (const _ of sub) {
      telemetryReceived++;
      if (!listening) break;
    }
  })().catch(() => undefined);
  const controller = new zmq.Dealer({ linger: 0, receiveTimeout: 10_000 });
  controller.connect(d.endpoints.policy);
  const poller = new zmq.Request({ linger: 0, receiveTimeout: 10_000 });
  poller.connect(d.endpoints.control);
  const tally = new Map<string, number>();
  let controlRequests = 0;
  const polling = (async () => {
    for (let i = 0; i < requests / 20; i++) {
      await poller.send(JSON.stringify({ v: 1, id: i, cmd: 'status' }));
      if (controlReplyCode(await poller.receive()) !== 'ok') throw new Error('warm-up: control status not ok');
      controlRequests++;
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  const answered = await pipelined(controller, requests, (i) => fuzzMessage(rng, 'valid', 'act', 'observation', obsSize, i), policyReplyCode, tally);
  await polling;
  listening = false;
  controller.close();
  poller.close();
  sub.close();
  await subscribed;
  if (answered !== requests || tally.get('ok') !== requests) throw new Error(`warm-up: ${answered} of ${requests} valid requests answered, replies ${JSON.stringify(Object.fromEntries(tally))}`);
  return { policyRequests: requests, controlRequests, telemetryReceived, seconds: Math.round((Date.now() - t0) / 100) / 10 };
}

interface Liveness {
  checks: number;
  failures: string[];
}

async function alive(d: Daemon, live: Liveness): Promise<void> {
  live.checks++;
  const req = new zmq.Request({ linger: 0, receiveTimeout: 5000 });
  const pol = new zmq.Dealer({ linger: 0, receiveTimeout: 5000 });
  try {
    req.connect(d.endpoints.control);
    await req.send(JSON.stringify({ v: 1, id: live.checks, cmd: 'status' }));
    const status = JSON.parse((await req.receive())[0]!.toString()) as { ok: boolean };
    if (!status.ok) live.failures.push(`check ${live.checks}: control status not ok`);
    pol.connect(d.endpoints.policy);
    await pol.send([Buffer.from('info'), Buffer.from(JSON.stringify({ v: 1, seq: 1, t_ns: '1' }))]);
    if (decodeMessage(await pol.receive()).topic !== 'info') live.failures.push(`check ${live.checks}: policy info failed`);
  } catch (err) {
    live.failures.push(`check ${live.checks}: ${(err as Error).message}`);
  } finally {
    req.close();
    pol.close();
  }
}

/** sacbridge_zmq_errors_total by socket and kind, from /metrics. */
async function daemonErrorCounts(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^sacbridge_zmq_errors_total\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    out[`${labels.socket}.${labels.kind}`] = Number(m[2]);
  }
  return out;
}

export interface FuzzReport {
  messages: number;
  seed: number;
  policy: { sent: number; answered: number; replies: Record<string, number> };
  control: { sent: number; answered: number; replies: Record<string, number> };
  telemetry: { rogueFrames: number; stillPublishing: boolean };
  daemonErrorCounts: Record<string, number>;
  liveness: Liveness;
  crashed: boolean;
  exitCode: number | null;
  warmUp: WarmUp;
  /** Fresh (ready, no traffic yet); before the fuzz (warmed up, paused); right after it; once it settled. */
  rssMb: { fresh: number; before: number; after: number; settled: number };
  seconds: number;
  loadavg: number[];
}

export async function runFuzz(messages: number, seed: number, warmupRequests = 20_000): Promise<FuzzReport> {
  const t0 = Date.now();
  const stateDir = mkdtempSync(join(tmpdir(), 'sacbridge-fuzz-'));
  const d = await startDaemon(stateDir);
  const live: Liveness = { checks: 0, failures: [] };
  try {
    const fresh = rssMb(d.pid);
    const rng = new Rng(seed);
    // The daemon's observation size, for messages that are valid or nearly right.
    const info = new zmq.Dealer({ linger: 0, receiveTimeout: 5000 });
    info.connect(d.endpoints.policy);
    await info.send([Buffer.from('info'), Buffer.from(JSON.stringify({ v: 1, seq: 1, t_ns: '1' }))]);
    const obsSize = Number(decodeMessage(await info.receive()).header.observation_size);
    info.close();
    const warm = await warmUp(d, warmupRequests, obsSize, rng);
    // Paused, the job allocates nothing more (replay, tensors): what rss does is the sockets'.
    const pauser = new zmq.Request({ linger: 0, receiveTimeout: 10_000 });
    pauser.connect(d.endpoints.control);
    await pauser.send(JSON.stringify({ v: 1, cmd: 'pause', args: { reason: 'bench:fuzz measures the sockets alone' } }));
    await pauser.receive();
    pauser.close();
    await new Promise((r) => setTimeout(r, 2000)); // the update in flight when paused finishes
    const before = await settledRss(d.pid);
    const policyTally = new Map<string, number>();
    const controlTally = new Map<string, number>();
    const policy = new zmq.Dealer({ linger: 0, receiveTimeout: 10_000 });
    policy.connect(d.endpoints.policy);
    const control = new zmq.Dealer({ linger: 0, receiveTimeout: 10_000 });
    control.connect(d.endpoints.control);
    const rogue = new zmq.XSubscriber({ linger: 0 });
    rogue.connect(d.endpoints.telemetry);

    let sentPolicy = 0;
    let answeredPolicy = 0;
    let sentControl = 0;
    let answeredControl = 0;
    let rogueFrames = 0;
    for (let done = 0; done < messages && d.exited() === null; ) {
      const batch = Math.min(1000, messages - done);
      const nPolicy = Math.round(batch * 0.6);
      const nControl = Math.round(batch * 0.3);
      const nRogue = batch - nPolicy - nControl;
      const [p, c] = await Promise.all([
        pipelined(policy, nPolicy, (i) => {
          const kind = FUZZ_KINDS[rng.int(FUZZ_KINDS.length)]!;
          return fuzzMessage(rng, kind, 'act', 'observation', obsSize, done + i);
        }, policyReplyCode, policyTally),
        pipelined(control, nControl, () => {
          const { frames } = fuzzControlRequest(rng);
          // Half with REQ's delimiter, half without (the envelope mistakes a DEALER can make).
          return rng.uniform() < 0.5 ? [empty, ...frames] : frames;
        }, controlReplyCode, controlTally),
        (async () => {
          for (let k = 0; k < nRogue; k++) await rogue.send(fuzzMessage(rng, 'random', 'x', 'y', 1, k));
        })(),
      ]);
      sentPolicy += nPolicy;
      answeredPolicy += p;
      sentControl += nControl;
      answeredControl += c;
      rogueFrames += nRogue;
      done += batch;
      await alive(d, live);
    }
    policy.close();
    control.close();
    rogue.close();
    // Before the resume below: paused, rss moves with the sockets alone.
    const after = d.exited() !== null ? Number.NaN : rssMb(d.pid);
    const settled = d.exited() !== null ? Number.NaN : await settledRss(d.pid);
    // Telemetry still flows: resumed (a 'phase' message), the daemon publishes again.
    const sub = new zmq.Subscriber({ linger: 0, receiveTimeout: 5000 });
    sub.subscribe('phase');
    sub.connect(d.endpoints.telemetry);
    await new Promise((r) => setTimeout(r, 300)); // the subscription reaches the publisher
    const resumer = new zmq.Request({ linger: 0, receiveTimeout: 10_000 });
    resumer.connect(d.endpoints.control);
    await resumer.send(JSON.stringify({ v: 1, cmd: 'resume', args: { reason: 'bench:fuzz done' } }));
    await resumer.receive();
    resumer.close();
    const stillPublishing = await sub.receive().then(() => true, () => false);
    sub.close();
    const crashed = d.exited() !== null;
    const counts = crashed ? {} : await daemonErrorCounts(d.metricsUrl);
    const exitCode = crashed ? d.exited()!.code : await d.stop();
    return {
      messages,
      seed,
      policy: { sent: sentPolicy, answered: answeredPolicy, replies: Object.fromEntries([...policyTally].sort()) },
      control: { sent: sentControl, answered: answeredControl, replies: Object.fromEntries([...controlTally].sort()) },
      telemetry: { rogueFrames, stillPublishing },
      daemonErrorCounts: counts,
      liveness: live,
      crashed,
      exitCode,
      warmUp: warm,
      rssMb: { fresh: round(fresh), before: round(before), after: round(after), settled: round(settled) },
      seconds: Math.round((Date.now() - t0) / 1000),
      loadavg: loadavg().map(round),
    };
  } finally {
    if (d.exited() === null) await d.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Why the report fails the bar (crash, unanswered message, liveness), empty when it passes. */
export function fuzzFailures(r: FuzzReport): string[] {
  const out: string[] = [];
  if (r.crashed) out.push(`the daemon died (exit ${r.exitCode})`);
  if (r.exitCode !== 0 && !r.crashed) out.push(`the daemon stopped with exit ${r.exitCode}, not 0`);
  if (r.policy.answered !== r.policy.sent) out.push(`policy: ${r.policy.sent - r.policy.answered} of ${r.policy.sent} unanswered`);
  if (r.control.answered !== r.control.sent) out.push(`control: ${r.control.sent - r.control.answered} of ${r.control.sent} unanswered`);
  if (!r.telemetry.stillPublishing) out.push('telemetry stopped publishing');
  out.push(...r.liveness.failures);
  const growth = r.rssMb.settled - r.rssMb.before;
  if (!(growth <= RSS_GROWTH_LIMIT_MB)) out.push(`rss settled ${round(growth)} MB above its value before the fuzz (${r.rssMb.before} -> ${r.rssMb.settled} MB), limit ${RSS_GROWTH_LIMIT_MB} MB`);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { messages: { type: 'string', default: '100000' }, seed: { type: 'string', default: '1' }, warmup: { type: 'string', default: '20000' }, json: { type: 'boolean', default: false } } });
  const messages = Number(values.messages);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(messages) || messages < 1) throw new Error(`--messages must be a positive integer, got ${values.messages}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, got ${values.seed}`);
  const warmup = Number(values.warmup);
  if (!/^[0-9]+$/.test(values.warmup) || !Number.isSafeInteger(warmup)) throw new Error(`--warmup must be a non-negative integer, got ${values.warmup}`);
  const report = await runFuzz(messages, seed, warmup);
  const failures = fuzzFailures(report);
  if (!values.json) {
    const rows: [string, string][] = [
      ['messages (seed)', `${report.messages} (${report.seed})`],
      ['policy: sent / answered', `${report.policy.sent} / ${report.policy.answered}`],
      ['policy replies by class', JSON.stringify(report.policy.replies)],
      ['control: sent / answered', `${report.control.sent} / ${report.control.answered}`],
      ['control replies by class', JSON.stringify(report.control.replies)],
      ['telemetry: rogue frames, still publishing', `${report.telemetry.rogueFrames}, ${report.telemetry.stillPublishing}`],
      ['daemon: sacbridge_zmq_errors_total', JSON.stringify(report.daemonErrorCounts)],
      ['liveness checks / failures', `${report.liveness.checks} / ${report.liveness.failures.length}`],
      ['crashed, exit code', `${report.crashed}, ${report.exitCode}`],
      ['warm-up: policy / control requests, telemetry received, s', `${report.warmUp.policyRequests} / ${report.warmUp.controlRequests}, ${report.warmUp.telemetryReceived}, ${report.warmUp.seconds}`],
      ['rss MB fresh / before / after / settled', `${report.rssMb.fresh} / ${report.rssMb.before} / ${report.rssMb.after} / ${report.rssMb.settled}`],
      ['seconds, load average', `${report.seconds}, ${report.loadavg.join(' ')}`],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
    if (failures.length > 0) process.stdout.write(`FAILED:\n  ${failures.join('\n  ')}\n`);
  }
  process.stdout.write(`${JSON.stringify({ ...report, failures })}\n`);
  process.exitCode = failures.length > 0 ? 1 : 0;
}
