import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configSource, runIfEntry } from '../config/cliArgs.js';
import { ConfigError, EX_CONFIG, loadConfig } from '../config/load.js';
import type { DaemonStatus } from '../daemon/daemon.js';
import { resolveStateDir } from '../daemon/stateDir.js';

const USAGE = `usage: sacbridge status [--config FILE] [--state-dir DIR] [--json]
Ask the running daemon for its status (HTTP /status on its metrics address), falling back to the
status file in its state directory. Exit 0 when a daemon runs, 3 when none does.
`;

/** LSB's "program is not running" exit status for status actions. */
export const EXIT_NOT_RUNNING = 3;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function askDaemon(url: string): Promise<DaemonStatus | null> {
  try {
    const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? ((await res.json()) as DaemonStatus) : null;
  } catch {
    return null;
  }
}

function describe(s: DaemonStatus, how: string): string {
  const j = s.jobStatus;
  const lines = [
    `sacbridge daemon pid ${s.pid} (${how})`,
    `  phase        ${s.phase}${s.resumeTo ? ` (returns to ${s.resumeTo})` : ''}`,
    `  job          ${s.job}: ${j.envSteps} steps, ${j.updates} updates, ${j.episodes} episodes, replay ${j.replaySize}${j.lastReturn === null ? '' : `, last return ${j.lastReturn.toFixed(3)}`}`,
    `  checkpoint   ${s.lastCheckpoint ?? 'none'} (${s.checkpoints} written)`,
    `  state dir    ${s.stateDir}`,
    `  metrics      ${s.metricsUrl ? `${s.metricsUrl}/metrics` : 'off'}`,
    `  up           ${s.uptimeSeconds.toFixed(0)} s since ${s.startedAt}, start #${s.starts}, systemd notify: ${s.notify}`,
  ];
  if (j.extra) for (const [k, v] of Object.entries(j.extra)) lines.push(`  ${k.padEnd(12)} ${String(v)}`);
  return lines.join('\n') + '\n';
}

export async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const json = argv.includes('--json');
  let rest = argv.filter((a) => a !== '--json');
  let dir: string | undefined;
  const i = rest.indexOf('--state-dir');
  if (i >= 0) {
    dir = rest[i + 1];
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
  const live = file.metricsUrl ? await askDaemon(file.metricsUrl) : null;
  const s = live ?? file;
  const how = live ? `live, from ${file.metricsUrl}/status` : `from ${join(dir, 'status.json')}, written ${file.updatedAt}`;
  process.stdout.write(json ? JSON.stringify({ running: true, source: live ? 'http' : 'file', status: s }) + '\n' : describe(s, how));
  return 0;
}

runIfEntry(import.meta.url, main);
