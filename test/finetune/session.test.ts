/**
 * FineTuneSession's safety behaviour on the ROS double, with the real SAC learner in its worker:
 * an e-stop mid fine-tuning holds the safe command and stops learning until resumed; stale
 * robot data holds the command and pauses learning until fresh data returns; a NaN reading
 * ends the episode through the safety layer; pause and resume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initCompute } from '../../src/compute/backend.js';
import { SoftActorCritic } from '../../src/agent/sac.js';
import { FineTuneSession, type FineTuneEpisode } from '../../src/finetune/session.js';
import { unscaleCommand } from '../../src/env/env.js';
import { scaleAction } from '../../src/env/env.js';
import { evaluateGate } from '../../src/train/evaluation.js';
import { MujocoPlant } from '../../src/plant/mujoco/mujocoPlant.js';
import type { Float64MultiArray, JointState } from '../../src/plant/ros/messages.js';
import { RosPlant } from '../../src/plant/ros/rosPlant.js';
import type { RosPlantConfig } from '../../src/plant/ros/rosPlantConfig.js';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import { SimulatedRobot } from '../../src/plant/ros/simulatedRobot.js';
import { pointReach } from '../../src/task/builtin/pointReach.js';
import { resolveModelPath } from '../../src/task/registry.js';
import { createEnv } from '../../src/wiring/envFactory.js';
import { agentAndReplay } from './fixtures.js';
import { fifoSchedulingProblem, mainThreadScheduling } from '../../src/control/realtime.js';

await initCompute();

/** SCHED_FIFO needs root or CAP_SYS_NICE; elsewhere the session runs at normal priority. */
const FIFO = fifoSchedulingProblem(5) === null ? 5 : 0;
if (FIFO === 0) console.log('# session test: SCHED_FIFO not permitted here, the control thread priority is not exercised');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const rosConfig = (extra: Partial<RosPlantConfig> = {}): RosPlantConfig => ({
  nodeName: 'sacbridge', controlPeriod: 0.05,
  observations: [{ type: 'sensor_msgs/msg/JointState', topic: '/joint_states', joints: ['x', 'y'], signals: { position: 'qpos', velocity: 'qvel' } }],
  command: { type: 'std_msgs/msg/Float64MultiArray', topic: '/cmd', low: [-1, -1], high: [1, 1] },
  estop: { topic: '/estop' },
  reset: { mode: 'operator', topic: '/ready', timeout: 5 },
  ...extra,
});

test('e-stop mid fine-tuning: the safe command goes out, learning stops; resume restarts both', { timeout: 120_000 }, async () => {
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const body = await MujocoPlant.create(resolveModelPath('point_reach'), { frameSkip: pointReach.frameSkip });
  await body.reset();
  const robot = SimulatedRobot.open(rcl, body, {
    nodeName: 'robot', commandTopic: '/cmd', readyTopic: '/ready', timing: { mode: 'on-command' },
    jointStates: { topic: '/joint_states', joints: ['x', 'y'], position: 'qpos', velocity: 'qvel' },
  });
  const plant = RosPlant.open(rcl, rosConfig({ advance: { mode: 'lockstep', timeout: 2 }, estopCommand: 'zero' }));
  // Every tick takes what arrived since the I/O window first (Plant.takeNow).
  let takes = 0;
  const takeNow = plant.takeNow.bind(plant);
  plant.takeNow = () => { takes++; takeNow(); };
  const commands: number[][] = [];
  const watcher = new rcl.Node('watcher');
  watcher.createSubscription('std_msgs/msg/Float64MultiArray', '/cmd', {}, (m: Float64MultiArray) => commands.push([...m.data]));
  watcher.spin();
  const { agent, simReplay } = agentAndReplay();
  const episodes: FineTuneEpisode[] = [];
  // The weights the loop acts with, as the daemon's policy server gets them.
  const acted: number[] = [];
  const session = await FineTuneSession.start({
    agent, simReplay, plant, task: pointReach.create(),
    safety: { low: [-1, -1], high: [1, 1], watchdog: { maxAge: 0.5, action: 'hold' } },
    rateHz: 200, robotFraction: 0.5, updatesPerStep: 1, learningStarts: 20, publishEvery: 5, robotReplayCapacity: 5000, seed: 3,
    controlThreadPriority: FIFO,
    onEpisode: (e) => { episodes.push(e); setTimeout(() => void robot.reset(), 1); },
    onPolicy: (w, version) => { assert.equal(w.mean.outSize, 2); acted.push(version); },
  });
  try {
    if (FIFO > 0) assert.deepEqual(mainThreadScheduling(), { policy: 'fifo', priority: FIFO }, 'the control thread runs real-time while the session runs');
    await robot.reset();
    await until('updates and new weights, mid-episode', () => session.status().learner.updates >= 30 && session.status().policyVersion > 0 && session.status().state === 'running');
    assert.equal(acted[0], 0, 'the start weights first');
    assert.equal(acted.at(-1), session.status().policyVersion, 'then every version the loop swapped in');

    session.estop('operator pressed the button');
    const at = { commands: commands.length, transitions: session.status().transitions, updates: session.status().learner.updates };
    await sleep(400);
    const s = session.status();
    assert.equal(s.state, 'estop');
    assert.equal(s.estopReason, 'operator pressed the button');
    assert.ok(plant.estopped, 'the plant latched the e-stop');
    assert.equal(s.learningPaused, true);
    assert.match(s.learningPausedReason ?? '', /^e-stop: operator pressed the button/);
    assert.equal(s.transitions, at.transitions, 'no transitions after the e-stop');
    assert.ok(s.learner.updates <= at.updates + 1, `updates ${at.updates} -> ${s.learner.updates}: at most the one in flight`);
    const after = commands.slice(at.commands + 1); // the first may have been in flight
    assert.ok(after.length > 20, `safe commands published every tick (${after.length})`);
    assert.ok(after.every((c) => c[0] === 0 && c[1] === 0), 'every command after the e-stop is zero');

    // An e-stop is not cleared by a new episode: only resume() (the control API) clears it.
    session.resume();
    assert.equal(plant.estopped, false);
    await robot.reset();
    await until('learning again', () => session.status().state === 'running' && session.status().learner.updates > at.updates + 10);
    assert.equal(session.status().estopReason, null);

    // The e-stop topic latches it too.
    const panel = new rcl.Node('panel');
    panel.createPublisher('std_msgs/msg/Bool', '/estop', {}).publish({ data: true });
    await until('e-stop from the topic', () => session.status().state === 'estop');
    assert.match(session.status().estopReason ?? '', /e-stop message on \/estop/);
    panel.destroy();
    const ticks = session.status().loop.ticks;
    assert.ok(takes >= ticks && ticks > 0, `takeNow called ${takes} times in ${ticks} ticks`);
  } finally {
    const r = await session.stop();
    assert.deepEqual(mainThreadScheduling(), { policy: 'other', priority: 0 }, 'normal scheduling again after the session');
    assert.ok(r.state !== null && r.state.agent.updates > 0, 'learned state handed back');
    assert.equal(agent.version, r.state?.agent.updates, 'and installed into the agent');
    watcher.destroy();
    await plant.close();
    await robot.close();
    await body.close();
  }
});

test('stale robot data holds the command and pauses learning; fresh data resumes; NaN ends the episode', { timeout: 120_000 }, async () => {
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const plant = RosPlant.open(rcl, rosConfig());
  // The robot: a velocity-controlled point publishing joint states every 4 ms on its own clock.
  const node = new rcl.Node('robot');
  const js = node.createPublisher('sensor_msgs/msg/JointState', '/joint_states', { qos: rcl.QoS.profileSensorData });
  const ready = node.createPublisher('std_msgs/msg/Bool', '/ready', {});
  const commands: number[][] = [];
  const pos = [0, 0], vel = [0, 0];
  node.createSubscription('std_msgs/msg/Float64MultiArray', '/cmd', {}, (m: Float64MultiArray) => {
    commands.push([...m.data]);
    vel[0] = 0.5 * m.data[0]; vel[1] = 0.5 * m.data[1];
  });
  node.spin();
  let publishing = true, poisonUntil = 0;
  const feed = setInterval(() => {
    if (!publishing) return;
    for (let i = 0; i < 2; i++) pos[i] = Math.max(-0.5, Math.min(0.5, pos[i] + vel[i] * 0.004));
    const position = performance.now() < poisonUntil ? [Number.NaN, 0] : [...pos];
    js.publish({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, name: ['x', 'y'], position, velocity: [...vel], effort: [] } as JointState);
  }, 4);
  const { agent, simReplay } = agentAndReplay();
  const episodes: FineTuneEpisode[] = [];
  const session = await FineTuneSession.start({
    agent, simReplay, plant, task: pointReach.create(),
    safety: { low: [-1, -1], high: [1, 1], watchdog: { maxAge: 0.05, action: 'hold' } },
    rateHz: 100, robotFraction: 0.5, updatesPerStep: 1, learningStarts: 20, publishEvery: 5, robotReplayCapacity: 5000, seed: 4,
    episodeSteps: 1000,
    onEpisode: (e) => { episodes.push(e); setTimeout(() => { pos[0] = pos[1] = 0; ready.publish({ data: true }); }, 20); },
  });
  try {
    await sleep(50);
    ready.publish({ data: true });
    await until('learning', () => session.status().learner.updates >= 20);
    assert.equal(session.status().learningPaused, false);

    publishing = false;
    await until('the watchdog', () => session.status().learningPaused);
    await sleep(60); // an update in flight finishes
    const during = session.status();
    assert.match(during.learningPausedReason ?? '', /stale 'qpos'/);
    const held = commands.length;
    await sleep(300);
    const later = session.status();
    assert.equal(later.learner.updates, during.learner.updates, 'no updates while the data is stale');
    assert.equal(later.transitions, during.transitions, 'no transitions from stale data');
    assert.ok(later.transitionsSkipped > during.transitionsSkipped, 'stale ticks are skipped, not learned');
    assert.ok(later.safety.counters.stale > 20);
    const heldCommands = commands.slice(held);
    assert.ok(heldCommands.length > 20 && heldCommands.every((c) => c[0] === heldCommands[0][0] && c[1] === heldCommands[0][1]), 'the last command is held');
    assert.equal(later.state, 'running', 'stale data pauses learning, not the session');

    publishing = true;
    await until('fresh data resumes learning', () => !session.status().learningPaused && session.status().learner.updates > later.learner.updates + 10);
    assert.ok(session.status().transitions > later.transitions);

    // A sensor glitch, held until a tick has seen it: each tick acts on the newest sample only.
    poisonUntil = Infinity;
    await until('the NaN episode end', () => episodes.some((e) => /safety: non-finite observation qpos\[0\]/.test(e.reason)));
    poisonUntil = 0;
    await until('the next episode', () => session.status().state === 'running');

    session.pause();
    const paused = session.status();
    assert.equal(paused.state, 'paused');
    await sleep(200);
    assert.equal(session.status().transitions, paused.transitions);
    assert.ok(commands.slice(-5).every((c) => c[0] === 0 && c[1] === 0), 'pause holds the zero command');
    session.resume();
    await sleep(20);
    ready.publish({ data: true });
    await until('running after resume', () => session.status().state === 'running' && session.status().transitions > paused.transitions);
  } finally {
    clearInterval(feed);
    await session.stop();
    node.destroy();
    await plant.close();
  }
});

test('gate: deterministic sim episodes, mean against the threshold; bad arguments named', async () => {
  const agent = new SoftActorCritic(4, 2, { hidden: [16] }, 7);
  const runGate = async (threshold: number) => {
    const env = await createEnv('point_reach', { seed: 11 });
    try { return await evaluateGate(env, agent, 3, threshold); } finally { await env.plant.close(); }
  };
  const a = await runGate(-1000), b = await runGate(0);
  assert.deepEqual(a.returns, b.returns, 'same env seed, deterministic policy: same episodes');
  assert.equal(a.returns.length, 3);
  assert.ok(Math.abs(a.mean - (a.returns[0] + a.returns[1] + a.returns[2]) / 3) < 1e-9);
  assert.equal(a.passed, true);
  assert.equal(b.passed, false, 'point_reach returns are negative');
  const env = await createEnv('point_reach', { seed: 11 });
  await assert.rejects(evaluateGate(env, agent, 0, 0), /gate: episodes must be an integer >= 1, got 0/);
  await assert.rejects(evaluateGate(env, agent, 2, Number.NaN), /gate: threshold must be a finite number/);
  await env.plant.close();
  agent.dispose();
});

test('unscaleCommand inverts scaleAction and clips', () => {
  const low = Float64Array.of(-2, 0, 5), high = Float64Array.of(2, 10, 5);
  const a = Float32Array.of(-0.25, 0.5, 0.3), c = new Float64Array(3), back = new Float32Array(3);
  scaleAction(a, low, high, c);
  unscaleCommand(c, low, high, back);
  assert.ok(Math.abs(back[0] - -0.25) < 1e-6 && Math.abs(back[1] - 0.5) < 1e-6);
  assert.equal(back[2], 0, 'a zero-width range maps to 0');
  unscaleCommand(Float64Array.of(3, -1, 5), low, high, back);
  assert.deepEqual([...back], [1, -1, 0]);
});
