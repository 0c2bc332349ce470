/**
 * The one module that turns the convict configuration into the options of the parts it
 * configures: SAC hyperparameters, the safety layer, the sim env and robot fine-tuning. The daemon,
 * `sacbridge train` and `sacbridge eval` all go through here, so the same keys mean the same
 * thing everywhere. Where a key's name differs from the option's, the mapping says so here once.
 * Pure: no I/O.
 */
import path from 'node:path';
import type { SacHyperparameters } from '../agent/sac.js';
import type { CoreSetting } from '../compute/coreChoice.js';
import type { SacbridgeConfig, SafetyConfig } from '../config/schema.js';
import { DomainRandomizer } from '../plant/mujoco/domainRandomizer.js';
import type { CommandSpec } from '../plant/plant.js';
import { SafetyLayer, type SafetyOptions } from '../safety/safetyLayer.js';
import type { Json } from '../util/json.js';
import type { FineTuneOptions } from '../finetune/session.js';
import type { ActionBounds } from '../zmq/policyServer.js';
import type { CreateEnvOptions } from './envFactory.js';
import { isTaskFile } from '../task/taskFile.js';

/** rl.* as SAC hyperparameters (rl.lr -> learningRate, rl.*Lr -> *LearningRate, rl.alphaLearn -> autoAlpha, rl.alphaInit -> initialAlpha, rl.hiddenSizes -> hidden, rl.criticHiddenSizes -> criticHidden). */
export function sacHyperparameters(rl: SacbridgeConfig['rl']): Partial<SacHyperparameters> {
  // rl.preset is already applied by the loader; "auto" learning rates and entropy are null here.
  const orNull = (v: number | 'auto'): number | null => (v === 'auto' ? null : v);
  return {
    variant: rl.variant,
    hidden: [...rl.hiddenSizes],
    criticHidden: rl.criticHiddenSizes.length > 0 ? [...rl.criticHiddenSizes] : null,
    criticLayerNorm: rl.criticLayerNorm,
    criticDropout: rl.criticDropout,
    initialization: rl.initialization,
    learningRate: rl.lr,
    actorLearningRate: orNull(rl.actorLr),
    criticLearningRate: orNull(rl.criticLr),
    alphaLearningRate: orNull(rl.alphaLr),
    batchSize: rl.batchSize,
    gamma: rl.gamma,
    tau: rl.tau,
    targetUpdateFrequency: rl.targetUpdateFrequency,
    bufferSize: rl.bufferSize,
    learningStarts: rl.learningStarts,
    updatesPerStep: rl.updatesPerStep,
    policyFrequency: rl.policyFrequency,
    policyCatchUp: rl.policyCatchUp,
    autoAlpha: rl.alphaLearn,
    initialAlpha: rl.alphaInit,
    targetEntropy: orNull(rl.targetEntropy),
  };
}

/**
 * safety.* as SafetyLayer options for a plant's command. The same mapping serves sim and robot,
 * so the limits a policy trains under are the ones it meets on the robot. `staleAgeS` arms the
 * watchdog (robot only: in sim nothing is ever stale).
 */
/** compute.updateCores as the Trainer's updateCores option. */
export function updateCores(compute: SacbridgeConfig['compute']): CoreSetting {
  return compute.updateCores === 'auto' ? 'auto' : compute.updateCores === '2' ? 2 : 1;
}

export function safetyOptions(c: SafetyConfig, command: CommandSpec, staleAgeS?: number): SafetyOptions {
  const limits = (key: 'commandMin' | 'commandMax', fallback: Float64Array): ArrayLike<number> => {
    const v = c[key];
    if (v.length === 0) return fallback;
    if (v.length !== command.size) {
      throw new Error(`safety.${key} has ${v.length} elements, the plant has ${command.size} actuators`);
    }
    return v;
  };
  const low = limits('commandMin', command.low);
  const high = limits('commandMax', command.high);
  // maxDeltaPerTick is a fraction of each actuator's range; 2 spans the whole range (no limit).
  const maxDelta = c.maxDeltaPerTick >= 2 ? undefined : Array.from(command.low, (lo, i) => (c.maxDeltaPerTick * (command.high[i] - lo)) / 2);
  return {
    low,
    high,
    ...(maxDelta === undefined ? {} : { maxDelta }),
    ...(staleAgeS === undefined ? {} : { watchdog: { maxAge: staleAgeS, action: c.staleAction } }),
    workspace: c.workspace.map((w) => ({ signal: w.signal, index: w.index, low: w.min, high: w.max })),
    safeCommand: c.staleAction,
  };
}

/** The safety layer's factory for an env: built once the plant's command range is known. */
export function safetyFilterFor(c: SafetyConfig): NonNullable<CreateEnvOptions['filterFor']> {
  return (command) => new SafetyLayer(safetyOptions(c, command));
}

/** sim.* and safety.* as the options of a sim env (seed apart): model, frame skip, safety layer, randomisation. */
/** sim.task: a built-in task's name, or a task file's absolute path (relative to the working directory). */
export function simTask(sim: SacbridgeConfig['sim']): string {
  return isTaskFile(sim.task) ? path.resolve(sim.task) : sim.task;
}

export function simEnvOptions(sim: SacbridgeConfig['sim'], safety: SafetyConfig): Omit<CreateEnvOptions, 'seed'> {
  const r = sim.randomize;
  const randomized = r.massScale.some((x) => x !== 1) || r.frictionScale.some((x) => x !== 1) || r.actuatorGainScale.some((x) => x !== 1) || r.observationNoiseStd > 0 || r.actionLatencyTicks[1] > 0;
  return {
    ...(sim.modelPath !== '' ? { modelPath: sim.modelPath } : {}),
    ...(sim.gymnasiumModelDir !== '' ? { gymnasiumModelDir: sim.gymnasiumModelDir } : {}),
    ...(sim.frameSkip > 0 ? { frameSkip: sim.frameSkip } : {}),
    // The safety layer bounds commands in sim as on the robot (without the staleness watchdog).
    filterFor: safetyFilterFor(safety),
    ...(randomized
      ? {
          randomizer: new DomainRandomizer({
            mass: [r.massScale[0], r.massScale[1]],
            friction: [r.frictionScale[0], r.frictionScale[1]],
            actuatorGain: [r.actuatorGainScale[0], r.actuatorGainScale[1]],
            observationNoiseStd: r.observationNoiseStd,
            maxActionLatency: r.actionLatencyTicks[1],
          }),
        }
      : {}),
  };
}

/** The learning settings of robot fine-tuning (FineTuneOptions' share of the configuration). */
export type FineTuneSettings = Required<Pick<FineTuneOptions, 'rateHz' | 'robotFraction' | 'updatesPerStep' | 'learningStarts' | 'publishEvery' | 'robotReplayCapacity' | 'seed' | 'compute' | 'controlThreadPriority' | 'criticWarmupUpdates'>> & Pick<FineTuneOptions, 'temperature' | 'guard' | 'explorationScale'>;

/**
 * Fine-tuning on the robot: ros.controlRateHz is the tick; the robot's share of a batch is
 * 1 - switch.simReplayRatio; the first update waits for one batch of robot transitions
 * (rl.batchSize), since the sim replay already fills the rest; weights go to the control thread
 * as often as to the policy server (zmq.policyRefreshUpdates).
 */
export function fineTuneSettings(c: SacbridgeConfig): FineTuneSettings {
  return {
    rateHz: c.ros.controlRateHz,
    robotFraction: 1 - c.switch.simReplayRatio,
    updatesPerStep: c.rl.updatesPerStep,
    learningStarts: c.switch.warmupSteps > 0 ? c.switch.warmupSteps : c.rl.batchSize,
    publishEvery: c.zmq.policyRefreshUpdates,
    robotReplayCapacity: c.rl.bufferSize,
    seed: c.sim.seed,
    compute: c.compute.backend,
    controlThreadPriority: c.realtime.controlThreadPriority,
    criticWarmupUpdates: c.switch.criticWarmupUpdates,
    ...(c.switch.temperature > 0 ? { temperature: c.switch.temperature } : {}),
    explorationScale: c.switch.explorationScale,
    ...(c.switch.guardWindow > 0 ? { guard: { window: c.switch.guardWindow, tolerance: c.switch.guardTolerance, restore: c.switch.guardRestore } } : {}),
  };
}

/**
 * What a checkpoint records about its env, so that `sacbridge eval` rebuilds the env it was
 * trained on: model, frame skip and the safety limits (not the randomisation: evaluation runs
 * the nominal model).
 */
export interface EnvInfo {
  task: string;
  modelPath?: string;
  gymnasiumModelDir?: string;
  frameSkip?: number;
  safety?: SafetyConfig;
}

export function envInfo(task: string, options: Pick<CreateEnvOptions, 'modelPath' | 'gymnasiumModelDir' | 'frameSkip'>, safety: SafetyConfig): Json {
  const info: EnvInfo = {
    task,
    ...(options.modelPath !== undefined ? { modelPath: options.modelPath } : {}),
    ...(options.gymnasiumModelDir !== undefined ? { gymnasiumModelDir: options.gymnasiumModelDir } : {}),
    ...(options.frameSkip !== undefined ? { frameSkip: options.frameSkip } : {}),
    safety,
  };
  return info as unknown as Json;
}

/**
 * The env options a checkpoint's EnvInfo describes; `safety` (a configuration the caller loaded)
 * replaces the recorded limits, and checkpoints from before limits were recorded get `fallback`.
 */
export function envOptionsFromInfo(info: Json, fallback: SafetyConfig, safety?: SafetyConfig): Omit<CreateEnvOptions, 'seed'> {
  const i = (info ?? {}) as Partial<EnvInfo>;
  return {
    ...(i.modelPath !== undefined ? { modelPath: i.modelPath } : {}),
    ...(i.gymnasiumModelDir !== undefined ? { gymnasiumModelDir: i.gymnasiumModelDir } : {}),
    ...(i.frameSkip !== undefined ? { frameSkip: i.frameSkip } : {}),
    filterFor: safetyFilterFor(safety ?? { ...fallback, ...(i.safety ?? {}) }),
  };
}

/**
 * zmq.policyActions and safety.* as the policy server's action bounds: safety.commandMin/Max
 * (the command range where empty) mapped into action units through `command`, the range
 * actions scale onto. null for raw actions.
 */
export function policyActionBounds(c: SacbridgeConfig, command: CommandSpec): ActionBounds | null {
  if (c.zmq.policyActions === 'raw') return null;
  const o = safetyOptions(c.safety, command);
  const toAction = (v: number, i: number): number => {
    const span = command.high[i]! - command.low[i]!;
    return span > 0 ? Math.max(-1, Math.min(1, (2 * (v - command.low[i]!)) / span - 1)) : 0;
  };
  return { low: Array.from(o.low, toAction), high: Array.from(o.high, toAction) };
}
