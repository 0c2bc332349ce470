import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initCompute } from '../../src/compute/backend.js';
import { SoftActorCritic, resolveHyperparameters, squashedLogProb, type SampleNoise } from '../../src/agent/sac.js';
import type { TransitionBatch } from '../../src/agent/replayBuffer.js';
import { Rng } from '../../src/util/rng.js';
import { actorSample, finiteDifference, meanOf, mseOf, q, type Weights } from './sacReference.js';

await initCompute();

const OBS = 3;
const ACT = 2;
const B = 4;
const HIDDEN = [5];

function randomBatch(rng: Rng, terminatedRow = 1): TransitionBatch {
  const f = (n: number, lo = -1, hi = 1): Float32Array => Float32Array.from({ length: n }, () => rng.range(lo, hi));
  const terminated = new Float32Array(B);
  terminated[terminatedRow] = 1;
  return { size: B, observations: f(B * OBS), actions: f(B * ACT, -0.9, 0.9), rewards: f(B), nextObservations: f(B * OBS), terminated };
}

const rows = (a: Float32Array, width: number): number[][] => Array.from({ length: a.length / width }, (_, i) => Array.from(a.subarray(i * width, (i + 1) * width)));

function weightsOf(sac: SoftActorCritic): Weights {
  return new Map([...sac.namedVariables()].map(([k, v]) => [k, Float64Array.from(v.dataSync())]));
}

/** Gradients the update used, read back from Adam's first moment after its first step: m = (1 - beta1) g. */
function firstStepGradients(sac: SoftActorCritic, optimizer: 'critic_adam' | 'actor_adam'): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const a of sac.exportState().arrays) {
    const prefix = `${optimizer}/m/`;
    if (a.name.startsWith(prefix)) out.set(a.name.slice(prefix.length), a.data.map((m) => m / 0.1));
  }
  return out;
}

function checkGradients(analytic: Map<string, Float32Array>, w: Weights, loss: (w: Weights) => number, rng: Rng, label: string): number {
  let checked = 0;
  for (const [name, g] of analytic) {
    for (let k = 0; k < 3; k++) {
      const i = rng.int(g.length);
      const fd = finiteDifference(w, name, i, loss);
      assert.ok(Math.abs(g[i] - fd) <= 2e-3 * Math.abs(fd) + 2e-4, `${label}: d loss / d ${name}[${i}] = ${g[i]} (tfjs) vs ${fd} (finite difference)`);
      checked++;
    }
  }
  return checked;
}

test('squashed log-prob: stable tanh correction equals the naive formula and stays finite where 1 - tanh^2 underflows', () => {
  const u = [0.3, -1.2, 4, 10, -12];
  const logStd = [-0.5, 0.1, -2, 0.4, 1];
  const eps = [0.7, -0.2, 1.5, -0.1, 0.9];
  const gauss = eps.reduce((s, e) => s - 0.5 * e * e - 0.5 * Math.log(2 * Math.PI), 0);
  // Reference in double precision: log(1 - tanh(u)^2) = log(sech(u)^2) = -2 log cosh(u).
  const ref = gauss - u.reduce((s, x, j) => s + logStd[j] + -2 * Math.log(Math.cosh(x)), 0);
  const got = tf.tidy(() => squashedLogProb(tf.tensor2d([u]), tf.tensor2d([logStd]), tf.tensor1d([gauss])).dataSync()[0]);
  assert.ok(Number.isFinite(got));
  assert.ok(Math.abs(got - ref) < 1e-4 * Math.abs(ref), `log-prob ${got} vs ${ref}`);
  // The naive float32 form loses the |u| = 10, 12 terms entirely (log 0 = -inf): the reason for the stable form.
  assert.equal(Math.fround(1 - Math.fround(Math.tanh(10)) ** 2), 0);
});

test('SAC v2: losses equal a double-precision reference and gradients equal finite differences', () => {
  const sac = new SoftActorCritic(OBS, ACT, { hidden: HIDDEN, batchSize: B, learningRate: 1e-3, initialAlpha: 0.3 }, 7);
  const rng = new Rng(11);
  const batch = randomBatch(rng);
  const tNoise: SampleNoise = sac.drawNoise(B, rng);
  const aNoise: SampleNoise = sac.drawNoise(B, rng);
  const before = weightsOf(sac);
  const alpha = sac.alpha;
  const gamma = sac.hp.gamma;
  const obs = rows(batch.observations, OBS);
  const act = rows(batch.actions, ACT);
  const next = rows(batch.nextObservations, OBS);
  const tEps = rows(tNoise.eps, ACT);
  const aEps = rows(aNoise.eps, ACT);

  const m = sac.updateWithNoise(batch, tNoise, aNoise);
  const after = weightsOf(sac);

  // Critic: y = r + gamma (1 - d) (min Q'(s', a') - alpha log pi(a'|s')), targets equal the critics at start.
  const nextPi = actorSample(before, next, tEps, 1);
  const q1n = q(before, 'qf1_target', next, nextPi.action, 1);
  const q2n = q(before, 'qf2_target', next, nextPi.action, 1);
  const y = q1n.map((v, i) => batch.rewards[i] + gamma * (1 - batch.terminated[i]) * (Math.min(v, q2n[i]) - alpha * nextPi.logProb[i]));
  const criticLoss = (w: Weights) => mseOf(q(w, 'qf1', obs, act, 1), y) + mseOf(q(w, 'qf2', obs, act, 1), y);
  assert.ok(Math.abs(m.qf1_loss - mseOf(q(before, 'qf1', obs, act, 1), y)) < 1e-4 * (1 + m.qf1_loss));
  assert.ok(Math.abs(m.qf2_loss - mseOf(q(before, 'qf2', obs, act, 1), y)) < 1e-4 * (1 + m.qf2_loss));

  // Actor: mean(alpha log pi - min Q) with the critics after their step.
  const actorLoss = (w: Weights) => {
    const merged = new Map([...after, ...[...w].filter(([k]) => k.startsWith('actor/'))]);
    const pi = actorSample(merged, obs, aEps, 1);
    const q1 = q(merged, 'qf1', obs, pi.action, 1);
    const q2 = q(merged, 'qf2', obs, pi.action, 1);
    return meanOf(pi.logProb.map((lp, i) => alpha * lp - Math.min(q1[i], q2[i])));
  };
  assert.ok(Math.abs(m.actor_loss - actorLoss(before)) < 1e-4 * (1 + Math.abs(m.actor_loss)), `actor loss ${m.actor_loss} vs ${actorLoss(before)}`);
  const refLogProb = meanOf(actorSample(before, obs, aEps, 1).logProb);
  assert.ok(Math.abs(m.entropy + refLogProb) < 1e-4 * (1 + Math.abs(refLogProb)));
  assert.ok(Math.abs(m.alpha_loss - -alpha * (refLogProb + sac.targetEntropy)) < 1e-4 * (1 + Math.abs(m.alpha_loss)));

  const fdRng = new Rng(5);
  const nCritic = checkGradients(firstStepGradients(sac, 'critic_adam'), new Map(before), criticLoss, fdRng, 'critic');
  const nActor = checkGradients(firstStepGradients(sac, 'actor_adam'), new Map(before), actorLoss, fdRng, 'actor');
  // 3 entries of each variable: Q1, Q2 have 4 each; the actor 4 (one hidden layer, the merged heads).
  assert.ok(nCritic >= 24 && nActor >= 12);

  // Polyak: target <- tau * critic(after) + (1 - tau) * target(before).
  const tau = sac.hp.tau;
  for (const name of ['qf1_target/l0/kernel', 'qf2_target/out/bias', 'qf1_target/out/kernel']) {
    const src = after.get(name.replace('_target', ''))!;
    const old = before.get(name)!;
    const now = after.get(name)!;
    for (let i = 0; i < now.length; i++) assert.ok(Math.abs(now[i] - (tau * src[i] + (1 - tau) * old[i])) < 1e-6, `${name}[${i}]`);
    assert.ok(src.some((v, i) => v !== old[i]), `${name}: the critic moved, so the check is not vacuous`);
  }
  sac.dispose();
});

test('SAC v1: Q regresses on r + gamma V_target(s\'), V on min Q - alpha log pi; gradients equal finite differences', () => {
  const sac = new SoftActorCritic(OBS, ACT, { variant: 'v1', hidden: HIDDEN, batchSize: B, learningRate: 1e-3, initialAlpha: 0.2, autoAlpha: false }, 9);
  const rng = new Rng(12);
  const batch = randomBatch(rng, 2);
  const tNoise = sac.drawNoise(B, rng);
  const aNoise = sac.drawNoise(B, rng);
  const before = weightsOf(sac);
  const obs = rows(batch.observations, OBS);
  const act = rows(batch.actions, ACT);
  const next = rows(batch.nextObservations, OBS);
  const alpha = sac.alpha;
  const m = sac.updateWithNoise(batch, tNoise, aNoise);
  assert.equal(sac.alpha, alpha, 'fixed temperature stays fixed');

  const vNext = q(before, 'vf_target', next, next.map(() => []), 1);
  const yQ = vNext.map((v, i) => batch.rewards[i] + sac.hp.gamma * (1 - batch.terminated[i]) * v);
  const pi = actorSample(before, obs, rows(tNoise.eps, ACT), 1);
  const q1 = q(before, 'qf1', obs, pi.action, 1);
  const q2 = q(before, 'qf2', obs, pi.action, 1);
  const yV = pi.logProb.map((lp, i) => Math.min(q1[i], q2[i]) - alpha * lp);
  const loss = (w: Weights) => mseOf(q(w, 'qf1', obs, act, 1), yQ) + mseOf(q(w, 'qf2', obs, act, 1), yQ) + mseOf(q(w, 'vf', obs, obs.map(() => []), 1), yV);
  assert.ok(Math.abs(m.qf1_loss - mseOf(q(before, 'qf1', obs, act, 1), yQ)) < 1e-4 * (1 + m.qf1_loss));
  assert.ok(Math.abs(m.vf_loss! - mseOf(q(before, 'vf', obs, obs.map(() => []), 1), yV)) < 1e-4 * (1 + m.vf_loss!));
  const n = checkGradients(firstStepGradients(sac, 'critic_adam'), new Map(before), loss, new Rng(3), 'v1 critic');
  assert.ok(n >= 36);
  sac.dispose();
});

test('temperature moves toward the target entropy', () => {
  const rng = new Rng(2);
  const batch = randomBatch(rng);
  // Target entropy far above the policy's: alpha must grow; far below: alpha must shrink.
  for (const [targetEntropy, grows] of [[50, true], [-50, false]] as const) {
    const sac = new SoftActorCritic(OBS, ACT, { hidden: HIDDEN, batchSize: B, targetEntropy }, 1);
    const a0 = sac.alpha;
    for (let i = 0; i < 3; i++) sac.update(batch);
    assert.equal(sac.alpha > a0, grows, `target entropy ${targetEntropy}: alpha ${a0} -> ${sac.alpha}`);
    sac.dispose();
  }
});

test('actor, critic and temperature take their own learning rates (null: learningRate)', () => {
  // Adam's first step moves every weight with a non-zero gradient by its step size exactly
  // (m_hat / sqrt(v_hat) = +-1), so each network's largest change after one update is its rate.
  const batch = randomBatch(new Rng(3));
  const rates = { learningRate: 1e-4, actorLearningRate: 1e-3, criticLearningRate: 4e-3, alphaLearningRate: 2e-2 };
  const sac = new SoftActorCritic(OBS, ACT, { hidden: HIDDEN, batchSize: B, ...rates }, 5);
  const before = weightsOf(sac);
  const logAlpha0 = Math.log(sac.alpha);
  sac.update(batch);
  const after = weightsOf(sac);
  const maxStep = (prefix: string): number => {
    let m = 0;
    for (const [name, w] of before) if (name.startsWith(prefix)) w.forEach((x, i) => (m = Math.max(m, Math.abs(after.get(name)![i] - x))));
    return m;
  };
  assert.ok(Math.abs(maxStep('actor/') - 1e-3) < 1e-5, `actor step ${maxStep('actor/')}`);
  assert.ok(Math.abs(maxStep('qf1/') - 4e-3) < 1e-5, `critic step ${maxStep('qf1/')}`);
  assert.ok(Math.abs(Math.abs(Math.log(sac.alpha) - logAlpha0) - 2e-2) < 1e-6, `log alpha step ${Math.log(sac.alpha) - logAlpha0}`);
  sac.dispose();
  // Unset, each falls back to learningRate.
  const plain = new SoftActorCritic(OBS, ACT, { hidden: HIDDEN, batchSize: B, learningRate: 1e-4 }, 5);
  const b0 = weightsOf(plain);
  plain.update(batch);
  const b1 = weightsOf(plain);
  let m = 0;
  for (const [name, w] of b0) if (name.startsWith('actor/')) w.forEach((x, i) => (m = Math.max(m, Math.abs(b1.get(name)![i] - x))));
  assert.ok(Math.abs(m - 1e-4) < 1e-6, `default actor step ${m}`);
  plain.dispose();
  assert.throws(() => resolveHyperparameters({ criticLearningRate: -1 }), /criticLearningRate=-1: must be > 0 or null/);
});

test('policyFrequency f: actor and temperature step only on every f-th update, f steps at once', () => {
  const batch = randomBatch(new Rng(4));
  const sac = new SoftActorCritic(OBS, ACT, { hidden: HIDDEN, batchSize: B, policyFrequency: 2 }, 6);
  const actorOf = (): Float64Array[] => [...weightsOf(sac)].filter(([k]) => k.startsWith('actor/')).map(([, v]) => v);
  const steps = (): number => sac.exportState().optimizerSteps.actor_adam;
  const alphas: number[] = [sac.alpha];
  sac.update(batch); // update 0: two actor steps
  assert.equal(steps(), 2);
  alphas.push(sac.alpha);
  const afterFirst = actorOf();
  const m = sac.update(batch); // update 1: critic only
  assert.equal(steps(), 2);
  assert.deepEqual(actorOf(), afterFirst, 'actor unchanged on a skipped update');
  assert.equal(sac.alpha, alphas[1], 'alpha unchanged on a skipped update');
  assert.ok(Number.isFinite(m.actor_loss) && Number.isFinite(m.entropy), 'skipped update reports the last policy step');
  sac.update(batch); // update 2: two more
  assert.equal(steps(), 4);
  assert.notEqual(sac.alpha, alphas[1]);
  sac.dispose();
  assert.throws(() => resolveHyperparameters({ policyFrequency: 0 }), /policyFrequency=0: must be an integer >= 1/);
});

test('updates leak no tensors; act() is deterministic when asked and within [-1, 1]', () => {
  const sac = new SoftActorCritic(OBS, ACT, { hidden: [8, 8], batchSize: B }, 4);
  const batch = randomBatch(new Rng(1));
  sac.update(batch);
  const n0 = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) sac.update(batch);
  const out = new Float32Array(ACT);
  const out2 = new Float32Array(ACT);
  const o = Float32Array.of(0.1, -0.4, 2);
  sac.act(o, true, out);
  sac.act(o, true, out2);
  assert.deepEqual(out, out2);
  for (let i = 0; i < 20; i++) {
    sac.act(o, false, out2);
    for (const v of out2) assert.ok(v >= -1 && v <= 1);
  }
  assert.equal(tf.memory().numTensors, n0, 'tensor count after 5 more updates and 22 actions');
  // The exported actor weights reproduce the deterministic action (the fast policy's layout).
  const w = sac.actorWeights();
  let h = Array.from(o);
  for (const l of w.hidden) h = Array.from({ length: l.outSize }, (_, j) => Math.max(0, h.reduce((s, x, i) => s + x * l.kernel[i * l.outSize + j], l.bias[j])));
  const mean = Array.from({ length: ACT }, (_, j) => h.reduce((s, x, i) => s + x * w.mean.kernel[i * ACT + j], w.mean.bias[j]));
  mean.forEach((m, j) => assert.ok(Math.abs(Math.tanh(m) - out[j]) < 1e-5));
  sac.dispose();
});

test('state export/import reproduces the next update exactly', () => {
  const a = new SoftActorCritic(OBS, ACT, { hidden: [6], batchSize: B }, 21);
  const batch = randomBatch(new Rng(8));
  for (let i = 0; i < 3; i++) a.update(batch);
  const b = new SoftActorCritic(OBS, ACT, { hidden: [6], batchSize: B }, 99);
  b.importState(a.exportState());
  assert.deepEqual(b.update(batch), a.update(batch));
  assert.deepEqual(weightsOf(b), weightsOf(a));
  assert.throws(() => new SoftActorCritic(OBS + 1, ACT, { hidden: [6], batchSize: B }).importState(a.exportState()), /obs 3 \/ action 2/);
  a.dispose();
  b.dispose();
});

test('a state saved with separate mean and log-std heads (before they were merged) still resumes exactly', () => {
  const a = new SoftActorCritic(OBS, ACT, { hidden: [6], batchSize: B }, 23);
  const batch = randomBatch(new Rng(9));
  for (let i = 0; i < 2; i++) a.update(batch);
  // Rewrite the state into the old layout: 'actor/heads/*' split column-wise into 'actor/mean/*' and 'actor/log_std/*'.
  const state = a.exportState();
  const arrays = state.arrays.flatMap((arr) => {
    const m = /^(.*)actor\/heads\/(kernel|bias)$/.exec(arr.name);
    if (m === null) return [arr];
    const rows = arr.data.length / (2 * ACT);
    const part = (from: number): Float32Array => Float32Array.from({ length: rows * ACT }, (_, k) => arr.data[Math.floor(k / ACT) * 2 * ACT + from + (k % ACT)]);
    const shape = m[2] === 'kernel' ? [rows, ACT] : [ACT];
    return [
      { name: `${m[1]}actor/mean/${m[2]}`, shape, data: part(0) },
      { name: `${m[1]}actor/log_std/${m[2]}`, shape, data: part(ACT) },
    ];
  });
  assert.equal(arrays.filter((x) => x.name.includes('actor/mean/')).length, 6, 'weights and both Adam moments of the mean head');
  const b = new SoftActorCritic(OBS, ACT, { hidden: [6], batchSize: B }, 98);
  b.importState({ ...state, arrays });
  assert.deepEqual(b.update(batch), a.update(batch));
  assert.deepEqual(weightsOf(b), weightsOf(a));
  a.dispose();
  b.dispose();
});
