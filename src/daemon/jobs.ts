import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CreateJob, Job, JobContext } from './job.js';
import { createSacJob } from './sacJob.js';

/**
 * Jobs by name (`daemon.job`): `sac` trains, evaluates, gates and fine-tunes. A value that
 * looks like a path (contains '/' or ends in .js/.mjs) is imported instead and must export
 * `createJob(context)`, which lets tests and experiments swap the job without a rebuild.
 */
export const JOBS: Record<string, CreateJob> = {
  sac: createSacJob,
};

export function registerJob(name: string, create: CreateJob): void {
  JOBS[name] = create;
}

export async function createJob(spec: string, ctx: JobContext): Promise<Job> {
  const builtIn = JOBS[spec];
  if (builtIn !== undefined) return builtIn(ctx);
  if (!spec.includes('/') && !/\.[cm]?js$/.test(spec)) {
    throw new Error(`daemon.job = ${JSON.stringify(spec)}: no such job (built-in: ${Object.keys(JOBS).join(', ')}; or give a module path)`);
  }
  const url = pathToFileURL(isAbsolute(spec) ? spec : resolve(spec)).href;
  let mod: { createJob?: unknown };
  try {
    mod = (await import(url)) as { createJob?: unknown };
  } catch (err) {
    throw new Error(`daemon.job = ${JSON.stringify(spec)}: cannot import the module: ${(err as Error).message}`);
  }
  if (typeof mod.createJob !== 'function') throw new Error(`daemon.job = ${JSON.stringify(spec)}: the module does not export createJob(context)`);
  return (mod.createJob as CreateJob)(ctx);
}
