import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listGenerations, readGeneration } from '../../src/agent/checkpoint.js';
import type { JobStatus } from '../../src/daemon/job.js';
import { StateDir } from '../../src/daemon/stateDir.js';
import { Rng } from '../../src/util/rng.js';
import { controlCall, msgIs, sleep, spawnDaemon } from './helpers.js';

/**
 * The crash test harness (issue 6, item 4): start the real daemon, SIGKILL it at random moments,
 * restart it, and check every restart. It reads only the daemon's logs (the READY record
 * carries the job status as restored) and the state directory.
 *
 * Checked at every restart:
 *   - every checkpoint generation with a final name verifies (sha256 of every file), and both
 *     daemon-state copies unseal: no file is corrupt (half-written generations only ever exist
 *     as .tmp- directories, which are counted: they show the kill landed mid-write);
 *   - the daemon resumes from the newest generation on disk that verifies (found here by
 *     verifying every one, not by asking the loader or trusting `latest`);
 *   - no temporary file of an earlier process survives the restart (in the state directory,
 *     the run directory and the checkpoint root: names carry the writer's pid);
 *   - job counters never go back; the replay buffer holds at least what it held at the
 *     previous restart (i.e. what the last checkpoint held);
 *   - no checkpoint the killed process logged as written is lost (the restore is at least as
 *     new), and the steps lost are measured: the killed process's steps by its last answer to a
 *     control `status` (polled every 100 ms, so the kill moment stays random) minus the steps
 *     restored; with `checkpointEverySteps` they may not exceed one interval.
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
  /** The daemon's daemon.checkpointEverySteps: the most steps a kill may lose. */
  checkpointEverySteps?: number;
}

export interface CheckpointInspection {
  /** Steps of the newest generation that verifies (0 when none). */
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
  /** Steps of the last checkpoint this round's process logged as written before the kill (0: none). */
  lastWrittenSteps: number;
  /** Steps this round's process reported (control status) last before the kill; -1 when it never answered. */
  stepsAtKill: number;
  /** stepsAtKill minus the steps the next start restored (a lower bound: steps between that answer and the kill are not seen). */
  lostSteps: number;
}

export interface CrashReport {
  rounds: CrashRound[];
  /** Records in metrics.jsonl at the end (each checked to be there once). */
  metricsRecords: number;
  /** Temporary files left after the final clean stop. */
  tempFilesAtEnd: number;
  /** Checkpoints verified over all restarts (each one counted at each restart it was on disk). */
  checkpointsVerified: number;
  corruptCheckpoints: number;
  killsMidCheckpoint: number;
  /** The most steps one kill lost (see CrashRound.lostSteps). */
  maxLostSteps: number;
  finalSteps: number;
  finalExitCode: number | null;
}

/** Inspect the checkpoint generations (run/checkpoints/) and the daemon's own state copies. */
export async function inspectCheckpoints(stateDir: string): Promise<CheckpointInspection> {
  const root = join(stateDir, 'run', 'checkpoints');
  const corrupt: string[] = [];
  let verified = 0;
  let newestSteps: number | null = null;
  for (const g of await listGenerations(root)) {
    try {
      const gen = await readGeneration(join(root, g));
      verified++;
      newestSteps ??= gen.counters.steps ?? 0;
    } catch (err) {
      corrupt.push(`${g}: ${(err as Error).message}`);
    }
  }
  let torn = 0;
  try {
    torn = readdirSync(root).filter((n) => n.includes('.tmp-')).length;
  } catch {
    // no checkpoints directory yet
  }
  corrupt.push(...new StateDir(stateDir).loadState().refused);
  return { newestSteps: newestSteps ?? 0, verified, corrupt, torn };
}

/** Temporary files (any writer's) under the state directory, with the pid in their name. */
export function tempFiles(stateDir: string): { path: string; pid: number }[] {
  const found: { path: string; pid: number }[] = [];
  for (const dir of [stateDir, join(stateDir, 'run'), join(stateDir, 'run', 'checkpoints')]) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      // .name.<pid>.<ms>.tmp (atomic writes), gen-N.tmp-<pid> (checkpoints), daemon.lock.<pid>.tmp
      const m = /^\..+\.([0-9]+)\.[0-9]+\.tmp$/.exec(n) ?? /\.tmp-([0-9]+)$/.exec(n) ?? /^daemon\.lock\.([0-9]+)\.tmp$/.exec(n);
      if (m !== null) found.push({ path: join(dir, n), pid: Number(m[1]) });
      else if (n.includes('.tmp')) found.push({ path: join(dir, n), pid: -1 });
    }
  }
  return found;
}

/**
 * metrics.jsonl after the run: every episode and update record once (by its counter), steps
 * never going back, no unreadable line. Returns the problems found.
 */
export function metricsProblems(stateDir: string): { records: number; problems: string[] } {
  const lines = readFileSync(join(stateDir, 'run', 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l !== '');
  const problems: string[] = [];
  const seen = new Set<string>();
  let lastStep = -1;
  lines.forEach((line, i) => {
    let r: { type?: string; step?: number; episode?: number; updates?: number };
    try {
      r = JSON.parse(line) as typeof r;
    } catch {
      problems.push(`line ${i + 1} is not JSON: ${line.slice(0, 80)}`);
      return;
    }
    const key = r.type === 'episode' ? `episode ${r.episode}` : r.type === 'update' ? `update ${r.updates}` : r.type === 'eval' ? `eval at ${r.step}` : null;
    if (key !== null) {
      if (seen.has(key)) problems.push(`line ${i + 1}: ${key} is repeated`);
      seen.add(key);
    }
    if (typeof r.step === 'number') {
      if (r.step < lastStep) problems.push(`line ${i + 1}: step goes back from ${lastStep} to ${r.step}`);
      lastStep = r.step;
    }
  });
  return { records: lines.length, problems };
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
    const survivors = tempFiles(o.stateDir).filter((f) => f.pid !== d.child.pid);
    assert.deepEqual(survivors, [], `round ${round}: temporary files of an earlier process survived the restart`);
    const restored = ready.restored as JobStatus;
    const restoredSteps = restored.envSteps;
    const restoredReplay = restored.replaySize;
    assert.equal(restoredSteps, before.newestSteps, `round ${round}: resumed from the newest generation that verifies`);
    assert.ok(restoredSteps >= prevSteps, `round ${round}: steps went back from ${prevSteps} to ${restoredSteps}`);
    assert.ok(restoredReplay >= prevReplay, `round ${round}: replay shrank from ${prevReplay} to ${restoredReplay}`);
    prevSteps = restoredSteps;
    prevReplay = restoredReplay;
    return { d, before, restoredSteps, restoredReplay, startMs };
  };
  // What the previous round's process reached, checked against the next start's restore.
  let killed: { lastWrittenSteps: number; stepsAtKill: number } | null = null;
  const settle = (round: number, restoredSteps: number): { lastWrittenSteps: number; stepsAtKill: number; lostSteps: number } => {
    if (killed === null) return { lastWrittenSteps: 0, stepsAtKill: -1, lostSteps: 0 };
    assert.ok(restoredSteps >= killed.lastWrittenSteps, `round ${round}: the killed process logged a checkpoint at ${killed.lastWrittenSteps} steps, the restart restored ${restoredSteps}`);
    const lostSteps = killed.stepsAtKill < 0 ? 0 : Math.max(0, killed.stepsAtKill - restoredSteps);
    if (o.checkpointEverySteps !== undefined) {
      assert.ok(lostSteps <= o.checkpointEverySteps, `round ${round}: ${lostSteps} steps lost (at ${killed.stepsAtKill} when killed, ${restoredSteps} restored), more than one checkpoint interval (${o.checkpointEverySteps})`);
    }
    return { ...killed, lostSteps };
  };
  for (let round = 1; round <= o.kills; round++) {
    const { d, before, restoredSteps, restoredReplay, startMs } = await start(round);
    if (round > 1) Object.assign(rounds[rounds.length - 1]!, settle(round, restoredSteps));
    const control = d.logs.find(msgIs('ZeroMQ sockets bound'))?.control;
    let stepsAtKill = -1;
    let polling = typeof control === 'string';
    const poller = (async () => {
      while (polling) {
        const r = await controlCall(control as string, 'status').catch(() => null);
        const steps = (r?.result?.jobStatus as { envSteps?: unknown } | undefined)?.envSteps;
        if (polling && typeof steps === 'number') stepsAtKill = steps;
        await sleep(100);
      }
    })();
    const aliveMs = Math.round(rng.range(o.minAliveMs, o.maxAliveMs));
    await sleep(aliveMs);
    d.child.kill('SIGKILL');
    polling = false;
    const exit = await d.exit;
    await poller;
    assert.equal(exit.signal, 'SIGKILL', `round ${round}: the daemon died of something else: ${JSON.stringify(exit)} ${d.stderr.join('')}`);
    const written = d.logs.filter(msgIs('checkpoint written')).map((l) => Number(l.steps));
    killed = { lastWrittenSteps: written.length > 0 ? Math.max(...written) : 0, stepsAtKill };
    rounds.push({ round, expectedSteps: before.newestSteps, restoredSteps, restoredReplay, tornCheckpoints: before.torn, aliveMs, startMs, lastWrittenSteps: 0, stepsAtKill: -1, lostSteps: 0 });
  }
  // A last clean run: resume, then SIGTERM must exit 0 with a final checkpoint.
  const last = await start(o.kills + 1);
  if (rounds.length > 0) Object.assign(rounds[rounds.length - 1]!, settle(o.kills + 1, last.restoredSteps));
  rounds.push({ round: o.kills + 1, expectedSteps: last.before.newestSteps, restoredSteps: last.restoredSteps, restoredReplay: last.restoredReplay, tornCheckpoints: last.before.torn, aliveMs: 0, startMs: last.startMs, lastWrittenSteps: 0, stepsAtKill: -1, lostSteps: 0 });
  await sleep(o.minAliveMs);
  last.d.child.kill('SIGTERM');
  const exit = await last.d.exit;
  const after = await inspect(o.stateDir);
  assert.deepEqual(after.corrupt, []);
  const metrics = metricsProblems(o.stateDir);
  assert.deepEqual(metrics.problems, [], 'metrics.jsonl: each record once, steps never going back');
  return {
    metricsRecords: metrics.records,
    tempFilesAtEnd: tempFiles(o.stateDir).length,
    rounds,
    checkpointsVerified: checkpointsVerified + after.verified,
    corruptCheckpoints: 0,
    killsMidCheckpoint: rounds.filter((r) => r.tornCheckpoints > 0).length,
    maxLostSteps: Math.max(0, ...rounds.map((r) => r.lostSteps)),
    finalSteps: after.newestSteps,
    finalExitCode: exit.code,
  };
}
