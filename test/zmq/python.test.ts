import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PYTHON, runToEnd, startPeer } from './fixtures/processes.js';
import { MlpPolicy } from './fixtures/mlpPolicy.js';

test('python client against a live node process: telemetry, actions, control commands', async () => {
  const server = startPeer(process.execPath, ['dist/test/zmq/fixtures/liveServer.js', '--serve', '--obs', '5', '--act', '3', '--seed', '21']);
  try {
    const endpoints = await server.nextLine();
    const run = await runToEnd(PYTHON, ['clients/python/tests/check_live.py', JSON.stringify(endpoints)]);
    assert.equal(run.code, 0, `python client failed:\n${run.stderr}`);
    const seen = JSON.parse(run.stdout) as {
      tick: { observation: number[]; action: number[]; timing: Record<string, unknown> };
      policy: { info: Record<string, number>; observation: number[]; action: number[]; version: number };
      control: Record<string, unknown>;
      phases: string[][];
      telemetry_missed: number;
    };
    // The same policy computed here gives what Python received, for telemetry and for the policy server.
    const reference = MlpPolicy.random(5, [32, 32], 3, 21);
    const check = (obs: number[], got: number[]): void => {
      const out = new Float32Array(3);
      reference.act(Float32Array.from(obs), true, out);
      assert.deepEqual(got, [...out]);
    };
    check(seen.tick.observation, seen.tick.action);
    check(seen.policy.observation, seen.policy.action);
    assert.equal(seen.policy.info.observation_size, 5);
    assert.equal(seen.policy.version, 1);
    assert.deepEqual(seen.control.status, { phase: 'idle', checkpoints: 0 });
    assert.deepEqual(seen.control.status_paused, { phase: 'paused', checkpoints: 0 });
    assert.match(seen.control.unknown as string, /unknown command "launch_missiles"/);
    assert.deepEqual(seen.phases, [['idle', 'paused'], ['paused', 'idle'], ['idle', 'estop'], ['estop', 'paused'], ['paused', 'sim_training']]);
    assert.equal(seen.telemetry_missed, 0);
  } finally {
    assert.equal(await server.stop(), 0, server.stderr());
  }
});
