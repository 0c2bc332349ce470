/**
 * Test learner: checks every transition it receives is whole and in order. The producer sends
 * transition k with every observation float = k, action = -k, reward = k, next observation = k + 1,
 * terminated = (k % 7 === 0). Metrics report what it saw.
 */
import type { CreateLearner } from '../../src/learner/learnerApi.js';
import type { ActorWeights } from '../../src/agent/policy.js';

export const createLearner: CreateLearner = (init) => {
  let observed = 0, torn = 0, outOfOrder = 0, last = -1, updates = 0;
  const dense = (i: number, o: number) => ({ inSize: i, outSize: o, kernel: new Float32Array(i * o), bias: new Float32Array(o) });
  const weights: ActorWeights = { hidden: [dense(init.observationSize, init.actor.hiddenSizes[0])], mean: dense(init.actor.hiddenSizes[0], init.actionSize), logStd: dense(init.actor.hiddenSizes[0], init.actionSize) };
  return {
    observe(t) {
      const k = t.reward;
      let whole = t.terminated === (k % 7 === 0);
      for (const v of t.observation) whole &&= v === k;
      for (const v of t.action) whole &&= v === -k;
      for (const v of t.nextObservation) whole &&= v === k + 1;
      if (!whole) torn++;
      if (k !== last + 1) outOfOrder++;
      last = k;
      observed++;
    },
    update() {
      updates++;
      return { observed, torn, outOfOrder, last, updates };
    },
    actorWeights: () => weights,
  };
};
