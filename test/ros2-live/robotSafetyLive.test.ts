/**
 * The robot phase's safety over real ROS 2 (rclnodejs, Cyclone DDS on loopback), with the daemon
 * and the stand-in robot (`sacbridge sim-robot`) in their own processes and this process as the
 * operator, watching every command on the wire:
 *
 *   - the ready wait logs that it waits, on which topic and for which type, and a SIGTERM during
 *     it stops with a checkpoint and exit 0;
 *   - the robot process killed (SIGKILL): the stale watchdog gives the safe (zero) command within
 *     2 ticks of the data crossing ros.staleAgeMs (by the last JointState's header stamp);
 *   - SIGTERM while fine-tuning: a checkpoint holding the robot's part, exit 0;
 *   - an e-stop message: a zero command within 1 tick, the daemon in estop.
 *
 * Tick counts, not timings: at 20 Hz a tick is 50 ms, far above loopback delivery. Skipped
 * without ROS 2 (see ../rosLive.ts).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fifoSchedulingProblem } from '../../src/control/realtime.js';
import { after, afterEach, before, test } from 'node:test';
import { loadCheckpoint } from '../../src/agent/checkpoint.js';
import type { Float64MultiArray, JointState } from '../../src/plant/ros/messages.js';
import { loadRclnodejs, type RclModule, type RclNode, type RclPublisher } from '../../src/plant/ros/rclnodejs.js';
import { decodeTrainingSnapshot } from '../../src/train/trainingState.js';
import { killAll, msgIs, spawnDaemon, tempDir, TINY_SAC, type DaemonProcess } from '../daemon/helpers.js';
import { liveRosSkip, rosChildEnv, useOwnRosDomain } from '../rosLive.js';
import { robotConfig, startStandIn } from './standIn.js';

const skip = liveRosSkip('robot phase safety over real ROS 2');
const ns = `/safety_${process.pid}`;
const domain = skip ? 0 : useOwnRosDomain();
const RATE_HZ = 20;
const STALE_MS = 150;

const children: ChildProcess[] = [];
afterEach(killAll);
after(() => { for (const c of children) c.kill('SIGKILL'); });

/** What this process sees on the wire: commands (receive time, value) and the robot's last JointState stamp. */
const wire = { commands: [] as { at: number; value: number }[], lastStampMs: Number.NaN };
let rcl: RclModule;
let operator: RclNode;
let estop: RclPublisher<{ data: boolean }>;

before(async () => {
  if (skip) return;
  rcl = await loadRclnodejs();
  await rcl.init();
  operator = new rcl.Node(`operator_${process.pid}`);
  operator.createSubscription('std_msgs/msg/Float64MultiArray', `${ns}/effort_controller/commands`, { qos: rcl.QoS.profileDefault }, (m: Float64MultiArray) => {
    wire.commands.push({ at: wallMs(), value: m.data[0]! });
  });
  operator.createSubscription('sensor_msgs/msg/JointState', `${ns}/joint_states`, { qos: rcl.QoS.profileSensorData }, (m: JointState) => {
    wire.lastStampMs = m.header.stamp.sec * 1000 + m.header.stamp.nanosec / 1e6;
  });
  estop = operator.createPublisher('std_msgs/msg/Bool', `${ns}/estop`, { qos: rcl.QoS.profileDefault });
  operator.spin();
});

after(() => {
  if (skip) return;
  operator.destroy();
  rcl.shutdown();
});

/** Wall-clock milliseconds, on the clock the header stamps use. */
const wallMs = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Non-zero commands flow (the policy acts), seen after `since`. */
const acting = (since: number) => (): boolean => wire.commands.filter((c) => c.at > since && c.value !== 0).length >= 5;

async function stopWith(d: DaemonProcess, signal: NodeJS.Signals): Promise<void> {
  d.child.kill(signal);
  assert.equal((await d.exit).code, 0, `exit 0 after ${signal}; stderr: ${d.stderr.join('')}`);
  assert.ok(d.logs.some((r) => msgIs('checkpoint written')(r) && String(r.reason) === `stop (${signal})`), `a final checkpoint on ${signal}`);
  assert.equal(d.logs.some(msgIs('stop timed out; exiting without a final checkpoint')), false);
}

test('live: the ready wait says where it waits; stale data and an e-stop give the safe command within 2 and 1 ticks; SIGTERM stops with a checkpoint, waiting or fine-tuning', { skip, timeout: 240_000 }, async (t) => {
  const dir = tempDir();
  const config = robotConfig(dir, ns, { staleAgeMs: STALE_MS, checkpointEverySeconds: 0 });
  const args = ['--config', config, ...TINY_SAC, '--metrics.port', '0'];
  const env = rosChildEnv(domain);
  const ckDir = join(dir, 'state', 'run', 'checkpoints');

  // 1. No robot yet: the robot phase waits for "ready" and says so; SIGTERM ends the wait.
  const a = spawnDaemon(args, env);
  const waiting = await a.waitFor((r) => typeof r.msg === 'string' && r.msg.startsWith('robot reset: waiting for "ready"'), 120_000, 'the ready wait');
  assert.equal(waiting.topic, `${ns}/ready`);
  assert.equal(waiting.type, 'std_msgs/msg/Bool');
  assert.equal(waiting.requestTopic, `${ns}/reset_request`);
  assert.match(String(waiting.msg), new RegExp(`std_msgs/msg/Bool.*${ns}/ready`));
  await stopWith(a, 'SIGTERM');

  // 2. The robot comes up; the restart resumes on it and fine-tunes.
  const robot1 = await startStandIn(config, domain);
  children.push(robot1);
  const b = spawnDaemon(args, env);
  const ready = await b.waitFor(msgIs('ready'), 60_000);
  assert.equal(ready.phase, 'real_finetune');
  let mark = wallMs();
  await until('the policy acting on the robot', acting(mark));

  // The robot dies. From the moment its last sample is older than the stale age, at most 2
  // commands that are not the safe one go out.
  robot1.kill('SIGKILL');
  await new Promise((r) => robot1.once('exit', r));
  const lastStamp = wire.lastStampMs;
  const staleFrom = lastStamp + STALE_MS;
  await until('the stale age passed', () => wallMs() > staleFrom + 5 * (1000 / RATE_HZ));
  const afterStale = wire.commands.filter((c) => c.at > staleFrom);
  const unsafe = afterStale.findIndex((c) => c.value === 0);
  assert.ok(unsafe >= 0, `a safe command after the robot died (${afterStale.length} commands after the stale age)`);
  assert.ok(unsafe <= 2, `safe within 2 ticks of stale data: ${unsafe} non-zero commands first (${JSON.stringify(afterStale.slice(0, 4))})`);
  assert.ok(afterStale.slice(unsafe).every((c) => c.value === 0), 'only the safe command while the data stays stale');
  t.diagnostic(`stale: ${unsafe} non-zero commands after the data crossed ${STALE_MS} ms; first safe command ${(afterStale[unsafe]!.at - staleFrom).toFixed(1)} ms after`);

  // A new robot announces "ready" on its own: fine-tuning goes on. SIGTERM while it does.
  const robot2 = await startStandIn(config, domain, ['--ready-every', '0.5']);
  children.push(robot2);
  mark = wallMs();
  await until('the policy acting on the new robot', acting(mark));
  await stopWith(b, 'SIGTERM');
  const final = decodeTrainingSnapshot(await loadCheckpoint(ckDir));
  assert.ok(final.robot !== null && final.robot.replay.size > 0, 'the SIGTERM checkpoint holds the robot replay and acting weights');

  // 3. Resumed again on the robot: an e-stop message gives the zero command within 1 tick. Where
  // this process may use SCHED_FIFO, with a real-time control thread: the DDS threads rclnodejs
  // started get its priority too.
  const rt = fifoSchedulingProblem(10) === null;
  const c = spawnDaemon(rt ? [...args, '--realtime.controlThreadPriority', '10'] : args, env);
  await c.waitFor(msgIs('real fine-tuning started'), 60_000);
  if (rt) {
    const raised = c.logs.find(msgIs('ROS 2 threads at SCHED_FIFO, as the control thread'));
    assert.ok(raised !== undefined && (raised.threads as number) > 0, 'the DDS threads are raised');
    // Field 41 of /proc/PID/task/TID/stat is the policy (1 = SCHED_FIFO): the control thread and the DDS threads.
    const fifo = readdirSync(`/proc/${c.child.pid}/task`).filter((t) => readFileSync(`/proc/${c.child.pid}/task/${t}/stat`, 'utf8').split(') ')[1]!.split(' ')[38] === '1');
    assert.ok(fifo.length >= (raised.threads as number) + 1, `${fifo.length} threads at SCHED_FIFO, ${raised.threads as number} DDS threads raised`);
  } else {
    t.diagnostic('SCHED_FIFO not allowed here: the real-time ROS 2 threads are not checked');
  }
  mark = wallMs();
  await until('the policy acting after the restart', acting(mark));
  const sentAt = wallMs();
  estop.publish({ data: true });
  // From the moment the daemon has the e-stop (its log, on the clock of this process's receive
  // times): at most the one command a tick had already sent can still arrive non-zero.
  const received = await c.waitFor(msgIs('e-stop received: zero command sent'), 10_000);
  const arrivedAt = received.time as number;
  await c.waitFor(msgIs('phase real_finetune -> estop'), 10_000);
  await sleep(200);
  const afterEstop = wire.commands.filter((x) => x.at > arrivedAt);
  const zero = afterEstop.findIndex((x) => x.value === 0);
  assert.ok(zero >= 0, 'a zero command after the e-stop');
  assert.ok(zero <= 1, `zero within 1 tick of the e-stop's arrival: ${zero} non-zero commands first (${JSON.stringify(afterEstop.slice(0, 3))})`);
  assert.ok(afterEstop.slice(zero).every((x) => x.value === 0), 'nothing but zero once e-stopped');
  const fromSend = wire.commands.filter((x) => x.at > sentAt);
  t.diagnostic(`e-stop: reached the daemon ${(arrivedAt - sentAt).toFixed(1)} ms after it was sent; ${zero} non-zero commands after that, ${fromSend.findIndex((x) => x.value === 0)} after the send`);
  await stopWith(c, 'SIGTERM');
  robot2.kill('SIGTERM');
});
