import { existsSync } from 'node:fs';
import path from 'node:path';
import { listTasks } from '../src/task/registry.js';
import { createEnv } from '../src/wiring/envFactory.js';
import { packageRoot } from '../src/util/packageRoot.js';
import { Rng } from '../src/util/rng.js';

export interface EnvStepBenchOptions {
  /** Steps run before timing: V8 tiers new WebAssembly code up over the first few thousand calls. */
  warmupSteps?: number;
  /** Timed steps per task. */
  timedSteps?: number;
  /** Gymnasium MJCF directory; default: shared/mjcf-gymnasium beside the repository or a parent. */
  gymnasiumModelDir?: string;
}

/**
 * env_step_us per task: the median wall time of one `Env.step` (uniform random actions in
 * [-1, 1], resets excluded from timing), after warm-up. Keys are task names, and 'Ant-v5 (task
 * file)' for examples/ant-v5/ant-v5.json. Tasks whose model is not available (no Gymnasium
 * directory) are left out.
 */
export async function benchEnvSteps(options: EnvStepBenchOptions = {}): Promise<Record<string, number>> {
  const warmup = options.warmupSteps ?? 3000;
  const timed = options.timedSteps ?? 3000;
  const gymDir = options.gymnasiumModelDir ?? findGymnasiumDir();
  const result: Record<string, number> = {};
  const runs: { key: string; task: string; modelPath?: string }[] = listTasks()
    .filter((def) => !def.name.endsWith('-v5') || gymDir !== undefined)
    .map((def) => ({ key: def.name, task: def.name }));
  // Ant-v5 re-expressed as a task file, to compare with the hand-written class (issue 13: within 1.1x).
  if (gymDir !== undefined) runs.push({ key: 'Ant-v5 (task file)', task: path.join(packageRoot(), 'examples/ant-v5/ant-v5.json'), modelPath: path.join(gymDir, 'ant.xml') });
  for (const run of runs) {
    const env = await createEnv(run.task, { seed: 1, gymnasiumModelDir: gymDir, modelPath: run.modelPath });
    try {
      const rng = new Rng(2);
      const action = new Float32Array(env.actionSize);
      const times = new Float64Array(timed);
      await env.reset();
      for (let i = 0; i < warmup + timed; i++) {
        for (let j = 0; j < action.length; j++) action[j] = rng.range(-1, 1);
        const t0 = process.hrtime.bigint();
        const r = await env.step(action);
        const t1 = process.hrtime.bigint();
        if (i >= warmup) times[i - warmup] = Number(t1 - t0) / 1000;
        if (r.terminated || r.truncated) await env.reset();
      }
      times.sort();
      result[run.key] = Math.round(times[timed >> 1] * 100) / 100;
    } finally {
      await env.plant.close();
    }
  }
  return result;
}

export function findGymnasiumDir(): string | undefined {
  let dir = path.dirname(packageRoot());
  for (let i = 0; i < 3; i++) {
    const candidate = path.join(dir, 'shared', 'mjcf-gymnasium');
    if (existsSync(path.join(candidate, 'half_cheetah.xml'))) return candidate;
    dir = path.dirname(dir);
  }
  return undefined;
}
