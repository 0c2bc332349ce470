import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../util/atomicFile.js';
import { seal, unseal } from './stateDir.js';

/**
 * Checkpoint directories. The job writes whatever files it needs into a fresh directory; this
 * module makes the result crash-safe and verifiable:
 *   1. the job writes into checkpoints/.tmp-<name>/
 *   2. every file is fsynced and hashed; MANIFEST.json (sealed, with size and sha256 of each
 *      file) is written last
 *   3. the directory is renamed to checkpoints/<name>/ and the parent fsynced
 * A checkpoint counts only if its MANIFEST verifies; loading walks from the newest to older
 * ones until one does. Names sort by job steps, then time: ckpt-<steps:12>-<ms:13>.
 */

export const MANIFEST = 'MANIFEST.json';

export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  name: string;
  steps: number;
  createdAt: string;
  reason: string;
  files: ManifestEntry[];
}

export interface CheckpointInfo {
  name: string;
  dir: string;
  steps: number;
}

export function checkpointName(steps: number, ms: number): string {
  return `ckpt-${String(steps).padStart(12, '0')}-${String(ms).padStart(13, '0')}`;
}

const NAME_RE = /^ckpt-(\d{12})-(\d{13})$/;

async function hashAndSync(path: string): Promise<{ size: number; sha256: string }> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: h.digest('hex') };
}

async function listFiles(dir: string, root = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, root)));
    else if (e.isFile()) out.push(relative(root, p));
  }
  return out.sort();
}

export class CheckpointStore {
  constructor(readonly dir: string) {}

  /** Remove half-written checkpoints left by a crash. */
  async clean(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const e of await readdir(this.dir)) if (e.startsWith('.tmp-')) await rm(join(this.dir, e), { recursive: true, force: true });
  }

  /** Write a checkpoint: `write(dir)` fills a fresh directory; the rest makes it durable. */
  async save(steps: number, reason: string, write: (dir: string) => Promise<void>): Promise<CheckpointInfo> {
    const name = checkpointName(steps, Date.now());
    const tmp = join(this.dir, `.tmp-${name}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    try {
      await write(tmp);
      const files: ManifestEntry[] = [];
      for (const path of await listFiles(tmp)) {
        if (path === MANIFEST) throw new Error(`the job wrote ${MANIFEST}, a name reserved for the checkpoint manifest`);
        files.push({ path, ...(await hashAndSync(join(tmp, path))) });
      }
      const manifest: Manifest = { name, steps, createdAt: new Date().toISOString(), reason, files };
      await writeFileAtomic(join(tmp, MANIFEST), seal(manifest));
      const final = join(this.dir, name);
      await rename(tmp, final);
      await fsyncDir(this.dir);
      return { name, dir: final, steps };
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** Names of complete-looking checkpoints, newest first. */
  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    return names.filter((n) => NAME_RE.test(n)).sort().reverse();
  }

  /** Verify a checkpoint against its manifest; the reason it is bad, or null when good. */
  async verify(name: string): Promise<{ ok: true; manifest: Manifest } | { ok: false; reason: string }> {
    const dir = join(this.dir, name);
    let text: string;
    try {
      text = await readFile(join(dir, MANIFEST), 'utf8');
    } catch {
      return { ok: false, reason: 'no manifest' };
    }
    const r = unseal(text);
    if (!r.ok) return { ok: false, reason: `manifest: ${r.reason}` };
    const m = r.payload as Manifest;
    if (!Array.isArray(m.files) || !Number.isInteger(m.steps)) return { ok: false, reason: 'manifest: malformed' };
    for (const f of m.files) {
      const p = join(dir, f.path);
      try {
        const st = await stat(p);
        if (st.size !== f.size) return { ok: false, reason: `${f.path}: size ${st.size}, manifest says ${f.size}` };
      } catch {
        return { ok: false, reason: `${f.path}: missing` };
      }
      const h = await hashAndSync(p);
      if (h.sha256 !== f.sha256) return { ok: false, reason: `${f.path}: checksum mismatch` };
    }
    return { ok: true, manifest: m };
  }

  /**
   * The newest checkpoint that verifies, and the ones refused on the way (newest first), so the
   * daemon can log each fallback.
   */
  async latestValid(): Promise<{ found: CheckpointInfo | null; refused: { name: string; reason: string }[] }> {
    const refused: { name: string; reason: string }[] = [];
    for (const name of await this.list()) {
      const v = await this.verify(name);
      if (v.ok) return { found: { name, dir: join(this.dir, name), steps: v.manifest.steps }, refused };
      refused.push({ name, reason: v.reason });
    }
    return { found: null, refused };
  }

  /** Keep the newest `keep` checkpoints and always `protect` (the one in use). */
  async prune(keep: number, protect: string | null): Promise<string[]> {
    const removed: string[] = [];
    const names = await this.list();
    for (const name of names.slice(keep)) {
      if (name === protect) continue;
      // Rename first (atomic), then delete: a crash mid-delete leaves debris that clean()
      // removes, never a half-deleted checkpoint under a valid name.
      const doomed = join(this.dir, `.tmp-deleting-${name}`);
      await rename(join(this.dir, name), doomed);
      await rm(doomed, { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }
}

/** When to checkpoint: every N steps and/or every N seconds (0 = that rule off). Pure. */
export class CheckpointSchedule {
  private lastSteps: number;
  private lastMs: number;

  constructor(
    private everySteps: number,
    private everySeconds: number,
    steps: number,
    nowMs: number,
  ) {
    this.lastSteps = steps;
    this.lastMs = nowMs;
  }

  configure(everySteps: number, everySeconds: number): void {
    this.everySteps = everySteps;
    this.everySeconds = everySeconds;
  }

  due(steps: number, nowMs: number): 'steps' | 'time' | null {
    if (this.everySteps > 0 && steps - this.lastSteps >= this.everySteps) return 'steps';
    if (this.everySeconds > 0 && nowMs - this.lastMs >= this.everySeconds * 1000 && steps !== this.lastSteps) return 'time';
    return null;
  }

  done(steps: number, nowMs: number): void {
    this.lastSteps = steps;
    this.lastMs = nowMs;
  }
}
