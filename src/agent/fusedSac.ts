/**
 * The whole SAC update as one fused step over flat buffers: the same math as
 * SoftActorCritic.updateWithNoise (sac.ts), in the same order, without tfjs.
 *
 * What makes it fast (src/compute/flatCompute.ts holds the buffers and kernels):
 * - every parameter, gradient and Adam moment lives in one WebAssembly memory; each optimiser's
 *   variables are one contiguous block, so Adam is one call per optimiser and Polyak one call;
 * - the twin critics are stored layer by layer (Q1's kernel, Q2's kernel, Q1's bias, Q2's bias),
 *   so each of their layers, forward or backward, is one batch-2 GEMM call;
 * - the actor's forward pass is shared: its weights do not change before its own step, so v2
 *   runs it once over [s'; s] (2B rows: the target's a' ~ pi(s') and the actor loss's
 *   a ~ pi(s)), and v1 once over s for both samples;
 * - no tensors, no autodiff tape and no kernel dispatch: the backward passes are written out
 *   (the gradients of sac.ts's ops, as src/compute/dense.ts and squashedSample write them), and
 *   the elementwise parts are loops over Float32Array views.
 *
 * The tfjs model stays the checkpoint format and the reference: SoftActorCritic copies its
 * variables and Adam moments in and out (flatNamed), and test/agent/fusedSac.test.ts checks one
 * fused update against the tfjs update to 1e-5 relative for v1 and v2. When sac.ts's math
 * changes, this file follows it, section by section (the numbers match sac.ts's comments).
 */
import { adamCoefficients } from '../compute/adam.js';
import { FlatArena, FlatKernels, type FlatGemmProvider, type Region } from '../compute/flatCompute.js';
import { LOG_STD_MAX, LOG_STD_MIN } from './policy.js';
import type { TransitionBatch } from './replayBuffer.js';
import type { SacHyperparameters } from './hyperparameters.js';

/** Noise for one reparameterised sample of a batch: eps and its Gaussian log-density term. */
export interface SampleNoise {
  eps: Float32Array;
  gaussTerm: Float32Array;
}

const LOG_STD_HALF_RANGE = 0.5 * (LOG_STD_MAX - LOG_STD_MIN);
const LOG_STD_MID = LOG_STD_MIN + LOG_STD_HALF_RANGE;

/** A dense layer's place in its optimiser group (float offsets); `copies` 2 for the twin critics. */
interface Layer {
  readonly name: string;
  readonly inSize: number;
  readonly outSize: number;
  readonly relu: boolean;
  readonly kernel: number;
  readonly bias: number;
}

/** An MLP laid out in a group: `copies` networks of the same shape, interleaved layer by layer. */
interface Net {
  readonly names: readonly string[];
  readonly copies: number;
  readonly layers: readonly Layer[];
  /** First and one-past-last float of the net within its group. */
  readonly start: number;
  readonly end: number;
}

/** Parameters, gradients and Adam moments of one optimiser's variables. */
interface Group {
  readonly params: Region;
  readonly grads: Region;
  readonly m: Region;
  readonly v: Region;
  step: number;
}

function layOut(names: readonly string[], sizes: readonly number[], offset: number): { net: Net; size: number } {
  const copies = names.length;
  let at = offset;
  const layers: Layer[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const inSize = sizes[i]!;
    const outSize = sizes[i + 1]!;
    const last = i + 2 === sizes.length;
    const kernel = at;
    at += copies * inSize * outSize;
    const bias = at;
    at += copies * outSize;
    layers.push({ name: last ? 'out' : `l${i}`, inSize, outSize, relu: !last, kernel, bias });
  }
  return { net: { names, copies, layers, start: offset, end: at }, size: at - offset };
}

/** What the update reads from SoftActorCritic besides the batch: scalars and its helpers. */
export interface FusedContext {
  /** Current temperature. */
  alpha(): number;
  /** Actor/temperature steps this update takes (policyFrequency). */
  policySteps: number;
  drawNoise(rows: number): SampleNoise;
  /** Section 4 of sac.ts: the temperature's step; returns alpha_loss. */
  temperatureStep(meanLogProb: number, stepAlpha: number): number;
}

export interface FusedResult {
  qf1Loss: number;
  qf2Loss: number;
  vfLoss: number;
  qf1Mean: number;
  /** Null when this update took no policy step. */
  policy: { actorLoss: number; meanLogProb: number; alphaLoss: number } | null;
}

export interface FusedSacOptions {
  provider: FlatGemmProvider;
  addonPath?: string;
  coreType?: string | null;
}

export class FusedSac {
  readonly provider: FlatGemmProvider;
  private readonly arena: FlatArena;
  private readonly k: FlatKernels;
  private readonly B: number;
  private readonly O: number;
  private readonly A: number;
  private readonly actor: Net;
  /** v2: Q1 and Q2 (copies 2); v1 the same plus `vf`. */
  private readonly critics: Net;
  private readonly vf: Net | null;
  /** v2: the twin targets (laid out like `critics`); v1: V's target (like `vf`). */
  private readonly target: Net;
  private readonly actorGroup: Group;
  private readonly criticGroup: Group;
  private readonly targetParams: Region;
  /** Where Polyak reads its sources in the critic group. */
  private readonly targetSource: Region;
  private readonly lr: { actor: number; critic: number };
  private readonly adam: { beta1: number; beta2: number; epsilon: number };

  // Activations and scratch (byte offsets via regions).
  /** Actor input: v2 [s'; s] (2B rows), v1 s (B rows). */
  private readonly actorIn: Region;
  private readonly actorActs: Region[];
  /** Heads' output [rows][2A]. */
  private readonly heads: Region;
  /** v1: s' for V's target. */
  private readonly nextObs: Region;
  /** Critic input [B][O + A]. */
  private readonly criticIn: Region;
  /** Critic activations per layer, [copies][B][out]. */
  private readonly criticActs: Region[];
  private readonly vfActs: Region[];
  private readonly scratch: [Region, Region];
  private readonly dOut: Region;
  private readonly dInput: Region;
  private readonly dHeads: Region;
  private readonly ones: Region;
  /** Per-row: y (Q target), v1's V target, log pi of both samples, sampled action and the saved parts of the sample for its gradient. */
  private readonly qTarget: Float32Array;
  private readonly vTarget: Float32Array;
  private readonly logProb: Float32Array;
  private readonly sampleAction: Float32Array;
  private readonly saveTanhRaw: Float32Array;
  private readonly saveSigma: Float32Array;
  private readonly saveEps: Float32Array;
  private readonly one: { input: Region; acts: Region[]; heads: Region };
  /** The arena regions behind logProb, sampleAction, the saves and the noise (for the native sample). */
  private readonly sampleRegions: { logProb: Region; action: Region; tanh: Region; sigma: Region; eps: Region; noiseEps: Region; noiseGauss: Region };
  private readonly noiseEps: Float32Array;
  private readonly noiseGauss: Float32Array;

  constructor(
    private readonly hp: SacHyperparameters,
    observationSize: number,
    actionSize: number,
    adamSettings: { beta1: number; beta2: number; epsilon: number },
    options: FusedSacOptions,
  ) {
    const B = (this.B = hp.batchSize);
    const O = (this.O = observationSize);
    const A = (this.A = actionSize);
    const h = hp.hidden;
    const v1 = hp.variant === 'v1';
    this.adam = adamSettings;
    this.lr = { actor: hp.actorLearningRate ?? hp.learningRate, critic: hp.criticLearningRate ?? hp.learningRate };

    const actor = layOut(['actor'], [O, ...h, 2 * A], 0);
    this.actor = { ...actor.net, layers: actor.net.layers.map((l) => (l.name === 'out' ? { ...l, name: 'heads' } : l)) };
    const twin = layOut(['qf1', 'qf2'], [O + A, ...h, 1], 0);
    this.critics = twin.net;
    const vf = v1 ? layOut(['vf'], [O, ...h, 1], twin.size) : null;
    this.vf = vf?.net ?? null;
    const criticSize = twin.size + (vf?.size ?? 0);
    const target = v1 ? layOut(['vf_target'], [O, ...h, 1], 0) : layOut(['qf1_target', 'qf2_target'], [O + A, ...h, 1], 0);
    this.target = target.net;

    const rows = v1 ? B : 2 * B;
    const maxH = Math.max(...h, O + A, 2 * A);
    const sumH = h.reduce((sum, x) => sum + x, 0);
    // Every region allocated below, in floats (the arena adds the alignment padding).
    const floats = 4 * (actor.size + criticSize) + target.size
      + rows * (O + sumH + 2 * A) + (v1 ? B * O : 0) + B * (O + A) + 2 * B * (sumH + 1) + (v1 ? B * (sumH + 1) : 0)
      + 2 * (2 * B * maxH) + 2 * B + 2 * B * (O + A) + B * 2 * A + rows + O + sumH + 2 * A
      + rows + rows * A + 4 * B * A + B;
    this.arena = new FlatArena(floats);
    const a = this.arena;
    const group = (size: number): Group => ({ params: a.alloc(size), grads: a.alloc(size), m: a.alloc(size), v: a.alloc(size), step: 0 });
    this.actorGroup = group(actor.size);
    this.criticGroup = group(criticSize);
    this.targetParams = a.alloc(target.size);
    const sourceNet = v1 ? this.vf! : this.critics;
    this.targetSource = { at: this.criticGroup.params.at + sourceNet.start * 4, length: sourceNet.end - sourceNet.start };

    this.actorIn = a.alloc(rows * O);
    this.actorActs = h.map((n) => a.alloc(rows * n));
    this.heads = a.alloc(rows * 2 * A);
    this.nextObs = a.alloc(v1 ? B * O : 0);
    this.criticIn = a.alloc(B * (O + A));
    this.criticActs = [...h, 1].map((n) => a.alloc(2 * B * n));
    this.vfActs = v1 ? [...h, 1].map((n) => a.alloc(B * n)) : [];
    this.scratch = [a.alloc(2 * B * maxH), a.alloc(2 * B * maxH)];
    this.dOut = a.alloc(2 * B);
    this.dInput = a.alloc(2 * B * (O + A));
    this.dHeads = a.alloc(B * 2 * A);
    this.ones = a.alloc(rows);
    a.view(this.ones).fill(1);
    this.one = { input: a.alloc(O), acts: h.map((n) => a.alloc(n)), heads: a.alloc(2 * A) };
    this.qTarget = new Float32Array(B);
    this.vTarget = new Float32Array(B);
    const sr = (this.sampleRegions = {
      logProb: a.alloc(rows), action: a.alloc(rows * A), tanh: a.alloc(B * A), sigma: a.alloc(B * A), eps: a.alloc(B * A),
      noiseEps: a.alloc(B * A), noiseGauss: a.alloc(B),
    });
    this.logProb = a.view(sr.logProb);
    this.sampleAction = a.view(sr.action);
    this.saveTanhRaw = a.view(sr.tanh);
    this.saveSigma = a.view(sr.sigma);
    this.saveEps = a.view(sr.eps);
    this.noiseEps = a.view(sr.noiseEps);
    this.noiseGauss = a.view(sr.noiseGauss);

    this.k = new FlatKernels(a, options.provider, options);
    this.provider = options.provider;
  }

  /**
   * Views of every network variable by the logical names sac.ts uses ('qf1/l0/kernel', ...),
   * into the parameters ('param'), or an optimiser's moments ('m', 'v'; not for targets).
   */
  flatNamed(what: 'param' | 'm' | 'v'): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    const add = (net: Net, base: Region): void => {
      net.names.forEach((name, c) => {
        for (const l of net.layers) {
          out.set(`${name}/${l.name}/kernel`, this.arena.view(base, l.kernel + c * l.inSize * l.outSize, l.inSize * l.outSize));
          out.set(`${name}/${l.name}/bias`, this.arena.view(base, l.bias + c * l.outSize, l.outSize));
        }
      });
    };
    const pick = (g: Group): Region => (what === 'param' ? g.params : what === 'm' ? g.m : g.v);
    add(this.actor, pick(this.actorGroup));
    add(this.critics, pick(this.criticGroup));
    if (this.vf !== null) add(this.vf, pick(this.criticGroup));
    if (what === 'param') add(this.target, this.targetParams);
    return out;
  }

  /** Adam steps taken by the actor's and the critics' optimisers. */
  get optimizerSteps(): { actor: number; critic: number } {
    return { actor: this.actorGroup.step, critic: this.criticGroup.step };
  }

  set optimizerSteps(s: { actor: number; critic: number }) {
    this.actorGroup.step = s.actor;
    this.criticGroup.step = s.critic;
  }

  /** The gradients of the last update (for tests), by variable name. */
  lastGradients(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    const add = (net: Net, g: Group): void => {
      net.names.forEach((name, c) => {
        for (const l of net.layers) {
          out.set(`${name}/${l.name}/kernel`, this.arena.view(g.grads, l.kernel + c * l.inSize * l.outSize, l.inSize * l.outSize));
          out.set(`${name}/${l.name}/bias`, this.arena.view(g.grads, l.bias + c * l.outSize, l.outSize));
        }
      });
    };
    add(this.actor, this.actorGroup);
    add(this.critics, this.criticGroup);
    if (this.vf !== null) add(this.vf, this.criticGroup);
    return out;
  }

  /**
   * One update from a batch whose observations are already normalised; the noise as
   * updateWithNoise takes it (targetNoise: a' ~ pi(s') in v2, a ~ pi(s) for V's target in v1;
   * actorNoise: the first actor step's sample).
   */
  update(batch: TransitionBatch, targetNoise: SampleNoise, actorNoise: SampleNoise, ctx: FusedContext): FusedResult {
    const { B, O, A } = this;
    // The buffers are sized for batchSize rows.
    if (batch.size !== B) throw new Error(`fused SAC update: batch has ${batch.size} rows, batchSize is ${B}`);
    const gamma = this.hp.gamma;
    const alpha = ctx.alpha();
    const v1 = this.vf !== null;
    const r = batch.rewards;
    const d = batch.terminated;
    const policySteps = ctx.policySteps;
    // The actor's input: v2 [s'; s] (s only when this update takes a policy step), v1 s.
    const actorIn = this.arena.view(this.actorIn);
    if (v1) {
      actorIn.set(batch.observations);
      this.arena.view(this.nextObs).set(batch.nextObservations);
    } else {
      actorIn.set(batch.nextObservations);
      if (policySteps > 0) actorIn.set(batch.observations, B * O);
    }
    const sRow = v1 ? 0 : B;

    // 1. Critic targets (no gradient flows into them).
    const y = this.qTarget;
    if (!v1) {
      // y = r + gamma (1 - d) [min_i Q_i'(s', a') - alpha log pi(a'|s')],  a' ~ pi(.|s')
      this.actorForward(this.actorIn.at, policySteps > 0 ? 2 * B : B, this.actorActs.map((x) => x.at), this.heads.at);
      this.sample(0, B, targetNoise, false);
      this.fillCriticInput(batch.nextObservations, this.sampleAction, 0);
      this.twinForward(this.target, this.targetParams, this.criticIn.at);
      const q = this.arena.view(this.criticActs[this.criticActs.length - 1]!);
      for (let i = 0; i < B; i++) {
        const minQNext = Math.min(q[i]!, q[B + i]!);
        y[i] = r[i]! + gamma * (1 - d[i]!) * (minQNext - alpha * this.logProb[i]!);
      }
    } else {
      // y_Q = r + gamma (1 - d) V'(s');  y_V = min_i Q_i(s, a) - alpha log pi(a|s),  a ~ pi(.|s)
      this.netForward(this.target, this.targetParams, this.nextObs.at, B, this.vfActs.map((x) => x.at));
      const vNext = this.arena.view(this.vfActs[this.vfActs.length - 1]!);
      for (let i = 0; i < B; i++) y[i] = r[i]! + gamma * (1 - d[i]!) * vNext[i]!;
      this.actorForward(this.actorIn.at, B, this.actorActs.map((x) => x.at), this.heads.at);
      this.sample(0, B, targetNoise, false);
      this.fillCriticInput(batch.observations, this.sampleAction, 0);
      this.twinForward(this.critics, this.criticGroup.params, this.criticIn.at);
      const q = this.arena.view(this.criticActs[this.criticActs.length - 1]!);
      for (let i = 0; i < B; i++) this.vTarget[i] = Math.min(q[i]!, q[B + i]!) - alpha * this.logProb[i]!;
    }

    // 2. Critic step: mean squared soft Bellman error of each Q (and V's regression, v1).
    this.fillCriticInput(batch.observations, batch.actions, 0);
    this.twinForward(this.critics, this.criticGroup.params, this.criticIn.at);
    const q = this.arena.view(this.criticActs[this.criticActs.length - 1]!);
    const dq = this.arena.view(this.dOut);
    let l1 = 0;
    let l2 = 0;
    let qSum = 0;
    const scale = Math.fround(2 / B);
    for (let i = 0; i < B; i++) {
      const d1 = q[i]! - y[i]!;
      const d2 = q[B + i]! - y[i]!;
      l1 += d1 * d1;
      l2 += d2 * d2;
      qSum += q[i]!;
      dq[i] = Math.fround(d1) * scale;
      dq[B + i] = Math.fround(d2) * scale;
    }
    this.netBackward(this.critics, this.criticGroup.params, this.criticGroup.grads, this.criticIn.at, B, this.criticActs.map((x) => x.at), this.dOut.at, null);
    let vfLoss = 0;
    if (this.vf !== null) {
      this.netForward(this.vf, this.criticGroup.params, this.actorIn.at, B, this.vfActs.map((x) => x.at));
      const v = this.arena.view(this.vfActs[this.vfActs.length - 1]!);
      const dv = this.arena.view(this.dOut, 0, B);
      for (let i = 0; i < B; i++) {
        const diff = v[i]! - this.vTarget[i]!;
        vfLoss += diff * diff;
        dv[i] = Math.fround(diff) * scale;
      }
      this.netBackward(this.vf, this.criticGroup.params, this.criticGroup.grads, this.actorIn.at, B, this.vfActs.map((x) => x.at), this.dOut.at, null);
    }
    this.adamStep(this.criticGroup, this.lr.critic);

    // 3. Actor step: minimise E[alpha log pi(a|s) - min_i Q_i(s, a)], a = tanh(mu + sigma eps).
    //    The first step reuses the actor's forward pass above (its weights have not changed).
    let policy: FusedResult['policy'] = null;
    for (let k = 0; k < policySteps; k++) {
      const noise = k === 0 ? actorNoise : ctx.drawNoise(B);
      const sActs = this.actorActs.map((x, i) => x.at + sRow * this.hp.hidden[i]! * 4);
      const sHeads = this.heads.at + sRow * 2 * A * 4;
      const sIn = this.actorIn.at + sRow * O * 4;
      if (k > 0) this.actorForward(sIn, B, sActs, sHeads);
      const stepAlpha = ctx.alpha();
      this.sample(sRow, B, noise, true);
      let meanLogProb = 0;
      for (let i = 0; i < B; i++) meanLogProb += this.logProb[sRow + i]!;
      meanLogProb /= B;
      // The critics are held fixed here: only dQ/da flows back, into the actor.
      this.fillCriticInput(batch.observations, this.sampleAction, sRow);
      this.twinForward(this.critics, this.criticGroup.params, this.criticIn.at);
      const qa = this.arena.view(this.criticActs[this.criticActs.length - 1]!);
      let actorLoss = 0;
      const inv = 1 / B;
      const dlp = Math.fround(Math.fround(inv) * stepAlpha);
      for (let i = 0; i < B; i++) {
        const q1 = qa[i]!;
        const q2 = qa[B + i]!;
        // min's gradient goes to Q1 on ties, as tf.minimum's does.
        const first = q1 <= q2;
        actorLoss += stepAlpha * this.logProb[sRow + i]! - (first ? q1 : q2);
        dq[i] = first ? -inv : 0;
        dq[B + i] = first ? 0 : -inv;
      }
      actorLoss /= B;
      this.netBackward(this.critics, this.criticGroup.params, null, this.criticIn.at, B, this.criticActs.map((x) => x.at), this.dOut.at, this.dInput.at, O);
      this.sampleBackward(dlp);
      this.netBackward(this.actor, this.actorGroup.params, this.actorGroup.grads, sIn, B, sActs, this.dHeads.at, null);
      this.adamStep(this.actorGroup, this.lr.actor);

      // 4. Temperature step (sac.ts's, on the scalar log alpha).
      const alphaLoss = ctx.temperatureStep(meanLogProb, stepAlpha);
      policy = { actorLoss, meanLogProb, alphaLoss };
    }

    // 5. Polyak-average the target networks.
    this.k.polyak(this.targetParams, this.targetSource, this.hp.tau);

    return { qf1Loss: l1 / B, qf2Loss: l2 / B, vfLoss: vfLoss / B, qf1Mean: qSum / B, policy };
  }

  /** tanh(mean) or a sample of the squashed Gaussian for one observation (already normalised). */
  act(observation: Float32Array, deterministic: boolean, eps: Float32Array | null, out: Float32Array): void {
    this.arena.view(this.one.input).set(observation);
    this.actorForward(this.one.input.at, 1, this.one.acts.map((x) => x.at), this.one.heads.at);
    const z = this.arena.view(this.one.heads);
    const A = this.A;
    for (let j = 0; j < A; j++) {
      if (deterministic || eps === null) {
        out[j] = Math.tanh(z[j]!);
      } else {
        const logStd = Math.tanh(z[A + j]!) * LOG_STD_HALF_RANGE + LOG_STD_MID;
        out[j] = Math.tanh(z[j]! + Math.exp(logStd) * eps[j]!);
      }
    }
  }

  /** Cores the update's GEMMs use (FlatKernels.cores): 1, or 2 where the OpenBLAS addon splits calls. */
  get cores(): number {
    return this.k.cores;
  }

  set cores(n: number) {
    this.k.cores = n;
  }

  /** Why the update cannot use two cores here, or null. */
  get twoCoresUnavailable(): string | null {
    return this.k.splitUnavailable;
  }

  dispose(): void {
    this.k.dispose();
  }

  // --- building blocks -------------------------------------------------------------------

  private adamStep(g: Group, lr: number): void {
    g.step++;
    const c = adamCoefficients(lr, this.adam.beta1, this.adam.beta2, this.adam.epsilon, g.step);
    this.k.adam(g.params, g.grads, g.m, g.v, c.beta1, c.beta2, c.stepSize, c.epsHat);
  }

  /** [obs | action] rows into the critic input; `actionRow` is the first row of `actions` to read. */
  private fillCriticInput(obs: Float32Array, actions: Float32Array, actionRow: number): void {
    const { B, O, A } = this;
    const x = this.arena.view(this.criticIn);
    const w = O + A;
    for (let i = 0; i < B; i++) {
      for (let j = 0; j < O; j++) x[i * w + j] = obs[i * O + j]!;
      for (let j = 0; j < A; j++) x[i * w + O + j] = actions[(actionRow + i) * A + j]!;
    }
  }

  private actorForward(input: number, rows: number, acts: number[], heads: number): void {
    this.netForward(this.actor, this.actorGroup.params, input, rows, [...acts, heads]);
  }

  private twinForward(net: Net, params: Region, input: number): void {
    this.netForward(net, params, input, this.B, this.criticActs.map((x) => x.at));
  }

  /**
   * Forward pass of `net` (each copy on the same input): layer i's output at outs[i], [copies][rows][out].
   * A single network's rows go as two batch items of half the rows each (its weights shared), so
   * that with 2 cores the addon can run the halves side by side; on 1 core the same two calls run
   * in a row, so the results do not depend on the cores.
   */
  private netForward(net: Net, params: Region, input: number, rows: number, outs: number[]): void {
    const halves = net.copies === 1 && rows >= 64 && rows % 2 === 0;
    const m = halves ? rows / 2 : rows;
    let x = input;
    let xStride = halves ? m * net.layers[0]!.inSize * 4 : 0;
    net.layers.forEach((l, i) => {
      this.k.gemm({
        m, n: l.outSize, k: l.inSize, batch: halves ? 2 : net.copies,
        a: x, aStride: xStride,
        b: params.at + l.kernel * 4, bStride: halves ? 0 : l.inSize * l.outSize * 4,
        bias: params.at + l.bias * 4, biasStride: halves ? 0 : l.outSize * 4,
        c: outs[i]!, relu: l.relu,
      });
      x = outs[i]!;
      xStride = m * l.outSize * 4;
    });
  }

  /**
   * Backward pass of `net` (weights at `params`) from dLoss/dOutput at `dOut`
   * ([copies][rows][out]): weight and bias gradients into `grads` (null: the net is held fixed),
   * and, when asked, dLoss/dInput per copy into `dInput` for the input columns from
   * `inputFrom` on ([copies][rows][in - inputFrom]: the critics' action columns only). `acts`
   * are the addresses of the forward pass's layer outputs ([copies][rows][out] each).
   */
  private netBackward(net: Net, params: Region, grads: Region | null, input: number, rows: number, acts: readonly number[], dOut: number, dInput: number | null, inputFrom = 0): void {
    const copies = net.copies;
    let g = dOut;
    let spare = 0;
    for (let i = net.layers.length - 1; i >= 0; i--) {
      const l = net.layers[i]!;
      const x = i === 0 ? input : acts[i - 1]!;
      const xStride = i === 0 ? 0 : rows * l.inSize * 4;
      const gStride = rows * l.outSize * 4;
      if (grads !== null) {
        // dW = x^T g, db = 1^T g (column sums as a GEMM against ones).
        this.k.gemm({ transA: true, m: l.inSize, n: l.outSize, k: rows, batch: copies, a: x, aStride: xStride, b: g, bStride: gStride, c: grads.at + l.kernel * 4 });
        this.k.gemm({ m: 1, n: l.outSize, k: rows, batch: copies, a: this.ones.at, b: g, bStride: gStride, c: grads.at + l.bias * 4 });
      }
      if (i === 0 && dInput === null) break;
      // dx = g W^T (rows of W from `from`), then through the previous layer's ReLU: y > 0 exactly where its input was.
      const dst = i === 0 ? dInput! : this.scratch[spare]!.at;
      const from = i === 0 ? inputFrom : 0;
      const mask = i === 0 ? {} : { reluGradientBy: acts[i - 1]! };
      // A single network's rows as two halves, as in netForward.
      if (copies === 1 && rows >= 64 && rows % 2 === 0 && from === 0) {
        this.k.gemm({ transB: true, m: rows / 2, n: l.inSize, k: l.outSize, batch: 2, a: g, aStride: (rows / 2) * l.outSize * 4, b: params.at + l.kernel * 4, c: dst, ...mask });
      } else {
        this.k.gemm({ transB: true, m: rows, n: l.inSize - from, k: l.outSize, batch: copies, a: g, aStride: gStride, b: params.at + (l.kernel + from * l.outSize) * 4, bStride: l.inSize * l.outSize * 4, c: dst, ...mask });
      }
      if (i === 0) break;
      g = dst;
      spare ^= 1;
    }
  }

  /**
   * The squashed-Gaussian sample of rows [row0, row0 + rows) of the heads' output (sac.ts's
   * squashedSample): actions into sampleAction, log pi into logProb; `save` keeps what its
   * gradient needs.
   */
  private sample(row0: number, rows: number, noise: SampleNoise, save: boolean): void {
    const A = this.A;
    // OpenBLAS's addon does this in native code (the same formulas in float); this loop is the
    // WebAssembly provider's path and the reference.
    const r = this.sampleRegions;
    this.noiseEps.set(noise.eps.subarray(0, rows * A));
    this.noiseGauss.set(noise.gaussTerm.subarray(0, rows));
    const native = this.k.sample({
      heads: this.heads.at, row0, rows, actions: A, eps: r.noiseEps.at, gaussTerm: r.noiseGauss.at, action: r.action.at, logProb: r.logProb.at,
      save, saveTanh: r.tanh.at, saveSigma: r.sigma.at, saveEps: r.eps.at,
    }, LOG_STD_HALF_RANGE, LOG_STD_MID);
    if (native) return;
    const z = this.arena.f32;
    const z0 = (this.heads.at >> 2) + row0 * 2 * A;
    const out = this.sampleAction;
    for (let i = 0; i < rows; i++) {
      let sum = 0;
      for (let j = 0; j < A; j++) {
        const mean = z[z0 + i * 2 * A + j]!;
        const s = Math.fround(Math.tanh(z[z0 + i * 2 * A + A + j]!));
        const logStd = Math.fround(Math.fround(s * LOG_STD_HALF_RANGE) + LOG_STD_MID);
        const sigma = Math.fround(Math.exp(logStd));
        const e = noise.eps[i * A + j]!;
        const u = Math.fround(mean + Math.fround(sigma * e));
        const a = Math.tanh(u);
        out[(row0 + i) * A + j] = a;
        // log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), stable for large |u|.
        const x = -2 * u;
        const softplus = x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
        sum += logStd + 2 * (Math.LN2 - u - softplus);
        if (save) {
          this.saveTanhRaw[i * A + j] = s;
          this.saveSigma[i * A + j] = sigma;
          this.saveEps[i * A + j] = e;
        }
      }
      this.logProb[row0 + i] = noise.gaussTerm[i]! - sum;
    }
  }

  /**
   * Gradient of the actor loss with respect to the heads' output of the saved sample (sac.ts's
   * squashedSample gradient): da = the sum of both critics' gradients with respect to the
   * action, dlp = alpha / B for every row.
   */
  private sampleBackward(dlp: number): void {
    const { B, A } = this;
    const f = this.arena.f32;
    const dx = this.dInput.at >> 2;
    const dz = this.dHeads.at >> 2;
    const act = this.sampleAction;
    const row0 = this.vf !== null ? 0 : B;
    for (let i = 0; i < B; i++) {
      for (let j = 0; j < A; j++) {
        const da = f[dx + i * A + j]! + f[dx + B * A + i * A + j]!;
        const a = act[(row0 + i) * A + j]!;
        const s = this.saveTanhRaw[i * A + j]!;
        const du = da * (1 - a * a) + a * (dlp * 2);
        const dLogStd = du * (this.saveSigma[i * A + j]! * this.saveEps[i * A + j]!) - dlp;
        f[dz + i * 2 * A + j] = du;
        f[dz + i * 2 * A + A + j] = dLogStd * ((1 - s * s) * LOG_STD_HALF_RANGE);
      }
    }
  }
}
