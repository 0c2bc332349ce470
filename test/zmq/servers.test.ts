import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { decodeMessage, encodeMessage, requirePayload, type Message } from '../../src/zmq/codec.js';
import { PolicyServer } from '../../src/zmq/policyServer.js';
import { ControlServer, CONTROL_COMMANDS } from '../../src/zmq/controlServer.js';
import type { JsonObject } from '../../src/util/json.js';
import { TelemetryPublisher } from '../../src/zmq/telemetry.js';
import { MlpPolicy } from './fixtures/mlpPolicy.js';
import { FixturePhases } from './fixtures/liveServer.js';

async function receiveMessage(socket: zmq.Dealer | zmq.Request | zmq.Subscriber): Promise<Message> {
  let frames = await socket.receive();
  if (frames[0].length === 0) frames = frames.slice(1);
  return decodeMessage(frames);
}

test('policy server: DEALER and REQ clients get the policy action and version; many clients at once', async () => {
  const policy = MlpPolicy.random(17, [64, 64], 6, 11);
  const reference = MlpPolicy.random(17, [64, 64], 6, 11);
  const tally = new Map<string, number>();
  const bump = (k: string): void => void tally.set(k, (tally.get(k) ?? 0) + 1);
  const metrics = { zmqMessage: (socket: string, dir: string) => bump(`${socket}.${dir}`), zmqError: (socket: string, kind: string) => bump(`${socket}!${kind}`) };
  const server = await PolicyServer.open({ endpoint: 'tcp://127.0.0.1:*', policy, metrics });
  const clients = Array.from({ length: 8 }, (_, i) => {
    const s = i % 2 === 0 ? new zmq.Dealer({ linger: 0 }) : new zmq.Request({ linger: 0 });
    s.connect(server.endpoint);
    return s;
  });
  try {
    const observation = (c: number, k: number): Float32Array => new Float32Array(17).map((_, j) => Math.sin(c * 17 + j + k));
    await Promise.all(
      clients.map(async (s, c) => {
        for (let k = 0; k < 50; k++) {
          const obs = observation(c, k);
          const req = encodeMessage('act', k, { deterministic: true }, [{ name: 'observation', data: obs }]);
          await s.send(req);
          const reply = await receiveMessage(s);
          assert.equal(reply.topic, 'action');
          assert.equal(reply.header.seq, k);
          assert.equal(reply.header.policy_version, 1);
          const expected = new Float32Array(6);
          reference.act(obs, true, expected);
          assert.deepEqual(requirePayload(reply, 'action', 6), expected);
        }
      }),
    );
    assert.equal(server.counters.actions, 400);

    // Sampled actions differ between calls and stay in [-1, 1]; the version follows the policy.
    policy.version = 5;
    const d = clients[0] as zmq.Dealer;
    const obs = observation(0, 0);
    const sampled: number[][] = [];
    for (let k = 0; k < 2; k++) {
      await d.send(encodeMessage('act', 100 + k, { deterministic: false }, [{ name: 'observation', data: obs }]));
      const reply = await receiveMessage(d);
      assert.equal(reply.header.policy_version, 5);
      assert.equal(reply.header.deterministic, false);
      sampled.push([...requirePayload(reply, 'action', 6)]);
    }
    assert.notDeepEqual(sampled[0], sampled[1]);
    assert.ok(sampled.flat().every((x) => Math.abs(x) <= 1));

    await d.send(encodeMessage('info', 7, {}));
    const info = await receiveMessage(d);
    assert.deepEqual([info.header.observation_size, info.header.action_size, info.header.policy_version], [17, 6, 5]);

    // Errors are replied, named and counted.
    await d.send(encodeMessage('act', 8, {}, [{ name: 'observation', data: new Float32Array(16) }]));
    const err = await receiveMessage(d);
    assert.equal(err.topic, 'error');
    assert.equal(err.header.seq, 8);
    assert.deepEqual(err.header.error, { code: 'shape', message: "payload 'observation' has 16 elements, expected 17" });
    await d.send(encodeMessage('fly', 9, {}));
    const topicErr = await receiveMessage(d);
    assert.equal(topicErr.header.seq, 9);
    assert.deepEqual(topicErr.header.error, { code: 'topic', message: "policy server answers 'act' and 'info', not 'fly'" });
    assert.deepEqual(server.counters.rejected.byCode, { shape: 1, topic: 1 });
    // The same events reach a metrics sink (the daemon's Metrics has this shape).
    assert.deepEqual(Object.fromEntries(tally), { 'policy.in': 405, 'policy.out': 405, 'policy!shape': 1, 'policy!topic': 1 });
    assert.throws(() => server.setPolicy(MlpPolicy.random(3, [4], 6, 1)), /3 -> 6.*17 -> 6/);
  } finally {
    for (const c of clients) c.close();
    await server.close();
  }
});

test('control server: commands reach the handler with checked arguments; errors name the problem', async () => {
  const phases = new FixturePhases(() => undefined);
  const server = await ControlServer.open({ endpoint: 'tcp://127.0.0.1:*', handler: phases, handlerTimeoutMs: 200 });
  const req = new zmq.Request({ linger: 0 });
  req.connect(server.endpoint);
  const call = async (body: unknown): Promise<Record<string, unknown>> => {
    await req.send(typeof body === 'string' ? body : JSON.stringify(body));
    const [reply] = await req.receive();
    return JSON.parse(reply.toString()) as Record<string, unknown>;
  };
  try {
    assert.deepEqual(await call({ v: 1, id: 1, cmd: 'status' }), { v: 1, id: 1, ok: true, result: { phase: 'idle', checkpoints: 0 } });
    assert.deepEqual((await call({ v: 1, id: 2, cmd: 'switch_phase', args: { phase: 'sim_training' } })).result, { from: 'idle', phase: 'sim_training' });
    assert.equal(phases.phase, 'sim_training');
    assert.deepEqual((await call({ v: 1, cmd: 'evaluate', args: { episodes: 4 } })).result, { started: true, episodes: 4, deterministic: true });
    const refused = await call({ v: 1, id: 'r', cmd: 'resume' });
    assert.deepEqual(refused, { v: 1, id: 'r', ok: false, error: { code: 'refused', message: 'resume needs phase paused, the phase is sim_training' } });
    const errorOf = async (body: unknown): Promise<{ code: string; message: string }> => (await call(body)).error as { code: string; message: string };
    assert.deepEqual(await errorOf({ v: 1, cmd: 'explode' }), {
      code: 'unknown_command',
      message: `unknown command "explode" (known: ${Object.keys(CONTROL_COMMANDS).join(', ')})`,
    });
    assert.equal((await errorOf({ v: 1, cmd: 'toString' })).code, 'unknown_command');
    assert.deepEqual(await errorOf({ v: 1, cmd: 'evaluate', args: { episodes: 'ten' } }), {
      code: 'bad_arguments',
      message: 'evaluate: args.episodes must be an integer, got the string "ten"',
    });
    assert.match((await errorOf({ v: 1, cmd: 'switch_phase' })).message, /args\.phase is required/);
    assert.match((await errorOf({ v: 1, cmd: 'status', args: [] })).message, /args must be an object/);
    assert.equal((await errorOf('{nope')).code, 'request_json');
    assert.equal((await errorOf({ v: 3, cmd: 'status' })).code, 'version');
    assert.equal((await errorOf({ v: 1, cmd: 5 })).code, 'request_json');
    // A multipart request is answered too.
    await req.send(['{"v":1,"cmd":"status"}', 'extra']);
    assert.equal(JSON.parse((await req.receive())[0].toString()).error.code, 'frame_count');
    // A handler that never answers gets a timeout reply, and the server keeps serving.
    phases.status = () => new Promise<JsonObject>(() => undefined);
    assert.deepEqual(await errorOf({ v: 1, cmd: 'status' }), { code: 'timeout', message: 'status: the daemon did not answer within 200 ms' });
    // A result that is not JSON becomes an error reply, not a dead server.
    phases.evaluate = () => ({ big: 1n }) as unknown as JsonObject;
    assert.match((await errorOf({ v: 1, cmd: 'evaluate' })).message, /result is not JSON.*BigInt/);
    const path = ((await call({ v: 1, cmd: 'checkpoint', args: { tag: 't' } })).result as { path: string }).path;
    assert.match(path, /checkpoint.*-t\.json$/);
    assert.equal(server.counters.rejected.total, 11);
    assert.equal(server.counters.succeeded, 5);
  } finally {
    req.close();
    await server.close();
  }
});

test('telemetry: subscribers get tick/update/phase; a stalled subscriber never slows publishing', async () => {
  const pub = await TelemetryPublisher.open({ endpoint: 'tcp://127.0.0.1:*', sendHighWaterMark: 50 });
  const fast = new zmq.Subscriber({ linger: 0 });
  fast.subscribe('tick', 'update', 'phase');
  fast.connect(pub.endpoint);
  const stalled = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 10 });
  stalled.subscribe();
  stalled.connect(pub.endpoint);
  try {
    // Wait until both subscriptions have reached the publisher.
    const obs = new Float32Array(1000).fill(0.5);
    const action = new Float32Array([0.25, NaN]);
    const tick = (step: number): void =>
      pub.publishTick({
        step, episode: 0, episodeStep: step, phase: 'sim_training', policyVersion: 3, observation: obs, action,
        reward: step === 1 ? NaN : -1, terminated: false, truncated: false,
        timing: { periodNs: 1e6, jitterNs: 12.4, computeNs: 345, late: false },
      });
    fast.receiveTimeout = 20;
    for (let k = 0; ; k++) {
      tick(0);
      try {
        await fast.receive();
        break;
      } catch {
        assert.ok(k < 200, 'subscription never reached the publisher');
      }
    }
    fast.receiveTimeout = 2000;
    await new Promise((r) => setTimeout(r, 50));
    while (true) {
      try {
        fast.receiveTimeout = 0;
        await fast.receive();
      } catch {
        break;
      }
    }
    fast.receiveTimeout = 2000;
    tick(1);
    pub.publishUpdate({ update: 4, policyVersion: 3, losses: { q1: 0.5, actor: Infinity }, temperature: 0.1, entropy: -6 });
    pub.publishPhase({ from: 'sim_training', to: 'paused', reason: 'test' });
    const t = await receiveMessage(fast);
    assert.equal(t.topic, 'tick');
    assert.equal(t.header.reward, null);
    assert.deepEqual(t.header.timing, { period_ns: 1000000, jitter_ns: 12, compute_ns: 345, late: false });
    assert.deepEqual(requirePayload(t, 'observation', 1000), obs);
    assert.ok(Number.isNaN(requirePayload(t, 'action', 2, true)[1]));
    const u = await receiveMessage(fast);
    assert.deepEqual([u.topic, u.header.losses, u.header.temperature], ['update', { q1: 0.5, actor: null }, 0.1]);
    assert.equal(u.header.seq, (t.header.seq as number) + 1);
    const p = await receiveMessage(fast);
    assert.deepEqual([p.topic, p.header.from, p.header.to, p.header.reason], ['phase', 'sim_training', 'paused', 'test']);

    // 20000 ticks of 4 KB each while one subscriber never reads: publish stays synchronous and
    // the reading subscriber keeps up, seeing the messages in order.
    let received = 0;
    let lastSeq = p.header.seq as number;
    let inOrder = true;
    const reader = (async () => {
      fast.receiveTimeout = 500;
      try {
        for (;;) {
          const m = await receiveMessage(fast);
          if ((m.header.seq as number) <= lastSeq) inOrder = false;
          lastSeq = m.header.seq as number;
          received++;
        }
      } catch {
        // quiet for 500 ms: done
      }
    })();
    const start = performance.now();
    for (let s = 0; s < 20000; s++) {
      tick(s);
      if (s % 20 === 19) await new Promise((r) => setImmediate(r));
    }
    const elapsed = performance.now() - start;
    await reader;
    assert.ok(inOrder);
    // The stalled subscriber's queues filled and PUB dropped for it alone.
    let stalledGot = 0;
    stalled.receiveTimeout = 100;
    try {
      for (;;) {
        await stalled.receive();
        stalledGot++;
      }
    } catch {
      // drained
    }
    assert.ok(stalledGot < 20000, `stalled subscriber got ${stalledGot}`);
    assert.ok(received > stalledGot, `reading subscriber got ${received}, stalled ${stalledGot}`);
    assert.equal(pub.counters.dropped, 0);
    assert.ok(pub.counters.published >= 20003);
    // Not a timing assertion on speed: just that 20k publishes did not wait on the stalled peer
    // (its queue holds at most ~60 of them; blocking would never have finished).
    assert.ok(Number.isFinite(elapsed));
  } finally {
    fast.close();
    stalled.close();
    pub.close();
  }
});
