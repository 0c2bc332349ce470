/**
 * One SAC update of sacbridge, written out for an outside reference to repeat (issue 21):
 * `node dist/bench/reference/oneUpdate.js --out FILE.json [--checkpoint RUN_DIR] [--policy-frequency F] [--seed S]`
 * then `/usr/bin/python3 bench/reference/sac_reference.py FILE.json` (PyTorch, written from the
 * SAC paper and CleanRL's sac_continuous_action.py) repeats it from the same initial weights,
 * batch and noise and compares every loss, gradient and updated weight.
 *
 * Without --checkpoint: a fresh HalfCheetah-shaped agent (17 observations, 6 actions) and a
 * synthetic batch. With --checkpoint: the run's networks and a batch drawn from its replay
 * buffer, so the comparison covers a trained state (saturated actions, large Q).
 * Either way the optimisers start fresh (step 0, zero moments), so that each gradient is read
 * back exactly from Adam's first moment: m = (1 - beta1) g.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadCheckpoint } from '../../src/agent/checkpoint.js';
import { ReplayBuffer, type TransitionBatch } from '../../src/agent/replayBuffer.js';
import { SoftActorCritic, type SacHyperparameters, type SampleNoise } from '../../src/agent/sac.js';
import { initCompute } from '../../src/compute/backend.js';
import { decodeTrainingSnapshot } from '../../src/train/trainingState.js';
import { Rng } from '../../src/util/rng.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const arr = (a: ArrayLike<number>): number[] => Array.from(a);

async function main(): Promise<void> {
  const out = flag('out');
  if (out === undefined) throw new Error('--out FILE.json is required');
  const seed = Number(flag('seed') ?? 1);
  await initCompute((flag('backend') as 'auto' | 'cpu' | 'wasm' | undefined) ?? 'auto');
  const rng = new Rng(seed + 1000);

  let agent: SoftActorCritic;
  let batch: TransitionBatch;
  let source: string;
  const checkpoint = flag('checkpoint');
  if (checkpoint !== undefined) {
    const dir = existsSync(path.join(checkpoint, 'checkpoints')) ? path.join(checkpoint, 'checkpoints') : checkpoint;
    const snap = decodeTrainingSnapshot(await loadCheckpoint(dir));
    const hp: SacHyperparameters = { ...snap.agent.hyperparameters };
    if (flag('policy-frequency') !== undefined) hp.policyFrequency = Number(flag('policy-frequency'));
    agent = new SoftActorCritic(snap.agent.observationSize, snap.agent.actionSize, hp, snap.seed);
    // Fresh optimisers: keep only network variables, temperature and counters.
    const state = {
      ...snap.agent,
      hyperparameters: hp,
      updates: 0,
      arrays: snap.agent.arrays.map((a) => (/_adam\//.test(a.name) ? { ...a, data: new Float32Array(a.data.length) } : a)),
      optimizerSteps: Object.fromEntries(Object.keys(snap.agent.optimizerSteps).map((k) => [k, 0])),
      alphaAdam: { step: 0, m: 0, v: 0 },
    };
    agent.importState(state);
    const replay = new ReplayBuffer({ capacity: snap.replay.capacity, observationSize: snap.replay.observationSize, actionSize: snap.replay.actionSize });
    replay.restore(snap.replay);
    batch = replay.sample(hp.batchSize, rng);
    source = `checkpoint ${dir} (${snap.task}, ${snap.counters.steps} steps, alpha ${agent.alpha.toPrecision(4)})`;
  } else {
    const O = 17;
    const A = 6;
    const hp: Partial<SacHyperparameters> = { policyFrequency: Number(flag('policy-frequency') ?? 1) };
    if (flag('initialization') !== undefined) hp.initialization = flag('initialization') as SacHyperparameters['initialization'];
    agent = new SoftActorCritic(O, A, hp, seed);
    const B = agent.hp.batchSize;
    const observations = new Float32Array(B * O);
    const nextObservations = new Float32Array(B * O);
    const actions = new Float32Array(B * A);
    const rewards = new Float32Array(B);
    const terminated = new Float32Array(B);
    rng.fillNormal(observations);
    rng.fillNormal(nextObservations);
    for (let i = 0; i < actions.length; i++) actions[i] = rng.range(-1, 1);
    rng.fillNormal(rewards);
    for (let i = 0; i < B; i++) terminated[i] = rng.uniform() < 0.1 ? 1 : 0;
    batch = { size: B, observations, nextObservations, actions, rewards, terminated };
    source = `fresh agent (obs 17, action 6, ${agent.hp.initialization} initialisation), synthetic batch`;
  }
  if (agent.hp.policyFrequency !== 1) throw new Error('only policy frequency 1 is compared (one actor step on the given noise)');

  const B = batch.size;
  const noiseRng = new Rng(seed + 2000);
  const targetNoise: SampleNoise = agent.drawNoise(B, noiseRng);
  const actorNoise: SampleNoise = agent.drawNoise(B, noiseRng);
  // CleanRL draws a third sample, after the actor step, for the temperature loss.
  const alphaNoise: SampleNoise = agent.drawNoise(B, noiseRng);

  const variables = (): Record<string, number[]> => Object.fromEntries([...agent.namedVariables()].map(([n, v]) => [n, arr(v.dataSync())]));
  const shapes = Object.fromEntries([...agent.namedVariables()].map(([n, v]) => [n, v.shape]));
  const before = variables();
  const logAlphaBefore = Math.log(agent.alpha);
  const metrics = agent.updateWithNoise(batch, targetNoise, actorNoise);
  const after = variables();
  // Gradients from Adam's first moment after its first step: m = (1 - beta1) g.
  const state = agent.exportState();
  const grads: Record<string, number[]> = {};
  for (const a of state.arrays) {
    const m = /^(critic|actor)_adam\/m\/(.*)$/.exec(a.name);
    if (m !== null) grads[m[2]] = arr(a.data).map((x) => x / 0.1);
  }
  const dump = {
    source,
    hp: agent.hp,
    observationSize: agent.observationSize,
    actionSize: agent.actionSize,
    targetEntropy: agent.targetEntropy,
    logAlphaBefore,
    logAlphaAfter: Math.log(agent.alpha),
    shapes,
    before,
    batch: { observations: arr(batch.observations), nextObservations: arr(batch.nextObservations), actions: arr(batch.actions), rewards: arr(batch.rewards), terminated: arr(batch.terminated) },
    noise: { target: arr(targetNoise.eps), actor: arr(actorNoise.eps), alpha: arr(alphaNoise.eps) },
    metrics,
    grads,
    after,
  };
  writeFileSync(out, JSON.stringify(dump));
  process.stdout.write(`one update of ${source} written to ${out}\n`);
}

await main();
