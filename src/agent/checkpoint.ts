import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fsyncDir, isAtomicTemp, writeFileAtomic } from '../util/atomicFile.js';
import type { Json } from '../util/json.js';

/**
 * A checkpoint is a directory of generations:
 *
 *   <root>/gen-00000007/manifest.json   format, counters, hyperparameters, state, extra,
 *                                       and the size and sha256 of every other file
 *   <root>/gen-00000007/<blob files>    network variables, optimiser moments, replay buffer...
 *   <root>/latest                       the name of the newest complete generation
 *
 * Writing is crash-safe: a generation is written into `<name>.tmp-<pid>`, every file fsynced,
 * the directory renamed to its final name, the root fsynced, and only then `latest` replaced
 * atomically. A crash leaves at worst a torn temp directory or a `.latest.*.tmp` file, which
 * loading ignores and `removeStaleTemps` (called on resume and before every save) removes.
 *
 * Loading verifies every checksum and takes the newest generation that verifies. `latest` is a
 * pointer for people and tools, never trusted over the directories: a kill between a
 * generation's rename and the pointer's rewrite leaves it naming an older generation, and a
 * complete newer generation must not be passed over for it.
 *
 * Retention keeps the newest `keep` generations that are not known to be broken, and never
 * removes a generation named in `protect` (the one a run resumed from after a fallback).
 */

export const CHECKPOINT_FORMAT = 'sacbridge-checkpoint';
export const CHECKPOINT_VERSION = 1;
const MANIFEST = 'manifest.json';
const LATEST = 'latest';
const GEN_RE = /^gen-(\d{8})$/;
const TMP_RE = /^gen-\d{8}\.tmp-\d+$/;
const BLOB_NAME_RE = /^[A-Za-z0-9_.-]+$/;


export interface CheckpointContent {
  /** Progress counters (env steps, updates, episodes...). */
  counters: Record<string, number>;
  hyperparameters: Json;
  /** Small structured state that goes in the manifest (RNG states, blob indexes). */
  state: Json;
  /** Binary files by name. */
  blobs: Record<string, Uint8Array>;
  /** Free-form data of the caller (the daemon keeps its phase here). */
  extra: Json;
}

export interface Manifest {
  format: string;
  version: number;
  createdAt: string;
  counters: Record<string, number>;
  hyperparameters: Json;
  state: Json;
  extra: Json;
  files: Record<string, { bytes: number; sha256: string }>;
}

export interface LoadedCheckpoint extends CheckpointContent {
  /** Generation directory that was loaded. */
  path: string;
  generation: string;
  createdAt: string;
  /** Newer generations that did not verify and were passed over (empty without a fallback). */
  skipped: string[];
}

export interface SaveOptions {
  /** Generations to keep (the newest ones); at least 1. Default 3. */
  keep?: number;
  /** Generations retention must not remove (e.g. the one a fallback resumed from). */
  protect?: readonly string[];
  /** Generations known not to verify: they do not count towards `keep`, and go first. */
  broken?: readonly string[];
}

export interface LoadOptions {
  /** Called when a generation is unusable and an older one is tried. Default: console.warn. */
  warn?: (message: string) => void;
}

/** There is no checkpoint at all under the root (as opposed to a broken one). */
export class NoCheckpointError extends Error {
  constructor(root: string) {
    super(`no checkpoint in ${root}`);
    this.name = 'NoCheckpointError';
  }
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The names in `root`; none when it does not exist yet. */
async function namesIn(root: string): Promise<string[]> {
  try {
    return await readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Generation names under `root`, newest first. */
export async function listGenerations(root: string): Promise<string[]> {
  return (await namesIn(root)).filter((n) => GEN_RE.test(n)).sort().reverse();
}

/**
 * Remove what an interrupted save left under `root`: torn generation directories and temporary
 * `latest` files. Only the run's owner calls this (on resume, and before each save).
 */
export async function removeStaleTemps(root: string): Promise<string[]> {
  const stale = (await namesIn(root)).filter((n) => TMP_RE.test(n) || isAtomicTemp(n, LATEST));
  for (const n of stale) await rm(join(root, n), { recursive: true, force: true });
  if (stale.length > 0) await fsyncDir(root);
  return stale;
}

async function writeAndSync(path: string, data: Uint8Array | string): Promise<void> {
  const fh = await open(path, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write a new generation under `root`; returns its directory. */
export async function saveCheckpoint(root: string, content: CheckpointContent, options: SaveOptions = {}): Promise<string> {
  const keep = Math.max(1, options.keep ?? 3);
  await mkdir(root, { recursive: true });
  for (const name of Object.keys(content.blobs)) {
    if (!BLOB_NAME_RE.test(name) || name === MANIFEST) throw new Error(`checkpoint: invalid blob file name '${name}'`);
  }
  // Leftovers of an interrupted save (any process) are garbage by construction.
  await removeStaleTemps(root);

  const gens = await listGenerations(root);
  const next = gens.length === 0 ? 1 : Number(GEN_RE.exec(gens[0])![1]) + 1;
  const generation = `gen-${String(next).padStart(8, '0')}`;
  const tmp = join(root, `${generation}.tmp-${process.pid}`);
  const final = join(root, generation);
  try {
    await mkdir(tmp);
    const files: Manifest['files'] = {};
    for (const [name, data] of Object.entries(content.blobs)) {
      await writeAndSync(join(tmp, name), data);
      files[name] = { bytes: data.byteLength, sha256: sha256(data) };
    }
    const manifest: Manifest = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      createdAt: new Date().toISOString(),
      counters: content.counters,
      hyperparameters: content.hyperparameters,
      state: content.state,
      extra: content.extra,
      files,
    };
    await writeAndSync(join(tmp, MANIFEST), JSON.stringify(manifest, null, 1));
    await fsyncDir(tmp);
    await rename(tmp, final);
    await fsyncDir(root);
  } catch (err) {
    // A save that failed (a full disk) leaves nothing behind: the torn directory would only
    // take the space the next attempt needs.
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  // The generation is complete and durable; the pointer is a convenience (see above), so a
  // failure to rewrite it does not fail the save.
  await writeFileAtomic(join(root, LATEST), `${generation}\n`).catch(() => undefined);

  // Retire old generations by renaming them out of the generation namespace first (an atomic
  // step), then deleting: a crash mid-delete leaves a temp dir that the next save removes,
  // never a half-deleted generation that looks real.
  for (const old of retired(await listGenerations(root), generation, keep, options)) {
    const doomed = join(root, `${old}.tmp-${process.pid}`);
    await rename(join(root, old), doomed);
    await rm(doomed, { recursive: true, force: true });
  }
  return final;
}

/**
 * The generations retention removes, given all of them newest first and the one just written:
 * everything but the newest `keep` not known to be broken, the one just written, and the
 * protected ones.
 */
export function retired(gens: readonly string[], written: string, keep: number, options: Pick<SaveOptions, 'protect' | 'broken'> = {}): string[] {
  const broken = new Set(options.broken ?? []);
  const kept = new Set<string>([written, ...(options.protect ?? [])]);
  let healthy = 1; // the one just written
  for (const g of gens) {
    if (healthy >= keep) break;
    if (g === written || broken.has(g)) continue;
    kept.add(g);
    healthy++;
  }
  return gens.filter((g) => !kept.has(g));
}

/** Read and verify one generation directory; throws an error naming the file and the problem. */
export async function readGeneration(dir: string): Promise<LoadedCheckpoint> {
  const manifestPath = join(dir, MANIFEST);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (err) {
    throw new Error(`checkpoint ${manifestPath}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (err) {
    throw new Error(`checkpoint ${manifestPath}: not valid JSON (${(err as Error).message})`);
  }
  if (m === null || typeof m !== 'object') throw new Error(`checkpoint ${manifestPath}: not a JSON object`);
  if (m.format !== CHECKPOINT_FORMAT) throw new Error(`checkpoint ${manifestPath}: format is ${JSON.stringify(m.format)}, expected '${CHECKPOINT_FORMAT}'`);
  if (m.version !== CHECKPOINT_VERSION) throw new Error(`checkpoint ${manifestPath}: version ${JSON.stringify(m.version)} is not supported (this build reads ${CHECKPOINT_VERSION})`);
  if (m.files === null || typeof m.files !== 'object') throw new Error(`checkpoint ${manifestPath}: 'files' is missing`);
  if (m.counters === null || typeof m.counters !== 'object') throw new Error(`checkpoint ${manifestPath}: 'counters' is missing`);

  const blobs: Record<string, Uint8Array> = {};
  for (const [name, meta] of Object.entries(m.files)) {
    const path = join(dir, name);
    if (!BLOB_NAME_RE.test(name)) throw new Error(`checkpoint ${manifestPath}: invalid file name '${name}'`);
    let data: Uint8Array;
    try {
      data = new Uint8Array(await readFile(path));
    } catch (err) {
      throw new Error(`checkpoint file ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    if (data.byteLength !== meta.bytes) throw new Error(`checkpoint file ${path}: ${data.byteLength} bytes, the manifest says ${meta.bytes} (truncated or overwritten)`);
    const sum = sha256(data);
    if (sum !== meta.sha256) throw new Error(`checkpoint file ${path}: sha256 ${sum.slice(0, 16)}… does not match the manifest's ${String(meta.sha256).slice(0, 16)}… (corrupt)`);
    blobs[name] = data;
  }
  const generation = dir.split('/').filter(Boolean).pop() ?? dir;
  return {
    path: dir,
    generation,
    skipped: [],
    createdAt: m.createdAt,
    counters: m.counters,
    hyperparameters: m.hyperparameters,
    state: m.state,
    extra: m.extra,
    blobs,
  };
}

/**
 * Load the newest good checkpoint. `path` is a checkpoint root (generations, `latest`) or one
 * generation directory (holding manifest.json, loaded as is, no fallback). With a root, the
 * generations are tried newest first, each failure warned about; `latest` is only compared.
 */
export async function loadCheckpoint(path: string, options: LoadOptions = {}): Promise<LoadedCheckpoint> {
  const warn = options.warn ?? ((msg: string) => console.warn(msg));
  const dir = resolve(path);
  if (existsSync(join(dir, MANIFEST))) return readGeneration(dir);
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error(`checkpoint ${dir}: not a directory`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NoCheckpointError(dir);
    throw err;
  }

  const order = await listGenerations(dir);
  if (order.length === 0) throw new NoCheckpointError(dir);

  const failures: string[] = [];
  for (let i = 0; i < order.length; i++) {
    try {
      const loaded = await readGeneration(join(dir, order[i]));
      return { ...loaded, skipped: order.slice(0, i) };
    } catch (err) {
      const msg = (err as Error).message;
      failures.push(msg);
      const fallback = order[i + 1];
      warn(fallback !== undefined ? `WARNING: checkpoint generation ${order[i]} is unusable: ${msg}; falling back to ${fallback}` : `WARNING: checkpoint generation ${order[i]} is unusable: ${msg}`);
    }
  }
  throw new Error(`no usable checkpoint in ${dir}:\n  ${failures.join('\n  ')}`);
}

/** Pack named Float32Arrays into one blob plus an index (name, shape, offset in floats). */
export interface ArrayIndexEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

export function packArrays(arrays: readonly { name: string; shape: number[]; data: Float32Array }[]): { blob: Uint8Array; index: ArrayIndexEntry[] } {
  const total = arrays.reduce((s, a) => s + a.data.length, 0);
  const flat = new Float32Array(total);
  const index: ArrayIndexEntry[] = [];
  let off = 0;
  for (const a of arrays) {
    flat.set(a.data, off);
    index.push({ name: a.name, shape: a.shape, offset: off, length: a.data.length });
    off += a.data.length;
  }
  return { blob: new Uint8Array(flat.buffer), index };
}

export function unpackArrays(blob: Uint8Array, index: readonly ArrayIndexEntry[], what: string): { name: string; shape: number[]; data: Float32Array }[] {
  if (blob.byteLength % 4 !== 0) throw new Error(`${what}: ${blob.byteLength} bytes is not a whole number of float32 values`);
  const flat = new Float32Array(blob.slice().buffer);
  return index.map((e) => {
    if (!(e.offset >= 0 && e.length >= 0 && e.offset + e.length <= flat.length)) {
      throw new Error(`${what}: array '${e.name}' [${e.offset}, ${e.offset + e.length}) lies outside the blob of ${flat.length} values`);
    }
    return { name: e.name, shape: e.shape, data: flat.slice(e.offset, e.offset + e.length) };
  });
}
