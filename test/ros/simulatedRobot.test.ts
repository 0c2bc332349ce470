import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import { SimulatedRobot } from '../../src/plant/ros/simulatedRobot.js';
import { RosPlant } from '../../src/plant/ros/rosPlant.js';
import type { CommandSpec, Plant, SignalSpec, Signals } from '../../src/plant/plant.js';
import type { Task } from '../../src/task/task.js';
import { Env } from '../../src/env/env.js';
import { SafetyLayer } from '../../src/safety/safetyLayer.js';

/** Two point masses on a line, force-controlled, semi-implicit Euler: the "robot" for these tests. */
class PointMasses implements Plant {
  readonly kind = 'test-point-masses';
  readonly signals: SignalSpec[] = [{ name: 'x', size: 2 }, { name: 'v', size: 2 }];
  readonly command: CommandSpec = { size: 2, low: Float64Array.of(-1, -1), high: Float64Array.of(1, 1) };
  readonly controlPeriod = 0.02;
  private readonly x = new Float64Array(2);
  private readonly v = new Float64Array(2);
  private readonly u = new Float64Array(2);
  private readonly map = new Map([['x', this.x], ['v', this.v]]);
  constructor(private readonly mass: number, private readonly start: number) {}
  async reset(): Promise<void> { this.x.fill(this.start); this.v.fill(0); this.u.fill(0); }
  read(): Signals { return this.map; }
  write(c: Float64Array): void { this.u.set(c); }
  async advance(): Promise<void> {
    for (let i = 0; i < 2; i++) { this.v[i] += (this.u[i] / this.mass) * this.controlPeriod; this.x[i] += this.v[i] * this.controlPeriod; }
  }
  async close(): Promise<void> {}
}

const task: Task = {
  name: 'reach-zero', observationSize: 4, maxEpisodeSteps: 1000,
  requiredSignals: [{ name: 'x', size: 2 }, { name: 'v', size: 2 }],
  beginEpisode: () => {},
  observe: (s, out) => { const x = s.get('x')!, v = s.get('v')!; out[0] = x[0]; out[1] = x[1]; out[2] = v[0]; out[3] = v[1]; },
  score: (s) => { const x = s.get('x')!; const r = -(x[0] * x[0] + x[1] * x[1]); return { reward: r, terms: { distance: r }, terminated: false }; },
};

test('Env + task over RosPlant in lockstep with a simulated robot: same trajectory as the plant driven directly, commands delayed by the latency', async () => {
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const robotPlant = new PointMasses(2, 0.5);
  await robotPlant.reset();
  const robot = SimulatedRobot.open(rcl, robotPlant, {
    nodeName: 'robot', commandTopic: '/cmd', latencySteps: 2, readyTopic: '/ready',
    jointStates: { topic: '/joint_states', joints: ['a', 'b'], position: 'x', velocity: 'v' },
    timing: { mode: 'on-command' },
  });
  const plant = RosPlant.open(rcl, {
    nodeName: 'sacbridge', controlPeriod: 0.02,
    observations: [{ type: 'sensor_msgs/msg/JointState', topic: '/joint_states', joints: ['b', 'a'], signals: { position: 'xr', velocity: 'vr' } }],
    command: { type: 'std_msgs/msg/Float64MultiArray', topic: '/cmd', low: [-1, -1], high: [1, 1] },
    estop: { topic: '/estop' },
    reset: { mode: 'operator', topic: '/ready', timeout: 2 },
    advance: { mode: 'lockstep', timeout: 1 },
  });
  // The task reads 'x' and 'v'; this RosPlant names them xr/vr with joints swapped, so adapt by a view.
  const swapped: Task = {
    ...task,
    requiredSignals: [{ name: 'xr', size: 2 }, { name: 'vr', size: 2 }],
    observe: (s, out) => task.observe(new Map([['x', s.get('xr')!], ['v', s.get('vr')!]]), out),
    score: (s, c) => task.score(new Map([['x', s.get('xr')!]]), c),
  };
  const safety = new SafetyLayer({ low: [-1, -1], high: [1, 1], watchdog: { maxAge: 0.5, action: 'hold' }, ageOf: (s) => plant.signalAge(s) });
  const env = new Env(plant, swapped, { seed: 1, filter: safety });
  const reference = new PointMasses(2, 0.5);
  await reference.reset();
  try {
    const first = env.reset();
    await robot.reset();
    const obs0 = await first;
    assert.deepEqual([...obs0], [0.5, 0.5, 0, 0]);
    const actions: Float32Array[] = [];
    for (let k = 0; k < 40; k++) {
      const a = Float32Array.of(Math.sin(k / 5), -0.5);
      actions.push(a);
      const r = await env.step(a);
      // Reference: the command from two steps ago (zero before), joints swapped back.
      const applied = k >= 2 ? actions[k - 2] : Float32Array.of(0, 0);
      reference.write(Float64Array.of(applied[0], applied[1]));
      await reference.advance();
      const x = reference.read().get('x')!, v = reference.read().get('v')!;
      const expected = [x[1], x[0], v[1], v[0]];
      r.observation.forEach((o, i) => assert.ok(Math.abs(o - expected[i]) < 1e-6, `step ${k} obs[${i}] ${o} vs ${expected[i]}`));
      assert.equal(r.abort, null);
    }
    assert.equal(robot.stats.steps, 40);
    assert.equal(safety.counters.stale, 0);
  } finally {
    await plant.close();
    await robot.close();
  }
});

test('lockstep advance fails clearly when the robot does not answer', async () => {
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const plant = RosPlant.open(rcl, {
    nodeName: 'sacbridge', controlPeriod: 0.02,
    observations: [{ type: 'sensor_msgs/msg/JointState', topic: '/joint_states', joints: ['a'], signals: { position: 'x' } }],
    command: { type: 'std_msgs/msg/Float64MultiArray', topic: '/cmd', low: [-1], high: [1] },
    estop: { topic: '/estop' },
    reset: { mode: 'operator', timeout: 1 },
    advance: { mode: 'lockstep', timeout: 0.05 },
  });
  try {
    await plant.advance(); // nothing sent yet: returns at once
    plant.write(Float64Array.of(0.1));
    await assert.rejects(plant.advance(), /advance: no message on \/joint_states within 0.05 s after the command/);
  } finally {
    await plant.close();
  }
});

test('periodic simulated robot: steps on its own clock with the latest command, publishes noisy arrays', async () => {
  const { Rng } = await import('../../src/util/rng.js');
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const robotPlant = new PointMasses(1, 0);
  await robotPlant.reset();
  const robot = SimulatedRobot.open(rcl, robotPlant, {
    nodeName: 'robot', commandTopic: '/cmd', arrays: [{ topic: '/state', signals: ['x', 'v'] }],
    noise: { std: 0.01, rng: new Rng(5) }, timing: { mode: 'periodic', periodMs: 5 },
  });
  const plant = RosPlant.open(rcl, {
    nodeName: 'sacbridge', controlPeriod: 0.005,
    observations: [{ type: 'std_msgs/msg/Float64MultiArray', topic: '/state', signals: [{ name: 'x', offset: 0, size: 2 }, { name: 'v', offset: 2, size: 2 }] }],
    command: { type: 'std_msgs/msg/Float64MultiArray', topic: '/cmd', low: [-1, -1], high: [1, 1] },
    estop: { topic: '/estop' },
    reset: { mode: 'operator', timeout: 1 },
  });
  try {
    plant.write(Float64Array.of(1, -1));
    await new Promise((r) => setTimeout(r, 150));
    assert.ok(robot.stats.steps >= 5, `stepped ${robot.stats.steps} times on its own`);
    const truth = robotPlant.read().get('v')!;
    assert.ok(truth[0] > 0 && truth[1] < 0, 'the command was applied');
    const seen = plant.read().get('v')!;
    assert.ok(Math.abs(seen[0] - truth[0]) < 0.2 && seen[0] !== truth[0], 'noisy, close to the truth');
    assert.ok(plant.signalAge('v') < 0.1);
  } finally {
    await plant.close();
    await robot.close();
  }
});

for (const wait of ['timer', 'block'] as const) test(`periodic simulated robot (wait: '${wait}'): one sample per slot, stamped with the slot time on a fixed grid, also for the slots a blocked thread made it miss (up to maxCatchUp)`, async () => {
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const robotPlant = new PointMasses(1, 0);
  await robotPlant.reset();
  let wall = 1_000_000;
  const robot = SimulatedRobot.open(rcl, robotPlant, {
    nodeName: 'robot', commandTopic: '/cmd', jointStates: { topic: '/joint_states', joints: ['a', 'b'], position: 'x' },
    timing: { mode: 'periodic', periodMs: 5, maxCatchUp: 8, wait }, wallClock: () => wall,
  });
  const stamps: number[] = [];
  const plant = RosPlant.open(rcl, {
    nodeName: 'sacbridge', controlPeriod: 0.005,
    observations: [{ type: 'sensor_msgs/msg/JointState', topic: '/joint_states', joints: ['a', 'b'], signals: { position: 'x' }, qos: { reliability: 'best_effort', depth: 1000 } }],
    command: { type: 'std_msgs/msg/Float64MultiArray', topic: '/cmd', low: [-1, -1], high: [1, 1] },
    estop: { topic: '/estop' },
    reset: { mode: 'operator', timeout: 1 },
  }, { onSample: (_t, stamp) => { if (stamp !== null) stamps.push(stamp); } });
  const block = (ms: number): void => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms); };
  try {
    await new Promise((r) => setTimeout(r, 30));
    block(30); // ~6 slots missed: caught up in one burst, each with its own stamp
    await new Promise((r) => setTimeout(r, 30));
    block(100); // ~20 slots missed: 8 caught up, the rest skipped
    await new Promise((r) => setTimeout(r, 30));
    await robot.idle();
    await plant.drain(performance.now() + 1000);
    assert.equal(stamps.length, robot.stats.published);
    assert.equal(robot.stats.steps, robot.stats.published);
    assert.ok(robot.stats.skippedSlots >= 5, `skipped ${robot.stats.skippedSlots}`);
    // Stamps: wallStart + k * 5 ms; consecutive samples one slot apart except where slots were skipped.
    const slots = stamps.map((s) => Math.round((s - wall) / 0.005));
    stamps.forEach((s, i) => assert.ok(Math.abs(s - (wall + slots[i]! * 0.005)) < 1e-6, `stamp ${i} off the grid`));
    assert.deepEqual(slots, [...slots].sort((a, b) => a - b), 'in slot order');
    let gaps = 0;
    for (let i = 1; i < slots.length; i++) gaps += slots[i]! - slots[i - 1]! - 1;
    assert.equal(slots[0], 1, 'the first sample is slot 1');
    assert.equal(gaps, robot.stats.skippedSlots, 'the only gaps are the skipped slots');
  } finally {
    await plant.close();
    await robot.close();
  }
});
