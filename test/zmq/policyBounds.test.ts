/**
 * Every action that leaves the policy server is bounded by the configured safety limits
 * (zmq.policyActions = bounded, the default), or explicitly raw: the threaded server as the
 * daemon runs it, a real actor, a real DEALER client.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { FastPolicy } from '../../src/agent/fastPolicy.js';
import { defaultConfig } from '../../src/config/load.js';
import { Rng } from '../../src/util/rng.js';
import { decodeMessage, encodeMessage, requirePayload } from '../../src/zmq/codec.js';
import { ThreadedPolicyServer } from '../../src/zmq/threadedPolicyServer.js';
import type { ActionBounds } from '../../src/zmq/policyServer.js';
import { policyActionBounds } from '../../src/wiring/configOptions.js';
import { randomActor } from './fixtures/mlpPolicy.js';

async function actions(bounds: ActionBounds | null, observations: Float32Array[]): Promise<number[][]> {
  const server = await ThreadedPolicyServer.open({ endpoint: 'tcp://127.0.0.1:*', weights: randomActor(3, [16], 2, 5), version: 1, actionBounds: bounds });
  const client = new zmq.Dealer({ linger: 0, receiveTimeout: 5000 });
  try {
    client.connect(server.endpoint);
    const out: number[][] = [];
    for (const [i, o] of observations.entries()) {
      await client.send(encodeMessage('act', i + 1, {}, [{ name: 'observation', data: o }]));
      let frames = await client.receive();
      if (frames[0]!.length === 0) frames = frames.slice(1);
      out.push([...requirePayload(decodeMessage(frames), 'action', 2)]);
    }
    return out;
  } finally {
    client.close();
    await server.close();
  }
}

test('policy server: actions are clipped into the safety limits; raw only when asked', async () => {
  const rng = new Rng(9);
  const observations = Array.from({ length: 40 }, () => Float32Array.from({ length: 3 }, () => rng.range(-20, 20)));
  const raw = await actions(null, observations);
  // The same actor on this thread: raw actions are the policy's own.
  const local = new FastPolicy(randomActor(3, [16], 2, 5), new Rng(0), 1);
  const out = new Float32Array(2);
  local.act(observations[0]!, true, out);
  assert.deepEqual(raw[0], [...out]);
  const outside = raw.flat().filter((a) => Math.abs(a) > 0.5).length;
  assert.ok(outside > 5, `the actor's raw actions reach beyond the limits (${outside} components)`);

  // safety.commandMin/Max [-1, 0.5] on a command range [-2, 2]: actions [-0.5, 0.25].
  const config = { ...defaultConfig(), safety: { ...defaultConfig().safety, commandMin: [-1, -1], commandMax: [0.5, 0.5] } };
  const command = { size: 2, low: Float64Array.of(-2, -2), high: Float64Array.of(2, 2) };
  const bounds = policyActionBounds(config, command)!;
  assert.deepEqual(bounds, { low: [-0.5, -0.5], high: [0.25, 0.25] });
  const bounded = await actions(bounds, observations);
  for (const [i, a] of bounded.entries()) {
    for (let j = 0; j < 2; j++) assert.equal(a[j], Math.min(0.25, Math.max(-0.5, raw[i]![j]!)), `action ${i}[${j}]`);
  }
  assert.equal(policyActionBounds({ ...config, zmq: { ...config.zmq, policyActions: 'raw' } }, command), null);
  // Without limits configured, the bounds are the whole range.
  assert.deepEqual(policyActionBounds(defaultConfig(), command), { low: [-1, -1], high: [1, 1] });
});
