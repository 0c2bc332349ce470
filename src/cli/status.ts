import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { configSource } from './configSource.js';
import { ConfigError, EX_CONFIG, loadConfig } from '../config/load.js';
import type { DaemonStatus } from '../daemon/control.js';
import { resolveStateDir } from '../daemon/stateDir.js';
import { UsageError } from './args.js';
import type { Command } from './command.js';
import { CONFIG_FLAGS } from './configFlags.js';

/** LSB's "program is not running" exit status for status actions. */
export const EXIT_NOT_RUNNING = 3;

const ASK_TIMEOUT_MS = 2000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The daemon's answer to the control API's `status` command (docs/protocol.md), or null. */
export async function askOverZmq(endpoint: string, timeoutMs = ASK_TIMEOUT_MS): Promise<DaemonStatus | null> {
  const req = new zmq.Request({ receiveTimeout: timeoutMs, sendTimeout: timeoutMs, linger: 0 });
  try {
    req.connect(endpoint);
    await req.send(JSON.stringify({ v: 1, cmd: 'status', args: {}, id: 'sacbridge-status' }));
    const [reply] = await req.receive();
    const r = JSON.parse(reply!.toString('utf8')) as { ok?: boolean; result?: DaemonStatus };
    return r.ok === true && r.result !== undefined ? r.result : null;
  } catch {
    return null;
  } finally {
    req.close();
  }
}

async function askOverHttp(url: string): Promise<DaemonStatus | null> {
  try {
    const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(ASK_TIMEOUT_MS) });
    return res.ok ? ((await res.json()) as DaemonStatus) : null;
  } catch {
    return null;
  }
}

function describe(s: DaemonStatus, how: string): string {
  const j = s.jobStatus;
  const z = s.zmq ?? { telemetry: null, policy: null, control: null };
  const lines = [
    `sacbridge daemon pid ${s.pid} (${how})`,
    `  phase        ${s.phase}${s.resumeTo ? ` (returns to ${s.resumeTo})` : ''}`,
    `  job          ${s.job}: ${j.envSteps} steps, ${j.updates} updates, ${j.episodes} episodes, replay ${j.replaySize}${j.lastReturn === null ? '' : `, last return ${j.lastReturn.toFixed(3)}`}`,
    `  checkpoint   ${s.lastCheckpoint ?? 'none'} (${s.checkpoints} written)`,
    `  state dir    ${s.stateDir}`,
    `  zeromq       telemetry ${z.telemetry ?? 'off'}, policy ${z.policy ?? 'off'}, control ${z.control ?? 'off'}`,
    `  metrics      ${s.metricsUrl ? `${s.metricsUrl}/metrics` : 'off'}`,
    `  web UI       ${s.uiUrl ?? 'off'}`,
    `  up           ${s.uptimeSeconds.toFixed(0)} s since ${s.startedAt}, start #${s.starts}, systemd notify: ${s.notify}`,
  ];
  if (j.extra) for (const [k, v] of Object.entries(j.extra)) lines.push(`  ${k.padEnd(12)} ${String(v)}`);
  return lines.join('\n') + '\n';
}

/**
 * `sacbridge status`: ask the running daemon over its ZeroMQ control API, else over HTTP
 * (/status on the metrics address), else read the status file it writes every few seconds.
 * Exit 0 when a daemon runs, 3 when none does.
 */
export const statusCommand: Command = {
  name: 'status',
  summary: 'show the running daemon\'s phase and progress (asked over its ZeroMQ control API)',
  usage: 'status [--config FILE] [--state-dir DIR] [--json]',
  flags: {
    ...CONFIG_FLAGS,
    'state-dir': { kind: 'string', value: 'DIR', help: 'the daemon\'s state directory (default: from the configuration)' },
    json: { kind: 'boolean', help: 'print one JSON object' },
  },
  async run(argv) {
    const json = argv.includes('--json');
    let rest = argv.filter((a) => a !== '--json');
    let dir: string | undefined;
    const i = rest.indexOf('--state-dir');
    if (i >= 0) {
      dir = rest[i + 1];
      if (dir === undefined) throw new UsageError('--state-dir: missing value (DIR)');
      rest = rest.filter((_, k) => k !== i && k !== i + 1);
    }
    if (dir === undefined) {
      try {
        dir = resolveStateDir(loadConfig(configSource(rest)).config.daemon.stateDir);
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`sacbridge status: ${err.message}\n`);
          return EX_CONFIG;
        }
        throw err;
      }
    }
    let file: DaemonStatus;
    try {
      file = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as DaemonStatus;
    } catch {
      process.stderr.write(`sacbridge status: no daemon has run with state directory ${dir} (no status.json)\n`);
      return EXIT_NOT_RUNNING;
    }
    if (!alive(file.pid) || file.phase === 'stopping') {
      process.stdout.write(json ? JSON.stringify({ running: false, last: file }) + '\n' : `not running; last seen ${file.updatedAt} in phase ${file.phase}\n`);
      return EXIT_NOT_RUNNING;
    }
    let source = 'file';
    let how = `from ${join(dir, 'status.json')}, written ${file.updatedAt}`;
    let live: DaemonStatus | null = null;
    const control = file.zmq?.control ?? null;
    if (control !== null) {
      live = await askOverZmq(control);
      if (live !== null) [source, how] = ['zmq', `live, from the control API at ${control}`];
    }
    if (live === null && file.metricsUrl) {
      live = await askOverHttp(file.metricsUrl);
      if (live !== null) [source, how] = ['http', `live, from ${file.metricsUrl}/status`];
    }
    const s = live ?? file;
    process.stdout.write(json ? JSON.stringify({ running: true, source, status: s }) + '\n' : describe(s, how));
    return 0;
  },
};
