import { policyToOnnx } from '../export/onnxPolicy.js';
import { writeFileAtomic } from '../util/atomicFile.js';
import { parseFlags, UsageError, type FlagSpecs } from './args.js';
import { CHECKPOINT_FLAGS, openCheckpointPolicy } from './checkpointPolicy.js';
import type { Command } from './command.js';
import { packageVersion } from './version.js';

const flags: FlagSpecs = {
  ...CHECKPOINT_FLAGS,
  onnx: { kind: 'string', value: 'FILE', help: 'write the deterministic policy as an ONNX model (see docs/export.md)' },
};

/**
 * `sacbridge export --checkpoint DIR --onnx FILE`: the deterministic policy (normaliser, MLP,
 * tanh, and the scaling to the plant's command range) for onnxruntime on a robot computer.
 * The task's env is built to read that command range and the actuator names, as eval builds it.
 */
export const exportCommand: Command = {
  name: 'export',
  summary: 'write a checkpoint\'s deterministic policy as an ONNX model',
  usage: 'export --checkpoint DIR --onnx FILE',
  flags,
  async run(argv) {
    const { flags: f, positionals } = parseFlags(argv, flags);
    if (positionals.length > 0) throw new UsageError(`export: unexpected argument '${positionals[0]}'`);
    if (f.checkpoint === undefined) throw new UsageError('--checkpoint: required (the checkpoint directory to export)');
    if (f.onnx === undefined) throw new UsageError('--onnx: required (the ONNX file to write)');
    const out = f.onnx as string;
    if (!out.endsWith('.onnx')) throw new UsageError(`--onnx ${out}: name a .onnx file`);
    const { loaded, snapshot, env, agent, close } = await openCheckpointPolicy(f, 0);
    try {
      const weights = agent.actorWeights();
      const { low, high, names } = env.plant.command;
      const metadata: Record<string, string> = {
        task: snapshot.task,
        checkpoint: loaded.path,
        steps: String(snapshot.counters.steps),
        updates: String(snapshot.counters.updates),
        observation_size: String(env.observationSize),
        action_size: String(env.actionSize),
        command_low: JSON.stringify(Array.from(low)),
        command_high: JSON.stringify(Array.from(high)),
        ...(names !== undefined ? { command_names: JSON.stringify(names) } : {}),
        ...(weights.normalizer !== undefined ? { observation_clip: String(weights.normalizer.clip) } : {}),
      };
      const bytes = policyToOnnx(weights, { command: { low, high }, metadata, producerVersion: packageVersion() });
      await writeFileAtomic(out, bytes);
      process.stdout.write(
        `${out}: ${snapshot.task} policy at step ${snapshot.counters.steps} (${env.observationSize} observations -> ${env.actionSize} actions, ` +
          `hidden ${weights.hidden.map((l) => l.outSize).join('x') || 'none'}, ${weights.normalizer !== undefined ? 'normalised observations' : 'raw observations'}), ${bytes.length} bytes\n`,
      );
    } finally {
      await close();
    }
    return 0;
  },
};
