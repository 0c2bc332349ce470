/**
 * A seeded fine-tuning run on the in-memory robot (SimulatedRobot behind the in-memory ROS graph,
 * RosPlant in lockstep, the operator's "ready" after every episode) is reproducible: two runs
 * with one seed give the same episodes, whatever the thread timing. The second run keeps the
 * main thread busy now and then, and its operator answers later, so that messages, resets and
 * the learner's versions interleave differently.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initCompute } from '../../src/compute/backend.js';
import { FineTuneSession, type FineTuneEpisode } from '../../src/finetune/session.js';
import { MujocoPlant } from '../../src/plant/mujoco/mujocoPlant.js';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import { pointReach } from '../../src/task/builtin/pointReach.js';
import { resolveModelPath } from '../../src/task/registry.js';
import { agentAndReplay, pointReachRobot } from './fixtures.js';

await initCompute('wasm');

async function run(busyMs: number, operatorDelayMs: number): Promise<{ episodes: FineTuneEpisode[]; notes: string }> {
  const { agent, simReplay } = agentAndReplay();
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const body = await MujocoPlant.create(resolveModelPath('point_reach'), { frameSkip: pointReach.frameSkip });
  await body.reset();
  const { robot, plant } = pointReachRobot(rcl, body, 5);
  const episodes: FineTuneEpisode[] = [];
  let busy: NodeJS.Timeout | null = null;
  let notes = '';
  // The operator's answers: a late one must not reset the robot after the run closed it.
  const answers = new Set<NodeJS.Timeout>();
  let stopping = false;
  const answer = (): void => {
    const t = setTimeout(() => {
      answers.delete(t);
      void robot.reset().catch((e: unknown) => { if (!stopping) throw e; });
    }, operatorDelayMs);
    answers.add(t);
  };
  const session = await FineTuneSession.start({
    agent, simReplay, plant, task: pointReach.create(),
    // The watchdog judges wall-clock age: on a machine loaded many times over, a sample can wait
    // half a second to be delivered, and a stale tick is rightly not learned from (the run then
    // differs for a reason outside the double). Its limit here is far above such waits.
    safety: { low: [-1, -1], high: [1, 1], watchdog: { maxAge: 10, action: 'hold' } },
    rateHz: 1000, robotFraction: 0.5, updatesPerStep: 1, learningStarts: 20, publishEvery: 5, robotReplayCapacity: 5000, seed: 7,
    episodeSteps: 40, compute: 'wasm', versionSchedule: 'scheduled',
    onEpisode: (e) => { episodes.push(e); answer(); },
  });
  try {
    if (busyMs > 0) busy = setInterval(() => { const end = performance.now() + busyMs; while (performance.now() < end); }, 7);
    await robot.reset();
    const t0 = performance.now();
    while (episodes.length < 6 && performance.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
  } finally {
    if (busy !== null) clearInterval(busy);
    stopping = true;
    for (const t of answers) clearTimeout(t);
    const { status } = await session.stop();
    notes = `skipped ${status.transitionsSkipped}, safety ${JSON.stringify(status.safety.counters)}, last error ${status.lastError}`;
    await plant.close();
    await robot.close();
    await body.close();
    agent.dispose();
  }
  return { episodes: episodes.slice(0, 6), notes };
}

test('a seeded lockstep run on the in-memory robot is reproducible, whatever the timing', { timeout: 300_000 }, async () => {
  const [a, b, c] = [await run(0, 1), await run(3, 0), await run(0, 15)];
  assert.equal(a.episodes.length, 6);
  assert.ok(a.episodes.at(-1)!.policyVersion > 10, `learned weights acted (version ${a.episodes.at(-1)!.policyVersion})`);
  const key = (es: FineTuneEpisode[]): (number | string)[][] => es.map((e) => [e.return, e.length, e.policyVersion, e.reason]);
  assert.deepEqual(key(b.episodes), key(a.episodes), `runs: ${a.notes} / ${b.notes}`);
  assert.deepEqual(key(c.episodes), key(a.episodes), `runs: ${a.notes} / ${c.notes}`);
});
