import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ReplayBuffer } from '../../src/agent/replayBuffer.js';
import type { SoftActorCritic } from '../../src/agent/sac.js';
import { initCompute } from '../../src/compute/backend.js';
import { loadConfig } from '../../src/config/load.js';
import type { SacbridgeConfig } from '../../src/config/schema.js';
import type { TickResult } from '../../src/daemon/job.js';
import { createLogger } from '../../src/log/logger.js';
import { validateRosPlantConfig } from '../../src/plant/ros/rosPlantConfig.js';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import { RobotPhaseError, rosPlantConfigFrom, startRobotPhase, type RobotPhase } from '../../src/daemon/robotPhase.js';
import { createEnv } from '../../src/wiring/envFactory.js';
import { Trainer } from '../../src/train/trainer.js';
import { ROOT, tempDir } from './helpers.js';
import { cartpoleRig, gymDir, recordingLogger, TASK, until } from './rosRig.js';

/**
 * The robot phase's wiring: the ROS 2 checks and the config mapping, then the phase itself on
 * the in-memory ROS graph (phase topic, e-stop, stop).
 */

await initCompute();

const example = () => loadConfig({ file: join(ROOT, 'config', 'examples', 'sim-then-robot.json'), env: {} }).config;
const logger = createLogger({ level: 'silent', pretty: 'never' });
const deps = (config = example(), env: NodeJS.ProcessEnv = {}) => ({
  config,
  logger,
  // Never reached: every case fails before the agent is touched.
  agent: {} as SoftActorCritic,
  simReplay: new ReplayBuffer({ capacity: 4, observationSize: 4, actionSize: 1 }),
  task: config.sim.task,
  rosCheck: { env, resolve: (id: string): string => { throw new Error(`cannot find ${id}`); } },
});

test('without ROS 2 the robot phase refuses to start and says what is missing', async () => {
  const off = loadConfig({ env: {} }).config;
  await assert.rejects(startRobotPhase(deps(off)), (e: Error) => e instanceof RobotPhaseError && /ros\.enabled is false/.test(e.message));
  await assert.rejects(startRobotPhase(deps()), (e: Error) => e instanceof RobotPhaseError && /ROS 2 is not available: ROS_DISTRO is not set/.test(e.message));
  // A sourced ROS 2 (a prefix with librcl.so) but no rclnodejs installed.
  const prefix = tempDir();
  mkdirSync(join(prefix, 'lib'));
  writeFileSync(join(prefix, 'lib', 'librcl.so'), '');
  await assert.rejects(startRobotPhase(deps(example(), { ROS_DISTRO: 'jazzy', AMENT_PREFIX_PATH: prefix })), /rclnodejs is not installed/);
});

test('the convict ros.* keys map onto a RosPlantConfig the plant accepts', () => {
  const c = rosPlantConfigFrom(example());
  const sizes = validateRosPlantConfig(c);
  assert.deepEqual(Object.fromEntries(sizes), { qpos: 2, qvel: 2 });
  assert.equal(c.controlPeriod, 1 / 50);
  assert.deepEqual(c.observations[0], { type: 'sensor_msgs/msg/JointState', topic: '/cartpole/joint_states', qos: 'sensor_data', joints: ['slider', 'hinge'], signals: { position: 'qpos', velocity: 'qvel' } });
  assert.deepEqual([c.command.type, c.command.low, c.command.high], ['std_msgs/msg/Float64MultiArray', [-2], [2]]);
  assert.deepEqual(c.reset, { mode: 'operator', topic: '/cartpole/ready', requestTopic: '/cartpole/reset_request', timeout: 600 });
  const bad = example();
  const broken = { ...bad, ros: { ...bad.ros, observations: [{ ...bad.ros.observations[0]!, fields: { qpos: 'positions(slider)' } }] } };
  assert.throws(() => rosPlantConfigFrom(broken), /ros\.observations\[0\]\.fields\.qpos = "positions\(slider\)": expected position\|velocity\|effort\[joint,\.\.\.\]/);
});

// ---------------------------------------------------------------------------------------------
// The phase running, on the in-memory ROS graph: the example's cart-pole rig is a MuJoCo
// InvertedPendulum behind SimulatedRobot; the agent and its sim replay come from a short real
// SAC run; the session's learner is the real SAC worker.

/** The example config, small: tiny networks and batches, 100 Hz on the robot. */
// No critic warm-up (switch.criticWarmupUpdates, default 1000): these runs last a few hundred
// updates, and the stop must be seen handing back an actor that moved.
const small = (): SacbridgeConfig => loadConfig({
  file: join(ROOT, 'config', 'examples', 'sim-then-robot.json'),
  env: {},
  args: ['--sim.gymnasiumModelDir', gymDir, '--rl.hiddenSizes', '[16,16]', '--rl.batchSize', '32', '--rl.bufferSize', '5000', '--ros.controlRateHz', '100', '--zmq.policyRefreshUpdates', '10', '--switch.criticWarmupUpdates', '0'],
}).config;

const simRun = tempDir('sacbridge-robotphase-');
const trainer = await Trainer.create({
  task: TASK, seed: 2, runDir: simRun,
  makeEnv: (seed) => createEnv(TASK, { seed, gymnasiumModelDir: gymDir }),
  hyperparameters: { hidden: [16, 16], batchSize: 32, learningStarts: 100, bufferSize: 5000 },
  evalEvery: 0, checkpointEvery: 0, metricsEvery: 100_000, warn: () => undefined,
});
await trainer.run(300);
after(async () => {
  await trainer.close();
  rmSync(simRun, { recursive: true });
});

/** Tick until the phase asks for something (each tick waits one control period). */
async function nextRequest(phase: RobotPhase, maxTicks = 200): Promise<TickResult['request']> {
  for (let i = 0; i < maxTicks; i++) {
    const r = await phase.tick();
    if (r.request !== undefined) return r.request;
  }
  return undefined;
}

const actorParameters = (agent: SoftActorCritic): Float32Array => {
  const w = agent.actorWeights();
  const parts = [...w.hidden, w.mean, w.logStd].flatMap((l) => [l.kernel, l.bias]);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
};

test('on the ROS graph: phase-topic commands become phase requests, an unknown one is refused and logged, stop keeps the learned weights and closes the node', async () => {
  const config = small();
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  const { logger, records } = recordingLogger();
  const before = actorParameters(trainer.agent);
  const phase = await startRobotPhase({ config, logger, agent: trainer.agent, simReplay: trainer.replay, task: TASK, loadRcl: async () => rcl });
  assert.ok(graph.initialized, 'the phase initialised rclnodejs before opening its node');
  const rig = await cartpoleRig(rcl);
  try {
    // Fine-tuning runs: commands reach the robot at the control rate.
    await until('200 commands on the robot', () => rig.robot.stats.commands >= 200);
    assert.equal(await nextRequest(phase, 3), undefined, 'nothing asked while running');

    // A command the robot phase does not offer: refused, logged and counted; nothing else happens.
    rig.phase.publish({ data: 'resume' });
    await graph.settle();
    assert.equal(await nextRequest(phase, 5), undefined);
    const warning = records.find((r) => r.level === 40 && r.command === 'resume');
    assert.ok(warning, 'the refusal is logged');
    assert.equal(warning.msg, 'phase command "resume" on /sacbridge/phase refused: expected one of pause, evaluate, finish');
    const sent = rig.statuses.length;
    await until('a status after the refusal', () => rig.statuses.length > sent, 3000);
    const values = new Map(rig.statuses.at(-1)!.status[0]!.values.map((kv) => [kv.key, kv.value]));
    assert.equal(values.get('phaseCommands'), '1');
    assert.equal(values.get('phaseRejected'), '1');
    assert.match(values.get('last_error') ?? '', /phase command 'resume': .*refused: expected one of pause, evaluate, finish/);

    // Each offered command comes out of tick() as that request, in order.
    for (const command of ['pause', 'evaluate', 'finish'] as const) {
      rig.phase.publish({ data: command });
      assert.deepEqual(await nextRequest(phase), { event: command, reason: 'phase command on /sacbridge/phase' });
    }
    rig.phase.publish({ data: '  pause\n' });
    assert.equal((await nextRequest(phase))?.event, 'pause', 'surrounding whitespace is ignored');
  } finally {
    await phase.stop();
    // Commands sent before the stop may still be on their way (the graph delivers one message per
    // subscription per event-loop turn, as rclnodejs does): let them land, then count.
    await graph.settle();
    const commands = rig.robot.stats.commands;
    // Closed: the node's subscriptions are gone, rclnodejs is shut down, no command goes out.
    const subscribers = new Map(graph.topicList().map((t) => [t.topic, t.subscribers]));
    assert.deepEqual(['/cartpole/joint_states', '/cartpole/estop', '/sacbridge/phase'].map((t) => subscribers.get(t)), [0, 0, 0]);
    assert.equal(subscribers.get('/cartpole/ready'), 0);
    assert.ok(graph.shutdownCalled, 'the phase shut down the rclnodejs context it initialised');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(rig.robot.stats.commands, commands, 'no command after stop');
    await rig.close();
  }
  // The fine-tuned weights are in the agent (the next checkpoint saves them).
  const afterStop = actorParameters(trainer.agent);
  let changed = 0;
  for (let i = 0; i < before.length; i++) if (afterStop[i] !== before[i]) changed++;
  assert.ok(changed > before.length / 2, `${changed} of ${before.length} actor parameters changed`);
  assert.ok(records.some((r) => r.msg === 'real fine-tuning started'));
});

test('on the ROS graph: an e-stop message becomes an estop request naming it, and the robot gets the zero command', async () => {
  const config = small();
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  const phase = await startRobotPhase({ config, logger: createLogger({ level: 'silent', pretty: 'never' }), agent: trainer.agent, simReplay: trainer.replay, task: TASK, loadRcl: async () => rcl });
  const rig = await cartpoleRig(rcl);
  try {
    await until('50 commands on the robot', () => rig.robot.stats.commands >= 50);
    rig.estop.publish({ data: false });
    assert.equal(await nextRequest(phase, 5), undefined, 'false does not stop');
    rig.estop.publish({ data: true });
    assert.deepEqual(await nextRequest(phase), { event: 'estop', reason: 'robot e-stop: e-stop message on /cartpole/estop' });
    // Latched: asked again on every tick until the daemon leaves the phase, with zero going out.
    assert.equal((await phase.tick()).request?.event, 'estop');
    const n = rig.robot.stats.commands;
    await until('commands after the e-stop', () => rig.robot.stats.commands > n + 5);
    assert.equal(rig.mujoco.read().get('ctrl')![0], 0);
  } finally {
    await phase.stop();
    await rig.close();
  }
  assert.ok(graph.shutdownCalled);
});
