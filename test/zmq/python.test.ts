import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { loadCheckpoint } from '../../src/agent/checkpoint.js';
import { join } from 'node:path';
import { killAll, msgIs, spawnDaemon, tempDir, TINY_SAC } from '../daemon/helpers.js';
import { PYTHON, runToEnd } from './fixtures/processes.js';

afterEach(killAll);

/**
 * The Python client (clients/python/) against a live daemon: `sacbridge run` training SAC on the
 * pendulum with a tiny configuration, its sockets on free loopback ports.
 */
test('python client against a live daemon: telemetry, actions, control commands', { timeout: 120_000 }, async () => {
  const dir = tempDir('sacbridge-py-');
  const d = spawnDaemon([...TINY_SAC, '--daemon.stateDir', dir, '--metrics.enabled', 'false', '--sim.totalSteps', '1000000000', '--sim.evalEvery', '0', '--sim.evalEpisodes', '3']);
  const bound = await d.waitFor(msgIs('ZeroMQ sockets bound'), 30_000);
  const endpoints = { telemetry: bound.telemetry, policy: bound.policy, control: bound.control, switch_to: 'evaluating' };
  const run = await runToEnd(PYTHON, ['clients/python/tests/check_live.py', JSON.stringify(endpoints)]);
  assert.equal(run.code, 0, `python client failed:\n${run.stderr}`);
  const seen = JSON.parse(run.stdout) as {
    tick: { step: number; observation: number[]; action: number[]; reward: number; timing: Record<string, unknown>; policy_version: number };
    update: { losses: Record<string, number>; temperature: number; entropy: number; policy_version: number };
    policy: { info: Record<string, number>; observation: number[]; action: number[]; version: number; deterministic_pairs: number };
    control: Record<string, Record<string, unknown> | string>;
    phases: string[][];
    telemetry_missed: number;
  };
  // Pendulum: observation (cos, sin, angular velocity), one torque.
  assert.equal(seen.tick.observation.length, 3);
  assert.equal(seen.tick.action.length, 1);
  assert.ok(Math.abs(seen.tick.action[0]!) <= 1);
  assert.ok(Number.isFinite(seen.tick.reward));
  assert.deepEqual(Object.keys(seen.update.losses).sort(), ['actor', 'alpha', 'q1', 'q2']);
  assert.ok(seen.update.temperature > 0);
  assert.deepEqual([seen.policy.info.observation_size, seen.policy.info.action_size], [3, 1]);
  assert.ok(Number.isInteger(seen.policy.version) && seen.policy.version >= 0, 'version = updates behind the served weights');
  assert.ok(Math.abs(seen.policy.action[0]!) <= 1);
  const c = seen.control as Record<string, Record<string, unknown>>;
  assert.equal(c.status!.phase, 'sim_training');
  assert.equal(c.status!.job, 'sac');
  // The policy server's counts (kept in its worker thread) reach the daemon's status.
  const served = c.status!.policyServer as { requests: number; actions: number; rejected: { byCode: Record<string, number> }; running: boolean };
  // The client asks for deterministic pairs until one policy version answers both (the daemon
  // trains meanwhile), then two sampled actions, an info and three bad requests.
  const pairs = seen.policy.deterministic_pairs;
  assert.ok(Number.isInteger(pairs) && pairs >= 1, `deterministic pairs ${pairs}`);
  assert.deepEqual([served.requests, served.actions, served.running], [6 + 2 * pairs, 2 + 2 * pairs, true]);
  assert.deepEqual(served.rejected.byCode, { shape: 1, non_finite: 1, version: 1 });
  assert.equal(c.status_paused!.phase, 'paused');
  assert.match(seen.control.resume_refused as string, /only a paused daemon resumes/);
  assert.match(seen.control.unknown as string, /unknown command "launch_missiles"/);
  assert.deepEqual(seen.phases, [['sim_training', 'paused'], ['paused', 'sim_training'], ['sim_training', 'estop'], ['estop', 'sim_training'], ['sim_training', 'evaluating']]);
  assert.equal(seen.telemetry_missed, 0);
  // The checkpoint the client asked for is on disk and verifies.
  const ck = c.checkpoint!;
  const loaded = await loadCheckpoint(join(dir, 'run', 'checkpoints', String(ck.name)));
  assert.equal(loaded.counters.steps, ck.steps);
  d.child.kill('SIGTERM');
  assert.equal((await d.exit).code, 0, d.stderr.join(''));
});
