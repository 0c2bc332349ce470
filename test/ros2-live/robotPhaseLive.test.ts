/**
 * The robot phase end to end over real ROS 2 (rclnodejs, Cyclone DDS on loopback): the daemon
 * trains the pendulum in MuJoCo, passes the gate and fine-tunes on `sacbridge sim-robot` (the
 * stand-in robot, its own process, 20% heavier). Killed with SIGKILL mid fine-tuning, it resumes
 * from the last robot checkpoint (the weights that acted, bit for bit, the robot replay and the
 * counters), on the robot, and a SIGINT
 * then stops it cleanly with a final checkpoint. Skipped without ROS 2 (see ../rosLive.ts).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, test } from 'node:test';
import { listGenerations, loadCheckpoint } from '../../src/agent/checkpoint.js';
import { decodeTrainingSnapshot } from '../../src/train/trainingState.js';
import { actorDigest } from '../../src/daemon/robotPhase.js';
import { killAll, msgIs, spawnDaemon, tempDir, TINY_SAC, type LogRecord } from '../daemon/helpers.js';
import { liveRosSkip, rosChildEnv } from '../rosLive.js';
import { robotConfig, startStandIn } from './standIn.js';

const skip = liveRosSkip('robot phase over real ROS 2');
const ns = `/e2e_${process.pid}`;
const domain = 1 + ((process.pid + 13) % 101);

const rosEnv = (): NodeJS.ProcessEnv => rosChildEnv(domain);

const children: ChildProcess[] = [];
afterEach(killAll);
after(() => { for (const c of children) c.kill('SIGKILL'); });

function readStatus(stateDir: string): { jobStatus: { extra: Record<string, unknown> } } | null {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'status.json'), 'utf8')) as { jobStatus: { extra: Record<string, unknown> } };
  } catch {
    return null;
  }
}

const robotOf = (extra: unknown): { steps: number; episodes: number; updates: number } =>
  ((extra as { robot?: { steps: number; episodes: number; updates: number } }).robot ?? { steps: 0, episodes: 0, updates: 0 });

test('live: sim training, the gate, fine-tuning on the stand-in robot; kill -9 resumes the last robot checkpoint on the robot; SIGINT stops with a checkpoint', { skip, timeout: 300_000 }, async () => {
  const dir = tempDir();
  const config = robotConfig(dir, ns);
  const standIn = await startStandIn(config, domain);
  children.push(standIn);
  const args = ['--config', config, ...TINY_SAC, '--metrics.port', '0'];
  const env = rosEnv();
  const a = spawnDaemon(args, env);
  await a.waitFor(msgIs('phase armed -> real_finetune'), 120_000);
  await a.waitFor(msgIs('real fine-tuning started'), 30_000);
  // A checkpoint that holds robot updates.
  const ckDir = join(dir, 'state', 'run', 'checkpoints');
  let robotCheckpoint: LogRecord | null = null;
  const t0 = Date.now();
  while (robotCheckpoint === null) {
    if (Date.now() - t0 > 120_000) throw new Error(`no checkpoint with robot updates; logs: ${JSON.stringify(a.logs.slice(-5))}`);
    await new Promise((r) => setTimeout(r, 500));
    const last = [...a.logs].reverse().find(msgIs('checkpoint written'));
    if (last === undefined) continue;
    const snap = decodeTrainingSnapshot(await loadCheckpoint(join(ckDir, String(last.checkpoint))));
    if (robotOf(snap.extra).updates > 0 && snap.robot !== null) robotCheckpoint = last;
  }
  const progress = a.logs.filter((r) => typeof r.msg === 'string' && r.msg.startsWith('progress:'));
  a.child.kill('SIGKILL');
  await a.exit;

  const newest = (await listGenerations(ckDir))[0]!; // newest first
  const saved = await loadCheckpoint(join(ckDir, newest));
  const savedSnap = decodeTrainingSnapshot(saved);
  const savedRobot = robotOf(savedSnap.extra);
  assert.ok(savedRobot.steps > 0 && savedRobot.updates > 0, `the checkpoint holds robot counters: ${JSON.stringify(savedRobot)}`);
  assert.ok(savedSnap.robot !== null && savedSnap.robot.replay.size > 0, 'the checkpoint holds the robot replay and the acting weights');
  assert.ok(progress.every((p) => p.phase !== 'real_finetune' || (p.stepsPerSecond as number) > 0), 'progress lines show the robot\'s rate');

  // Restart: resumes that generation, its weights and counters, in the robot phase.
  const b = spawnDaemon(args, env);
  const resumed = await b.waitFor(msgIs('resumed from checkpoint'), 60_000);
  assert.equal(resumed.checkpoint, newest);
  const ready = await b.waitFor(msgIs('ready'));
  assert.equal(ready.phase, 'real_finetune');
  assert.equal((ready.restored as { envSteps: number }).envSteps, savedSnap.counters.steps + savedRobot.steps);
  const started = await b.waitFor(msgIs('real fine-tuning started'), 60_000);
  // The resumed robot acts with the weights that acted at the checkpoint (their SHA-256 over
  // every float, as in robot-actor.f32), from its robot replay.
  const savedActor = createHash('sha256').update(saved.blobs['robot-actor.f32']!).digest('hex');
  assert.equal(actorDigest(savedSnap.robot!.actor), savedActor);
  assert.deepEqual(started.actingPolicy, { resumed: true, sha256: savedActor });
  assert.equal(started.robotReplay, savedSnap.robot!.replay.size);
  // The robot acts again (the robot steps in the status grow), then SIGINT: checkpoint, exit 0.
  const t1 = Date.now();
  for (;;) {
    const st = readStatus(join(dir, 'state'));
    if (st !== null && (st.jobStatus.extra.robotSteps as number) > savedRobot.steps + 10) break;
    if (Date.now() - t1 > 60_000) throw new Error(`the robot did not act after the restart; status ${JSON.stringify(st?.jobStatus)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  b.child.kill('SIGINT');
  assert.equal((await b.exit).code, 0);
  assert.ok(b.logs.some((r) => msgIs('checkpoint written')(r) && /stop \(SIGINT\)/.test(String(r.reason))), 'a final checkpoint on SIGINT');
  assert.equal(b.stderr.join('').includes('publisher pointer is invalid'), false);
  const final = decodeTrainingSnapshot(await loadCheckpoint(ckDir));
  assert.ok(robotOf(final.extra).steps > savedRobot.steps, 'the robot steps after the restart are counted and kept');
  standIn.kill('SIGTERM');
});
