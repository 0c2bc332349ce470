/**
 * The robot-side wiring end to end on the ROS double: RosPlant → SafetyLayer → command topic on
 * the ControlLoop's timer, transitions into the learner worker, weights back. Stale joint states
 * trip the watchdog: the command is held, no transitions are recorded and learning pauses;
 * fresh data resumes both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import { RosPlant } from '../../src/plant/ros/rosPlant.js';
import type { Float64MultiArray } from '../../src/plant/ros/messages.js';
import { SafetyLayer } from '../../src/safety/safetyLayer.js';
import { ControlLoop } from '../../src/control/controlLoop.js';
import { LearnerHost } from '../../src/learner/learnerHost.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('stale observations on the robot hold the command and pause learning; fresh data resumes', async () => {
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const plant = RosPlant.open(rcl, {
    nodeName: 'sacbridge',
    controlPeriod: 0.005,
    observations: [{ type: 'sensor_msgs/msg/JointState', topic: '/joint_states', joints: ['j0', 'j1'], signals: { position: 'q', velocity: 'qd' } }],
    command: { type: 'std_msgs/msg/Float64MultiArray', topic: '/cmd', low: [-1, -1], high: [1, 1] },
    estop: { topic: '/estop' },
    reset: { mode: 'operator', timeout: 1 },
  });
  const safety = new SafetyLayer({ low: [-1, -1], high: [1, 1], maxDelta: 0.5, watchdog: { maxAge: 0.03, action: 'hold' }, ageOf: (s) => plant.signalAge(s) });
  const host = await LearnerHost.start({
    module: fileURLToPath(new URL('../../src/learner/syntheticLearner.js', import.meta.url)),
    options: { gemmSize: 32, gemmsPerUpdate: 1 },
    observationSize: 4, actionSize: 2,
    actor: { observationSize: 4, hiddenSizes: [8], actionSize: 2, normalizer: false },
    schedule: { updatesPerTransition: 1, learningStarts: 1, publishEvery: 1, metricsEvery: 1000 },
  });
  const robotNode = new rcl.Node('robot');
  const js = robotNode.createPublisher('sensor_msgs/msg/JointState', '/joint_states', { qos: rcl.QoS.profileSensorData });
  const sent: number[][] = [];
  robotNode.createSubscription('std_msgs/msg/Float64MultiArray', '/cmd', {}, (m: Float64MultiArray) => sent.push([...m.data]));
  robotNode.spin();
  let publishing = true, t = 0;
  const feed = setInterval(() => { if (publishing) js.publish({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, name: ['j1', 'j0'], position: [Math.sin(t), Math.cos(t)], velocity: [0, 0], effort: [] }); t += 0.01; }, 2);

  const obs = new Float32Array(4), prev = new Float32Array(4), action = new Float32Array(2), cmd = new Float64Array(2);
  let havePrev = false, recorded = 0, pausedTicks = 0, versionSeen = 0;
  const loop = new ControlLoop({
    rateHz: 200,
    onTick: (tick) => {
      const s = plant.read();
      const q = s.get('q') as Float64Array, qd = s.get('qd') as Float64Array;
      obs[0] = q[0]; obs[1] = q[1]; obs[2] = qd[0]; obs[3] = qd[1];
      const w = host.weights.poll();
      if (w !== null) versionSeen = w.version;
      // A toy policy whose output changes every tick, so a held command is visible.
      const wiggle = 0.3 * Math.sin(tick.index * 0.7);
      action[0] = 0.5 * obs[1] + wiggle; action[1] = 0.5 * obs[0] - wiggle;
      cmd[0] = action[0]; cmd[1] = action[1];
      const stop = safety.filter(cmd, s);
      host.setPaused(safety.learningPaused);
      if (safety.learningPaused) pausedTicks++;
      else if (stop === null && havePrev) { host.transitions.push(prev, action, 0, obs, false); recorded++; }
      plant.write(cmd);
      prev.set(obs);
      havePrev = stop === null && !safety.learningPaused;
    },
  });
  try {
    for (let i = 0; i < 100 && plant.signalAge('q') > 0.01; i++) await sleep(5);
    loop.start();
    await sleep(250);
    const before = { recorded, updates: host.stats().updates, sent: sent.length };
    assert.ok(before.recorded > 20, `recorded ${before.recorded}`);
    assert.ok(before.updates > 0);
    assert.equal(pausedTicks, 0);
    publishing = false;
    await sleep(250);
    assert.ok(safety.learningPaused, 'watchdog holds');
    assert.ok(pausedTicks > 10, `paused ticks ${pausedTicks}`);
    assert.match(safety.lastReason ?? '', /stale 'q'/);
    const during = { recorded, updates: host.stats().updates };
    const held = sent.slice(-5);
    assert.ok(held.every((c) => c[0] === held[0][0] && c[1] === held[0][1]), 'the last safe command is held while stale');
    await sleep(100);
    assert.equal(recorded, during.recorded, 'no transitions recorded while stale');
    assert.equal(host.stats().updates, during.updates, 'no updates while paused');
    publishing = true;
    await sleep(250);
    assert.equal(safety.learningPaused, false);
    assert.ok(recorded > during.recorded + 10);
    assert.ok(host.stats().updates > during.updates);
    assert.ok(versionSeen > 0, 'new weights reached the control side');
  } finally {
    clearInterval(feed);
    await loop.stop();
    await host.stop();
    await plant.close();
  }
});
