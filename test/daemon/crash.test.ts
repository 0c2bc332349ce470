import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { join } from 'node:path';
import { inspectStore, runCrashTest } from './crashHarness.js';
import { DIST, killAll, tempDir } from './helpers.js';

/**
 * Issue 6 item 4 against the daemon's own counter job (a real loop with a replay ring,
 * checkpointed several times a second here so that kills land before, between and during
 * checkpoint writes). Running it against the SAC trainer is a matter of the job arguments:
 * CRASH_JOB=sac (and CRASH_ARGS for more flags) select it; CRASH_KILLS sets the number of kills.
 */

afterEach(killAll);

const KILLS = Number(process.env.CRASH_KILLS ?? 20);
const JOB = process.env.CRASH_JOB ?? 'counter';
const EXTRA = (process.env.CRASH_ARGS ?? '').split(' ').filter((a) => a !== '');

test(`SIGKILL at ${KILLS} random moments: every restart resumes, nothing is corrupt`, { timeout: 300_000 }, async () => {
  const report = await runCrashTest({
    stateDir: tempDir('sacbridge-crash-'),
    kills: KILLS,
    seed: 6,
    minAliveMs: 150,
    maxAliveMs: 700,
    args: [
      '--daemon.job', JOB,
      '--metrics.enabled', 'false',
      '--sim.totalSteps', '1000000000',
      '--sim.evalEvery', '0',
      '--daemon.checkpointEverySteps', JOB === 'counter' ? '25000' : '1000',
      '--daemon.checkpointEverySeconds', '0',
      '--daemon.keepCheckpoints', '2',
      ...EXTRA,
    ],
  });
  const r = report.rounds;
  // Figures for the report (the test output keeps them).
  console.log(JSON.stringify({
    kills: KILLS,
    job: JOB,
    restoredSteps: r.map((x) => x.restoredSteps),
    restoredReplay: r.map((x) => x.restoredReplay),
    killsMidCheckpoint: report.killsMidCheckpoint,
    checkpointsVerified: report.checkpointsVerified,
    meanStartMs: Math.round(r.reduce((s, x) => s + x.startMs, 0) / r.length),
    finalSteps: report.finalSteps,
  }));
  assert.equal(r.length, KILLS + 1);
  assert.equal(report.finalExitCode, 0);
  assert.ok(report.finalSteps > r[r.length - 1]!.restoredSteps, 'the final SIGTERM wrote a newer checkpoint');
  assert.ok(r[r.length - 1]!.restoredSteps > 0, 'progress survived the kills');
  for (let i = 1; i < r.length; i++) assert.ok(r[i]!.restoredSteps >= r[i - 1]!.restoredSteps);
});

test('the harness with a job that keeps its own checkpoints (how the trainer plugs in)', { timeout: 120_000 }, async () => {
  const report = await runCrashTest({
    stateDir: tempDir('sacbridge-crash-own-'),
    kills: 5,
    seed: 7,
    minAliveMs: 150,
    maxAliveMs: 500,
    inspect: (dir) => inspectStore(dir, join(dir, 'checkpoints', 'own')),
    args: [
      '--daemon.job', join(DIST, 'test', 'daemon', 'fixtures', 'ownCheckpointsJob.js'),
      '--metrics.enabled', 'false',
      '--sim.totalSteps', '1000000000',
      '--sim.evalEvery', '0',
      '--daemon.checkpointEverySteps', '25000',
      '--daemon.checkpointEverySeconds', '0',
    ],
  });
  assert.equal(report.finalExitCode, 0);
  assert.ok(report.rounds[report.rounds.length - 1]!.restoredSteps > 0);
  assert.ok(report.checkpointsVerified > 0);
});
