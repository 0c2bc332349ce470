import { packArrays, unpackArrays, type ArrayIndexEntry, type CheckpointContent, type LoadedCheckpoint } from '../agent/checkpoint.js';
import type { Json } from '../util/json.js';
import type { NormalizerState } from '../agent/normalizer.js';
import type { ReplaySnapshot } from '../agent/replayBuffer.js';
import type { SacHyperparameters, SacState } from '../agent/sac.js';
import type { RngState } from '../util/rng.js';
import type { ActorWeights } from '../agent/policy.js';
import { actorFromFloats, actorLayoutOf, actorToFloats, type ActorLayout } from '../learner/weightExchange.js';

/**
 * Everything a training run needs to continue exactly where it stopped, and its mapping onto
 * checkpoint files: agent.f32 (network variables and Adam moments), replay.bin (filled replay
 * rows), normalizer.f64 (running mean and M2); counters, RNG states and indexes in the manifest.
 * After time on the robot also robot-actor.f32 (the weights that act there) and
 * robot-replay.bin (the robot's transitions).
 */

export type RngSnapshot = { words: RngState; spare: number | null };

export interface TrainingCounters {
  steps: number;
  updates: number;
  episodes: number;
  evaluations: number;
}

/**
 * What fine-tuning on the robot adds: the actor that acts there (which may lag the learner's
 * newest weights, held in `agent`), its version, and the robot replay.
 */
export interface RobotSnapshot {
  actor: ActorWeights;
  actorVersion: number;
  replay: ReplaySnapshot;
}

export interface TrainingSnapshot {
  task: string;
  seed: number;
  counters: TrainingCounters;
  agent: SacState;
  replay: ReplaySnapshot;
  normalizer: NormalizerState | null;
  rngs: Record<string, RngSnapshot>;
  /** How to rebuild the env for evaluation (task options such as model paths). */
  envInfo: Json;
  extra: Json;
  /** Length of the run's metrics.jsonl when the snapshot was taken (null: not recorded). */
  metricsBytes: number | null;
  /** Null before any time on the robot. */
  robot: RobotSnapshot | null;
}

interface StateJson {
  task: string;
  seed: number;
  observationSize: number;
  actionSize: number;
  agent: {
    updates: number;
    logAlpha: number;
    alphaAdam: { step: number; m: number; v: number };
    updateRng: RngSnapshot;
    actRng: RngSnapshot;
    optimizerSteps: Record<string, number>;
    arrays: ArrayIndexEntry[];
  };
  replay: { capacity: number; size: number; next: number; added: number };
  normalizer: { count: number; size: number; clip: number } | null;
  rngs: Record<string, RngSnapshot>;
  envInfo: Json;
  metricsBytes?: number;
  robot?: { actor: ActorLayout; actorVersion: number; replay: { capacity: number; size: number; next: number; added: number } };
}

export function encodeTrainingSnapshot(s: TrainingSnapshot): CheckpointContent {
  const { blob, index } = packArrays(s.agent.arrays);
  const blobs: Record<string, Uint8Array> = { 'agent.f32': blob, 'replay.bin': s.replay.data };
  let normalizer: StateJson['normalizer'] = null;
  if (s.normalizer !== null) {
    const n = s.normalizer.mean.length;
    const f = new Float64Array(2 * n);
    f.set(s.normalizer.mean, 0);
    f.set(s.normalizer.m2, n);
    blobs['normalizer.f64'] = new Uint8Array(f.buffer);
    normalizer = { count: s.normalizer.count, size: n, clip: s.normalizer.clip };
  }
  let robot: StateJson['robot'];
  if (s.robot !== null) {
    const floats = actorToFloats(s.robot.actor);
    blobs['robot-actor.f32'] = new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength);
    blobs['robot-replay.bin'] = s.robot.replay.data;
    const r = s.robot.replay;
    robot = { actor: actorLayoutOf(s.robot.actor), actorVersion: s.robot.actorVersion, replay: { capacity: r.capacity, size: r.size, next: r.next, added: r.added } };
  }
  const state: StateJson = {
    task: s.task,
    seed: s.seed,
    observationSize: s.agent.observationSize,
    actionSize: s.agent.actionSize,
    agent: {
      updates: s.agent.updates,
      logAlpha: s.agent.logAlpha,
      alphaAdam: s.agent.alphaAdam,
      updateRng: s.agent.updateRng,
      actRng: s.agent.actRng,
      optimizerSteps: s.agent.optimizerSteps,
      arrays: index,
    },
    replay: { capacity: s.replay.capacity, size: s.replay.size, next: s.replay.next, added: s.replay.added },
    normalizer,
    rngs: s.rngs,
    envInfo: s.envInfo,
    ...(s.metricsBytes !== null ? { metricsBytes: s.metricsBytes } : {}),
    ...(robot !== undefined ? { robot } : {}),
  };
  return {
    counters: { ...s.counters },
    hyperparameters: s.agent.hyperparameters as unknown as Json,
    state: state as unknown as Json,
    blobs,
    extra: s.extra,
  };
}

function need<T>(value: T | undefined | null, what: string, where: string): T {
  if (value === undefined || value === null) throw new Error(`checkpoint ${where}: missing ${what}`);
  return value;
}

export function decodeTrainingSnapshot(c: LoadedCheckpoint): TrainingSnapshot {
  const where = c.path;
  const st = need(c.state as unknown as StateJson | null, 'state', where);
  const hp = need(c.hyperparameters as unknown as SacHyperparameters | null, 'hyperparameters', where);
  const agentBlob = need(c.blobs['agent.f32'], "file 'agent.f32'", where);
  const replayBlob = need(c.blobs['replay.bin'], "file 'replay.bin'", where);
  const counters = c.counters as unknown as TrainingCounters;
  for (const k of ['steps', 'updates', 'episodes', 'evaluations'] as const) {
    if (!Number.isInteger(counters[k]) || counters[k] < 0) throw new Error(`checkpoint ${where}: counter '${k}' is ${JSON.stringify(counters[k])}, expected an integer >= 0`);
  }
  const a = need(st.agent, 'agent state', where);
  const agent: SacState = {
    hyperparameters: hp,
    observationSize: st.observationSize,
    actionSize: st.actionSize,
    updates: a.updates,
    logAlpha: a.logAlpha,
    alphaAdam: a.alphaAdam,
    updateRng: a.updateRng,
    actRng: a.actRng,
    optimizerSteps: a.optimizerSteps,
    arrays: unpackArrays(agentBlob, need(a.arrays, 'agent array index', where), `checkpoint file ${where}/agent.f32`),
  };
  const r = need(st.replay, 'replay state', where);
  const replay: ReplaySnapshot = { ...r, observationSize: st.observationSize, actionSize: st.actionSize, data: replayBlob };
  let normalizer: NormalizerState | null = null;
  if (st.normalizer !== null && st.normalizer !== undefined) {
    const blob = need(c.blobs['normalizer.f64'], "file 'normalizer.f64'", where);
    const n = st.normalizer.size;
    if (blob.byteLength !== 16 * n) throw new Error(`checkpoint file ${where}/normalizer.f64: ${blob.byteLength} bytes, expected ${16 * n}`);
    const f = new Float64Array(blob.slice().buffer);
    normalizer = { count: st.normalizer.count, clip: st.normalizer.clip, mean: f.slice(0, n), m2: f.slice(n) };
  }
  return {
    task: st.task, seed: st.seed, counters, agent, replay, normalizer, rngs: need(st.rngs, 'RNG states', where), envInfo: st.envInfo ?? null, extra: c.extra,
    metricsBytes: Number.isSafeInteger(st.metricsBytes) && st.metricsBytes! >= 0 ? st.metricsBytes! : null,
    robot: st.robot === undefined ? null : decodeRobot(st.robot, c, st, where),
  };
}

function decodeRobot(r: NonNullable<StateJson['robot']>, c: LoadedCheckpoint, st: StateJson, where: string): RobotSnapshot {
  const actorBlob = need(c.blobs['robot-actor.f32'], "file 'robot-actor.f32'", where);
  const replayBlob = need(c.blobs['robot-replay.bin'], "file 'robot-replay.bin'", where);
  if (actorBlob.byteLength % 4 !== 0) throw new Error(`checkpoint file ${where}/robot-actor.f32: ${actorBlob.byteLength} bytes, not whole floats`);
  let actor: ActorWeights;
  try {
    actor = actorFromFloats(need(r.actor, 'robot actor layout', where), new Float32Array(actorBlob.slice().buffer));
  } catch (err) {
    throw new Error(`checkpoint file ${where}/robot-actor.f32: ${(err as Error).message}`);
  }
  if (!Number.isSafeInteger(r.actorVersion) || r.actorVersion < 0) throw new Error(`checkpoint ${where}: robot actorVersion is ${JSON.stringify(r.actorVersion)}, expected an integer >= 0`);
  const rr = need(r.replay, 'robot replay state', where);
  return { actor, actorVersion: r.actorVersion, replay: { ...rr, observationSize: st.observationSize, actionSize: st.actionSize, data: replayBlob } };
}
