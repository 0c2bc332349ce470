import { existsSync } from 'node:fs';
import { loadCheckpoint, type LoadedCheckpoint } from '../agent/checkpoint.js';
import { ObservationNormalizer } from '../agent/normalizer.js';
import { SoftActorCritic } from '../agent/sac.js';
import { initCompute, type BackendChoice } from '../compute/backend.js';
import type { Env } from '../env/env.js';
import { createEnv } from '../wiring/envFactory.js';
import { decodeTrainingSnapshot, type TrainingSnapshot } from '../train/trainingState.js';
import type { FlagSpecs, ParsedFlags } from './args.js';
import { BACKEND_FLAG } from './args.js';

/** The flags of every command that opens a checkpoint with its env (eval, export). */
export const CHECKPOINT_FLAGS: FlagSpecs = {
  checkpoint: { kind: 'string', value: 'DIR', help: "checkpoint root (a run's checkpoints/ directory or the run directory) or one generation directory" },
  model: { kind: 'string', value: 'FILE', help: 'MJCF file instead of the one the run used' },
  'gym-models': { kind: 'string', value: 'DIR', help: "directory of Gymnasium's MJCF files instead of the one the run used" },
  backend: BACKEND_FLAG,
};

/** A checkpoint's agent (with its observation normaliser) and an env of its task. */
export interface CheckpointPolicy {
  readonly loaded: LoadedCheckpoint;
  readonly snapshot: TrainingSnapshot;
  readonly env: Env;
  readonly agent: SoftActorCritic;
  close(): Promise<void>;
}

/** Open `--checkpoint` (the run directory is accepted too) as the commands above parse it. */
export async function openCheckpointPolicy(f: ParsedFlags, seed: number): Promise<CheckpointPolicy> {
  let dir = f.checkpoint as string;
  if (existsSync(`${dir}/checkpoints`)) dir = `${dir}/checkpoints`;
  const loaded = await loadCheckpoint(dir, { warn: (m) => process.stderr.write(`${m}\n`) });
  const snapshot = decodeTrainingSnapshot(loaded);
  const info = (snapshot.envInfo ?? {}) as { modelPath?: string; gymnasiumModelDir?: string };
  await initCompute((f.backend as BackendChoice | undefined) ?? 'auto');
  const env = await createEnv(snapshot.task, {
    seed,
    modelPath: (f.model as string | undefined) ?? info.modelPath,
    gymnasiumModelDir: (f['gym-models'] as string | undefined) ?? info.gymnasiumModelDir,
  });
  let agent: SoftActorCritic;
  try {
    agent = new SoftActorCritic(env.observationSize, env.actionSize, snapshot.agent.hyperparameters, snapshot.seed);
    agent.importState(snapshot.agent);
    if (snapshot.normalizer !== null) {
      const n = new ObservationNormalizer(env.observationSize, snapshot.normalizer.clip);
      n.importState(snapshot.normalizer);
      agent.setNormalizer(n);
    }
  } catch (err) {
    await env.plant.close();
    throw err;
  }
  return {
    loaded,
    snapshot,
    env,
    agent,
    async close() {
      agent.dispose();
      await env.plant.close();
    },
  };
}
