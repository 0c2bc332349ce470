import { LOG_STD_MAX, LOG_STD_MIN } from '../../src/agent/policy.js';

/**
 * An independent double-precision reference of SAC's forward passes and losses, written from
 * the equations (naive log(1 - tanh^2) form), for checking the tfjs implementation's losses and,
 * by finite differences, its gradients.
 */
export type Weights = Map<string, Float64Array>;

export function dense(x: number[][], w: Weights, name: string, relu: boolean): number[][] {
  const k = w.get(`${name}/kernel`)!;
  const b = w.get(`${name}/bias`)!;
  const out = b.length;
  const inn = k.length / out;
  return x.map((row) => {
    const y = new Array<number>(out);
    for (let j = 0; j < out; j++) {
      let s = b[j];
      for (let i = 0; i < inn; i++) s += row[i] * k[i * out + j];
      y[j] = relu ? Math.max(0, s) : s;
    }
    return y;
  });
}

export function mlp(x: number[][], w: Weights, name: string, hiddenLayers: number): number[] {
  let h = x;
  for (let i = 0; i < hiddenLayers; i++) h = dense(h, w, `${name}/l${i}`, true);
  return dense(h, w, `${name}/out`, false).map((r) => r[0]);
}

export function q(w: Weights, name: string, obs: number[][], act: number[][], hiddenLayers: number): number[] {
  return mlp(obs.map((o, i) => [...o, ...act[i]]), w, name, hiddenLayers);
}

export function actorSample(w: Weights, obs: number[][], eps: number[][], hiddenLayers: number): { action: number[][]; logProb: number[] } {
  let h = obs;
  for (let i = 0; i < hiddenLayers; i++) h = dense(h, w, `actor/l${i}`, true);
  // One linear layer for both heads: columns [0, A) the mean, [A, 2A) the raw log-std.
  const heads = dense(h, w, 'actor/heads', false);
  const a = heads[0].length / 2;
  const mean = heads.map((r) => r.slice(0, a));
  const raw = heads.map((r) => r.slice(a));
  const action: number[][] = [];
  const logProb: number[] = [];
  for (let i = 0; i < obs.length; i++) {
    let lp = 0;
    const a: number[] = [];
    for (let j = 0; j < mean[i].length; j++) {
      const logStd = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (Math.tanh(raw[i][j]) + 1);
      const u = mean[i][j] + Math.exp(logStd) * eps[i][j];
      const t = Math.tanh(u);
      a.push(t);
      lp += -0.5 * eps[i][j] ** 2 - 0.5 * Math.log(2 * Math.PI) - logStd - Math.log(1 - t * t);
    }
    action.push(a);
    logProb.push(lp);
  }
  return { action, logProb };
}

export const meanOf = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
export const mseOf = (a: number[], b: number[]): number => meanOf(a.map((x, i) => (x - b[i]) ** 2));

/** Central finite difference of `f` with respect to entry `index` of `name`. */
export function finiteDifference(w: Weights, name: string, index: number, f: (w: Weights) => number, h = 1e-5): number {
  const arr = w.get(name)!;
  const keep = arr[index];
  arr[index] = keep + h;
  const up = f(w);
  arr[index] = keep - h;
  const down = f(w);
  arr[index] = keep;
  return (up - down) / (2 * h);
}
