import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { runCrashTest } from './crashHarness.js';
import { killAll, tempDir, TINY_SAC } from './helpers.js';

/**
 * Issue 6 item 4 against the real sac job (pendulum, tiny networks so a restart is quick),
 * checkpointed every 20 env steps (several times a second) so that kills land before, between
 * and during checkpoint writes. CRASH_KILLS sets the number of kills, CRASH_ARGS adds flags.
 */

afterEach(killAll);

const KILLS = Number(process.env.CRASH_KILLS ?? 20);
const EXTRA = (process.env.CRASH_ARGS ?? '').split(' ').filter((a) => a !== '');

test(`SIGKILL at ${KILLS} random moments of SAC training: every restart resumes from the newest valid generation, no temp file survives, each metrics record once`, { timeout: 300_000 }, async () => {
  const t0 = Date.now();
  const report = await runCrashTest({
    stateDir: tempDir('sacbridge-crash-'),
    kills: KILLS,
    seed: 6,
    minAliveMs: 400,
    maxAliveMs: 2500,
    checkpointEverySteps: 20,
    args: [
      ...TINY_SAC,
      '--metrics.enabled', 'false',
      '--sim.totalSteps', '1000000000',
      '--sim.evalEvery', '0',
      '--daemon.checkpointEverySteps', '20',
      '--daemon.checkpointEverySeconds', '0',
      '--daemon.keepCheckpoints', '2',
      ...EXTRA,
    ],
  });
  const r = report.rounds;
  // Figures for the report (the test output keeps them).
  console.log(JSON.stringify({
    kills: KILLS,
    seconds: Math.round((Date.now() - t0) / 1000),
    restoredSteps: r.map((x) => x.restoredSteps),
    restoredReplay: r.map((x) => x.restoredReplay),
    killsMidCheckpoint: report.killsMidCheckpoint,
    lostSteps: r.map((x) => x.lostSteps),
    maxLostSteps: report.maxLostSteps,
    tempFilesAtEnd: report.tempFilesAtEnd,
    checkpointsVerified: report.checkpointsVerified,
    meanStartMs: Math.round(r.reduce((s, x) => s + x.startMs, 0) / r.length),
    finalSteps: report.finalSteps,
    metricsRecords: report.metricsRecords,
  }));
  assert.equal(r.length, KILLS + 1);
  assert.equal(report.finalExitCode, 0);
  assert.equal(report.tempFilesAtEnd, 0, 'a clean stop leaves no temporary file');
  assert.ok(r.slice(0, KILLS).filter((x) => x.stepsAtKill >= 0).length >= KILLS / 2, 'the lost steps were measured for most kills');
  assert.ok(report.finalSteps > r[r.length - 1]!.restoredSteps, 'the final SIGTERM wrote a newer checkpoint');
  assert.ok(r[r.length - 1]!.restoredSteps > 0, 'progress survived the kills');
  for (let i = 1; i < r.length; i++) {
    assert.ok(r[i]!.restoredSteps >= r[i - 1]!.restoredSteps);
    assert.ok(r[i]!.restoredReplay >= r[i - 1]!.restoredReplay);
  }
});
