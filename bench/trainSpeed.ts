/**
 * HalfCheetah-v5 training speed with one update per env step (issue 16's target: at least 250
 * env steps/s; the PyTorch peer runs about 80): the real Trainer, MuJoCo env and SAC update as
 * `sacbridge train` runs them, timed after the random warm-up, over `steps` steps that each
 * take one update. Reports wall-clock steps/s, this process's CPU time per step, and the median
 * update time within the run. Needs Gymnasium's half_cheetah.xml (../shared/mjcf-gymnasium).
 *
 *   node dist/bench/trainSpeed.js      prints {"halfcheetah_train": {...}}
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initCompute } from '../src/compute/backend.js';
import { Trainer } from '../src/train/trainer.js';
import { createEnv } from '../src/wiring/envFactory.js';
import { findGymnasiumDir } from './envStep.js';

export interface TrainSpeed {
  steps_per_s: number;
  cpu_ms_per_step: number;
  update_median_ms: number;
  steps: number;
  update: string;
  load_average_1m: number;
}

export async function halfCheetahTrainSpeed(options: { steps?: number; warmupUpdates?: number } = {}): Promise<TrainSpeed | { skipped: string }> {
  const gym = findGymnasiumDir();
  if (gym === undefined) return { skipped: 'Gymnasium MJCF (../shared/mjcf-gymnasium) not found' };
  const steps = options.steps ?? 1000;
  const warmupUpdates = options.warmupUpdates ?? 100;
  await initCompute('wasm');
  const runDir = mkdtempSync(join(tmpdir(), 'sacbridge-bench-train-'));
  const learningStarts = 1000;
  const trainer = await Trainer.create({
    task: 'HalfCheetah-v5',
    seed: 1,
    runDir,
    makeEnv: (seed) => createEnv('HalfCheetah-v5', { seed, gymnasiumModelDir: gym }),
    hyperparameters: { learningStarts, updatesPerStep: 1 },
    evalEvery: 0,
    checkpointEvery: 0,
    metricsEvery: 0,
    warn: () => undefined,
  });
  try {
    await trainer.run(learningStarts + warmupUpdates);
    // Update times within the run: wrap the agent's update for the timed steps.
    const agent = trainer.agent;
    const original = agent.update.bind(agent);
    const times: number[] = [];
    agent.update = (batch) => {
      const t0 = performance.now();
      const m = original(batch);
      times.push(performance.now() - t0);
      return m;
    };
    const from = trainer.counters.steps;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await trainer.run(from + steps);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    times.sort((a, b) => a - b);
    const round = (x: number): number => Math.round(x * 100) / 100;
    return {
      steps_per_s: round(steps / seconds),
      cpu_ms_per_step: round((cpu.user + cpu.system) / 1000 / steps),
      update_median_ms: round(times[times.length >> 1]!),
      steps,
      update: agent.updateKind,
      load_average_1m: round(loadavg()[0]!),
    };
  } finally {
    await trainer.close();
    rmSync(runDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${JSON.stringify({ halfcheetah_train: await halfCheetahTrainSpeed() })}\n`);
}
