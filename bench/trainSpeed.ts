/**
 * HalfCheetah-v5 training speed with one update per env step (issue 16's target: at least 250
 * env steps/s; the PyTorch peer runs about 80): the real Trainer, MuJoCo env and SAC update as
 * `sacbridge train` runs them, timed after the random warm-up, over `steps` steps that each
 * take one update. One trainer per compute.updateCores setting (1, 2 and the default 'auto'),
 * stepped in alternating chunks so that each sees the same load on a shared machine. Reports
 * per setting wall-clock steps/s, this process's CPU time per step and the median update time;
 * for 'auto' also the cores it chose and the timings behind the choice. The settings learn
 * bit-identically (test/train/trainer.test.ts), so only the speed differs.
 * Needs Gymnasium's half_cheetah.xml (../shared/mjcf-gymnasium).
 *
 *   node dist/bench/trainSpeed.js      prints {"halfcheetah_train": {...}}
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initCompute } from '../src/compute/backend.js';
import type { CoreRound, CoreSetting } from '../src/compute/coreChoice.js';
import { Trainer } from '../src/train/trainer.js';
import { createEnv } from '../src/wiring/envFactory.js';
import { findGymnasiumDir } from './envStep.js';

export interface TrainSpeed {
  steps_per_s: number;
  cpu_ms_per_step: number;
  update_median_ms: number;
  steps: number;
  update: string;
  /** 'auto' only: the cores it ran on at the end, and its last measurement. */
  chosen_cores?: number;
  auto_round?: CoreRound | null;
}

export interface TrainSpeeds {
  /** The default setting's figures (compute.updateCores 'auto'), what the target is read from. */
  default: TrainSpeed;
  /** Fixed settings 1 and 2, stepped in turn with the default. */
  by_update_cores: Record<string, TrainSpeed | { skipped: string }>;
  load_average_1m: { start: number; end: number };
}

const round = (x: number): number => Math.round(x * 100) / 100;
const roundFigures = (r: CoreRound | null): CoreRound | null => (r === null ? null : { oneMs: round(r.oneMs), twoMs: round(r.twoMs), chosen: r.chosen });

export async function halfCheetahTrainSpeed(options: { steps?: number; warmupUpdates?: number; chunk?: number } = {}): Promise<TrainSpeeds | { skipped: string }> {
  const gym = findGymnasiumDir();
  if (gym === undefined) return { skipped: 'Gymnasium MJCF (../shared/mjcf-gymnasium) not found' };
  const steps = options.steps ?? 1000;
  const warmupUpdates = options.warmupUpdates ?? 100;
  const chunk = options.chunk ?? 50;
  await initCompute('wasm');
  const learningStarts = 1000;
  const settings: CoreSetting[] = ['auto', 1, 2];
  const loadStart = loadavg()[0]!;
  const runs: { setting: CoreSetting; trainer: Trainer; runDir: string; times: number[]; wallMs: number; cpuUs: number; steps: number }[] = [];
  const skipped: Record<string, { skipped: string }> = {};
  try {
    for (const setting of settings) {
      const runDir = mkdtempSync(join(tmpdir(), 'sacbridge-bench-train-'));
      let trainer: Trainer;
      try {
        trainer = await Trainer.create({
          task: 'HalfCheetah-v5',
          seed: 1,
          runDir,
          makeEnv: (seed) => createEnv('HalfCheetah-v5', { seed, gymnasiumModelDir: gym }),
          // A buffer the size of the run: capacity does not change the step's cost.
          hyperparameters: { learningStarts, updatesPerStep: 1, bufferSize: learningStarts + warmupUpdates + steps },
          evalEvery: 0,
          checkpointEvery: 0,
          metricsEvery: 0,
          warn: () => undefined,
          updateCores: setting,
        });
      } catch (err) {
        rmSync(runDir, { recursive: true, force: true });
        skipped[String(setting)] = { skipped: (err as Error).message };
        continue;
      }
      await trainer.run(learningStarts + warmupUpdates);
      // Update times within the run: wrap the agent's update for the timed steps.
      const agent = trainer.agent;
      const original = agent.update.bind(agent);
      const run = { setting, trainer, runDir, times: [] as number[], wallMs: 0, cpuUs: 0, steps: 0 };
      agent.update = (batch) => {
        const t0 = performance.now();
        const m = original(batch);
        run.times.push(performance.now() - t0);
        return m;
      };
      runs.push(run);
    }
    for (let done = 0; done < steps; done += chunk) {
      const n = Math.min(chunk, steps - done);
      for (const r of runs) {
        const from = r.trainer.counters.steps;
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await r.trainer.run(from + n);
        r.wallMs += performance.now() - t0;
        const c = process.cpuUsage(c0);
        r.cpuUs += c.user + c.system;
        r.steps += n;
      }
    }
    const figures = (r: (typeof runs)[number]): TrainSpeed => {
      const times = [...r.times].sort((a, b) => a - b);
      return {
        steps_per_s: round(r.steps / (r.wallMs / 1000)),
        cpu_ms_per_step: round(r.cpuUs / 1000 / r.steps),
        update_median_ms: round(times[times.length >> 1]!),
        steps: r.steps,
        update: r.trainer.agent.updateKind,
        ...(r.setting === 'auto' ? { chosen_cores: r.trainer.agent.updateCores, auto_round: roundFigures(r.trainer.coreChoice.lastRound) } : {}),
      };
    };
    const by: Record<string, TrainSpeed | { skipped: string }> = { ...skipped };
    for (const r of runs) if (r.setting !== 'auto') by[String(r.setting)] = figures(r);
    const auto = runs.find((r) => r.setting === 'auto');
    if (auto === undefined) return { skipped: `updateCores auto: ${skipped.auto?.skipped ?? '?'}` };
    return { default: figures(auto), by_update_cores: by, load_average_1m: { start: round(loadStart), end: round(loadavg()[0]!) } };
  } finally {
    for (const r of runs) {
      await r.trainer.close();
      rmSync(r.runDir, { recursive: true, force: true });
    }
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${JSON.stringify({ halfcheetah_train: await halfCheetahTrainSpeed() })}\n`);
}
