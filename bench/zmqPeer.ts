/**
 * The outside process of the ZeroMQ benchmarks (bench/zmq.ts), so that client and server do
 * not share an event loop:
 *   rtt-client ENDPOINT N WARMUP   sequential observation -> action round trips; prints latencies
 *   plant                          a lockstep plant with HalfCheetah-sized signals; prints its endpoint
 *   subscribers ENDPOINT           two reading subscribers and one that never reads; prints counts
 */
import { PerformanceObserver } from 'node:perf_hooks';
import * as zmq from 'zeromq';
import { decodeMessage, encodeMessage } from '../src/zmq/codec.js';

const print = (x: unknown): void => void process.stdout.write(`${JSON.stringify(x)}\n`);

async function rttClient(endpoint: string, n: number, warmup: number): Promise<void> {
  // This process's own collections: each one lands in some round trip it measures.
  let gcs = 0;
  const observer = new PerformanceObserver((list) => void (gcs += list.getEntries().length));
  observer.observe({ entryTypes: ['gc'] });
  const dealer = new zmq.Dealer({ linger: 0, receiveTimeout: 5000 });
  dealer.connect(endpoint);
  const obs = new Float32Array(17);
  const us: number[] = [];
  for (let i = 0; i < warmup + n; i++) {
    for (let j = 0; j < 17; j++) obs[j] = Math.sin(i + j);
    const t0 = process.hrtime.bigint();
    await dealer.send(encodeMessage('act', i, { deterministic: true }, [{ name: 'observation', data: obs }]));
    const reply = decodeMessage(await dealer.receive());
    const t1 = process.hrtime.bigint();
    if (reply.topic !== 'action') throw new Error(`unexpected reply ${reply.topic}`);
    if (i >= warmup) us.push(Number(t1 - t0) / 1000);
  }
  dealer.close();
  observer.disconnect();
  print({ us, gcs });
}

async function plant(): Promise<void> {
  const router = new zmq.Router({ linger: 0, sendTimeout: 0 });
  await router.bind('tcp://127.0.0.1:*');
  print({ endpoint: router.lastEndpoint });
  const qpos = new Float64Array(9);
  const qvel = new Float64Array(9);
  process.stdin.on('end', () => router.close());
  process.stdin.resume();
  try {
    for await (const [id, empty, ...body] of router) {
      const msg = decodeMessage(body);
      const seq = msg.header.seq;
      let reply: Buffer[];
      if (msg.topic === 'hello') {
        reply = encodeMessage('spec', seq, {
          name: 'bench-plant',
          signals: [{ name: 'qpos', size: 9 }, { name: 'qvel', size: 9 }],
          command: { size: 6, low: new Array(6).fill(-1), high: new Array(6).fill(1) },
          control_period: 0.001,
        });
      } else if (msg.topic === 'close') {
        continue;
      } else {
        const u = msg.payloads.get('command');
        for (let i = 0; i < 9; i++) {
          qvel[i] = 0.99 * qvel[i] + 0.001 * (u?.[i % 6] ?? 0);
          qpos[i] += 0.001 * qvel[i];
        }
        reply = encodeMessage('signals', seq, {}, [{ name: 'qpos', data: qpos }, { name: 'qvel', data: qvel }]);
      }
      router.send([id, empty, ...reply]).catch(() => undefined);
    }
  } catch {
    // closed
  }
}

async function subscribers(endpoint: string): Promise<void> {
  // The stalled one also gets a small kernel buffer, so that its queues fill within seconds.
  const make = (hwm: number, kernelBuffer = -1): zmq.Subscriber => {
    const s = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: hwm, receiveBufferSize: kernelBuffer });
    s.subscribe();
    s.connect(endpoint);
    return s;
  };
  const readers = [make(1000), make(1000)];
  const stalled = make(10, 4096);
  print({ ready: true });
  const counts = await Promise.all(
    readers.map(async (s) => {
      let received = 0;
      let missed = 0;
      let last = -1;
      for (;;) {
        const m = decodeMessage(await s.receive());
        if (m.topic === 'phase' && m.header.reason === 'end') break;
        if (last >= 0 && m.header.seq > last + 1) missed += m.header.seq - last - 1;
        last = m.header.seq;
        if (m.topic === 'tick') received++;
      }
      return { received, missed };
    }),
  );
  let stalledReceived = 0;
  stalled.receiveTimeout = 200;
  try {
    for (;;) {
      await stalled.receive();
      stalledReceived++;
    }
  } catch {
    // drained
  }
  for (const s of [...readers, stalled]) s.close();
  print({ readers: counts, stalledReceived });
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'rtt-client') await rttClient(args[0], Number(args[1]), Number(args[2]));
else if (mode === 'plant') await plant();
else if (mode === 'subscribers') await subscribers(args[0]);
