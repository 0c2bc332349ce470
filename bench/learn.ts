/**
 * Learning evidence (`npm run bench:learn`): SAC v2 with the paper's hyperparameters (and the
 * per-task settings in PLANS, each with its reason) on
 * InvertedPendulum-v5 (3 seeds, 15k steps, evaluation every 1k) and HalfCheetah-v5 (50k steps),
 * printed as return-curve tables and one JSON object (`--json`).
 * Target: InvertedPendulum mean evaluation return >= 950 by 15k steps on every seed.
 *
 * Each run is a child process (`--run TASK SEED`), as many at once as there are cores.
 * Flags: --json, --only TASK, --seeds N, --steps N (override), --parallel N, --gym-models DIR, --out DIR,
 * --hp JSON (hyperparameters over the plan's, for experiments).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initCompute } from '../src/compute/backend.js';
import { createEnv } from '../src/wiring/envFactory.js';
import { packageRoot } from '../src/util/packageRoot.js';
import { Trainer } from '../src/train/trainer.js';
import type { SacHyperparameters } from '../src/agent/sac.js';

interface Plan {
  task: string;
  seeds: number[];
  steps: number;
  evalEvery: number;
  evalEpisodes: number;
  learningStarts: number;
  /** Per-task settings over the paper's defaults, each with its reason (as RL-zoo does). */
  hyperparameters?: Partial<SacHyperparameters>;
}

interface RunResult {
  task: string;
  seed: number;
  curve: [number, number][];
  seconds: number;
  update_ms: number;
}

const PLANS: Plan[] = [
  // 1000 random steps instead of CleanRL's 5000: the episode is short early on and the
  // target is at 15k steps, so the updates should start early.
  {
    task: 'InvertedPendulum-v5',
    seeds: [0, 1, 2],
    steps: 15_000,
    evalEvery: 1000,
    evalEpisodes: 5,
    learningStarts: 1000,
    // CleanRL's settings: critic and temperature rate 1e-3, actor 3e-4, actor and temperature
    // steps delayed to every 2nd update (2 at once). The paper's 3e-4 everywhere: the soft Q lags
    // (mean Q ~33 at 15k steps), training episodes stay ~100 steps and the deterministic policy
    // flips between 1000 and ~200 (seed 2 never above 250). Measured 2026-11-26, eval returns of
    // seeds 0/1/2 at 5k; 10k; 15k: paper 86/139/186; 97/1000/154; 1000/684/174. Rates only:
    // 86/85/124; 1000/1000/100; 1000 x3 (all 1000 from 12k). These settings: 79/107/110;
    // 1000 x3; 1000 x3 (all 1000 from 10k on, held). tau 0.02 alone: all seeds < 200 at 9k.
    hyperparameters: { criticLearningRate: 1e-3, alphaLearningRate: 1e-3, policyFrequency: 2 },
  },
  { task: 'HalfCheetah-v5', seeds: [0], steps: 50_000, evalEvery: 5000, evalEpisodes: 5, learningStarts: 5000 },
];

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function hpOverride(): Partial<SacHyperparameters> {
  const given = flag('hp');
  return given === undefined ? {} : (JSON.parse(given) as Partial<SacHyperparameters>);
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

/** One training run in this process; prints its result as a JSON line. */
async function runOne(task: string, seed: number, plan: Plan, outDir: string): Promise<void> {
  await initCompute();
  const gym = gymDir();
  const t0 = performance.now();
  const trainer = await Trainer.create({
    task,
    seed,
    runDir: path.join(outDir, `${task}-s${seed}`),
    makeEnv: (s) => createEnv(task, { seed: s, gymnasiumModelDir: gym }),
    hyperparameters: { learningStarts: plan.learningStarts, bufferSize: Math.max(plan.steps, 1), ...plan.hyperparameters, ...hpOverride() },
    evalEvery: plan.evalEvery,
    evalEpisodes: plan.evalEpisodes,
    checkpointEvery: 0,
  });
  const curve: [number, number][] = [];
  let updateTime = 0;
  let updates = 0;
  trainer.onMetrics((r) => {
    if (r.type === 'eval') {
      curve.push([r.step, r.mean_return]);
      process.stderr.write(`${task} seed ${seed}: step ${r.step} eval ${r.mean_return.toFixed(1)} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
    }
  });
  // Time updates separately from env steps: one timed step per 100.
  while (trainer.counters.steps < plan.steps) {
    const before = trainer.counters.updates;
    const s = performance.now();
    await trainer.step();
    if (trainer.counters.updates > before && trainer.counters.steps % 100 === 0) {
      updateTime += performance.now() - s;
      updates += trainer.counters.updates - before;
    }
  }
  await trainer.close();
  const result: RunResult = { task, seed, curve, seconds: (performance.now() - t0) / 1000, update_ms: updates > 0 ? updateTime / updates : NaN };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

function spawnRun(task: string, seed: number, steps: number | undefined, outDir: string): Promise<RunResult> {
  const args = [fileURLToPath(import.meta.url), '--run', task, String(seed), '--out', outDir, '--gym-models', gymDir()];
  if (steps !== undefined) args.push('--steps', String(steps));
  if (flag('hp') !== undefined) args.push('--hp', flag('hp')!);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || line === undefined) reject(new Error(`${task} seed ${seed}: run failed (exit ${code})`));
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
        results[i] = await jobs[i]();
      }
    }),
  );
  return results;
}

function table(task: string, runs: RunResult[]): string {
  const steps = [...new Set(runs.flatMap((r) => r.curve.map((c) => c[0])))].sort((a, b) => a - b);
  const head = ['step', ...runs.map((r) => `seed ${r.seed}`), 'mean'];
  const lines = [`${task}: deterministic evaluation return`, head.map((h) => h.padStart(10)).join('')];
  for (const s of steps) {
    const vals = runs.map((r) => r.curve.find((c) => c[0] === s)?.[1] ?? NaN);
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    lines.push([String(s), ...vals.map((v) => v.toFixed(1)), mean.toFixed(1)].map((x) => x.padStart(10)).join(''));
  }
  lines.push(`update ms: ${runs.map((r) => r.update_ms.toFixed(1)).join(', ')}; wall s: ${runs.map((r) => r.seconds.toFixed(0)).join(', ')}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const outDir = path.resolve(flag('out') ?? path.join('runs', 'bench-learn'));
  const stepsOverride = flag('steps') !== undefined ? Number(flag('steps')) : undefined;
  const runIdx = process.argv.indexOf('--run');
  if (runIdx >= 0) {
    const task = process.argv[runIdx + 1];
    const seed = Number(process.argv[runIdx + 2]);
    const plan = PLANS.find((p) => p.task === task);
    if (plan === undefined) throw new Error(`no plan for ${task}`);
    await runOne(task, seed, { ...plan, steps: stepsOverride ?? plan.steps }, outDir);
    return;
  }
  const only = flag('only');
  const seedsN = flag('seeds') !== undefined ? Number(flag('seeds')) : undefined;
  const plans = PLANS.filter((p) => only === undefined || p.task === only).map((p) => (seedsN !== undefined ? { ...p, seeds: p.seeds.slice(0, seedsN) } : p));
  const jobs = plans.flatMap((p) => p.seeds.map((s) => () => spawnRun(p.task, s, stepsOverride, outDir)));
  const results = await pool(jobs, flag('parallel') !== undefined ? Number(flag('parallel')) : availableParallelism());
  const report: Record<string, unknown> = {};
  for (const p of plans) {
    const runs = results.filter((r) => r.task === p.task);
    process.stderr.write(`\n${table(p.task, runs)}\n`);
    const final = runs.map((r) => r.curve[r.curve.length - 1]?.[1] ?? NaN);
    const entry: Record<string, unknown> = {
      steps: stepsOverride ?? p.steps,
      curves: Object.fromEntries(runs.map((r) => [`seed${r.seed}`, r.curve])),
      final_mean_return: final.reduce((a, b) => a + b, 0) / final.length,
      update_ms: runs.map((r) => r.update_ms),
      wall_seconds: runs.map((r) => r.seconds),
    };
    if (p.task === 'InvertedPendulum-v5') {
      entry.target = 'mean eval return >= 950 by 15k steps on every seed';
      // Met when the evaluation at the last step (15k) is >= 950 on every seed.
      entry.target_met = runs.every((r) => (r.curve[r.curve.length - 1]?.[1] ?? NaN) >= 950);
      entry.first_step_at_950 = Object.fromEntries(runs.map((r) => [`seed${r.seed}`, r.curve.find((c) => c[1] >= 950)?.[0] ?? null]));
    }
    report[p.task] = entry;
  }
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(`${JSON.stringify(report, null, 1)}\n`);
}

await main();
