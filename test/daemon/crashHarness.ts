import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { listGenerations, loadCheckpoint, NoCheckpointError, readGeneration } from '../../src/agent/checkpoint.js';
import type { JobStatus } from '../../src/daemon/job.js';
import { StateDir } from '../../src/daemon/stateDir.js';
import { Rng } from '../../src/util/rng.js';
import { msgIs, sleep, spawnDaemon } from './helpers.js';

/**
 * The crash test harness (issue 6, item 4): start the real daemon, SIGKILL it at random moments,
 * restart it, and check every restart. It reads only the daemon's logs (the READY record
 * carries the job status as restored) and the state directory.
 *
 * Checked at every restart:
 *   - every checkpoint generation with a final name verifies (sha256 of every file), and both
 *     daemon-state copies unseal: no file is corrupt (half-written generations only ever exist
 *     as .tmp- directories, which are counted: they show the kill landed mid-write);
 *   - the daemon resumes from exactly the generation the checkpoint loader picks on disk;
 *   - job counters never go back; the replay buffer holds at least what it held at the
 *     previous restart (i.e. what the last checkpoint held).
 */

export interface CrashTestOptions {
  stateDir: string;
  kills: number;
  seed: number;
  /** Arguments to `sacbridge run` besides the state directory. */
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** The daemon runs for a random time in [minAliveMs, maxAliveMs] after READY before SIGKILL. */
  minAliveMs: number;
  maxAliveMs: number;
  readyTimeoutMs?: number;
}

export interface CheckpointInspection {
  newestSteps: number;
  verified: number;
  corrupt: string[];
  torn: number;
}

export interface CrashRound {
  round: number;
  /** Steps of the newest checkpoint on disk before the restart (0 when none). */
  expectedSteps: number;
  restoredSteps: number;
  restoredReplay: number;
  /** Half-written checkpoint directories found before the restart (kill landed mid-write). */
  tornCheckpoints: number;
  aliveMs: number;
  startMs: number;
}

export interface CrashReport {
  rounds: CrashRound[];
  /** Checkpoints verified over all restarts (each one counted at each restart it was on disk). */
  checkpointsVerified: number;
  corruptCheckpoints: number;
  killsMidCheckpoint: number;
  finalSteps: number;
  finalExitCode: number | null;
}

/** Inspect the checkpoint generations (run/checkpoints/) and the daemon's own state copies. */
export async function inspectCheckpoints(stateDir: string): Promise<CheckpointInspection> {
  const root = join(stateDir, 'run', 'checkpoints');
  const corrupt: string[] = [];
  let verified = 0;
  for (const g of await listGenerations(root)) {
    try {
      await readGeneration(join(root, g));
      verified++;
    } catch (err) {
      corrupt.push(`${g}: ${(err as Error).message}`);
    }
  }
  let newestSteps = 0;
  try {
    newestSteps = (await loadCheckpoint(root, { warn: (m) => corrupt.push(m) })).counters.steps ?? 0;
  } catch (err) {
    if (!(err instanceof NoCheckpointError)) corrupt.push((err as Error).message);
  }
  let torn = 0;
  try {
    torn = readdirSync(root).filter((n) => n.includes('.tmp-')).length;
  } catch {
    // no checkpoints directory yet
  }
  corrupt.push(...new StateDir(stateDir).loadState().refused);
  return { newestSteps, verified, corrupt, torn };
}

export async function runCrashTest(o: CrashTestOptions): Promise<CrashReport> {
  const rng = new Rng(o.seed);
  const inspect = inspectCheckpoints;
  const args = [...o.args, '--daemon.stateDir', o.stateDir];
  const rounds: CrashRound[] = [];
  let checkpointsVerified = 0;
  let prevSteps = 0;
  let prevReplay = 0;
  const start = async (round: number) => {
    const before = await inspect(o.stateDir);
    assert.deepEqual(before.corrupt, [], `round ${round}: corrupt files after a SIGKILL`);
    checkpointsVerified += before.verified;
    const t0 = Date.now();
    const d = spawnDaemon(args, o.env);
    const ready = await d.waitFor(msgIs('ready'), o.readyTimeoutMs ?? 30_000, `READY in round ${round}`);
    const startMs = Date.now() - t0;
    const restored = ready.restored as JobStatus;
    const restoredSteps = restored.envSteps;
    const restoredReplay = restored.replaySize;
    assert.equal(restoredSteps, before.newestSteps, `round ${round}: resumed from the newest checkpoint`);
    assert.ok(restoredSteps >= prevSteps, `round ${round}: steps went back from ${prevSteps} to ${restoredSteps}`);
    assert.ok(restoredReplay >= prevReplay, `round ${round}: replay shrank from ${prevReplay} to ${restoredReplay}`);
    prevSteps = restoredSteps;
    prevReplay = restoredReplay;
    return { d, before, restoredSteps, restoredReplay, startMs };
  };
  for (let round = 1; round <= o.kills; round++) {
    const { d, before, restoredSteps, restoredReplay, startMs } = await start(round);
    const aliveMs = Math.round(rng.range(o.minAliveMs, o.maxAliveMs));
    await sleep(aliveMs);
    d.child.kill('SIGKILL');
    const exit = await d.exit;
    assert.equal(exit.signal, 'SIGKILL', `round ${round}: the daemon died of something else: ${JSON.stringify(exit)} ${d.stderr.join('')}`);
    rounds.push({ round, expectedSteps: before.newestSteps, restoredSteps, restoredReplay, tornCheckpoints: before.torn, aliveMs, startMs });
  }
  // A last clean run: resume, then SIGTERM must exit 0 with a final checkpoint.
  const last = await start(o.kills + 1);
  rounds.push({ round: o.kills + 1, expectedSteps: last.before.newestSteps, restoredSteps: last.restoredSteps, restoredReplay: last.restoredReplay, tornCheckpoints: last.before.torn, aliveMs: 0, startMs: last.startMs });
  await sleep(o.minAliveMs);
  last.d.child.kill('SIGTERM');
  const exit = await last.d.exit;
  const after = await inspect(o.stateDir);
  assert.deepEqual(after.corrupt, []);
  return {
    rounds,
    checkpointsVerified: checkpointsVerified + after.verified,
    corruptCheckpoints: 0,
    killsMidCheckpoint: rounds.filter((r) => r.tornCheckpoints > 0).length,
    finalSteps: after.newestSteps,
    finalExitCode: exit.code,
  };
}
