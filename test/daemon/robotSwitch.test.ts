/**
 * The daemon's sim-to-real switch end to end, in process, on the in-memory ROS graph: a daemon
 * configured like config/examples/sim-then-robot.json (tiny networks, a short sim budget, a gate
 * any upright start passes, automatic switch) trains in MuJoCo, evaluates, arms, switches to
 * fine-tuning the cart-pole behind the graph, and a "pause" on the phase topic pauses it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import { tempDir } from './helpers.js';
import { cartpoleRig, smallSimThenRobotConfig, startOnGraph, until } from './rosRig.js';

test('sim_training -> evaluating -> armed -> real_finetune on the ROS graph, then "pause" on the phase topic pauses the daemon', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const config = smallSimThenRobotConfig(dir);
  const graph = new FakeRosGraph();
  const { daemon, rcl, records } = await startOnGraph(config, graph);
  const seen: string[] = [];
  daemon.onPhaseChange((c) => seen.push(`${c.from.phase}->${c.to.phase}`));
  const running = daemon.run();
  let rig: Awaited<ReturnType<typeof cartpoleRig>> | null = null;
  try {
    await until('the switch to the robot', () => daemon.phase === 'real_finetune', 30_000);
    // The robot phase initialises rclnodejs on its first tick; the robot joins the graph then.
    await until('rclnodejs initialised', () => graph.initialized);
    rig = await cartpoleRig(rcl);
    await until('fine-tuning on the robot', () => rig!.robot.stats.commands >= 20);
    rig.phase.publish({ data: 'pause' });
    await until('the pause', () => daemon.phase === 'paused', 5000);
    assert.deepEqual(seen, ['sim_training->evaluating', 'evaluating->armed', 'armed->real_finetune', 'real_finetune->paused']);
    const pause = records.find((r) => r.msg === 'phase real_finetune -> paused');
    assert.equal(pause?.reason, 'phase command on /sacbridge/phase');
    // Leaving the phase stopped the session and closed the plant.
    await until('the robot phase closed', () => !graph.initialized, 5000);
    const n = rig.robot.stats.commands;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(rig.robot.stats.commands, n, 'no commands once paused');
    assert.ok(records.some((r) => r.msg === 'real fine-tuning started'));
  } finally {
    daemon.requestStop('test over');
    assert.equal(await running, 0);
    await rig?.close();
  }
});
