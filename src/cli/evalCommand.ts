import { existsSync } from 'node:fs';
import { loadCheckpoint } from '../agent/checkpoint.js';
import { ObservationNormalizer } from '../agent/normalizer.js';
import { SoftActorCritic } from '../agent/sac.js';
import { initCompute, type BackendChoice } from '../compute/backend.js';
import { createEnv } from '../wiring/envFactory.js';
import { decodeTrainingSnapshot } from '../train/trainingState.js';
import { runEpisodes } from '../train/trainer.js';
import { BACKEND_FLAG, parseFlags, UsageError, type FlagSpecs } from './args.js';
import type { Command } from './command.js';

const flags: FlagSpecs = {
  checkpoint: { kind: 'string', value: 'DIR', help: 'checkpoint root (a run\'s checkpoints/ directory or the run directory) or one generation directory' },
  episodes: { kind: 'int', value: 'N', min: 1, help: 'deterministic evaluation episodes (default 10)' },
  seed: { kind: 'int', value: 'S', min: 0, help: 'seed of the evaluation env (default 12345)' },
  model: { kind: 'string', value: 'FILE', help: 'MJCF file instead of the one the run used' },
  'gym-models': { kind: 'string', value: 'DIR', help: "directory of Gymnasium's MJCF files instead of the one the run used" },
  json: { kind: 'boolean', help: 'print one JSON object' },
  backend: BACKEND_FLAG,
};

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a checkpoint with the deterministic policy',
  usage: 'eval --checkpoint DIR [--episodes N] [--seed S] [--json]',
  flags,
  async run(argv) {
    const { flags: f, positionals } = parseFlags(argv, flags);
    if (positionals.length > 0) throw new UsageError(`eval: unexpected argument '${positionals[0]}'`);
    if (f.checkpoint === undefined) throw new UsageError('--checkpoint: required (the checkpoint directory to evaluate)');
    const episodes = (f.episodes as number | undefined) ?? 10;
    let dir = f.checkpoint as string;
    // Accept the run directory too.
    if (existsSync(`${dir}/checkpoints`)) dir = `${dir}/checkpoints`;
    const loaded = await loadCheckpoint(dir, { warn: (m) => process.stderr.write(`${m}\n`) });
    const snap = decodeTrainingSnapshot(loaded);
    const info = (snap.envInfo ?? {}) as { modelPath?: string; gymnasiumModelDir?: string };
    await initCompute((f.backend as BackendChoice | undefined) ?? 'auto');
    const env = await createEnv(snap.task, {
      seed: (f.seed as number | undefined) ?? 12345,
      modelPath: (f.model as string | undefined) ?? info.modelPath,
      gymnasiumModelDir: (f['gym-models'] as string | undefined) ?? info.gymnasiumModelDir,
    });
    try {
      const agent = new SoftActorCritic(env.observationSize, env.actionSize, snap.agent.hyperparameters, snap.seed);
      agent.importState(snap.agent);
      if (snap.normalizer !== null) {
        const n = new ObservationNormalizer(env.observationSize, snap.normalizer.clip);
        n.importState(snap.normalizer);
        agent.setNormalizer(n);
      }
      const returns = await runEpisodes(env, agent, episodes, true);
      const mean = returns.reduce((s, x) => s + x, 0) / returns.length;
      const std = Math.sqrt(returns.reduce((s, x) => s + (x - mean) ** 2, 0) / returns.length);
      if (f.json === true) {
        process.stdout.write(`${JSON.stringify({ checkpoint: loaded.path, task: snap.task, steps: snap.counters.steps, episodes, mean_return: mean, std_return: std, returns })}\n`);
      } else {
        process.stdout.write(`checkpoint ${loaded.path} (task ${snap.task}, ${snap.counters.steps} steps)\n`);
        process.stdout.write(`returns: ${returns.map((r) => r.toFixed(2)).join(' ')}\n`);
        process.stdout.write(`mean return ${mean.toFixed(2)} ± ${std.toFixed(2)} over ${episodes} episodes\n`);
      }
      agent.dispose();
    } finally {
      await env.plant.close();
    }
    return 0;
  },
};
