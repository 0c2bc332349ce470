/**
 * Every socket takes 100k fuzzed messages (random frames and sizes, truncated headers, wrong
 * dtypes, shapes and versions, NaN payloads, some valid ones): no crash, a reply for every
 * request where the pattern has replies, every rejection counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { decodeMessage, encodeMessage, PROTOCOL_ERROR_CODES, type Message } from '../../src/zmq/codec.js';
import { PolicyServer } from '../../src/zmq/policyServer.js';
import { ThreadedPolicyServer } from '../../src/zmq/threadedPolicyServer.js';
import { ControlServer } from '../../src/zmq/controlServer.js';
import { TelemetryPublisher } from '../../src/zmq/telemetry.js';
import { ZmqPlant } from '../../src/plant/zmq/zmqPlant.js';
import { Rng } from '../../src/util/rng.js';
import { MlpPolicy, randomActor } from './fixtures/mlpPolicy.js';
import { FixturePhases } from './fixtures/liveServer.js';
import { FUZZ_KINDS, fuzzControlRequest, fuzzMessage } from './fixtures/fuzz.js';

const TOTAL = 100_000;
const CLIENTS = 4;
const WINDOW = 256;

/** Send `count` messages from one DEALER keeping up to WINDOW in flight; returns the replies. */
async function pipelined(dealer: zmq.Dealer, count: number, next: (i: number) => Buffer[], onReply: (frames: Buffer[]) => void): Promise<void> {
  let sent = 0;
  let received = 0;
  const receiving = (async () => {
    while (received < count) {
      onReply(await dealer.receive());
      received++;
    }
  })();
  while (sent < count) {
    if (sent - received < WINDOW) {
      await dealer.send(next(sent));
      sent++;
    } else {
      await new Promise((r) => setImmediate(r));
    }
  }
  await receiving;
}

/** What the fuzz test needs of a policy server: both the in-thread one and the daemon's threaded one. */
interface FuzzedPolicyServer {
  readonly endpoint: string;
  readonly counters: { readonly requests: number; readonly rejected: { total: number } };
  close(): Promise<void>;
}

const POLICY_SERVERS: [string, () => Promise<FuzzedPolicyServer>][] = [
  ['in-thread', () => PolicyServer.open({ endpoint: 'tcp://127.0.0.1:*', policy: MlpPolicy.random(17, [16], 6, 2) })],
  ['threaded (the daemon\'s)', () => ThreadedPolicyServer.open({ endpoint: 'tcp://127.0.0.1:*', weights: randomActor(17, [16], 6, 2), version: 1 })],
];

for (const [kind, open] of POLICY_SERVERS) test(`fuzz: ${kind} policy server answers 100k fuzzed requests from 4 pipelined clients, counting every rejection`, async () => {
  const server = await open();
  const dealers = Array.from({ length: CLIENTS }, () => {
    const d = new zmq.Dealer({ linger: 0, receiveTimeout: 10_000 });
    d.connect(server.endpoint);
    return d;
  });
  let expectedValid = 0;
  let actions = 0;
  let errors = 0;
  const codes = new Set<string>();
  try {
    await Promise.all(
      dealers.map((d, c) => {
        const rng = new Rng(100 + c);
        return pipelined(
          d,
          TOTAL / CLIENTS,
          (i) => {
            const kind = FUZZ_KINDS[rng.int(FUZZ_KINDS.length)];
            if (kind === 'valid') expectedValid++;
            return fuzzMessage(rng, kind, 'act', 'observation', 17, i);
          },
          (frames) => {
            const msg: Message = decodeMessage(frames[0].length === 0 ? frames.slice(1) : frames);
            if (msg.topic === 'action') actions++;
            else {
              assert.equal(msg.topic, 'error');
              errors++;
              codes.add((msg.header.error as { code: string }).code);
            }
          },
        );
      }),
    );
    assert.equal(actions + errors, TOTAL);
    assert.equal(actions, expectedValid);
    assert.equal(server.counters.requests, TOTAL);
    assert.equal(server.counters.rejected.total, errors);
    for (const code of ['frame_count', 'topic', 'header_json', 'version', 'dtype', 'shape', 'payload_size', 'non_finite']) {
      assert.ok(codes.has(code), `no '${code}' rejection seen (saw ${[...codes].join(', ')})`);
    }
    assert.ok([...codes].every((c) => (PROTOCOL_ERROR_CODES as readonly string[]).includes(c)), [...codes].join(', '));
    // Still serving normally afterwards.
    await dealers[0].send(encodeMessage('info', 1, {}));
    assert.equal(decodeMessage(await dealers[0].receive()).header.action_size, 6);
  } finally {
    for (const d of dealers) d.close();
    await server.close();
  }
});

test('fuzz: control server answers 100k fuzzed requests, counting every rejection', async () => {
  const server = await ControlServer.open({ endpoint: 'tcp://127.0.0.1:*', handler: new FixturePhases(() => undefined) });
  const dealers = Array.from({ length: CLIENTS }, () => {
    const d = new zmq.Dealer({ linger: 0, receiveTimeout: 10_000 });
    d.connect(server.endpoint);
    return d;
  });
  let expectedValid = 0;
  let ok = 0;
  let failed = 0;
  try {
    await Promise.all(
      dealers.map((d, c) => {
        const rng = new Rng(200 + c);
        return pipelined(
          d,
          TOTAL / CLIENTS,
          () => {
            const { frames, valid } = fuzzControlRequest(rng);
            if (valid) expectedValid++;
            return [Buffer.alloc(0), ...frames]; // REQ envelope
          },
          (frames) => {
            assert.equal(frames.length, 2);
            const reply = JSON.parse(frames[1].toString()) as { ok: boolean; error?: { code: string; message: string } };
            if (reply.ok) ok++;
            else {
              failed++;
              assert.ok(reply.error!.message.length > 0);
            }
          },
        );
      }),
    );
    assert.equal(ok + failed, TOTAL);
    assert.equal(ok, expectedValid);
    assert.equal(server.counters.rejected.total, failed);
    const seen = Object.keys(server.counters.rejected.snapshot().byCode);
    for (const code of ['bad_arguments', 'frame_count', 'request_json', 'unknown_command', 'version']) assert.ok(seen.includes(code), `no '${code}' seen`);
    assert.ok(seen.every((c) => ['bad_arguments', 'frame_count', 'request_json', 'unknown_command', 'version', 'too_large'].includes(c)), seen.join(', '));
  } finally {
    for (const d of dealers) d.close();
    await server.close();
  }
});

test('fuzz: ZmqPlant takes 100k fuzzed plant replies without crashing, rejecting and counting each bad one', async () => {
  const router = new zmq.Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:*');
  const rng = new Rng(300);
  let validSent = 0;
  const serving = (async () => {
    try {
      for await (const [id, empty, ...body] of router) {
        const msg = decodeMessage(body);
        const seq = msg.header.seq;
        let reply: Buffer[];
        if (msg.topic === 'hello') {
          reply = encodeMessage('spec', seq, { signals: [{ name: 'q', size: 5 }], command: { size: 2, low: [-1, -1], high: [1, 1] }, control_period: 0.001 });
        } else {
          const kind = FUZZ_KINDS[rng.int(FUZZ_KINDS.length)];
          if (kind === 'valid') validSent++;
          reply = fuzzMessage(rng, kind, 'signals', 'q', 5, seq);
        }
        void router.send([id, empty, ...reply]);
      }
    } catch {
      // closed
    }
  })();
  const plant = await ZmqPlant.connect({ endpoint: router.lastEndpoint!, stepTimeoutMs: 1000 });
  let failures = 0;
  try {
    plant.write(new Float64Array([0.1, -0.2]));
    for (let i = 0; i < TOTAL; i++) {
      try {
        await plant.advance();
        for (const v of plant.read().get('q')!) assert.ok(Number.isFinite(v));
      } catch (err) {
        failures++;
        assert.ok((err as Error).message.startsWith("remote plant '"), (err as Error).message);
      }
    }
    assert.equal(plant.counters.steps, validSent);
    assert.equal(failures, TOTAL - validSent);
    assert.equal(plant.counters.rejected.total, failures);
    assert.equal(plant.counters.timeouts, 0);
  } finally {
    await plant.close();
    router.close();
    await serving;
  }
});

test('fuzz: telemetry PUB ignores 100k fuzzed frames from an XSUB peer and keeps publishing', async () => {
  const pub = await TelemetryPublisher.open({ endpoint: 'tcp://127.0.0.1:*' });
  const xsub = new zmq.XSubscriber({ linger: 0, sendHighWaterMark: 0 });
  xsub.connect(pub.endpoint);
  const sub = new zmq.Subscriber({ linger: 0, receiveTimeout: 50 });
  sub.subscribe('phase');
  sub.connect(pub.endpoint);
  const rng = new Rng(400);
  try {
    for (let i = 0; i < TOTAL; i++) {
      const kind = FUZZ_KINDS[rng.int(FUZZ_KINDS.length)];
      await xsub.send(fuzzMessage(rng, kind, 'tick', 'observation', 4, i));
      if (i % 1000 === 0) pub.publishPhase({ from: 'a', to: 'b', reason: `${i}` });
    }
    // The publisher still serves a normal subscriber.
    let got: Message | null = null;
    for (let k = 0; k < 100 && got === null; k++) {
      pub.publishPhase({ from: 'idle', to: 'armed', reason: 'after fuzz' });
      try {
        for (;;) {
          const m = decodeMessage(await sub.receive());
          if (m.header.reason === 'after fuzz') {
            got = m;
            break;
          }
        }
      } catch {
        // nothing yet
      }
    }
    assert.ok(got !== null);
    assert.equal(got.header.to, 'armed');
    assert.equal(pub.counters.dropped, 0);
  } finally {
    xsub.close();
    sub.close();
    pub.close();
  }
});
