import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointStore } from '../../src/daemon/checkpoints.js';
import type { JobStatus } from '../../src/daemon/job.js';
import { StateDir } from '../../src/daemon/stateDir.js';
import { Rng } from '../../src/util/rng.js';
import { msgIs, sleep, spawnDaemon } from './helpers.js';

/**
 * The crash test harness (issue 6, item 4): start the real daemon, SIGKILL it at random moments,
 * restart it, and check every restart. Job-agnostic: it reads only the daemon's logs (the
 * READY record carries the job status as restored) and the state directory, so swapping the job (`--daemon.job sac`, or a config
 * file) is all it takes to run it against the trainer.
 *
 * Checked at every restart:
 *   - every checkpoint directory with a final name verifies (sha256 of every file), and both
 *     daemon-state copies unseal: no file is corrupt (half-written checkpoints only ever exist
 *     as .tmp- directories, which are counted: they show the kill landed mid-write);
 *   - the daemon resumes from exactly the newest checkpoint on disk;
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
  /**
   * Inspect the checkpoints on disk: newest good one, how many verify, which are corrupt, how
   * many half-written. Default: the daemon's own store (checkpoints/). A job that keeps its own
   * checkpoints (OwnCheckpoints) passes the matching inspection.
   */
  inspect?: (stateDir: string) => Promise<CheckpointInspection>;
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

/** Inspect a CheckpointStore directory, plus the daemon's own state copies. */
export async function inspectStore(stateDir: string, storeDir = join(stateDir, 'checkpoints')): Promise<CheckpointInspection> {
  const store = new CheckpointStore(storeDir);
  const corrupt: string[] = [];
  let verified = 0;
  let newestSteps = -1;
  for (const name of await store.list()) {
    const v = await store.verify(name);
    if (v.ok) {
      verified++;
      newestSteps = Math.max(newestSteps, v.manifest.steps);
    } else corrupt.push(`${name}: ${v.reason}`);
  }
  let torn = 0;
  try {
    torn = readdirSync(store.dir).filter((n) => n.startsWith('.tmp-')).length;
  } catch {
    // no checkpoints directory yet
  }
  const refused = new StateDir(stateDir).loadState().refused;
  corrupt.push(...refused);
  return { newestSteps: Math.max(newestSteps, 0), verified, corrupt, torn };
}

export async function runCrashTest(o: CrashTestOptions): Promise<CrashReport> {
  const rng = new Rng(o.seed);
  const inspect = o.inspect ?? ((d: string) => inspectStore(d));
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
