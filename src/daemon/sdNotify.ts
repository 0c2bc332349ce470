import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The systemd notify protocol (sd_notify(3)): newline-separated VAR=VALUE datagrams sent to the
 * AF_UNIX socket named by $NOTIFY_SOCKET (a path, or '@name' for an abstract socket).
 *
 * Node has no AF_UNIX datagram sockets, so the datagram leaves through one of:
 *   1. `addon`: build/sd_notify.node, a 70-line N-API addon (src/daemon/native/sd_notify.c,
 *      built by src/daemon/native/build.sh): one socket()+sendto() per message, from the main
 *      process, so the unit's default NotifyAccess=main works.
 *   2. `systemd-notify`: the binary, spawned per message; it sends from its own pid, so the
 *      unit needs NotifyAccess=all.
 * The transport is chosen once; `transport` says which, for the log.
 */

export type Transport = 'addon' | 'systemd-notify' | 'none';

interface Addon {
  notify(socketPath: string, message: string): number;
}

const here = dirname(fileURLToPath(import.meta.url));

/** build/sd_notify.node from dist/src/daemon/ (built) or src/daemon/ (sources). */
export function addonCandidates(): string[] {
  return [join(here, '../../../build/sd_notify.node'), join(here, '../../build/sd_notify.node')];
}

export function loadAddon(paths = addonCandidates()): Addon | null {
  const require = createRequire(import.meta.url);
  for (const p of paths) {
    if (!existsSync(p)) continue;
    try {
      return require(p) as Addon;
    } catch {
      // a stale or foreign build: try the next, then the fallback
    }
  }
  return null;
}

function findSystemdNotify(env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '/usr/bin:/bin').split(':')) {
    const p = join(dir || '.', 'systemd-notify');
    if (existsSync(p)) return p;
  }
  return null;
}

export interface SdNotifyOptions {
  env?: NodeJS.ProcessEnv;
  /** Force a transport (tests); default: the addon if it loads, else systemd-notify. */
  prefer?: 'addon' | 'systemd-notify';
  /** Called when a send fails; notification is best effort and must never stop the daemon. */
  onError?: (err: Error) => void;
}

export class SdNotify {
  readonly socket: string | null;
  readonly transport: Transport;
  private readonly addon: Addon | null = null;
  private readonly binary: string | null = null;
  private readonly onError: (err: Error) => void;
  private readonly watchdogUsec: number | null;

  constructor(options: SdNotifyOptions = {}) {
    const env = options.env ?? process.env;
    this.onError = options.onError ?? (() => undefined);
    this.socket = env.NOTIFY_SOCKET && env.NOTIFY_SOCKET.length > 0 ? env.NOTIFY_SOCKET : null;
    const usec = Number(env.WATCHDOG_USEC);
    // WATCHDOG_PID, when set, says which process the watchdog is meant for.
    const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
    this.watchdogUsec = Number.isInteger(usec) && usec > 0 && forUs ? usec : null;
    let transport: Transport = 'none';
    if (this.socket !== null) {
      if (options.prefer !== 'systemd-notify') this.addon = loadAddon();
      if (this.addon !== null) transport = 'addon';
      else {
        this.binary = findSystemdNotify(env);
        if (this.binary !== null) transport = 'systemd-notify';
      }
    }
    this.transport = transport;
  }

  get enabled(): boolean {
    return this.transport !== 'none';
  }

  /** Half the watchdog timeout, the ping period sd_watchdog_enabled(3) recommends; null when off. */
  get watchdogIntervalMs(): number | null {
    return this.watchdogUsec === null ? null : this.watchdogUsec / 2000;
  }

  /** Send `fields` as one message. Resolves when sent (or failed and reported). */
  async send(fields: Record<string, string | number>): Promise<void> {
    if (!this.enabled || this.socket === null) return;
    const lines = Object.entries(fields).map(([k, v]) => `${k}=${String(v).replace(/\n/g, ' ')}`);
    try {
      if (this.addon !== null) {
        this.addon.notify(this.socket, lines.join('\n'));
      } else if (this.binary !== null) {
        const bin = this.binary;
        await new Promise<void>((resolve, reject) => {
          execFile(bin, lines, { env: { ...process.env, NOTIFY_SOCKET: this.socket ?? '' }, timeout: 5000 }, (err) => (err ? reject(err) : resolve()));
        });
      }
    } catch (err) {
      this.onError(err as Error);
    }
  }

  ready(status?: string): Promise<void> {
    return this.send(status === undefined ? { READY: 1, MAINPID: process.pid } : { READY: 1, MAINPID: process.pid, STATUS: status });
  }
  status(text: string): Promise<void> {
    return this.send({ STATUS: text });
  }
  watchdog(): Promise<void> {
    return this.send({ WATCHDOG: 1 });
  }
  reloading(): Promise<void> {
    return this.send({ RELOADING: 1 });
  }
  stopping(status?: string): Promise<void> {
    return this.send(status === undefined ? { STOPPING: 1 } : { STOPPING: 1, STATUS: status });
  }
}
