import { existsSync } from 'node:fs';
import { loadCheckpoint, type LoadedCheckpoint } from '../agent/checkpoint.js';
import { ObservationNormalizer } from '../agent/normalizer.js';
import { SoftActorCritic } from '../agent/sac.js';
import { initCompute, type BackendChoice } from '../compute/backend.js';
import type { Env } from '../env/env.js';
import { createEnv } from '../wiring/envFactory.js';
import { envOptionsFromInfo } from '../wiring/configOptions.js';
import { defaultConfig, loadConfig } from '../config/load.js';
import { decodeTrainingSnapshot, type TrainingSnapshot } from '../train/trainingState.js';
import type { FlagSpecs, ParsedFlags } from './args.js';
import { BACKEND_FLAG } from './args.js';

/** The flags of every command that opens a checkpoint with its env (eval, export). */
export const CHECKPOINT_FLAGS: FlagSpecs = {
  checkpoint: { kind: 'string', value: 'DIR', help: "checkpoint root (a run's checkpoints/ directory or the run directory) or one generation directory" },
  model: { kind: 'string', value: 'FILE', help: 'MJCF file instead of the one the run used' },
  'gym-models': { kind: 'string', value: 'DIR', help: "directory of Gymnasium's MJCF files instead of the one the run used" },
  config: { kind: 'string', value: 'FILE', help: 'configuration whose safety.* limits to run under (default: the limits the run trained under)' },
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

/** A checkpoint and an env of its task (no networks: `sacbridge view` draws the env's model). */
export async function openCheckpointEnv(f: ParsedFlags, seed: number): Promise<{ loaded: LoadedCheckpoint; snapshot: TrainingSnapshot; env: Env }> {
  let dir = f.checkpoint as string;
  if (existsSync(`${dir}/checkpoints`)) dir = `${dir}/checkpoints`;
  const loaded = await loadCheckpoint(dir, { warn: (m) => process.stderr.write(`${m}\n`) });
  const snapshot = decodeTrainingSnapshot(loaded);
  const safety = f.config === undefined ? undefined : loadConfig({ file: f.config as string }).config.safety;
  // The env the run trained on, under the same safety limits (recorded in the checkpoint).
  const env = await createEnv(snapshot.task, {
    seed,
    ...envOptionsFromInfo(snapshot.envInfo, defaultConfig().safety, safety),
    ...(f.model !== undefined ? { modelPath: f.model as string } : {}),
    ...(f['gym-models'] !== undefined ? { gymnasiumModelDir: f['gym-models'] as string } : {}),
  });
  return { loaded, snapshot, env };
}

/** Open `--checkpoint` (the run directory is accepted too) as the commands above parse it. */
export async function openCheckpointPolicy(f: ParsedFlags, seed: number): Promise<CheckpointPolicy> {
  await initCompute((f.backend as BackendChoice | undefined) ?? 'auto');
  const { loaded, snapshot, env } = await openCheckpointEnv(f, seed);
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
