/**
 * Issue 19, item 5: a full disk degrades, never kills. The real daemon on a small tmpfs: when
 * the disk fills, a checkpoint fails, is logged and counted, its temp directory is removed, the
 * previous generation stays intact and the daemon trains on, retrying with backoff; once space
 * is back the retry succeeds; when nothing can be saved for daemon.checkpointFailureTimeoutSeconds
 * the daemon stops with exit 74 (EX_IOERR). Needs root (mount); elsewhere it says why it skipped.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { readGeneration, listGenerations } from '../../src/agent/checkpoint.js';
import { killAll, msgIs, spawnDaemon, tempDir, TINY_SAC } from './helpers.js';

afterEach(killAll);

function mountProblem(): string | false {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs';
  const probe = tempDir('sacbridge-mount-probe-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
    return false;
  } catch (err) {
    return `cannot mount a tmpfs here: ${(err as Error).message}`;
  }
}

/** Fill the filesystem holding `dir` to the last byte; returns the filler's path. */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  const chunk = Buffer.alloc(64 * 1024, 1);
  const small = Buffer.alloc(512, 1);
  try {
    for (;;) appendFileSync(filler, chunk);
  } catch {
    // full to the last 64 KiB
  }
  try {
    for (;;) appendFileSync(filler, small);
  } catch {
    // full
  }
  return filler;
}

const failed = (r: Record<string, unknown>): boolean => r.msg === "checkpoint failed; the previous one is intact, training goes on";

test('a full disk: the checkpoint fails, is logged, counted and retried; the daemon runs on; it stops (74) only after the configured time', { skip: mountProblem(), timeout: 180_000 }, async () => {
  const mnt = tempDir('sacbridge-diskfull-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt]);
  try {
    const stateDir = join(mnt, 'state');
    mkdirSync(stateDir);
    const d = spawnDaemon([
      ...TINY_SAC,
      '--rl.bufferSize', '2000',
      '--daemon.stateDir', stateDir,
      '--daemon.checkpointEverySteps', '50',
      '--daemon.checkpointEverySeconds', '0',
      '--daemon.keepCheckpoints', '2',
      '--daemon.checkpointFailureTimeoutSeconds', '4',
      '--daemon.statusEverySeconds', '0.2',
      '--sim.totalSteps', '1000000000',
      '--sim.evalEvery', '0',
      '--metrics.port', '0',
    ]);
    await d.waitFor(msgIs('checkpoint written'), 60_000, 'a first checkpoint');
    const filler = fill(mnt);
    const failure = await d.waitFor(failed, 60_000, 'a failed checkpoint');
    assert.match(String(failure.err), /ENOSPC|no space/i);
    const root = join(stateDir, 'run', 'checkpoints');
    // The failed save removed its temp directory, and the previous generation verifies.
    assert.deepEqual(readdirSync(root).filter((n) => n.includes('.tmp')), []);
    const gens = await listGenerations(root);
    assert.ok(gens.length >= 1);
    await readGeneration(join(root, gens[0]!));
    // Still running and counting: /metrics has the failure.
    const url = (await d.waitFor(msgIs('metrics served'))).url;
    assert.ok(typeof url === 'string');
    const text = await (await fetch(`${url}/metrics`)).text();
    assert.match(text, /^sacbridge_write_failures_total\{what="checkpoint"\} [1-9]/m);
    assert.equal(d.child.exitCode, null, 'the daemon runs on');

    // Space comes back: the next retry writes a checkpoint.
    rmSync(filler);
    const retried = await d.waitFor((r) => r.msg === 'checkpoint written' && String(r.reason).startsWith('retry'), 30_000, 'a retried checkpoint');
    assert.ok(typeof retried.checkpoint === 'string');

    // Full again, for longer than daemon.checkpointFailureTimeoutSeconds: exit 74, naming the key.
    fill(mnt);
    const exit = await d.exit;
    assert.equal(exit.code, 74, d.stderr.join(''));
    assert.ok(d.logs.some((r) => typeof r.msg === 'string' && /no checkpoint could be saved for \d+ s \(daemon\.checkpointFailureTimeoutSeconds = 4\)/.test(r.msg)));
    assert.deepEqual(readdirSync(root).filter((n) => n.includes('.tmp')), []);
    await readGeneration(join(root, (await listGenerations(root))[0]!));
  } finally {
    execFileSync('umount', ['-l', mnt]);
  }
});
