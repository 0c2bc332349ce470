/**
 * Reproducible lockstep fine-tuning: with versionSchedule 'scheduled', which weights act at
 * which tick follows the learner's version schedule (versionDueAt), so two runs with one seed on
 * a lockstep plant give the same episodes, whatever the thread timing. The second run is given
 * a slower learner start and a busy main thread to make the timing differ.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initCompute } from '../../src/compute/backend.js';
import { FineTuneSession, type FineTuneEpisode } from '../../src/finetune/session.js';
import { transitionsForUpdate, versionDueAt } from '../../src/learner/learnerApi.js';
import { MujocoPlant } from '../../src/plant/mujoco/mujocoPlant.js';
import { pointReach } from '../../src/task/builtin/pointReach.js';
import { resolveModelPath } from '../../src/task/registry.js';
import { SoftActorCritic } from '../../src/agent/sac.js';
import { ReturnWindows } from '../../src/finetune/returnWindows.js';
import { agentAndReplay } from './fixtures.js';

await initCompute('wasm');

test('versionDueAt: version v acts one transition before version v + 1 can exist', () => {
  for (const s of [
    { updatesPerTransition: 1, learningStarts: 20, publishEvery: 5, metricsEvery: 5 },
    { updatesPerTransition: 0.5, learningStarts: 0, publishEvery: 3, metricsEvery: 3 },
    { updatesPerTransition: 4, learningStarts: 7, publishEvery: 10, metricsEvery: 10 },
  ]) {
    for (let v = 1; v < 50; v++) {
      const due = versionDueAt(s, v);
      assert.ok(due >= transitionsForUpdate(s, v * s.publishEvery), 'v can exist when it is due');
      assert.equal(due, transitionsForUpdate(s, (v + 1) * s.publishEvery) - 1, 'v + 1 cannot');
      assert.ok(versionDueAt(s, v + 1) > due);
    }
  }
  assert.equal(versionDueAt({ updatesPerTransition: 1, learningStarts: 20, publishEvery: 5, metricsEvery: 5 }, 1), 28);
  assert.throws(() => versionDueAt({ updatesPerTransition: 1, learningStarts: 0, publishEvery: 1, metricsEvery: 1 }, 0), /version must be an integer >= 1/);
});

async function run(busyMs: number, guard?: { window: number; tolerance: number; restore?: 'start' | 'end' }): Promise<FineTuneEpisode[]> {
  const { agent, simReplay } = agentAndReplay();
  // MuJoCo steps in advance(): a lockstep plant.
  const plant = await MujocoPlant.create(resolveModelPath('point_reach'), { frameSkip: pointReach.frameSkip });
  const episodes: FineTuneEpisode[] = [];
  let busy: NodeJS.Timeout | null = null;
  const session = await FineTuneSession.start({
    agent, simReplay, plant, task: pointReach.create(),
    safety: { low: [-1, -1], high: [1, 1] },
    rateHz: 1000, robotFraction: 0.5, updatesPerStep: 1, learningStarts: 20, publishEvery: 5, robotReplayCapacity: 5000, seed: 7,
    episodeSteps: 60, compute: 'wasm', versionSchedule: 'scheduled', ...(guard === undefined ? {} : { guard }),
    onEpisode: (e) => episodes.push(e),
  });
  try {
    // Timing noise: the main thread is kept busy now and then.
    if (busyMs > 0) busy = setInterval(() => { const end = performance.now() + busyMs; while (performance.now() < end); }, 7);
    const t0 = performance.now();
    while (episodes.length < (guard === undefined ? 6 : 10) && performance.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
  } finally {
    if (busy !== null) clearInterval(busy);
    await session.stop();
    await plant.close();
    agent.dispose();
  }
  return episodes.slice(0, guard === undefined ? 6 : 10);
}

test("scheduled versions: two lockstep runs with one seed give the same episodes, whatever the timing", { timeout: 300_000 }, async () => {
  const a = await run(0);
  const b = await run(3);
  assert.equal(a.length, 6);
  assert.ok(a.at(-1)!.policyVersion > 10, `learned weights acted (version ${a.at(-1)!.policyVersion})`);
  assert.deepEqual(b.map((e) => [e.return, e.length, e.policyVersion]), a.map((e) => [e.return, e.length, e.policyVersion]));
});

test('rollback guard: its rollbacks come at the same episodes and the runs stay the same, whatever the timing', { timeout: 300_000 }, async () => {
  // Tolerance 0 over 2-episode windows: every window below the best so far rolls back.
  const guard = { window: 2, tolerance: 0 };
  const a = await run(0, guard);
  const b = await run(3, guard);
  assert.equal(a.length, 10);
  const rollbacks = a.filter((e) => e.rollback !== '');
  assert.ok(rollbacks.length >= 1, `the guard fired (${rollbacks.length} rollbacks)`);
  assert.match(rollbacks[0]!.rollback, /below the best window's .* back to the weights of version \d+/);
  const key = (es: FineTuneEpisode[]): (number | string)[][] => es.map((e) => [e.return, e.length, e.policyVersion, e.rollback]);
  assert.deepEqual(key(b), key(a));
});

test("rollback guard, restore 'start': a rollback brings back the weights that began the best window", { timeout: 300_000 }, async () => {
  const guard = { window: 2, tolerance: 0, restore: 'start' as const };
  const a = await run(0, guard);
  assert.equal(a.length, 10);
  // The guard's verdicts over the same returns (pure); the weights that begin episode k are those
  // that ended episode k - 1 (version 0, the sim policy's, for the first).
  const windows = new ReturnWindows(guard);
  const startVersion = (episode: number): number => (episode === 1 ? 0 : a[episode - 2]!.policyVersion);
  let best = -1;
  let bestEnd = -1;
  let checked = 0;
  let differ = 0;
  for (const e of a) {
    const verdict = windows.afterEpisode(e.return, 0);
    if (verdict.kind === 'best') {
      best = startVersion(e.episode - guard.window + 1);
      bestEnd = e.policyVersion;
    }
    if (verdict.kind === 'rollback') {
      assert.match(e.rollback, new RegExp(`back to the weights of version ${best}$`), `episode ${e.episode}`);
      checked++;
      if (best !== bestEnd) differ++;
    } else {
      assert.equal(e.rollback, '', `episode ${e.episode}`);
    }
  }
  assert.ok(checked >= 1, `the guard fired (${checked} rollbacks)`);
  // Versions change within a window here, so 'start' is not 'end' in disguise.
  assert.ok(differ >= 1, `a best window whose first and last weights differ (${differ} of ${checked})`);
});

test('setActorWeights puts another actor\'s weights in place, critics untouched', () => {
  const a = new SoftActorCritic(4, 2, { hidden: [8, 8], batchSize: 4 }, 1);
  const b = new SoftActorCritic(4, 2, { hidden: [8, 8], batchSize: 4 }, 2);
  const critic = (x: SoftActorCritic): number[] => [...x.namedVariables()].filter(([n]) => n.startsWith('qf1/')).flatMap(([, v]) => [...(v.dataSync() as Float32Array)]);
  const before = critic(a);
  assert.notDeepEqual(a.actorWeights(), b.actorWeights());
  a.setActorWeights(b.actorWeights());
  assert.deepEqual(a.actorWeights(), b.actorWeights());
  assert.deepEqual(critic(a), before);
  assert.throws(() => a.setActorWeights(new SoftActorCritic(4, 2, { hidden: [8] }, 1).actorWeights()), /1 hidden layers, the actor has 2/);
  a.dispose();
  b.dispose();
});
