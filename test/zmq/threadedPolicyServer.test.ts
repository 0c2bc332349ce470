/**
 * The policy server on its own worker thread: real worker, real sockets on loopback. The fuzz
 * batch runs in fuzz.test.ts (parametrised over both servers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as zmq from 'zeromq';
import { FastPolicy } from '../../src/agent/fastPolicy.js';
import { Rng } from '../../src/util/rng.js';
import { allowedCpus, fifoSchedulingProblem, mainThreadScheduling, threadScheduling } from '../../src/control/realtime.js';
import { decodeMessage, encodeMessage, requirePayload, type Message } from '../../src/zmq/codec.js';
import { curveKeyPair } from '../../src/zmq/security.js';
import { TelemetryPublisher } from '../../src/zmq/telemetry.js';
import { ThreadedPolicyServer } from '../../src/zmq/threadedPolicyServer.js';
import { randomActor } from './fixtures/mlpPolicy.js';
import { startPeer } from './fixtures/processes.js';
import { askInfo } from './fixtures/askInfo.js';

async function receiveMessage(socket: zmq.Dealer | zmq.Request): Promise<Message> {
  let frames = await socket.receive();
  if (frames[0].length === 0) frames = frames.slice(1);
  return decodeMessage(frames);
}

const observation = (c: number, k: number): Float32Array => new Float32Array(17).map((_, j) => Math.sin(c * 17 + j + k));

/** The action the worker's FastPolicy must give (same kernel on this thread: bit-identical). */
function expectedAction(policy: FastPolicy, obs: Float32Array): Float32Array {
  const out = new Float32Array(policy.actionSize);
  policy.act(obs, true, out);
  return out;
}

test('threaded policy server: DEALER and REQ clients at once get the FastPolicy action; a publish changes weights and version', async () => {
  const first = randomActor(17, [64, 64], 6, 11);
  const second = randomActor(17, [64, 64], 6, 12);
  const tally = new Map<string, number>();
  const bump = (k: string, n = 1): void => void tally.set(k, (tally.get(k) ?? 0) + n);
  const metrics = { zmqMessage: (socket: string, dir: string, n?: number) => bump(`${socket}.${dir}`, n), zmqError: (socket: string, kind: string) => bump(`${socket}!${kind}`) };
  const server = await ThreadedPolicyServer.open({ endpoint: 'tcp://127.0.0.1:*', weights: first, version: 3, metrics, metricsIntervalMs: 20 });
  assert.equal(server.semiSpaceMb, 16, 'the serving thread has its own, larger young generation (util/workerHeap.ts)');
  const clients = Array.from({ length: 8 }, (_, i) => {
    const s = i % 2 === 0 ? new zmq.Dealer({ linger: 0, receiveTimeout: 5000 }) : new zmq.Request({ linger: 0, receiveTimeout: 5000 });
    s.connect(server.endpoint);
    return s;
  });
  const reference = new FastPolicy(first, new Rng(1), 3);
  try {
    await Promise.all(
      clients.map(async (s, c) => {
        for (let k = 0; k < 50; k++) {
          const obs = observation(c, k);
          await s.send(encodeMessage('act', k, { deterministic: true }, [{ name: 'observation', data: obs }]));
          const reply = await receiveMessage(s);
          assert.equal(reply.topic, 'action');
          assert.equal(reply.header.seq, k);
          assert.equal(reply.header.policy_version, 3);
          assert.deepEqual(requirePayload(reply, 'action', 6), expectedAction(reference, obs));
        }
      }),
    );
    assert.equal(server.counters.actions, 400);
    assert.equal(server.counters.requests, 400);

    // New weights are served from the next request on, with their version.
    server.publish(second, 9);
    assert.equal(server.version, 9);
    reference.swap(second, 9);
    const d = clients[0] as zmq.Dealer;
    const obs = observation(0, 99);
    await d.send(encodeMessage('act', 500, {}, [{ name: 'observation', data: obs }]));
    const after = await receiveMessage(d);
    assert.equal(after.header.policy_version, 9);
    assert.deepEqual(requirePayload(after, 'action', 6), expectedAction(reference, obs));
    await d.send(encodeMessage('info', 501, {}));
    const info = await receiveMessage(d);
    assert.deepEqual([info.header.observation_size, info.header.action_size, info.header.policy_version], [17, 6, 9]);

    // Sampled actions: noise from the worker's own generator.
    const sampled: number[][] = [];
    for (let k = 0; k < 2; k++) {
      await d.send(encodeMessage('act', 600 + k, { deterministic: false }, [{ name: 'observation', data: obs }]));
      sampled.push([...requirePayload(await receiveMessage(d), 'action', 6)]);
    }
    assert.notDeepEqual(sampled[0], sampled[1]);

    // Errors: replied, named, counted.
    await d.send(encodeMessage('act', 8, {}, [{ name: 'observation', data: new Float32Array(16) }]));
    assert.deepEqual((await receiveMessage(d)).header.error, { code: 'shape', message: "payload 'observation' has 16 elements, expected 17" });
    assert.deepEqual(server.counters.rejected, { total: 1, byCode: { shape: 1 } });
    assert.throws(() => server.publish(randomActor(17, [32, 64], 6, 1), 10), /hidden\[0\] is 17x32, layout says 17x64/);

    const status = server.status();
    assert.equal(status.running, true);
    assert.equal(status.policyVersion, 9);
    assert.equal(status.requests, 405);
  } finally {
    for (const c of clients) c.close();
    await server.close();
  }
  // The last counts reach the metrics sink at close.
  assert.deepEqual(Object.fromEntries(tally), { 'policy.in': 405, 'policy.out': 405, 'policy!shape': 1 });
  assert.equal(server.running, false);
  await server.close(); // idempotent
});

test('threaded policy server: answers keep arriving while the main thread is blocked for 200 ms', async () => {
  const server = await ThreadedPolicyServer.open({ endpoint: 'tcp://127.0.0.1:*', weights: randomActor(17, [64, 64], 6, 5), version: 1 });
  const client = startPeer(process.execPath, [fileURLToPath(new URL('./fixtures/steadyPolicyClient.js', import.meta.url)), server.endpoint, '700']);
  try {
    assert.deepEqual(await client.nextLine(), { ready: true });
    client.child.stdin!.write('go\n');
    await new Promise((r) => setTimeout(r, 150));
    // Synchronous work standing for a batch of gradient updates: no event loop turn on this thread.
    const blockedFrom = process.hrtime.bigint();
    const until = blockedFrom + 200_000_000n;
    while (process.hrtime.bigint() < until) {
      // busy
    }
    const blockedTo = process.hrtime.bigint();
    const result = (await client.nextLine()) as { sent: number; received: number; arrivals: string[] };
    assert.equal(result.received, result.sent, 'every request was answered');
    const during = result.arrivals.map(BigInt).filter((t) => t > blockedFrom && t < blockedTo).length;
    // An in-thread server would answer none of them before the block ends.
    assert.ok(during >= 20, `only ${during} answers arrived while the main thread was blocked (of ${result.received})`);
  } finally {
    await client.stop();
    await server.close();
  }
});

test('threaded policy server: start-up errors reject the open with the same messages; the port is free again after close', async () => {
  const weights = randomActor(4, [8], 2, 1);
  await assert.rejects(
    ThreadedPolicyServer.open({ endpoint: 'ipc:///nonexistent-dir/sacbridge/policy.sock', weights, version: 0 }),
    /^Error: policy server: cannot bind ipc:\/\/\/nonexistent-dir\/sacbridge\/policy\.sock: No such endpoint/,
  );
  await assert.rejects(ThreadedPolicyServer.open({ endpoint: 'tcp://0.0.0.0:*', weights, version: 0 }), /policy server: refusing to bind tcp:\/\/0\.0\.0\.0:\* without CURVE keys/);
  const squatter = new zmq.Router({ linger: 0 });
  await squatter.bind('tcp://127.0.0.1:*');
  const taken = squatter.lastEndpoint!;
  await assert.rejects(ThreadedPolicyServer.open({ endpoint: taken, weights, version: 0 }), /policy server: cannot bind tcp:\/\/127\.0\.0\.1:[0-9]+: Address already in use/);
  squatter.close();
  const bad = { server: { publicKey: curveKeyPair().publicKey, secretKey: 'not a key' }, allowedClients: new Set([curveKeyPair().publicKey]) };
  await assert.rejects(ThreadedPolicyServer.open({ endpoint: 'tcp://127.0.0.1:*', weights, version: 0, security: { curve: bad } }), /^Error: policy server: cannot use the CURVE server key: Invalid argument/);

  // Close releases the port at once: a second server binds the same endpoint.
  const a = await ThreadedPolicyServer.open({ endpoint: 'tcp://127.0.0.1:*', weights, version: 0 });
  await a.close();
  const b = await ThreadedPolicyServer.open({ endpoint: a.endpoint, weights, version: 0 });
  assert.equal(b.endpoint, a.endpoint);
  await b.close();
});

test('threaded policy server: CURVE with its ZAP handler in the worker, next to a CURVE socket on the main thread', async () => {
  const keys = curveKeyPair();
  const operator = curveKeyPair();
  const viewer = curveKeyPair();
  // A main-thread CURVE socket first: its ZAP handler holds inproc://zeromq.zap.01 in the
  // process-wide context, which the worker's must not collide with nor answer for.
  const telemetry = await TelemetryPublisher.open({ endpoint: 'tcp://127.0.0.1:*', security: { curve: { server: keys, allowedClients: new Set([viewer.publicKey]) } } });
  const server = await ThreadedPolicyServer.open({
    endpoint: 'tcp://127.0.0.1:*',
    weights: randomActor(4, [8], 2, 1),
    version: 0,
    security: { curve: { server: keys, allowedClients: new Set([operator.publicKey]) } },
  });
  try {
    assert.equal(await askInfo(server.endpoint, { server: keys.publicKey, client: operator }, 3000), 4);
    assert.equal(await askInfo(server.endpoint, { server: keys.publicKey, client: viewer }, 300), null);
    assert.equal(await askInfo(server.endpoint, null, 300), null);
    assert.equal(server.counters.requests, 1, 'refused clients never reached the server');
  } finally {
    await server.close();
    telemetry.close();
  }
});

/** One 'act' request from a fresh DEALER; the reply's topic. */
async function askOneAction(endpoint: string): Promise<string> {
  const client = new zmq.Dealer({ linger: 0, receiveTimeout: 5000 });
  try {
    client.connect(endpoint);
    await client.send(encodeMessage('act', 1, {}, [{ name: 'observation', data: observation(0, 0) }]));
    return (await receiveMessage(client)).topic;
  } finally {
    client.close();
  }
}

/** Threads of this process under SCHED_FIFO, by kernel id, from /proc. */
function fifoThreads(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task').map(Number)) {
    try {
      const s = threadScheduling(tid);
      if (s.policy === 'fifo') out.set(tid, s.priority);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

test('threadPriority: the serving thread and its ZeroMQ I/O thread run SCHED_FIFO, nothing else does', { skip: fifoSchedulingProblem(6) ?? false }, async () => {
  assert.equal(fifoThreads().size, 0);
  const server = await ThreadedPolicyServer.open({ endpoint: 'tcp://127.0.0.1:*', weights: randomActor(17, [16], 6, 3), version: 1, threadPriority: 6 });
  try {
    const fifo = fifoThreads();
    // The worker thread, plus the I/O thread(s) its own ZeroMQ context started after it went real-time.
    assert.ok(fifo.size >= 2, `FIFO threads: ${JSON.stringify([...fifo])}`);
    assert.ok([...fifo.values()].every((p) => p === 6));
    assert.equal(fifo.has(process.pid), false, 'the main thread keeps normal scheduling');
    assert.deepEqual(mainThreadScheduling(), { policy: 'other', priority: 0 });
    assert.equal(await askOneAction(server.endpoint), 'action');
  } finally {
    await server.close();
  }
  // The serving thread is gone. zeromq.js shuts a closed context down but terminates it only at
  // process exit, so an idle I/O thread ("ZMQbg/IO/0") of the worker's context stays until then.
  const left = [...fifoThreads().keys()].map((tid) => readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim());
  assert.deepEqual(left.filter((name) => !name.startsWith('ZMQbg/')), [], `real-time threads left: ${left.join(', ')}`);
  await assert.rejects(
    ThreadedPolicyServer.open({ endpoint: 'tcp://127.0.0.1:*', weights: randomActor(17, [16], 6, 3), version: 1, threadPriority: 100 }),
    /FIFO priority must be an integer in \[1, 99\], got 100/,
  );
});

const processCpus = allowedCpus(process.pid);

test('threadCpus: the serving thread and its ZeroMQ I/O thread are pinned, nothing else is', { skip: processCpus.length < 2 ? 'needs two CPUs' : false }, async () => {
  const cpu = processCpus[processCpus.length - 1];
  const pinned = (): string[] =>
    readdirSync('/proc/self/task').map(Number).flatMap((tid) => {
      try {
        const cpus = allowedCpus(tid);
        return cpus.length === 1 && cpus[0] === cpu ? [readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim()] : [];
      } catch {
        return []; // the thread ended meanwhile
      }
    });
  const before = pinned().filter((name) => !name.startsWith('ZMQbg/')); // I/O threads of contexts closed earlier stay until exit
  assert.deepEqual(before, []);
  const server = await ThreadedPolicyServer.open({ endpoint: 'tcp://127.0.0.1:*', weights: randomActor(17, [16], 6, 3), version: 1, threadCpus: String(cpu) });
  try {
    const names = pinned();
    // The worker thread (named after its entry) and the I/O thread its own context started after it was pinned.
    assert.ok(names.some((n) => n.startsWith('ZMQbg/IO')), `pinned threads: ${names.join(', ')}`);
    assert.ok(names.some((n) => !n.startsWith('ZMQbg/')), `pinned threads: ${names.join(', ')}`);
    assert.deepEqual(allowedCpus(process.pid), processCpus, 'the main thread keeps its CPUs');
    assert.equal(await askOneAction(server.endpoint), 'action');
  } finally {
    await server.close();
  }
  await assert.rejects(
    ThreadedPolicyServer.open({ endpoint: 'tcp://127.0.0.1:*', weights: randomActor(17, [16], 6, 3), version: 1, threadCpus: '4095' }),
    /cannot pin the policy server thread: CPU 4095 is not among the CPUs this process may use/,
  );
});
