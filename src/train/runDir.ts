/**
 * The run directory's files as a run sees them: metrics.jsonl cut back to a checkpoint's length
 * on resume, and whether a directory already holds a run.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Bytes in `path`; 0 when it does not exist. */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * On resume, metrics.jsonl goes back to its length when the checkpoint was taken: the records
 * written after it (episodes, updates, evaluations the resumed run will do again) are dropped,
 * so each record is in the file once and `step` never goes back, for every reader alike. A
 * torn last line from the kill goes with them. Returns a warning when the file is shorter than
 * the checkpoint knew (records were lost with it), else null.
 */
export function cutMetricsBack(path: string, bytes: number | null): string | null {
  if (bytes === null) return null; // a checkpoint from before metricsBytes: keep the file as is
  const size = fileSize(path);
  if (size < bytes) return `${path} holds ${size} bytes, the checkpoint was taken at ${bytes}: records before the checkpoint were lost`;
  if (size === bytes) return null;
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return null;
}

/**
 * Why `runDir` cannot take a new run (it holds one: checkpoint generations or metrics), or
 * null. A new run there would retire the old run's checkpoints and mix the two runs' metrics.
 */
export function existingRunProblem(runDir: string): string | null {
  const gens = existsSync(join(runDir, 'checkpoints')) ? readdirSync(join(runDir, 'checkpoints')).filter((n) => /^gen-\d{8}$/.test(n)) : [];
  const metrics = fileSize(join(runDir, 'metrics.jsonl'));
  if (gens.length === 0 && metrics === 0) return null;
  const what = [gens.length > 0 ? `${gens.length} checkpoint generation(s)` : '', metrics > 0 ? `metrics.jsonl (${metrics} bytes)` : ''].filter((x) => x !== '').join(' and ');
  return `run directory ${runDir} already holds a run (${what}): pass --resume to continue it, or choose another --out`;
}
