/**
 * Worker threads with a young generation (V8 semi-space) of their own size.
 *
 * The daemon runs with --max-semi-space-size=2, so that a scavenge on the control thread stays
 * well inside a 1 ms tick (src/control/controlLoop.ts). A request/reply thread such as the
 * policy server's wants the opposite: every scavenge lands inside some request's round trip, so
 * scavenges should be rare. Worker `resourceLimits` cannot give that: V8 lets the process's
 * --max-semi-space-size flag override maxYoungGenerationSizeMb, and there is no initial size,
 * so a young generation starts at 1 MB and grows only when much of it survives, which a
 * server's garbage does not. V8 reads the semi-space flags once, when an isolate's heap is
 * configured, so they are set for the worker's start and put back as soon as it runs.
 *
 * Measured (policy server, 2 cores, real-time settings, 42k requests): 144 scavenges of
 * ~0.3-0.5 ms at the daemon's 2 MB, round trip p99 152-166 µs; 18 of ~1.1 ms at 16 MB, p99 127 µs.
 */
import v8 from 'node:v8';
import { Worker, type WorkerOptions } from 'node:worker_threads';

let starting = 0;

/** Start `url` in a worker whose young generation has `semiSpaceMb` MB semi-spaces from the start. */
export function startWorkerWithSemiSpace(url: URL, options: WorkerOptions, semiSpaceMb: number): Worker {
  if (!Number.isInteger(semiSpaceMb) || semiSpaceMb < 1 || semiSpaceMb > 256) {
    throw new Error(`worker semi-space must be an integer number of MB in [1, 256], got ${semiSpaceMb}`);
  }
  // Max first, so that min never exceeds it on the way.
  v8.setFlagsFromString(`--max-semi-space-size=${semiSpaceMb}`);
  v8.setFlagsFromString(`--min-semi-space-size=${semiSpaceMb}`);
  starting++;
  let worker: Worker;
  try {
    worker = new Worker(url, options);
  } catch (err) {
    restore();
    throw err;
  }
  // 'online': the worker runs JavaScript, so its heap is configured. 'exit' covers a failed start.
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    restore();
  };
  worker.once('online', once).once('exit', once);
  return worker;
}

function restore(): void {
  if (--starting > 0) return; // another start is still under way: the last one restores
  const flags = semiSpaceFlags();
  v8.setFlagsFromString(`--min-semi-space-size=${flags.min}`);
  v8.setFlagsFromString(`--max-semi-space-size=${flags.max}`);
}

/** The semi-space flags this process was started with (command line, then NODE_OPTIONS); 0 = V8's default. */
export function semiSpaceFlags(argv: readonly string[] = [...(process.env.NODE_OPTIONS?.split(/\s+/) ?? []), ...process.execArgv]): { min: number; max: number } {
  const out = { min: 0, max: 0 };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(min|max)[-_]semi[-_]space[-_]size(?:=(\d+))?$/.exec(argv[i]);
    if (m === null) continue;
    const value = m[2] ?? argv[i + 1];
    if (value !== undefined && /^\d+$/.test(value)) out[m[1] as 'min' | 'max'] = Number(value);
  }
  return out;
}

/** This thread's young-generation semi-space capacity in MB. */
export function semiSpaceMb(): number {
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return space === undefined ? 0 : Math.round(space.space_size / (1 << 20));
}
