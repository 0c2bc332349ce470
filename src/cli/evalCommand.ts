import { evaluatePolicy } from '../train/evaluation.js';
import { parseFlags, UsageError, type FlagSpecs } from './args.js';
import { CHECKPOINT_FLAGS, openCheckpointPolicy } from './checkpointPolicy.js';
import type { Command } from './command.js';

const flags: FlagSpecs = {
  checkpoint: CHECKPOINT_FLAGS.checkpoint!,
  episodes: { kind: 'int', value: 'N', min: 1, help: 'deterministic evaluation episodes (default 10)' },
  seed: { kind: 'int', value: 'S', min: 0, help: 'seed of the evaluation env (default 12345)' },
  model: CHECKPOINT_FLAGS.model!,
  'gym-models': CHECKPOINT_FLAGS['gym-models']!,
  config: CHECKPOINT_FLAGS.config!,
  json: { kind: 'boolean', help: 'print one JSON object' },
  backend: CHECKPOINT_FLAGS.backend!,
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
    const { loaded, snapshot: snap, env, agent, close } = await openCheckpointPolicy(f, (f.seed as number | undefined) ?? 12345);
    try {
      const { returns, mean, std } = await evaluatePolicy(env, agent, episodes);
      if (f.json === true) {
        process.stdout.write(`${JSON.stringify({ checkpoint: loaded.path, task: snap.task, steps: snap.counters.steps, episodes, mean_return: mean, std_return: std, returns })}\n`);
      } else {
        process.stdout.write(`checkpoint ${loaded.path} (task ${snap.task}, ${snap.counters.steps} steps)\n`);
        process.stdout.write(`returns: ${returns.map((r) => r.toFixed(2)).join(' ')}\n`);
        process.stdout.write(`mean return ${mean.toFixed(2)} ± ${std.toFixed(2)} over ${episodes} episodes\n`);
      }
    } finally {
      await close();
    }
    return 0;
  },
};
