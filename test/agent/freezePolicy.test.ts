import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initCompute } from '../../src/compute/backend.js';
import { allocateBatch } from '../../src/agent/replayBuffer.js';
import { SoftActorCritic } from '../../src/agent/sac.js';
import { Rng } from '../../src/util/rng.js';

await initCompute('wasm');

const flat = (agent: SoftActorCritic): number[] => {
  const w = agent.actorWeights();
  return [...w.hidden, w.mean, w.logStd].flatMap((l) => [...l.kernel, ...l.bias]);
};

test('freezePolicy: updates step the critics only; the actor and the temperature stay put until it is lifted', () => {
  const agent = new SoftActorCritic(3, 2, { hidden: [16, 16], batchSize: 32 }, 4);
  const rng = new Rng(1);
  const batch = allocateBatch(32, 3, 2);
  for (const a of [batch.observations, batch.actions, batch.nextObservations]) a.forEach((_, i) => (a[i] = rng.range(-1, 1)));
  batch.rewards.forEach((_, i) => (batch.rewards[i] = rng.range(-1, 0)));
  const actor0 = flat(agent), alpha0 = agent.alpha;
  agent.freezePolicy = true;
  const q0 = agent.update(batch).qf1_mean;
  let q = q0;
  for (let k = 0; k < 5; k++) q = agent.update(batch).qf1_mean;
  assert.deepEqual(flat(agent), actor0, 'the actor did not move');
  assert.equal(agent.alpha, alpha0, 'nor the temperature');
  assert.notEqual(q, q0, 'the critics did');
  agent.freezePolicy = false;
  agent.update(batch);
  assert.notDeepEqual(flat(agent), actor0, 'unfrozen, the actor moves');
  assert.notEqual(agent.alpha, alpha0);
  agent.dispose();
});
