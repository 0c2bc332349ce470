import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Test helpers: real daemon processes, real sockets. (Not a test file itself.) */

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (this file runs from dist/test/daemon/). */
export const ROOT = join(here, '..', '..', '..');
export const DIST = join(ROOT, 'dist');
export const MAIN_JS = join(DIST, 'src', 'cli', 'main.js');

/** Any free loopback port for each ZeroMQ socket (tests run daemons side by side). */
export const ANY_PORTS = ['--zmq.telemetry', 'tcp://127.0.0.1:*', '--zmq.policy', 'tcp://127.0.0.1:*', '--zmq.control', 'tcp://127.0.0.1:*', '--ui.port', '0'];

/**
 * The real sac job, small: tiny networks and batches, a small buffer, learning after 100 steps
 * (a few hundred steps per second here), pendulum task.
 */
export const TINY_SAC = [
  '--sim.task', 'pendulum',
  '--rl.hiddenSizes', '[16,16]',
  '--rl.batchSize', '32',
  '--rl.bufferSize', '20000',
  '--rl.learningStarts', '100',
  ...ANY_PORTS,
];

export function tempDir(prefix = 'sacbridge-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export type LogRecord = Record<string, unknown> & { msg?: string; level?: number };

export interface DaemonProcess {
  child: ChildProcess;
  logs: LogRecord[];
  stderr: string[];
  /** Resolves with the first log record matching `pred`. */
  waitFor(pred: (r: LogRecord) => boolean, timeoutMs?: number, what?: string): Promise<LogRecord>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();

/** SIGKILL every daemon a test started that is still running (a failed test must not hang the run). */
export function killAll(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}

/** Spawn `node dist/src/cli/main.js run ...args` with JSON logs on stdout. */
export function spawnDaemon(args: string[], env: NodeJS.ProcessEnv = {}, user?: { uid: number; gid: number }): DaemonProcess {
  const child = spawn(process.execPath, [MAIN_JS, 'run', '--logging.pretty', 'never', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...user,
  });
  live.add(child);
  child.on('exit', () => live.delete(child));
  const logs: LogRecord[] = [];
  const stderr: string[] = [];
  const waiters: { pred: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let rec: LogRecord;
      try {
        rec = JSON.parse(line) as LogRecord;
      } catch {
        rec = { msg: line, level: -1 };
      }
      logs.push(rec);
      for (const w of [...waiters]) {
        if (w.pred(rec)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(rec);
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    logs,
    stderr,
    exit,
    waitFor(pred, timeoutMs = 15_000, what = 'a log record') {
      const found = logs.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr: ${stderr.join('')}; last logs: ${JSON.stringify(logs.slice(-5))}`)), timeoutMs);
        const w = {
          pred,
          resolve: (r: LogRecord) => {
            clearTimeout(t);
            resolve(r);
          },
        };
        waiters.push(w);
        void exit.then(() => {
          if (waiters.includes(w)) {
            clearTimeout(t);
            reject(new Error(`daemon exited before ${what}; stderr: ${stderr.join('')}; last logs: ${JSON.stringify(logs.slice(-5))}`));
          }
        });
      });
    },
  };
}

export const msgIs =
  (m: string) =>
  (r: LogRecord): boolean =>
    r.msg === m;

export interface NotifyReceiver {
  /** Datagrams received so far, decoded. */
  messages: string[];
  /** Resolves with the first datagram containing `text`. */
  waitFor(text: string, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

const RECEIVER_PY = `
import socket, sys, json
p = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\\0' + p[1:] if p.startswith('@') else p)
print(json.dumps('__bound__'), flush=True)
while True:
    d = s.recv(65536)
    print(json.dumps(d.decode()), flush=True)
`;

/** A real AF_UNIX SOCK_DGRAM socket bound by Debian's python3 (path, or '@name' = abstract). */
export async function notifyReceiver(socketPath: string): Promise<NotifyReceiver> {
  const child = spawn('/usr/bin/python3', ['-c', RECEIVER_PY, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[] = [];
  const waiters: { text: string; resolve: (m: string) => void }[] = [];
  let bound!: () => void;
  const isBound = new Promise<void>((r) => (bound = r));
  let buf = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const m = JSON.parse(buf.slice(0, nl)) as string;
      buf = buf.slice(nl + 1);
      if (m === '__bound__') {
        bound();
        continue;
      }
      messages.push(m);
      for (const w of [...waiters]) if (m.includes(w.text)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(m));
    }
  });
  await isBound;
  return {
    messages,
    waitFor(text, timeoutMs = 10_000) {
      const found = messages.find((m) => m.includes(text));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no notify message with ${text}; got ${JSON.stringify(messages)}`)), timeoutMs);
        waiters.push({ text, resolve: (m) => (clearTimeout(t), resolve(m)) });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The sd_notify addon is built at install time; build it when that step has not run. */
export function ensureAddon(): void {
  if (!existsSync(join(ROOT, 'build', 'sd_notify.node'))) execFileSync('sh', [join(ROOT, 'src', 'daemon', 'native', 'build.sh')], { stdio: 'inherit' });
}

/** One command to the daemon's ZeroMQ control API (REP, JSON); resolves with the reply. */
export async function controlCall(endpoint: string, cmd: string, args: Record<string, unknown> = {}): Promise<{ ok: boolean; result?: Record<string, unknown>; error?: { code: string; message: string } }> {
  const { Request } = await import('zeromq');
  const req = new Request({ receiveTimeout: 5000, sendTimeout: 5000, linger: 0 });
  try {
    req.connect(endpoint);
    await req.send(JSON.stringify({ v: 1, cmd, args, id: cmd }));
    const [reply] = await req.receive();
    return JSON.parse(reply!.toString('utf8')) as { ok: boolean; result?: Record<string, unknown>; error?: { code: string; message: string } };
  } finally {
    req.close();
  }
}
