import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import ort from 'onnxruntime-node';
import { FastPolicy } from '../../src/agent/fastPolicy.js';
import { ObservationNormalizer } from '../../src/agent/normalizer.js';
import { SoftActorCritic } from '../../src/agent/sac.js';
import { initCompute } from '../../src/compute/backend.js';
import { scaleAction } from '../../src/env/env.js';
import { openCheckpointPolicy } from '../../src/cli/checkpointPolicy.js';
import { policyToOnnx } from '../../src/export/onnxPolicy.js';
import { Rng } from '../../src/util/rng.js';
import { MAIN_JS, tempDir } from '../daemon/helpers.js';

/**
 * The exported ONNX policy, run by onnxruntime (the CPU build in onnxruntime-node), gives
 * sacbridge's deterministic actions to 1e-5 on 1,000 observations: against the fast policy the
 * daemon serves and against the tfjs actor, and its "command" output is Env's scaling of them.
 */

const N = 1000;
const TOL = 1e-5;

/** N observations: mostly in a plausible range, some far outside (the normaliser's clip acts on them). */
function observations(size: number, seed: number, spread: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(N * size);
  for (let i = 0; i < out.length; i++) out[i] = rng.normal() * (i % 17 === 0 ? 50 * spread : spread);
  return out;
}

async function runOnnx(bytes: Uint8Array, obs: Float32Array, obsSize: number): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const result = await session.run({ observation: new ort.Tensor('float32', obs, [N, obsSize]) });
    const out: Record<string, Float32Array> = {};
    for (const [name, t] of Object.entries(result)) {
      assert.deepEqual(t.dims, [N, (t.data as Float32Array).length / N], `${name} is [batch, size]`);
      out[name] = t.data as Float32Array;
    }
    return out;
  } finally {
    await session.release();
  }
}

/** Largest |a - b| over every action; each action computed by `act` one observation at a time. */
function maxDiff(onnx: Float32Array, obs: Float32Array, obsSize: number, actSize: number, act: (o: Float32Array, out: Float32Array) => void): number {
  const a = new Float32Array(actSize);
  let worst = 0;
  for (let i = 0; i < N; i++) {
    act(obs.subarray(i * obsSize, (i + 1) * obsSize), a);
    for (let j = 0; j < actSize; j++) worst = Math.max(worst, Math.abs(onnx[i * actSize + j]! - a[j]!));
  }
  return worst;
}

test('sacbridge export of a trained pendulum checkpoint: onnxruntime matches its actions and commands on 1,000 observations', { timeout: 300_000 }, async (t) => {
  const dir = tempDir();
  const run = join(dir, 'run');
  const train = spawnSync(process.execPath, [MAIN_JS, 'train', '--task', 'pendulum', '--steps', '400', '--learning-starts', '100', '--batch-size', '32', '--eval-every', '0', '--out', run], { encoding: 'utf8' });
  assert.equal(train.status, 0, train.stderr);
  const file = join(dir, 'policy.onnx');
  const ex = spawnSync(process.execPath, [MAIN_JS, 'export', '--checkpoint', run, '--onnx', file], { encoding: 'utf8' });
  assert.equal(ex.status, 0, ex.stderr);
  assert.match(ex.stdout, /policy\.onnx: pendulum policy at step 400 \(3 observations -> 1 actions, hidden 256x256, raw observations\)/);

  const bytes = readFileSync(file);
  const session = await ort.InferenceSession.create(bytes);
  assert.deepEqual([session.inputNames, session.outputNames], [['observation'], ['action', 'command']]);
  await session.release();

  await initCompute('cpu');
  const policy = await openCheckpointPolicy({ checkpoint: run, backend: 'cpu' }, 0);
  try {
    const { agent, env } = policy;
    assert.equal(policy.snapshot.counters.steps, 400);
    const obsSize = env.observationSize, actSize = env.actionSize;
    // 1,000 observations the pendulum visits (random actions from its resets).
    const obs = new Float32Array(N * obsSize);
    const rng = new Rng(1);
    const a = new Float32Array(actSize);
    let o = await env.reset();
    for (let i = 0; i < N; i++) {
      obs.set(o, i * obsSize);
      for (let j = 0; j < actSize; j++) a[j] = rng.uniform() * 2 - 1;
      const r = await env.step(a);
      o = r.terminated || r.truncated ? await env.reset() : r.observation;
    }
    const out = await runOnnx(bytes, obs, obsSize);
    const fast = new FastPolicy(agent.actorWeights(), new Rng(0));
    const vsFast = maxDiff(out.action!, obs, obsSize, actSize, (o, a) => fast.act(o, true, a));
    const vsTfjs = maxDiff(out.action!, obs, obsSize, actSize, (o, a) => agent.act(o, true, a));
    t.diagnostic(`max |action diff| over ${N} observations: ${vsFast.toExponential(2)} vs the fast policy, ${vsTfjs.toExponential(2)} vs the tfjs actor`);
    assert.ok(vsFast <= TOL, `ONNX vs fast policy: max |diff| ${vsFast}`);
    assert.ok(vsTfjs <= TOL, `ONNX vs tfjs actor: max |diff| ${vsTfjs}`);
    // Not a constant policy: the actions span a range, so matching them means something.
    const acts = Array.from(out.action!);
    assert.ok(Math.max(...acts) - Math.min(...acts) > 0.1, `actions span ${Math.min(...acts)}..${Math.max(...acts)}`);

    const { low, high } = env.plant.command;
    assert.ok(high[0]! - low[0]! !== 2, 'the pendulum command range is not [-1, 1], so the scaling is checked');
    const cmd = new Float64Array(actSize);
    let worst = 0;
    for (let i = 0; i < N; i++) {
      scaleAction(out.action!.subarray(i * actSize, (i + 1) * actSize), low, high, cmd);
      for (let j = 0; j < actSize; j++) worst = Math.max(worst, Math.abs(out.command![i * actSize + j]! - cmd[j]!) / Math.max(1, high[j]! - low[j]!));
    }
    assert.ok(worst <= TOL, `ONNX command vs Env's scaling: max relative |diff| ${worst}`);
  } finally {
    await policy.close();
  }
  rmSync(dir, { recursive: true });
});

test('ONNX export with the observation normaliser (mean, std, clip) matches the fast policy and the tfjs actor', async (t) => {
  await initCompute('cpu');
  const obsSize = 11, actSize = 3;
  const agent = new SoftActorCritic(obsSize, actSize, { hidden: [64, 32] }, 7);
  const normalizer = new ObservationNormalizer(obsSize, 5);
  // Statistics from data with per-component offsets and scales, so mean and std differ per component.
  const rng = new Rng(3);
  const data = new Float32Array(500 * obsSize);
  for (let i = 0; i < data.length; i++) data[i] = (i % obsSize) - 4 + rng.normal() * (1 + (i % obsSize));
  normalizer.update(data, 500);
  agent.setNormalizer(normalizer);
  const weights = agent.actorWeights();
  assert.ok(weights.normalizer !== undefined);
  const bytes = policyToOnnx(weights, { producerVersion: 'test' });
  const obs = observations(obsSize, 2, 6);
  const out = await runOnnx(bytes, obs, obsSize);
  assert.deepEqual(Object.keys(out), ['action'], 'no command output without a command range');
  const fast = new FastPolicy(weights, new Rng(0));
  const vsFast = maxDiff(out.action!, obs, obsSize, actSize, (o, a) => fast.act(o, true, a));
  const vsTfjs = maxDiff(out.action!, obs, obsSize, actSize, (o, a) => agent.act(o, true, a));
  t.diagnostic(`max |action diff| over ${N} observations: ${vsFast.toExponential(2)} vs the fast policy, ${vsTfjs.toExponential(2)} vs the tfjs actor`);
  assert.ok(vsFast <= TOL, `ONNX vs fast policy: max |diff| ${vsFast}`);
  assert.ok(vsTfjs <= TOL, `ONNX vs tfjs actor: max |diff| ${vsTfjs}`);
  // The clip is in the graph: without it the far observations would give other actions.
  const unclipped = policyToOnnx({ ...weights, normalizer: { ...weights.normalizer, clip: 1e6 } }, { producerVersion: 'test' });
  const far = await runOnnx(unclipped, obs, obsSize);
  assert.ok(maxDiff(far.action!, obs, obsSize, actSize, (o, a) => fast.act(o, true, a)) > 1e-3, 'the clip changes far observations');
  agent.dispose();
});

test('sacbridge export refuses what it cannot do, naming the flag', () => {
  const cases: [string[], number, RegExp][] = [
    [['export', '--onnx', 'x.onnx'], 64, /--checkpoint: required/],
    [['export', '--checkpoint', 'x'], 64, /--onnx: required/],
    [['export', '--checkpoint', 'x', '--onnx', 'x.pb'], 64, /--onnx x\.pb: name a \.onnx file/],
    [['export', '--checkpoint', join(tempDir(), 'none'), '--onnx', 'x.onnx'], 1, /no checkpoint in .*none/],
  ];
  for (const [args, code, pattern] of cases) {
    const r = spawnSync(process.execPath, [MAIN_JS, ...args], { encoding: 'utf8' });
    assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
});
