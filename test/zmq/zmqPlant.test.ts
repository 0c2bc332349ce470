import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zmq from 'zeromq';
import { Env } from '../../src/env/env.js';
import { decodeMessage, encodeError, encodeMessage, ProtocolError } from '../../src/zmq/codec.js';
import { PendulumTask } from '../../src/task/builtin/pendulum.js';
import { RemotePlantError, RemotePlantTimeout, ZmqPlant } from '../../src/plant/zmq/zmqPlant.js';
import { Rng } from '../../src/util/rng.js';
import { PYTHON, startPeer } from './fixtures/processes.js';

test('ZmqPlant drives the Python numpy pendulum through Env: episodes of random actions', async () => {
  const peer = startPeer(PYTHON, ['clients/python/examples/pendulum_plant.py', 'tcp://127.0.0.1:0']);
  let plant: ZmqPlant | undefined;
  try {
    const { endpoint } = (await peer.nextLine()) as { endpoint: string };
    plant = await ZmqPlant.connect({ endpoint, seed: 5 });
    assert.equal(plant.remoteName, 'numpy-pendulum');
    assert.deepEqual(plant.signals.map((s) => [s.name, s.size]), [['qpos', 1], ['qvel', 1]]);
    assert.deepEqual([...plant.command.low, ...plant.command.high], [-2, 2]);
    assert.equal(plant.controlPeriod, 0.05);

    const env = new Env(plant, new PendulumTask(), { seed: 1, maxEpisodeSteps: 50 });
    const rng = new Rng(3);
    const action = new Float32Array(1);
    const firstObs: number[][] = [];
    for (let episode = 0; episode < 3; episode++) {
      let obs = await env.reset();
      firstObs.push([...obs]);
      let prevTheta = Math.atan2(obs[1], obs[0]);
      let steps = 0;
      let returned = 0;
      for (;;) {
        action[0] = rng.range(-1, 1);
        const r = await env.step(action);
        steps++;
        returned += r.reward;
        // The observation is the pendulum's: unit (cos, sin), and the angle moved by theta_dot * dt.
        assert.ok(Math.abs(r.observation[0] ** 2 + r.observation[1] ** 2 - 1) < 1e-5);
        const theta = Math.atan2(r.observation[1], r.observation[0]);
        const moved = Math.atan2(Math.sin(theta - prevTheta), Math.cos(theta - prevTheta));
        assert.ok(Math.abs(moved - r.observation[2] * 0.05) < 1e-4, `step ${steps}: moved ${moved}, theta_dot ${r.observation[2]}`);
        assert.ok(r.reward <= 0 && r.reward >= -(Math.PI ** 2 + 0.1 * 64 + 0.001 * 4) - 1e-9);
        assert.equal(r.terminated, false);
        prevTheta = theta;
        obs = r.observation;
        if (r.truncated) break;
      }
      assert.equal(steps, 50);
      assert.ok(returned < 0);
    }
    // The seed reaches the simulator: each episode starts somewhere else.
    assert.notDeepEqual(firstObs[0], firstObs[1]);
    assert.deepEqual([plant.counters.steps, plant.counters.resets, plant.counters.timeouts], [150, 3, 0]);
  } finally {
    await plant?.close();
    const code = await peer.stop();
    assert.equal(code, 0, peer.stderr());
  }
});

test('ZmqPlant: no plant listening gives a timeout naming the endpoint', async () => {
  await assert.rejects(
    ZmqPlant.connect({ endpoint: 'tcp://127.0.0.1:9', helloTimeoutMs: 150 }),
    (err: unknown) => err instanceof RemotePlantTimeout && /tcp:\/\/127\.0\.0\.1:9 did not answer 'hello' within 150 ms/.test(err.message),
  );
});

/** A node plant on a ROUTER whose behaviour per request the test decides. */
async function scriptedPlant(answer: (topic: string, seq: number) => Buffer[] | null | Promise<Buffer[] | null>): Promise<{ endpoint: string; close: () => void }> {
  const router = new zmq.Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:*');
  void (async () => {
    try {
      for await (const [id, empty, ...body] of router) {
        const msg = decodeMessage(body);
        const reply = await answer(msg.topic, msg.header.seq);
        if (reply !== null) await router.send([id, empty, ...reply]);
      }
    } catch {
      // closed
    }
  })();
  return { endpoint: router.lastEndpoint!, close: () => router.close() };
}

const SPEC = {
  name: 'scripted',
  signals: [{ name: 'x', size: 2 }],
  command: { size: 1, low: [-1], high: [1] },
  control_period: 0.001,
};

test('ZmqPlant: a late reply is discarded by seq after a timeout; error replies and bad signals raise clear errors', async () => {
  let mode: 'slow' | 'ok' | 'error' | 'nan' | 'extra' = 'slow';
  const plantSide = await scriptedPlant(async (topic, seq) => {
    if (topic === 'hello') return encodeMessage('spec', seq, SPEC);
    if (topic === 'close') return null;
    if (mode === 'slow') await new Promise((r) => setTimeout(r, 120));
    if (mode === 'error') return encodeError(seq, 'not_ready', 'motor driver offline');
    const x = mode === 'nan' ? new Float32Array([1, NaN]) : new Float32Array([seq, 1]);
    const payloads = [{ name: 'x', data: x }];
    if (mode === 'extra') payloads.push({ name: 'y', data: new Float32Array(1) });
    return encodeMessage('signals', seq, {}, payloads);
  });
  const plant = await ZmqPlant.connect({ endpoint: plantSide.endpoint, stepTimeoutMs: 50 });
  try {
    plant.write(new Float64Array([0.5]));
    await assert.rejects(plant.advance(), (e: unknown) => e instanceof RemotePlantTimeout && /did not answer 'step' within 50 ms/.test((e as Error).message));
    mode = 'ok';
    await new Promise((r) => setTimeout(r, 150)); // the slow reply to seq 1 arrives meanwhile
    await plant.advance();
    assert.deepEqual([...plant.read().get('x')!], [2, 1]); // the reply to seq 2, not the stale one
    assert.equal(plant.counters.staleReplies, 1);
    mode = 'error';
    await assert.rejects(plant.reset(), (e: unknown) => e instanceof RemotePlantError && e.code === 'not_ready' && /refused 'reset': not_ready: motor driver offline/.test((e as Error).message));
    mode = 'nan';
    await assert.rejects(plant.advance(), (e: unknown) => e instanceof ProtocolError && e.code === 'non_finite' && /'scripted' \(step\): payload 'x' element 1 is NaN/.test((e as Error).message));
    assert.deepEqual([...plant.read().get('x')!], [2, 1], 'a bad reply leaves the last good signals');
    mode = 'extra';
    await assert.rejects(plant.advance(), /carries 'y', which the spec did not declare/);
    assert.throws(() => plant.write(new Float64Array(2)), /command has 2 components, the plant takes 1/);
    assert.deepEqual(plant.counters.rejected.snapshot().byCode, { non_finite: 1, header_field: 1 });
  } finally {
    await plant.close();
    plantSide.close();
  }
});

test('ZmqPlant: a malformed spec is refused with the field named', async () => {
  const bad = { ...SPEC, command: { size: 2, low: [-1, 0], high: [1] } };
  const plantSide = await scriptedPlant((_t, seq) => encodeMessage('spec', seq, bad));
  try {
    await assert.rejects(ZmqPlant.connect({ endpoint: plantSide.endpoint }), /spec: command\.high must be a list of 2 finite numbers/);
  } finally {
    plantSide.close();
  }
});
