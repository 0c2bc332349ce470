/**
 * Nothing learned on the robot is lost (issues 14 and 18), in process on the in-memory ROS graph:
 * a checkpoint during fine-tuning holds the weights that act on the robot (not the learner's
 * newer ones), the robot replay and the learner's state; the final checkpoint at the stop holds
 * them too; a restart acts first with exactly the checkpoint's acting weights (bit for bit) and
 * starts from its robot replay.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/agent/checkpoint.js';
import type { ActorWeights } from '../../src/agent/policy.js';
import type { JobContext } from '../../src/daemon/job.js';
import { actorToFloats } from '../../src/learner/weightExchange.js';
import { readCurves } from '../../src/plot/records.js';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import { decodeTrainingSnapshot, type TrainingSnapshot } from '../../src/train/trainingState.js';
import { tempDir } from './helpers.js';
import { cartpoleRig, smallSimThenRobotConfig, startOnGraph, until } from './rosRig.js';

interface Published {
  version: number;
  bytes: Buffer;
  phase: string;
}

const bytesOf = (w: ActorWeights): Buffer => {
  const f = actorToFloats(w);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength);
};

function configFor(dir: string) {
  return smallSimThenRobotConfig(dir, [
    '--sim.totalSteps', '300', '--sim.evalEvery', '0', '--switch.gateReturn', '-1000000',
    // A version every 7 updates: the learner is mostly ahead of the weights that act.
    '--zmq.policyRefreshUpdates', '7',
  ]);
}

/** A daemon whose policy-server publications are recorded (copies, with the phase they came in). */
async function startDaemon(dir: string, graph: FakeRosGraph) {
  const published: Published[] = [];
  let phase = (): string => 'unknown';
  const { daemon, records } = await startOnGraph(configFor(dir), graph, (ctx: JobContext) => {
    phase = ctx.phase;
    return { ...ctx, policy: { publish: (w, v) => { published.push({ version: v, bytes: bytesOf(w), phase: phase() }); ctx.policy.publish(w, v); } } };
  });
  return { daemon, published, records, running: daemon.run() };
}

async function generation(dir: string, name: string): Promise<TrainingSnapshot> {
  return decodeTrainingSnapshot(await loadCheckpoint(join(dir, 'run', 'checkpoints', name)));
}

test('robot checkpoints hold the acting weights, the robot replay and the learner; a restart acts with those weights, bit for bit', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const graphA = new FakeRosGraph();
  const a = await startDaemon(dir, graphA);
  let rigA: Awaited<ReturnType<typeof cartpoleRig>> | null = null;
  let during: TrainingSnapshot;
  let final: TrainingSnapshot;
  const robotPublished = (p: Published[]): Published[] => p.filter((x) => x.phase === 'real_finetune');
  try {
    await until('the switch to the robot', () => a.daemon.phase === 'real_finetune', 60_000);
    await until('rclnodejs initialised', () => graphA.initialized);
    rigA = await cartpoleRig(graphA.module());
    // The first weights from the learner act (version 0 is the sim agent's).
    await until('a learned version acting on the robot', () => robotPublished(a.published).length >= 3, 60_000);

    const info = await a.daemon.request({ kind: 'checkpoint', source: 'test' }) as { name: string };
    during = await generation(dir, info.name);
    const r = during.robot;
    assert.ok(r !== null, 'a checkpoint during fine-tuning has a robot part');
    assert.ok(r.replay.size > 0, `the robot replay is kept (${r.replay.size} transitions)`);
    // The actor in the checkpoint is the one that acted at its version, bit for bit.
    const acted = robotPublished(a.published).filter((p) => p.version === r.actorVersion);
    assert.ok(acted.length > 0, `version ${r.actorVersion} acted on the robot (versions ${robotPublished(a.published).map((p) => p.version).join(',')})`);
    assert.ok(bytesOf(r.actor).equals(acted.at(-1)!.bytes), 'the checkpoint\'s robot actor is the acting one');
    assert.equal(during.agent.observationSize, r.actor.hidden[0]!.inSize);
  } finally {
    a.daemon.requestStop('test: stop A');
    assert.equal(await a.running, 0);
    await rigA?.close();
  }
  // The final checkpoint, written at the stop while the robot session ran.
  const stopRecord = [...a.records].reverse().find((x) => x.msg === 'checkpoint written');
  assert.match(String(stopRecord?.reason), /^stop \(/);
  final = await generation(dir, String(stopRecord!.checkpoint));
  assert.ok(final.robot !== null && final.robot.replay.size >= during.robot!.replay.size, 'the final checkpoint keeps the robot replay, grown');
  const lastActed = robotPublished(a.published).at(-1)!;
  assert.ok(bytesOf(final.robot.actor).equals(lastActed.bytes), 'the final checkpoint holds the weights that acted last');
  assert.equal(final.robot.actorVersion, lastActed.version);

  // The robot's episodes in metrics.jsonl: marked robot, with their reward terms and safety events.
  // The episodes' events add up to the session's counters.
  const robotEpisodes = readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.type === 'episode' && r.phase === 'robot');
  assert.ok(robotEpisodes.length > 0, 'robot episodes recorded');
  for (const e of robotEpisodes) {
    const terms = e.terms as Record<string, number>;
    assert.ok(Object.keys(terms).length > 0, `reward terms in ${JSON.stringify(e)}`);
    const sum = Object.values(terms).reduce((x, y) => x + y, 0);
    assert.ok(Math.abs(sum - (e.return as number)) <= 1e-6 * Math.max(1, Math.abs(sum)), `the terms sum to the return: ${JSON.stringify(e)}`);
    assert.equal(typeof e.safety_events, 'object');
    for (const v of Object.values(e.safety_events as Record<string, number>)) assert.ok(Number.isInteger(v) && v > 0);
  }
  const lastCounters = robotEpisodes.at(-1)!.safety as Record<string, number>;
  const summed: Record<string, number> = {};
  for (const e of robotEpisodes) for (const [k, v] of Object.entries(e.safety_events as Record<string, number>)) summed[k] = (summed[k] ?? 0) + v;
  assert.deepEqual(summed, Object.fromEntries(Object.entries(lastCounters).filter(([k, v]) => k !== 'ticks' && v > 0)));
  assert.equal(readCurves(join(dir, 'run')).robotReturns.x.length, robotEpisodes.length, 'sacbridge plot reads them as robot returns');

  // Restart: the robot phase resumes, acting first with the checkpoint's robot actor.
  const graphB = new FakeRosGraph();
  const b = await startDaemon(dir, graphB);
  let rigB: Awaited<ReturnType<typeof cartpoleRig>> | null = null;
  try {
    await until('rclnodejs initialised again', () => graphB.initialized, 60_000);
    rigB = await cartpoleRig(graphB.module());
    await until('the resumed session acting', () => robotPublished(b.published).length >= 1, 30_000);
    const first = robotPublished(b.published)[0]!;
    assert.ok(first.bytes.equals(bytesOf(final.robot.actor)), 'the resumed robot acts with the last checkpoint\'s acting weights, bit for bit');
    assert.ok(first.version >= final.robot.actorVersion, `served versions never go back (${first.version} after ${final.robot.actorVersion})`);
    const started = b.records.find((x) => x.msg === 'real fine-tuning started')!;
    assert.equal(started.robotReplay, final.robot.replay.size, 'the session starts from the checkpoint\'s robot replay');
    assert.deepEqual(started.actingPolicy, { resumed: true, sha256: createHash('sha256').update(bytesOf(final.robot.actor)).digest('hex') });
  } finally {
    b.daemon.requestStop('test: stop B');
    assert.equal(await b.running, 0);
    await rigB?.close();
  }
});
