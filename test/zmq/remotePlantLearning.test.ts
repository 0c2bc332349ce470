/**
 * sacbridge's SAC learns to control an outside plant over ZeroMQ: the numpy pendulum of
 * clients/python/examples/pendulum_plant.py (a separate Python process), driven in lockstep by
 * ZmqPlant, wrapped in Env with the swing-up task and trained by the ordinary Trainer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCompute } from '../../src/compute/backend.js';
import { Env } from '../../src/env/env.js';
import { ZmqPlant } from '../../src/plant/zmq/zmqPlant.js';
import { Trainer } from '../../src/train/trainer.js';
import { runEpisodes } from '../../src/train/evaluation.js';
import { PendulumTask } from '../../src/task/builtin/pendulum.js';
import { Rng } from '../../src/util/rng.js';
import { PYTHON, startPeer, type Peer } from './fixtures/processes.js';

await initCompute();

const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
const EPISODE = 100;
const STEPS = 15_000;

test('SAC trains against the Python pendulum over ZmqPlant and beats the random policy', { timeout: 600_000 }, async () => {
  const peers: Peer[] = [];
  const plants: ZmqPlant[] = [];
  const runDir = mkdtempSync(join(tmpdir(), 'sacbridge-zmq-learn-'));
  /** Each env gets its own Python plant process. */
  const makeEnv = async (seed: number): Promise<Env> => {
    const peer = startPeer(PYTHON, ['clients/python/examples/pendulum_plant.py', 'tcp://127.0.0.1:0']);
    peers.push(peer);
    const { endpoint } = (await peer.nextLine()) as { endpoint: string };
    const plant = await ZmqPlant.connect({ endpoint, seed });
    plants.push(plant);
    return new Env(plant, new PendulumTask(), { seed, maxEpisodeSteps: EPISODE });
  };
  let trainer: Trainer | undefined;
  try {
    trainer = await Trainer.create({
      task: 'pendulum', seed: 4, runDir, makeEnv,
      hyperparameters: { hidden: [64, 64], batchSize: 128, learningStarts: 1000, bufferSize: 20_000 },
      metricsEvery: 100_000,
    });
    const t0 = performance.now();
    await trainer.run(STEPS);
    const seconds = (performance.now() - t0) / 1000;

    const episodes = 10;
    const trained = await runEpisodes(await makeEnv(900), trainer.agent, episodes, true);
    const rng = new Rng(6);
    const random = await runEpisodes(await makeEnv(900), { act: (_o, _d, out) => out.forEach((_, i) => (out[i] = rng.range(-1, 1))) }, episodes, false);
    console.log(JSON.stringify({ steps: STEPS, seconds: Number(seconds.toFixed(1)), trained: Number(mean(trained).toFixed(1)), random: Number(mean(random).toFixed(1)), trained_returns: trained.map(Math.round), random_returns: random.map(Math.round) }));
    assert.ok(mean(trained) > mean(random) + 250, `trained ${mean(trained).toFixed(1)} vs random ${mean(random).toFixed(1)}`);
  } finally {
    await trainer?.close(); // closes the training env's plant (the first)
    for (const p of trainer === undefined ? [] : plants.slice(1)) await p.close();
    for (const p of peers) assert.equal(await p.stop(), 0, p.stderr());
    rmSync(runDir, { recursive: true });
  }
});
