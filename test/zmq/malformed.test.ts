/**
 * Issue 19, item 1: each class of malformed message, sent to each socket, is answered or
 * dropped and always counted, and the socket keeps serving. The classes the fuzz tests draw at
 * random are sent here one by one, with the envelope mistakes a DEALER can make on top.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { decodeMessage, encodeMessage, type Message } from '../../src/zmq/codec.js';
import { ControlServer } from '../../src/zmq/controlServer.js';
import { PolicyServer } from '../../src/zmq/policyServer.js';
import { TelemetryPublisher } from '../../src/zmq/telemetry.js';
import { ZmqPlant } from '../../src/plant/zmq/zmqPlant.js';
import { Rng } from '../../src/util/rng.js';
import { MlpPolicy } from './fixtures/mlpPolicy.js';
import { FixturePhases } from './fixtures/liveServer.js';
import { FUZZ_KINDS, fuzzMessage } from './fixtures/fuzz.js';

const json = (x: unknown): Buffer => Buffer.from(JSON.stringify(x));
const empty = Buffer.alloc(0);

test('control server: a DEALER without the empty delimiter gets an answer, is counted, and the server keeps serving', async () => {
  const server = await ControlServer.open({ endpoint: 'tcp://127.0.0.1:*', handler: new FixturePhases(() => undefined) });
  const dealer = new zmq.Dealer({ linger: 0, receiveTimeout: 2000 });
  dealer.connect(server.endpoint);
  const ask = async (frames: Buffer[]): Promise<{ frames: Buffer[]; reply: Record<string, unknown> }> => {
    await dealer.send(frames);
    const got = await dealer.receive();
    return { frames: got, reply: JSON.parse(got[got.length - 1]!.toString()) as Record<string, unknown> };
  };
  try {
    // The three messages of the issue: each used to abort the daemon (SIGABRT, exit 134).
    const bare = await ask([json({ v: 1, cmd: 'status', id: 1 })]);
    assert.equal(bare.frames.length, 1, 'no delimiter came, none goes back');
    assert.equal((bare.reply.error as { code: string }).code, 'envelope');
    assert.match((bare.reply.error as { message: string }).message, /empty delimiter frame/);
    assert.equal(((await ask([Buffer.from('x'), json({ v: 1, cmd: 'status' })])).reply.error as { code: string }).code, 'envelope');
    const onlyDelimiter = await ask([empty]);
    assert.equal(onlyDelimiter.frames[0]!.length, 0, 'the delimiter is echoed');
    assert.equal((onlyDelimiter.reply.error as { code: string }).code, 'frame_count');
    // Argument names that are properties of every object are refused, not taken as arguments.
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      const body = `{"v":1,"cmd":"pause","args":{"${name}":"x"}}`;
      const r = await ask([empty, Buffer.from(body)]);
      assert.equal(r.reply.ok, false, name);
      assert.deepEqual(r.reply.error, { code: 'bad_arguments', message: `pause: args.${name} is not a known argument (known: reason)` });
    }
    // Still serving, REQ-style.
    const ok = await ask([empty, json({ v: 1, id: 9, cmd: 'status' })]);
    assert.deepEqual(ok.reply, { v: 1, id: 9, ok: true, result: { phase: 'idle', checkpoints: 0 } });
    assert.equal(server.counters.requests, 8);
    assert.deepEqual(server.counters.rejected.snapshot(), { total: 7, byCode: { envelope: 2, frame_count: 1, bad_arguments: 4 } });
  } finally {
    dealer.close();
    await server.close();
  }
});

test('policy server: "<f8" observations and shape [1, n] are refused as the protocol says; every fuzz class is answered and counted', async () => {
  const server = await PolicyServer.open({ endpoint: 'tcp://127.0.0.1:*', policy: MlpPolicy.random(3, [8], 2, 1) });
  const dealer = new zmq.Dealer({ linger: 0, receiveTimeout: 2000 });
  dealer.connect(server.endpoint);
  const ask = async (frames: Buffer[]): Promise<Message> => {
    await dealer.send(frames);
    const got = await dealer.receive();
    // A request that starts with an empty frame was taken as REQ-style; the delimiter comes back.
    return decodeMessage(got[0]!.length === 0 ? got.slice(1) : got);
  };
  const header = (payload: Record<string, unknown>): Buffer => json({ v: 1, seq: 4, t_ns: '1', payloads: [{ name: 'observation', ...payload }] });
  try {
    const f8 = await ask([Buffer.from('act'), header({ dtype: '<f8', shape: [3] }), Buffer.from(new Float64Array([0.1, 0.2, 0.3]).buffer)]);
    assert.deepEqual([f8.topic, (f8.header.error as { code: string }).code], ['error', 'dtype']);
    assert.match((f8.header.error as { message: string }).message, /must be "<f4", got "<f8"/);
    const rowMatrix = await ask([Buffer.from('act'), header({ dtype: '<f4', shape: [1, 3] }), Buffer.from(new Float32Array(3).buffer)]);
    assert.deepEqual([(rowMatrix.header.error as { code: string }).code, rowMatrix.header.seq], ['shape', 4]);
    assert.match((rowMatrix.header.error as { message: string }).message, /must have shape \[3\], got \[1, 3\]/);
    const good = await ask([Buffer.from('act'), header({ dtype: '<f4', shape: [3] }), Buffer.from(new Float32Array(3).buffer)]);
    assert.equal(good.topic, 'action');
    // One of each fuzz class: an answer for each, a rejection counted for each but the valid one.
    const rng = new Rng(19);
    let valid = 0;
    for (const kind of FUZZ_KINDS) {
      for (let k = 0; k < 20; k++) {
        const reply = await ask(fuzzMessage(rng, kind, 'act', 'observation', 3, k));
        if (kind === 'valid') {
          valid++;
          assert.equal(reply.topic, 'action');
        } else {
          assert.equal(reply.topic, 'error', `${kind} #${k}`);
        }
      }
    }
    const c = server.counters.snapshot();
    assert.equal(c.requests, 3 + 20 * FUZZ_KINDS.length);
    assert.equal(c.actions, 1 + valid);
    assert.equal(c.rejected.total, c.requests - c.actions);
  } finally {
    dealer.close();
    await server.close();
  }
});

test('telemetry publisher: garbage from a peer (an XSUB sending non-subscription frames) neither stops nor slows it', async () => {
  const pub = await TelemetryPublisher.open({ endpoint: 'tcp://127.0.0.1:*' });
  const rogue = new zmq.XSubscriber({ linger: 0 });
  rogue.connect(pub.endpoint);
  const sub = new zmq.Subscriber({ linger: 0, receiveTimeout: 50 });
  sub.subscribe('phase');
  sub.connect(pub.endpoint);
  try {
    const rng = new Rng(5);
    for (let i = 0; i < 200; i++) await rogue.send(fuzzMessage(rng, 'random', 'x', 'y', 1, i));
    let got: Buffer[] | null = null;
    for (let k = 0; k < 100 && got === null; k++) {
      pub.publishPhase({ from: 'idle', to: 'sim_training', reason: `attempt ${k}` });
      got = await sub.receive().catch(() => null);
    }
    assert.ok(got !== null, 'the subscriber still receives');
    assert.equal(decodeMessage(got).topic, 'phase');
  } finally {
    rogue.close();
    sub.close();
    pub.close();
  }
});

test('remote plant: a malformed reply is counted and fails only that request; the plant keeps working', async () => {
  const peer = new zmq.Router({ linger: 0 });
  await peer.bind('tcp://127.0.0.1:*');
  const rng = new Rng(11);
  let bad = 0;
  // A plant that answers hello properly, then alternates a malformed and a good 'signals' reply.
  const serving = (async () => {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await peer.receive();
      } catch {
        return;
      }
      const [id, , topic, header] = frames as [Buffer, Buffer, Buffer, Buffer];
      const seq = (JSON.parse(header.toString()) as { seq: number }).seq;
      const reply = (body: Buffer[]): Promise<void> => peer.send([id, empty, ...body]);
      if (topic.toString() === 'hello') {
        await reply(encodeMessage('spec', seq, { name: 'rogue', signals: [{ name: 'qpos', size: 2 }], command: { size: 1, low: [-1], high: [1] }, control_period: 0.01 }));
      } else if (topic.toString() === 'close') {
        return;
      } else if (bad <= FUZZ_KINDS.length - 2) {
        // Every class but 'valid', aimed at a 'signals' reply of qpos[2].
        const kind = FUZZ_KINDS.filter((k) => k !== 'valid')[bad]!;
        bad++;
        const msg = fuzzMessage(rng, kind, 'signals', 'qpos', 2, seq);
        await reply(kind === 'random' ? msg : [msg[0]!, msg[1]!, ...msg.slice(2)]);
      } else {
        await reply(encodeMessage('signals', seq, {}, [{ name: 'qpos', data: new Float32Array([0.5, -0.5]) }]));
      }
    }
  })();
  const plant = await ZmqPlant.connect({ endpoint: peer.lastEndpoint!, stepTimeoutMs: 300 });
  try {
    let failed = 0;
    for (let i = 0; i < FUZZ_KINDS.length - 1; i++) {
      // A malformed reply either fails the request (protocol error) or, unreadable, never
      // becomes the awaited reply and the request times out; both are counted.
      await plant.reset().then(() => assert.fail('a malformed reply was accepted'), () => failed++);
    }
    assert.equal(failed, FUZZ_KINDS.length - 1);
    assert.equal(plant.counters.rejected.total + plant.counters.timeouts, FUZZ_KINDS.length - 1);
    await plant.reset();
    assert.deepEqual([...plant.read().get('qpos')!], [0.5, -0.5]);
  } finally {
    await plant.close();
    peer.close();
    await serving;
  }
});
