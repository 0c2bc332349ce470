/**
 * The learner module the fine-tuning worker loads (`createLearner`, see src/learner/learnerApi.ts):
 * a SoftActorCritic restored from the sim agent's state (networks, optimiser moments,
 * temperature, RNGs), robot transitions in their own ReplayBuffer, and every batch mixed from
 * the robot buffer and the sim replay (both SharedArrayBuffer-backed, attached here) at the
 * configured ratio. The worker drives the update-to-data ratio and weight publication; this
 * module only learns and hands its state back.
 */
import { initCompute, type BackendChoice } from '../compute/backend.js';
import { ObservationNormalizer, type NormalizerState } from '../agent/normalizer.js';
import { ReplayBuffer, type ReplaySnapshot, type SharedReplayHandle } from '../agent/replayBuffer.js';
import type { ActorWeights } from '../agent/policy.js';
import { SoftActorCritic, type SacState } from '../agent/sac.js';
import type { CreateLearner, Learner } from '../learner/learnerApi.js';
import { MixedSampler } from '../learner/mixedSampler.js';
import type { TransitionView } from '../learner/transitionRing.js';
import { Rng, type RngState } from '../util/rng.js';

/** What the session passes to the worker (structured-cloneable). */
export interface SacLearnerOptions {
  /** The sim agent's exported state; the learner continues from it. */
  agent: SacState;
  /** Sim replay, attached read-only. */
  simReplay: SharedReplayHandle;
  /** Robot replay, filled by this learner (the control thread may read it for checkpoints). */
  robotReplay: SharedReplayHandle;
  /** Share of each batch drawn from the robot buffer, in [0, 1]. */
  robotFraction: number;
  /** Observation normaliser of the sim run, frozen during fine-tuning (null: none). */
  normalizer: NormalizerState | null;
  /** Seed of the batch sampler. */
  seed: number;
  /** tfjs backend in the worker (default 'auto'). */
  compute?: BackendChoice;
  /** Updates at the start that train the critics only (the actor and temperature frozen). */
  criticWarmupUpdates?: number;
  /** The actor's step size on the robot (default: the sim run's). */
  actorLearningRate?: number;
  /** Keep the temperature at the sim run's value (no temperature steps on the robot). */
  keepTemperature?: boolean;
  /** Reset the temperature to this value when fine-tuning starts (default: the sim run's). */
  temperature?: number;
  /**
   * Measure the critics' TD error on a robot-only and a sim-only batch every this many updates
   * (td_robot, td_sim, q_robot, q_sim in the metrics; default 100, 0: never).
   */
  diagnosticsEvery?: number;
}

/** `evaluate` requests: the critics' mean Q at (observation, action) rows; the actor set back to given weights. */
export type SacLearnerRequest =
  | { kind: 'criticValues'; observations: Float32Array; actions: Float32Array }
  | { kind: 'rollback'; weights: ActorWeights; freezeUpdates: number };

/** The state handed back: the agent (for checkpoints and for installing into the daemon's agent). */
export interface SacLearnerState {
  agent: SacState;
  sampleRng: { words: RngState; spare: number | null };
  robotTransitions: number;
  /** The robot replay as of this state (taken here, between updates, so it matches `agent`). */
  robotReplay: ReplaySnapshot;
}

export const createLearner: CreateLearner = async (init) => {
  const o = init.options as unknown as SacLearnerOptions;
  if (o.agent?.observationSize !== init.observationSize || o.agent.actionSize !== init.actionSize) {
    throw new Error(`sac learner: agent state is for obs ${o.agent?.observationSize} / action ${o.agent?.actionSize}, the ring carries ${init.observationSize} / ${init.actionSize}`);
  }
  await initCompute(o.compute ?? 'auto');
  const hp = {
    ...o.agent.hyperparameters,
    ...(o.actorLearningRate === undefined ? {} : { actorLearningRate: o.actorLearningRate }),
    ...(o.keepTemperature === true ? { autoAlpha: false } : {}),
  };
  const agent = new SoftActorCritic(init.observationSize, init.actionSize, hp);
  agent.importState(o.temperature === undefined ? o.agent : { ...o.agent, logAlpha: Math.log(o.temperature) });
  if (o.normalizer !== null) {
    const n = new ObservationNormalizer(init.observationSize, o.normalizer.clip);
    n.importState(o.normalizer);
    agent.setNormalizer(n);
  }
  const sim = ReplayBuffer.attach(o.simReplay);
  const robot = ReplayBuffer.attach(o.robotReplay);
  for (const [name, b] of [['sim', sim], ['robot', robot]] as const) {
    if (b.observationSize !== init.observationSize || b.actionSize !== init.actionSize) {
      throw new Error(`sac learner: ${name} replay holds obs ${b.observationSize} / action ${b.actionSize}, expected ${init.observationSize} / ${init.actionSize}`);
    }
  }
  const sampler = new MixedSampler(sim, robot, o.robotFraction, agent.hp.batchSize, init.observationSize, init.actionSize);
  const rng = new Rng(o.seed);
  // Diagnostics sample from their own stream: measuring leaves the training batches as they were.
  const diagRng = new Rng(o.seed + 7919);
  const diagEvery = o.diagnosticsEvery ?? 100;
  const diag = { td_robot: Number.NaN, td_sim: Number.NaN, q_robot: Number.NaN, q_sim: Number.NaN };
  const measure = (): void => {
    const n = agent.hp.batchSize;
    if (robot.size > 0) ({ tdError: diag.td_robot, q: diag.q_robot } = agent.evaluateCritics(robot.sample(n, diagRng), diagRng));
    if (sim.size > 0) ({ tdError: diag.td_sim, q: diag.q_sim } = agent.evaluateCritics(sim.sample(n, diagRng), diagRng));
  };
  let updates = 0;
  /** After a rollback the actor and temperature stay put until this update (the critics catch up). */
  let frozenUntil = 0;

  const learner: Learner = {
    observe(t: TransitionView): void {
      robot.add(t.observation, t.action, t.reward, t.nextObservation, t.terminated);
    },
    update(): Record<string, number> {
      agent.freezePolicy = updates < (o.criticWarmupUpdates ?? 0) || updates < frozenUntil;
      updates++;
      const m = agent.update(sampler.sample(rng));
      if (diagEvery > 0 && updates % diagEvery === 0) measure();
      return { ...m, ...diag, robot_rows: sampler.lastRobotRows, robot_size: robot.size };
    },
    evaluate(request: unknown): Float32Array | null {
      const r = request as SacLearnerRequest;
      if (r.kind === 'rollback') {
        agent.setActorWeights(r.weights);
        frozenUntil = updates + r.freezeUpdates;
        return null;
      }
      if (r.kind !== 'criticValues') throw new Error(`sac learner: unknown request '${(r as { kind: unknown }).kind}'`);
      const rows = r.actions.length / init.actionSize;
      if (!Number.isInteger(rows) || r.observations.length !== rows * init.observationSize) {
        throw new Error(`critic values: ${r.observations.length} observation and ${r.actions.length} action values are not whole rows of ${init.observationSize} / ${init.actionSize}`);
      }
      return agent.criticValues(r.observations, r.actions, rows);
    },
    actorWeights: () => agent.actorWeights(),
    exportState: (): SacLearnerState => ({ agent: agent.exportState(), sampleRng: rng.getState(), robotTransitions: robot.added, robotReplay: robot.snapshot() }),
    close: () => agent.dispose(),
  };
  return learner;
};
