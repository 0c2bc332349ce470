import { createHash } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync, fsyncSync, accessSync, constants } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { removeAtomicTemps, writeFileAtomicSync } from '../util/atomicFile.js';
import { INITIAL_PHASE, isPhaseState, type PhaseState } from './phases.js';

/**
 * The daemon's state directory:
 *
 *   <dir>/daemon.lock            pid and start time of the daemon that owns the directory
 *   <dir>/daemon-state.{a,b}.json the daemon's own state (phase, counters), checksummed, written
 *                                alternately so a bad newest copy falls back to the other
 *   <dir>/status.json            what `sacbridge status` reads when the daemon cannot be asked
 *   <dir>/run/metrics.jsonl      the run's metrics for `sacbridge plot`
 *   <dir>/run/checkpoints/gen-*  checkpoint generations (src/agent/checkpoint.ts): the job's
 *                                networks, optimiser, replay, RNG, counters, and the daemon's phase
 */

/** Where the state lives when daemon.stateDir is empty. */
export function resolveStateDir(configured: string, env: NodeJS.ProcessEnv = process.env): string {
  if (configured !== '') return configured;
  // systemd's StateDirectory= sets STATE_DIRECTORY (colon-separated when several).
  if (env.STATE_DIRECTORY) return env.STATE_DIRECTORY.split(':')[0]!;
  if (env.INVOCATION_ID) return '/var/lib/sacbridge';
  if (env.XDG_STATE_HOME) return join(env.XDG_STATE_HOME, 'sacbridge');
  return join(env.HOME ?? homedir(), '.local', 'state', 'sacbridge');
}

export interface DaemonCounters {
  /** Daemon starts on this directory, this one included. */
  starts: number;
  /** Phase transitions so far. */
  transitions: number;
  /** Checkpoints written so far. */
  checkpoints: number;
}

export interface DaemonState {
  version: 1;
  /** Phase to resume in ('stopping' is never stored: a clean stop stores the phase it left). */
  phase: PhaseState;
  counters: DaemonCounters;
  /** Name of the newest checkpoint (directory under checkpoints/), or null. */
  lastCheckpoint: string | null;
  /** Job counters as of lastCheckpoint (never go back across restarts). */
  jobSteps: number;
  /** Whether the last run ended with a clean stop. */
  cleanStop: boolean;
  savedAt: string;
  /** Write sequence, to pick the newer of the two slots. */
  seq: number;
}

export function initialDaemonState(): DaemonState {
  return {
    version: 1,
    phase: INITIAL_PHASE,
    counters: { starts: 0, transitions: 0, checkpoints: 0 },
    lastCheckpoint: null,
    jobSteps: 0,
    cleanStop: true,
    savedAt: new Date(0).toISOString(),
    seq: 0,
  };
}

export class LockError extends Error {
  override name = 'LockError';
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Seal a JSON payload with its checksum: {"sha256": ..., "payload": ...}. */
export function seal(payload: unknown): string {
  const body = JSON.stringify(payload);
  return `{"sha256":"${sha256(body)}","payload":${body}}\n`;
}

/** The payload of a sealed file, or the reason it is not to be trusted. */
export function unseal(text: string): { ok: true; payload: unknown } | { ok: false; reason: string } {
  const m = /^\{"sha256":"([0-9a-f]{64})","payload":([\s\S]*)\}\n?$/.exec(text);
  if (!m) return { ok: false, reason: 'not a sealed file' };
  if (sha256(m[2]!) !== m[1]) return { ok: false, reason: 'checksum mismatch' };
  try {
    return { ok: true, payload: JSON.parse(m[2]!) as unknown };
  } catch (err) {
    return { ok: false, reason: `bad JSON: ${(err as Error).message}` };
  }
}

function isDaemonState(v: unknown): v is DaemonState {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  const c = s.counters as Record<string, unknown> | undefined;
  return (
    s.version === 1 &&
    isPhaseState(s.phase) &&
    typeof c === 'object' && c !== null &&
    ['starts', 'transitions', 'checkpoints'].every((k) => Number.isInteger(c[k])) &&
    (s.lastCheckpoint === null || typeof s.lastCheckpoint === 'string') &&
    Number.isInteger(s.jobSteps) &&
    typeof s.cleanStop === 'boolean' &&
    Number.isInteger(s.seq)
  );
}

/** Start time of a process in clock ticks since boot (/proc/PID/stat field 22), or null. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface LockRecord {
  pid: number;
  startTime: string | null;
  host: string;
}

export interface LoadReport {
  state: DaemonState;
  /** Slots that were present but refused, with the reason (logged by the daemon). */
  refused: string[];
}

export class StateDir {
  readonly lockPath: string;
  readonly checkpointsDir: string;
  readonly runDir: string;
  readonly statusPath: string;
  private locked = false;

  constructor(readonly dir: string) {
    this.lockPath = join(dir, 'daemon.lock');
    this.runDir = join(dir, 'run');
    // The same layout as `sacbridge train --out DIR`: `sacbridge eval --checkpoint` and `plot` read it.
    this.checkpointsDir = join(this.runDir, 'checkpoints');
    this.statusPath = join(dir, 'status.json');
  }

  /** Create the layout; a clear error when the directory cannot be written. */
  prepare(): void {
    for (const d of [this.dir, this.runDir, this.checkpointsDir]) mkdirSync(d, { recursive: true, mode: 0o750 });
    try {
      accessSync(this.dir, constants.W_OK);
    } catch {
      throw new LockError(`state directory ${this.dir} is not writable by uid ${process.getuid?.() ?? '?'}`);
    }
  }

  /**
   * Take the lock: refuse when a live daemon holds it; take it over when its holder is dead
   * (the pid is gone, or now belongs to a process started at another time).
   */
  lock(): void {
    const me: LockRecord = { pid: process.pid, startTime: processStartTime(process.pid), host: hostname() };
    const tmp = `${this.lockPath}.${process.pid}.tmp`;
    try {
      try {
        const fd = openSync(tmp, 'w', 0o644);
        try {
          writeSync(fd, JSON.stringify(me) + '\n');
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      } catch (err) {
        // A full (or read-only) disk at start: a clear refusal, and no lock file left behind.
        throw new LockError(`cannot write the lock file in state directory ${this.dir}: ${(err as Error).message}`);
      }
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          linkSync(tmp, this.lockPath); // atomic: fails with EEXIST when someone holds it
          this.locked = true;
          this.removeStaleTemps();
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const holder = this.readLock();
        if (holder !== null && holder.pid !== process.pid && holder.host === me.host && processAlive(holder.pid) && (holder.startTime === null || processStartTime(holder.pid) === holder.startTime)) {
          throw new LockError(`state directory ${this.dir} is in use by another sacbridge daemon (pid ${holder.pid}, lock ${this.lockPath}); stop it first or use another daemon.stateDir`);
        }
        if (holder !== null && holder.host !== me.host) {
          throw new LockError(`state directory ${this.dir} is locked by pid ${holder.pid} on host ${holder.host}; remove ${this.lockPath} if that daemon is gone`);
        }
        // Stale: its holder is dead. Remove it and try again.
        try {
          unlinkSync(this.lockPath);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      throw new LockError(`could not take the lock ${this.lockPath}: it keeps reappearing`);
    } finally {
      try {
        unlinkSync(tmp);
      } catch {
        // never created (a full disk): nothing to remove
      }
    }
  }

  /**
   * Temporary files interrupted writes left here (daemon state, status, another start's lock
   * file whose process is gone). Called once the lock is ours: nobody else writes here now.
   */
  private removeStaleTemps(): void {
    removeAtomicTemps(this.dir);
    for (const n of readdirSync(this.dir)) {
      const m = /^daemon\.lock\.([0-9]+)\.tmp$/.exec(n);
      if (m === null || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
      try {
        unlinkSync(join(this.dir, n));
      } catch {
        // gone already
      }
    }
  }

  /** The lock's holder, or null when there is none or it is unreadable (treated as stale). */
  readLock(): LockRecord | null {
    try {
      const rec = JSON.parse(readFileSync(this.lockPath, 'utf8')) as LockRecord;
      return Number.isInteger(rec.pid) ? rec : null;
    } catch {
      return null;
    }
  }

  unlock(): void {
    if (!this.locked) return;
    const holder = this.readLock();
    if (holder?.pid === process.pid) unlinkSync(this.lockPath);
    this.locked = false;
  }

  private slot(name: 'a' | 'b'): string {
    return join(this.dir, `daemon-state.${name}.json`);
  }

  /** The newest valid daemon state of the two slots, or the initial one. */
  loadState(): LoadReport {
    const refused: string[] = [];
    let best: DaemonState | null = null;
    for (const name of ['a', 'b'] as const) {
      let text: string;
      try {
        text = readFileSync(this.slot(name), 'utf8');
      } catch {
        continue;
      }
      const r = unseal(text);
      if (!r.ok) {
        refused.push(`${this.slot(name)}: ${r.reason}`);
        continue;
      }
      if (!isDaemonState(r.payload)) {
        refused.push(`${this.slot(name)}: not a daemon state record`);
        continue;
      }
      if (best === null || r.payload.seq > best.seq) best = r.payload;
    }
    return { state: best ?? initialDaemonState(), refused };
  }

  /** Write the state into the older slot (atomically), so the other stays as the fallback. */
  saveState(state: DaemonState): DaemonState {
    const next: DaemonState = { ...state, seq: state.seq + 1, savedAt: new Date().toISOString() };
    writeFileAtomicSync(this.slot(next.seq % 2 === 0 ? 'a' : 'b'), seal(next));
    return next;
  }

  writeStatus(status: unknown): void {
    writeFileAtomicSync(this.statusPath, JSON.stringify(status, null, 1) + '\n');
  }
}
