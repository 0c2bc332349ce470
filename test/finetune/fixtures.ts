import { ReplayBuffer } from '../../src/agent/replayBuffer.js';
import { SoftActorCritic } from '../../src/agent/sac.js';
import { Rng } from '../../src/util/rng.js';

/** A small untrained agent and a sim replay of random point_reach-shaped transitions. */
export function agentAndReplay(): { agent: SoftActorCritic; simReplay: ReplayBuffer } {
  const agent = new SoftActorCritic(4, 2, { hidden: [32, 32], batchSize: 32 }, 1);
  const simReplay = new ReplayBuffer({ capacity: 1000, observationSize: 4, actionSize: 2 });
  const rng = new Rng(2);
  const o = new Float32Array(4), a = new Float32Array(2), n = new Float32Array(4);
  for (let i = 0; i < 500; i++) {
    o.forEach((_, j) => (o[j] = rng.range(-0.5, 0.5)));
    a.forEach((_, j) => (a[j] = rng.range(-1, 1)));
    n.forEach((_, j) => (n[j] = o[j]! + 0.01 * rng.normal()));
    simReplay.add(o, a, -10 * Math.hypot(o[0]!, o[1]!), n, false);
  }
  return { agent, simReplay };
}
