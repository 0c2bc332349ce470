/**
 * Learning curves over tasks and seeds (`npm run bench:learn`):
 *
 *   npm run bench:learn -- --tasks HalfCheetah-v5,Hopper-v5,Walker2d-v5 --seeds 3 --steps 100000 [--preset NAME] [--rl.<key> VALUE ...]
 *
 * Every run trains with the deterministic evaluation of `sacbridge train` (5 episodes every
 * --eval-every steps) through the same configuration path as `train` and the daemon (rl.* keys,
 * presets). Results go to --out (default runs/bench-learn), under a label (--label, default the
 * preset's name or "default"), one result.json per run; after every bench the whole directory is
 * summarised, so benches with different labels into the same --out are compared:
 *   learn.csv   label, task, seed, step, eval_return, wall_s (one row per evaluation)
 *   learn.svg   per task: mean over seeds, band from the lowest to the highest seed, per label
 *   a table of the mean (min-max) return at fixed step marks (--marks, default 10k 20k 30k 50k
 *   100k 200k 300k within the run) with seconds per 1k steps, then a JSON object (--json: only it).
 *
 * Without --tasks: InvertedPendulum-v5 (3 seeds, 15k steps; target: every seed's evaluation
 * >= 950 at 15k) and HalfCheetah-v5 (1 seed, 50k steps). Each run is a child process
 * (`--run TASK SEED`), --parallel at once (default: the number of cores).
 * --save-checkpoint keeps each run's final checkpoint (for bench/reference/oneUpdate.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initCompute } from '../src/compute/backend.js';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { sacHyperparameters } from '../src/wiring/configOptions.js';
import { renderSeedCurves, type SeedCurve } from '../src/plot/svg.js';
import { getTaskDefinition } from '../src/task/registry.js';
import { packageRoot } from '../src/util/packageRoot.js';
import { createEnv } from '../src/wiring/envFactory.js';
import { Trainer } from '../src/train/trainer.js';
import { writeFileAtomicSync as writeFileAtomic } from '../src/util/atomicFile.js';

interface TaskPlan {
  steps: number;
  evalEvery: number;
  seeds: number;
  /** Per-task rl.* settings under the user's, each with its reason. */
  rl?: Record<string, string>;
}

const DEFAULT_TASKS = ['InvertedPendulum-v5', 'HalfCheetah-v5'];

const PLANS: Record<string, TaskPlan> = {
  // 1000 random steps instead of 5000: the episode is short early on and the target is at 15k.
  // Measured 2026-11-26 (eval returns of seeds 0/1/2 at 5k; 10k; 15k): the paper's 3e-4
  // everywhere 86/139/186; 97/1000/154; 1000/684/174 (the soft Q lags, the deterministic policy
  // flips between 1000 and ~200); CleanRL's rates and policy frequency 2 (now the defaults):
  // 79/107/110; 1000 x3; 1000 x3, all 1000 from 10k on.
  'InvertedPendulum-v5': { steps: 15_000, evalEvery: 1000, seeds: 3, rl: { learningStarts: '1000' } },
  'HalfCheetah-v5': { steps: 50_000, evalEvery: 5000, seeds: 1 },
};
const GENERIC_PLAN: TaskPlan = { steps: 100_000, evalEvery: 5000, seeds: 1 };

interface RunResult {
  label: string;
  task: string;
  seed: number;
  steps: number;
  /** [env step, mean evaluation return, wall seconds since the start]. */
  curve: [number, number, number][];
  seconds: number;
  update_ms: number;
  hyperparameters: Record<string, unknown>;
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function intFlag(name: string): number | undefined {
  const v = flag(name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`--${name}: expected a non-negative integer, got '${v}'`);
  return Number(v);
}

/** --rl.* flags and --preset, passed to the configuration loader as in `sacbridge train`. */
function rlArgs(): string[] {
  const out: string[] = [];
  const argv = process.argv;
  for (let i = 2; i < argv.length; i++) {
    if (argv[i]!.startsWith('--rl.')) out.push(`${argv[i]}=${argv[i + 1]}`);
  }
  if (flag('preset') !== undefined) out.push(`--rl.preset=${flag('preset')}`);
  return out;
}

function gymDir(): string {
  const given = flag('gym-models');
  if (given !== undefined) return path.resolve(given);
  let dir = packageRoot();
  for (;;) {
    const c = path.join(dir, 'shared', 'mjcf-gymnasium');
    if (existsSync(c)) return c;
    if (path.dirname(dir) === dir) throw new Error('Gymnasium MJCF not found: pass --gym-models DIR');
    dir = path.dirname(dir);
  }
}

/** One training run in this process; writes result.json in its run directory and prints it. */
async function runOne(task: string, seed: number, label: string, steps: number, evalEvery: number, runDir: string, args: string[]): Promise<void> {
  await initCompute((flag('backend') as 'auto' | undefined) ?? 'auto');
  const { config, origins } = loadConfig({ env: {}, args });
  const hp = sacHyperparameters(config.rl);
  if (origins['rl.bufferSize'] === 'default') hp.bufferSize = Math.min(hp.bufferSize!, steps);
  const gym = gymDir();
  const t0 = performance.now();
  const trainer = await Trainer.create({
    task,
    seed,
    runDir,
    makeEnv: (s) => createEnv(task, { seed: s, gymnasiumModelDir: gym }),
    hyperparameters: hp,
    evalEvery,
    evalEpisodes: 5,
    checkpointEvery: 0,
  });
  const curve: [number, number, number][] = [];
  let updateTime = 0;
  let updates = 0;
  trainer.onMetrics((r) => {
    if (r.type === 'eval') {
      const s = (performance.now() - t0) / 1000;
      curve.push([r.step, r.mean_return, s]);
      process.stderr.write(`${label} ${task} seed ${seed}: step ${r.step} eval ${r.mean_return.toFixed(1)} (${s.toFixed(0)} s)\n`);
    }
  });
  // Time updates apart from env steps: one timed step in 100.
  while (trainer.counters.steps < steps) {
    const before = trainer.counters.updates;
    const evaluations = trainer.counters.evaluations;
    const s = performance.now();
    await trainer.step();
    if (trainer.counters.updates > before && trainer.counters.steps % 100 === 0 && trainer.counters.evaluations === evaluations) {
      updateTime += performance.now() - s;
      updates += trainer.counters.updates - before;
    }
  }
  if (process.argv.includes('--save-checkpoint')) await trainer.checkpoint();
  const result: RunResult = {
    label,
    task,
    seed,
    steps,
    curve,
    seconds: (performance.now() - t0) / 1000,
    update_ms: updates > 0 ? updateTime / updates : NaN,
    hyperparameters: { ...trainer.hp },
  };
  await trainer.close();
  writeFileAtomic(path.join(runDir, 'result.json'), `${JSON.stringify(result)}\n`);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

function spawnRun(task: string, seed: number, label: string, steps: number, evalEvery: number, runDir: string, args: string[]): Promise<RunResult> {
  const childArgs = [fileURLToPath(import.meta.url), '--run', task, String(seed), '--label', label, '--steps', String(steps), '--eval-every', String(evalEvery), '--run-dir', runDir, '--gym-models', gymDir()];
  if (process.argv.includes('--save-checkpoint')) childArgs.push('--save-checkpoint');
  if (flag('backend') !== undefined) childArgs.push('--backend', flag('backend')!);
  childArgs.push('--', ...args);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, childArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || line === undefined) reject(new Error(`${label} ${task} seed ${seed}: run failed (exit ${code})`));
      else resolve(JSON.parse(line.slice(7)) as RunResult);
    });
  });
}

async function pool<T>(jobs: (() => Promise<T>)[], width: number): Promise<T[]> {
  const results = new Array<T>(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, jobs.length) }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]!();
      }
    }),
  );
  return results;
}

/** Every result.json under `outDir` (all labels, all benches into it). */
export function readResults(outDir: string): RunResult[] {
  const out: RunResult[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'result.json') out.push(JSON.parse(readFileSync(p, 'utf8')) as RunResult);
    }
  };
  if (existsSync(outDir)) walk(outDir);
  return out.sort((a, b) => a.label.localeCompare(b.label) || a.task.localeCompare(b.task) || a.seed - b.seed);
}

/** The return at `step`: the evaluation at that step, else the last one before it (NaN if none). */
function returnAt(r: RunResult, step: number): number {
  let v = NaN;
  for (const [s, ret] of r.curve) if (s <= step) v = ret;
  return r.curve.some(([s]) => s >= step) ? v : NaN;
}

interface Group {
  label: string;
  task: string;
  runs: RunResult[];
}

function groups(results: RunResult[]): Group[] {
  const map = new Map<string, Group>();
  for (const r of results) {
    const k = `${r.label}\u0000${r.task}`;
    if (!map.has(k)) map.set(k, { label: r.label, task: r.task, runs: [] });
    map.get(k)!.runs.push(r);
  }
  return [...map.values()];
}

function seedCurve(g: Group): SeedCurve {
  const steps = [...new Set(g.runs.flatMap((r) => r.curve.map((c) => c[0])))].sort((a, b) => a - b).filter((s) => g.runs.every((r) => r.curve.some((c) => c[0] === s)));
  const at = (s: number): number[] => g.runs.map((r) => r.curve.find((c) => c[0] === s)![1]);
  return {
    name: `${g.label} (${g.runs.length} seed${g.runs.length === 1 ? '' : 's'})`,
    x: steps,
    mean: steps.map((s) => mean(at(s))),
    lo: steps.map((s) => Math.min(...at(s))),
    hi: steps.map((s) => Math.max(...at(s))),
  };
}

const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

function table(gs: Group[], marks: number[]): string {
  const lines: string[] = [];
  for (const task of [...new Set(gs.map((g) => g.task))]) {
    const taskGroups = gs.filter((g) => g.task === task);
    const maxSteps = Math.max(...taskGroups.flatMap((g) => g.runs.map((r) => r.steps)));
    const cols = [...new Set([...marks.filter((m) => m < maxSteps), maxSteps])];
    lines.push(`${task}: deterministic evaluation return, mean over seeds (min..max)`);
    lines.push(['label', 'seeds', ...cols.map((m) => `${m / 1000}k`), 's/1k steps', 'update ms'].map((h, i) => (i === 0 ? h.padEnd(16) : h.padStart(i === 1 ? 6 : 20))).join(''));
    for (const g of taskGroups) {
      const cells = cols.map((m) => {
        const v = g.runs.map((r) => returnAt(r, m)).filter((x) => !Number.isNaN(x));
        if (v.length === 0) return '-';
        return v.length === 1 ? v[0]!.toFixed(0) : `${mean(v).toFixed(0)} (${Math.min(...v).toFixed(0)}..${Math.max(...v).toFixed(0)})`;
      });
      const perK = mean(g.runs.map((r) => (r.seconds / r.steps) * 1000));
      const upd = mean(g.runs.map((r) => r.update_ms).filter((x) => Number.isFinite(x)));
      lines.push([g.label.padEnd(16), String(g.runs.length).padStart(6), ...cells.map((c) => c.padStart(20)), perK.toFixed(1).padStart(20), upd.toFixed(1).padStart(20)].join(''));
    }
    lines.push('');
  }
  return lines.join('\n');
}

function csv(results: RunResult[]): string {
  const rows = ['label,task,seed,step,eval_return,wall_s'];
  for (const r of results) for (const [s, ret, w] of r.curve) rows.push(`${r.label},${r.task},${r.seed},${s},${ret.toFixed(3)},${(w ?? NaN).toFixed(1)}`);
  return `${rows.join('\n')}\n`;
}

/** learn.csv and learn.svg of everything in `outDir`; returns the table. */
export function summarize(outDir: string, marks: number[]): { table: string; groups: Group[] } {
  const results = readResults(outDir);
  const gs = groups(results);
  writeFileAtomic(path.join(outDir, 'learn.csv'), csv(results));
  const tasks = [...new Set(gs.map((g) => g.task))];
  const svg = renderSeedCurves(
    tasks.map((t) => ({ title: `${t}: evaluation return (mean over seeds, band min..max)`, curves: gs.filter((g) => g.task === t).map(seedCurve) })),
    `sacbridge bench:learn, ${results.length} runs in ${outDir}`,
  );
  writeFileAtomic(path.join(outDir, 'learn.svg'), svg);
  return { table: table(gs, marks), groups: gs };
}

async function main(): Promise<void> {
  const runIdx = process.argv.indexOf('--run');
  if (runIdx >= 0) {
    const sep = process.argv.indexOf('--');
    await runOne(process.argv[runIdx + 1]!, Number(process.argv[runIdx + 2]), flag('label')!, intFlag('steps')!, intFlag('eval-every')!, flag('run-dir')!, sep >= 0 ? process.argv.slice(sep + 1) : []);
    return;
  }
  const outDir = path.resolve(flag('out') ?? path.join('runs', 'bench-learn'));
  const tasks = flag('tasks')?.split(',').filter((t) => t !== '') ?? DEFAULT_TASKS;
  for (const t of tasks) {
    try {
      getTaskDefinition(t);
    } catch (err) {
      throw new Error(`--tasks: ${(err as Error).message}`);
    }
  }
  const args = rlArgs();
  // Check the hyperparameters once here: a typo fails before any run starts.
  try {
    loadConfig({ env: {}, args });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`bench:learn: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  const label = flag('label') ?? flag('preset') ?? 'default';
  if (!/^[A-Za-z0-9_.+-]+$/.test(label)) throw new Error(`--label '${label}': use letters, digits and _ . + - only`);
  const firstSeed = intFlag('first-seed') ?? 0;
  const marks = flag('marks')?.split(',').map(Number) ?? [10_000, 20_000, 30_000, 50_000, 100_000, 200_000, 300_000];
  const jobs: (() => Promise<RunResult>)[] = [];
  for (const task of tasks) {
    const plan = PLANS[task] ?? GENERIC_PLAN;
    const steps = intFlag('steps') ?? plan.steps;
    const evalEvery = intFlag('eval-every') ?? plan.evalEvery;
    const seeds = intFlag('seeds') ?? plan.seeds;
    // The plan's settings first, so that the user's flags override them.
    const taskArgs = [...Object.entries(plan.rl ?? {}).map(([k, v]) => `--rl.${k}=${v}`), ...args];
    for (let s = firstSeed; s < firstSeed + seeds; s++) {
      const runDir = path.join(outDir, label, `${task}-s${s}`);
      mkdirSync(runDir, { recursive: true });
      jobs.push(() => spawnRun(task, s, label, steps, evalEvery, runDir, taskArgs));
    }
  }
  const results = await pool(jobs, intFlag('parallel') ?? availableParallelism());
  const { table: text } = summarize(outDir, marks);
  const report: Record<string, unknown> = { out: outDir, csv: path.join(outDir, 'learn.csv'), svg: path.join(outDir, 'learn.svg'), label, args, runs: results };
  const ip = results.filter((r) => r.task === 'InvertedPendulum-v5' && r.steps === 15_000);
  if (ip.length > 0) {
    report.inverted_pendulum_target = 'every seed >= 950 at 15k steps';
    report.inverted_pendulum_target_met = ip.every((r) => returnAt(r, 15_000) >= 950);
  }
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    process.stdout.write(`\n${text}\nwrote ${report.csv} and ${report.svg}\n`);
    process.stdout.write(`${JSON.stringify(report)}\n`);
  }
}

await main();
