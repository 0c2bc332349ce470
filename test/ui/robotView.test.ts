/**
 * The web UI during the robot phase, in a real browser: a daemon in process (as
 * test/daemon/robotSwitch.test.ts) trains the cart-pole in MuJoCo, passes the gate and fine-tunes
 * on a SimulatedRobot behind the in-memory ROS graph. The 3D view follows the robot: the body
 * poses streamed over the WebSocket are the model's kinematics of the robot's JointStates (cart
 * at the slider position, pole turned by the hinge angle), and the robot's pixels change as it
 * moves. The page shows the phase, the acting policy version, phase and safety events (the
 * watchdog's, when the robot goes silent; an e-stop's phase change) and the robot's curves.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import type { JointState } from '../../src/plant/ros/messages.js';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import { launchChromium } from '../../src/ui/browser.js';
import { tempDir } from '../daemon/helpers.js';
import { cartpoleRig, smallSimThenRobotConfig, startOnGraph, until } from '../daemon/rosRig.js';
import { differingPixels, openUi, scenePixels } from './pixels.js';

const eventsOf = (page: import('playwright-core').Page, kind: string): Promise<string[]> =>
  page.$$eval(`#events li[data-kind="${kind}"]`, (els) => els.map((e) => e.textContent ?? ''));

test('robot phase in the web UI: 3D view from the joint states, phase, policy version, safety events, robot curves', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const config = smallSimThenRobotConfig(dir);
  const graph = new FakeRosGraph();
  const { daemon, rcl } = await startOnGraph(config, graph);
  const running = daemon.run();
  const url = daemon.status().uiUrl!;
  const browser = await launchChromium({ width: 1100, height: 720 });
  let rig: Awaited<ReturnType<typeof cartpoleRig>> | null = null;
  let ws: WebSocket | null = null;
  try {
    const { page, errors } = await openUi(browser.context, url);
    await until('the switch to the robot', () => daemon.phase === 'real_finetune', 30_000);
    await until('rclnodejs initialised', () => graph.initialized);
    rig = await cartpoleRig(rcl);

    // What the robot publishes, to hold the streamed poses against.
    const published: [number, number][] = [];
    const watcher = new rcl.Node('watcher');
    // Best effort (as the robot publishes), keep last 5000, taken all at once below (a spinning
    // node would get one message per turn of an event loop the control thread mostly blocks).
    watcher.createSubscription('sensor_msgs/msg/JointState', '/cartpole/joint_states', { qos: new rcl.QoS(1, 5000, 2, 2) }, (m: JointState) => {
      published.push([m.position[m.name.indexOf('slider')]!, m.position[m.name.indexOf('hinge')]!]);
    });
    const poses: number[][] = [];
    ws = new WebSocket(`${url.replace(/^http/, 'ws')}ws`);
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; poses?: number[] };
      if (m.type === 'poses' && daemon.phase === 'real_finetune') poses.push(m.poses!);
    });
    await until('fine-tuning on the robot', () => rig!.robot.stats.commands >= 20);
    await until('40 poses streamed on the robot', () => poses.length >= 40, 10_000);
    for (let n = -1; n !== published.length; ) {
      n = published.length;
      watcher.spinOnce(0);
    }

    // Bodies world, cart, pole: the cart at the slider's position, the pole turned about y by the hinge angle.
    let matched = 0;
    const sliders = new Set<number>();
    for (const p of poses.slice(-30)) {
      const cartX = p[7]!, poleX = p[14]!, qw = p[17]!, qx = p[18]!, qy = p[19]!, qz = p[20]!;
      const hinge = 2 * Math.atan2(qy, qw);
      assert.ok(Math.abs(qx) < 1e-3 && Math.abs(qz) < 1e-3, `the pole turns about y only: ${p.slice(14, 21).join(' ')}`);
      assert.ok(Math.abs(poleX - cartX) < 2e-4, 'the pole rides on the cart');
      if (published.some(([s, h]) => Math.abs(s - cartX) < 2e-4 && Math.abs(h - hinge) < 1e-3)) matched++;
      sliders.add(Math.round(cartX * 1e3));
    }
    assert.ok(matched >= 28, `${matched} of 30 streamed poses are the kinematics of a JointState the robot published`);
    assert.ok(sliders.size >= 5, `the cart moves in the stream: ${sliders.size} distinct positions`);

    // In the page: drawn, and the robot's pixels change as it moves.
    await page.waitForFunction(() => Number(document.body.dataset.frames ?? 0) > 10, undefined, { timeout: 10_000 });
    const first = (await scenePixels(page)).data;
    let moved = 0;
    for (let i = 0; i < 30 && moved < 50; i++) {
      await page.waitForTimeout(100);
      moved = differingPixels(first, (await scenePixels(page)).data);
    }
    assert.ok(moved >= 50, `the robot's pixels change as it moves: ${moved}`);

    // Phase, acting policy version, the phase events that led here.
    await page.waitForFunction(() => document.getElementById('phase')?.textContent === 'real_finetune', undefined, { timeout: 5000 });
    assert.match((await page.textContent('#policy')) ?? '', /^\d+$/);
    const phases = await eventsOf(page, 'phase');
    assert.ok(phases.some((e) => /phase armed -> real_finetune/.test(e)), phases.join(' | '));

    // The robot's curves: its episodes' returns and the learner's temperature beside sim's.
    await page.waitForFunction(() => Array.from(document.querySelectorAll('[data-chart^="return"] .u-legend .u-label')).some((e) => e.textContent === 'episode (robot)'), undefined, { timeout: 30_000 });
    const alphaLegend = await page.$$eval('[data-chart^="temperature"] .u-legend .u-label', (els) => els.map((e) => e.textContent));
    assert.deepEqual(alphaLegend, ['alpha', 'alpha (robot)']);
    // The robot's rate beside sim's: its episode records carry ticks per second of wall time, which
    // the control loop (100 Hz, missed slots skipped, never burst) keeps at or under its rate,
    // counted on the loop's slots, so exactly.
    const rateLegend = await page.$$eval('[data-chart^="environment steps"] .u-legend .u-label', (els) => els.map((e) => e.textContent));
    assert.deepEqual(rateLegend, ['steps/s', 'steps/s (robot)']);
    const robotRates = readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.type === 'episode' && r.phase === 'robot').map((r) => r.steps_per_s);
    assert.ok(robotRates.length >= 1 && robotRates.every((x) => typeof x === 'number' && x > 0 && x <= 100), `robot steps/s ${robotRates.join(', ')}`);

    // The robot goes silent: the watchdog holds the command, and the page says so.
    await rig.silence();
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#events li[data-kind="safety"]')).some((e) => /stale/.test(e.textContent ?? '')), undefined, { timeout: 10_000 });
    // The header shows the newest safety event (read together: more may come in meanwhile).
    const [header, newest] = await page.evaluate(() => [document.getElementById('safety')!.textContent ?? '', document.querySelector('#events li[data-kind="safety"]')!.textContent ?? '']);
    assert.ok(newest.endsWith(`safety: ${header}`), `header '${header}', newest event '${newest}'`);
    // An e-stop: the phase changes, with the reason.
    rig.estop.publish({ data: true });
    await page.waitForFunction(() => document.getElementById('phase')?.textContent === 'estop', undefined, { timeout: 10_000 });
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#events li[data-kind="phase"]')).some((e) => /real_finetune -> estop: robot e-stop: e-stop message on \/cartpole\/estop/.test(e.textContent ?? '')), undefined, { timeout: 5000 });
    // A page opened now gets the events so far.
    const late = await openUi(browser.context, url);
    assert.ok((await eventsOf(late.page, 'safety')).some((e) => /stale/.test(e)));
    assert.deepEqual([...errors, ...late.errors], []);
    watcher.destroy();
  } finally {
    ws?.close();
    await browser.close();
    daemon.requestStop('test over');
    assert.equal(await running, 0);
    await rig?.close();
  }
});
