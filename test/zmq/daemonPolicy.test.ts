/**
 * The daemon's threaded policy server, end to end: a daemon process whose job publishes actor
 * weights, then gets stuck in a tick. The answers follow the published weights, the counts reach
 * the Prometheus metrics, and a stop that times out still exits 70 (an exit with the worker's
 * socket open would abort the process instead).
 */
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { decodeMessage, encodeMessage } from '../../src/zmq/codec.js';
import { ANY_PORTS, DIST, ensureAddon, killAll, msgIs, sleep, spawnDaemon, tempDir } from '../daemon/helpers.js';
import { SERVED_TICKS } from './fixtures/servingStuckJob.js';

before(ensureAddon);
afterEach(killAll);
after(killAll);

test('daemon: the policy server answers with the published weights while the job is stuck; counts reach the metrics; a timed-out stop exits 70', async () => {
  const job = join(DIST, 'test', 'zmq', 'fixtures', 'servingStuckJob.js');
  const d = spawnDaemon([
    ...ANY_PORTS, '--daemon.stateDir', tempDir(), '--daemon.job', job, '--daemon.stopTimeoutSeconds', '0.5',
    '--metrics.port', '0', '--sim.totalSteps', '1000000000',
  ]);
  const bound = await d.waitFor(msgIs('ZeroMQ sockets bound'), 30_000);
  const { url } = await d.waitFor(msgIs('metrics served'), 30_000);
  const dealer = new zmq.Dealer({ linger: 0, receiveTimeout: 5000 });
  dealer.connect(String(bound.policy));
  try {
    // The job published SERVED_TICKS versions, then stuck: the last one is served.
    let version = -1;
    for (let k = 0; k < 100 && version !== SERVED_TICKS; k++) {
      await dealer.send(encodeMessage('info', k, {}));
      version = decodeMessage(await dealer.receive()).header.policy_version as number;
      if (version !== SERVED_TICKS) await sleep(50);
    }
    assert.equal(version, SERVED_TICKS);
    await dealer.send(encodeMessage('act', 1000, {}, [{ name: 'observation', data: new Float32Array([1, 0, 0]) }]));
    const action = decodeMessage(await dealer.receive());
    assert.equal(action.topic, 'action');
    assert.equal(action.header.policy_version, SERVED_TICKS);
    await dealer.send(encodeMessage('act', 1001, {}, [{ name: 'observation', data: new Float32Array([1, 0]) }]));
    assert.equal((decodeMessage(await dealer.receive()).header.error as { code: string }).code, 'shape');

    // The worker's counts reach the daemon's Prometheus metrics (handed over every 250 ms).
    let text = '';
    for (let k = 0; k < 40 && !/sacbridge_zmq_errors_total\{socket="policy",kind="shape"\} 1/.test(text); k++) {
      await sleep(100);
      text = await (await fetch(`${String(url)}/metrics`)).text();
    }
    assert.match(text, /sacbridge_zmq_errors_total\{socket="policy",kind="shape"\} 1/);
    const requests = Number(/sacbridge_zmq_messages_total\{socket="policy",direction="in"\} ([0-9]+)/.exec(text)?.[1]);
    assert.ok(requests >= 3, `policy requests in the metrics: ${requests}`);
  } finally {
    dealer.close();
  }
  d.child.kill('SIGTERM');
  const exit = await d.exit;
  assert.deepEqual(exit, { code: 70, signal: null }, d.stderr.join(''));
});
