import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, before, test } from 'node:test';
import { EX_CONFIG } from '../../src/config/load.js';
import { loadCheckpoint } from '../../src/agent/checkpoint.js';
import { cpuWakeupLatencyProblem, effectiveCpuWakeupLatencyUs } from '../../src/control/cpuWakeupLatency.js';
import type { DaemonStatus } from '../../src/daemon/control.js';
import type { DaemonSnapshot } from '../../src/daemon/daemonCheckpoints.js';
import { StateDir } from '../../src/daemon/stateDir.js';
import { liveRosSkip, rosChildEnv } from '../rosLive.js';
import { controlCall, DIST, ensureAddon, killAll, MAIN_JS, msgIs, notifyReceiver, sleep, spawnDaemon, tempDir, TINY_SAC, type LogRecord } from './helpers.js';

/** The real daemon process (`node dist/src/cli/main.js run`) with the real sac job, small. */

const COMMON = [...TINY_SAC, '--metrics.port', '0', '--daemon.statusEverySeconds', '0.1', '--sim.evalEvery', '0'];
const BASE = [...COMMON, '--sim.totalSteps', '1000000000'];

before(ensureAddon);
afterEach(killAll);

function readStatus(dir: string): DaemonStatus | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as DaemonStatus;
  } catch {
    return null;
  }
}

async function waitSteps(dir: string, atLeast: number): Promise<DaemonStatus> {
  for (let i = 0; i < 300; i++) {
    const s = readStatus(dir);
    if (s !== null && s.jobStatus.envSteps >= atLeast) return s;
    await sleep(50);
  }
  throw new Error(`the daemon never reached ${atLeast} steps`);
}

const checkpointBy = (reason: string) => (r: LogRecord) => r.msg === 'checkpoint written' && String(r.reason).startsWith(reason);

test('SIGTERM: finish the tick, checkpoint, exit 0; a restart resumes the counters', async () => {
  const dir = tempDir();
  const args = [...BASE, '--daemon.stateDir', dir, '--daemon.checkpointEverySteps', '0', '--daemon.checkpointEverySeconds', '0'];
  const a = spawnDaemon(args);
  await a.waitFor(msgIs('ready'));
  await waitSteps(dir, 300);
  a.child.kill('SIGTERM');
  const exitA = await a.exit;
  assert.deepEqual(exitA, { code: 0, signal: null }, a.stderr.join(''));
  const ck = await a.waitFor(checkpointBy('stop (SIGTERM)'));
  const steps = ck.steps as number;
  assert.ok(steps >= 300);
  assert.ok(a.logs.some(msgIs('stopped')));
  const phaseLog = a.logs.find((r) => r.msg === 'phase sim_training -> stopping');
  assert.ok(phaseLog, 'the stop transition is logged');
  // One checkpoint holds the job and the daemon: counters, replay, phase.
  const latest = await loadCheckpoint(join(dir, 'run', 'checkpoints'));
  assert.equal(latest.counters.steps, steps);
  assert.equal(latest.blobs['replay.bin']!.byteLength > 0, true);
  const daemonPart = latest.extra as unknown as DaemonSnapshot;
  assert.deepEqual(daemonPart.phase, { phase: 'sim_training', resumeTo: null });
  assert.equal(daemonPart.starts, 1);
  const state = new StateDir(dir).loadState().state;
  assert.equal(state.cleanStop, true);
  assert.equal(state.phase.phase, 'sim_training', 'the phase to resume in, not "stopping"');
  assert.equal(state.jobSteps, steps);
  assert.equal(existsSync(join(dir, 'daemon.lock')), false, 'the lock is released');

  const b = spawnDaemon(args);
  const resumed = await b.waitFor(msgIs('resumed from checkpoint'));
  assert.equal(resumed.steps, steps);
  const ready = await b.waitFor(msgIs('state directory ready'));
  assert.equal(ready.starts, 2);
  assert.equal(ready.previousStopClean, true);
  await waitSteps(dir, steps + 100);
  b.child.kill('SIGTERM');
  assert.equal((await b.exit).code, 0);
  const ck2 = await b.waitFor(checkpointBy('stop (SIGTERM)'));
  assert.ok((ck2.steps as number) > steps);
});

test('a second daemon on the same state directory is refused (exit 75) and names the holder', async () => {
  const dir = tempDir();
  const a = spawnDaemon([...BASE, '--daemon.stateDir', dir]);
  await a.waitFor(msgIs('ready'));
  const b = spawnDaemon([...BASE, '--daemon.stateDir', dir]);
  const exitB = await b.exit;
  assert.equal(exitB.code, 75);
  const err = b.logs.find((r) => typeof r.msg === 'string' && r.msg.includes('in use by another sacbridge daemon'));
  assert.ok(err, JSON.stringify(b.logs));
  assert.match(err.msg!, new RegExp(`pid ${a.child.pid}`));
  a.child.kill('SIGTERM');
  assert.equal((await a.exit).code, 0);
});

test('a SIGKILLed daemon leaves a stale lock that the next one takes over', async () => {
  const dir = tempDir();
  const a = spawnDaemon([...BASE, '--daemon.stateDir', dir]);
  await a.waitFor(msgIs('ready'));
  a.child.kill('SIGKILL');
  await a.exit;
  assert.ok(existsSync(join(dir, 'daemon.lock')));
  const b = spawnDaemon([...BASE, '--daemon.stateDir', dir]);
  const ready = await b.waitFor(msgIs('state directory ready'));
  assert.equal(ready.previousStopClean, false);
  b.child.kill('SIGTERM');
  assert.equal((await b.exit).code, 0);
});

test('an invalid configuration exits 78 and starts nothing', async () => {
  const dir = join(tempDir(), 'state');
  const d = spawnDaemon(['--daemon.stateDir', dir, '--rl.gamma', '2']);
  const exit = await d.exit;
  assert.equal(exit.code, EX_CONFIG);
  assert.match(d.stderr.join(''), /rl\.gamma = 2 \(flag --rl\.gamma\): must be a number >= 0 and <= 1/);
  assert.equal(existsSync(dir), false);
});

test('realtime.policyThreadCpus: not a CPU list, or a CPU this machine lacks, exits 78 naming the key', async () => {
  const syntax = spawnDaemon(['--daemon.stateDir', join(tempDir(), 'state'), '--realtime.policyThreadCpus', '1;2']);
  assert.equal((await syntax.exit).code, EX_CONFIG);
  assert.match(syntax.stderr.join(''), /realtime\.policyThreadCpus = "1;2" \(flag --realtime\.policyThreadCpus\): must be a CPU list such as "1" or "2-3,6", or empty/);
  const missing = spawnDaemon([...BASE, '--daemon.stateDir', join(tempDir(), 'state'), '--realtime.policyThreadCpus', '4095']);
  const exit = await missing.exit;
  const text = missing.logs.map((r) => String(r.msg)).join('\n') + missing.stderr.join('');
  assert.equal(exit.code, EX_CONFIG, text);
  assert.match(text, /realtime\.policyThreadCpus = "?4095"?.*CPU 4095 is not among the CPUs this process may use/);
  assert.ok(!missing.logs.some((r) => r.msg === 'ready'), 'nothing started');
});

/** Why a real-time test cannot run here, or false. */
function realtimeSkip(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (to grant and to withhold the rights)';
  const problem = cpuWakeupLatencyProblem();
  if (problem !== null) return problem;
  // The unprivileged run needs the checkout to be readable by nobody.
  const r = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(MAIN_JS)}, require('fs').constants.R_OK)`], { uid: NOBODY, gid: NOBODY });
  return r.status === 0 ? false : `the checkout is not readable by uid ${NOBODY}`;
}
const NOBODY = 65534;
const rtSkip = realtimeSkip();
if (rtSkip) console.log(`# daemon real-time tests skipped: ${rtSkip}`);

test('realtime.cpuWakeupLatencyUs: the request is held while the daemon runs and dropped when it stops', { skip: rtSkip }, async () => {
  const before = effectiveCpuWakeupLatencyUs();
  const d = spawnDaemon([...BASE, '--daemon.stateDir', tempDir(), '--realtime.cpuWakeupLatencyUs', '7', '--realtime.controlThreadPriority', '20']);
  await d.waitFor(msgIs('ready'));
  assert.ok(d.logs.some((r) => r.msg === 'cpu wake-up latency request held' && r.maxUs === 7));
  assert.ok(effectiveCpuWakeupLatencyUs() <= 7, `the kernel enforces ${effectiveCpuWakeupLatencyUs()} µs while the daemon holds 7`);
  d.child.kill('SIGTERM');
  assert.equal((await d.exit).code, 0);
  assert.equal(effectiveCpuWakeupLatencyUs(), before);
});

test('realtime.* that this process has no right to: exit 78 naming the key, before anything starts', { skip: rtSkip }, async () => {
  const root = tempDir();
  chmodSync(root, 0o777);
  for (const [key, value, why] of [
    ['realtime.cpuWakeupLatencyUs', '0', /cannot open \/dev\/cpu_dma_latency \(EACCES\)/],
    ['realtime.controlThreadPriority', '20', /cannot set fifo scheduling on this thread/],
    ['realtime.policyThreadPriority', '20', /cannot set fifo scheduling on this thread/],
  ] as const) {
    const dir = join(root, key);
    const d = spawnDaemon([...BASE, '--daemon.stateDir', dir, `--${key}`, value], { HOME: root }, { uid: NOBODY, gid: NOBODY });
    const exit = await d.exit;
    // Refused by the start-up checks (stderr) or, for what only holding it tells, by the daemon (log).
    const text = d.logs.map((r) => String(r.msg)).join('\n') + d.stderr.join('');
    assert.equal(exit.code, EX_CONFIG, text);
    assert.ok(text.includes(`${key} = ${value}`), text);
    assert.match(text, why);
    assert.ok(!d.logs.some((r) => r.msg === 'ready'), 'nothing started');
  }
});

test('SIGHUP applies the live keys, names the ignored ones, and survives an invalid file', async () => {
  const dir = tempDir();
  const file = join(tempDir(), 'config.json');
  const base = { daemon: { stateDir: dir, checkpointEverySteps: 0, checkpointEverySeconds: 0 }, rl: { lr: 0.001 } };
  writeFileSync(file, JSON.stringify(base));
  const d = spawnDaemon(['--config', file, ...BASE]);
  await d.waitFor(msgIs('ready'));
  writeFileSync(file, JSON.stringify({ ...base, daemon: { ...base.daemon, checkpointEverySteps: 200 }, rl: { lr: 0.002 }, logging: { level: 'debug' } }));
  d.child.kill('SIGHUP');
  const r = await d.waitFor((x) => typeof x.msg === 'string' && x.msg.startsWith('configuration reloaded'));
  assert.deepEqual((r.applied as string[]).sort(), ['daemon.checkpointEverySteps=200', 'logging.level="debug"']);
  assert.deepEqual(r.ignored, ['rl.lr (needs a restart)']);
  // The new schedule runs.
  await d.waitFor(checkpointBy('schedule (steps)'));
  writeFileSync(file, '{"rl": {"lr": -5}}');
  d.child.kill('SIGHUP');
  const refused = await d.waitFor(msgIs('reload refused: the configuration is invalid; keeping the running one'));
  assert.match(String(refused.error), /rl\.lr = -5/);
  assert.equal(d.child.exitCode, null, 'still running');
  d.child.kill('SIGTERM');
  assert.equal((await d.exit).code, 0);
});

test('systemd notify, watchdog pings, `sacbridge status` and /metrics against the running daemon', async () => {
  const dir = tempDir();
  const sock = join(dir, 'notify.sock');
  const rx = await notifyReceiver(sock);
  try {
    const d = spawnDaemon([...BASE, '--daemon.stateDir', dir], { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '200000' });
    assert.match(await rx.waitFor('READY=1'), new RegExp(`MAINPID=${d.child.pid}`));
    await waitSteps(dir, 300);
    const t0 = rx.messages.filter((m) => m === 'WATCHDOG=1').length;
    await sleep(600);
    const pings = rx.messages.filter((m) => m === 'WATCHDOG=1').length - t0;
    assert.ok(pings >= 3 && pings <= 8, `${pings} watchdog pings in 600 ms at a 100 ms period`);
    assert.ok(rx.messages.some((m) => /^STATUS=sim_training: \d+ steps/.test(m)), JSON.stringify(rx.messages.slice(0, 5)));

    const st = spawnSync(process.execPath, [MAIN_JS, 'status', '--state-dir', dir, '--json'], { encoding: 'utf8' });
    assert.equal(st.status, 0, st.stderr);
    const status = JSON.parse(st.stdout) as { running: boolean; source: string; status: DaemonStatus };
    assert.equal(status.running, true);
    assert.equal(status.source, 'zmq', 'asked over the ZeroMQ control API');
    assert.equal(status.status.pid, d.child.pid);
    assert.equal(status.status.phase, 'sim_training');
    assert.equal(status.status.notify, 'addon');
    const human = spawnSync(process.execPath, [MAIN_JS, 'status', '--state-dir', dir], { encoding: 'utf8' });
    assert.match(human.stdout, /phase\s+sim_training/);
    assert.match(human.stdout, /live, from the control API at tcp:\/\/127\.0\.0\.1:\d+/);

    const text = await (await fetch(`${status.status.metricsUrl}/metrics`)).text();
    const steps = Number(/^sacbridge_env_steps_total (\d+)/m.exec(text)?.[1]);
    assert.ok(steps >= 300, 'env steps counted');
    assert.match(text, /^sacbridge_phase\{phase="sim_training"\} 1$/m);
    assert.match(text, /^sacbridge_episodes_total\{plant="sim"\} [1-9]/m);
    assert.match(text, /^sacbridge_tick_seconds_count [1-9]/m);

    d.child.kill('SIGTERM');
    await rx.waitFor('STOPPING=1');
    assert.equal((await d.exit).code, 0);
    const after = spawnSync(process.execPath, [MAIN_JS, 'status', '--state-dir', dir], { encoding: 'utf8' });
    assert.equal(after.status, 3);
    assert.match(after.stdout, /not running/);
  } finally {
    await rx.close();
  }
});

test('phases follow the job: training, evaluation, finish; a finished run restarts idle', async () => {
  const dir = tempDir();
  const args = [...COMMON, '--daemon.stateDir', dir, '--sim.totalSteps', '400', '--sim.evalEpisodes', '2'];
  const d = spawnDaemon(args);
  await d.waitFor(msgIs('phase evaluating -> idle'));
  const phases = d.logs.filter((r) => typeof r.msg === 'string' && r.msg.startsWith('phase ')).map((r) => r.msg);
  assert.deepEqual(phases, ['phase idle -> sim_training', 'phase sim_training -> evaluating', 'phase evaluating -> idle']);
  const evalLine = readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; returns: number[]; step: number }).filter((r) => r.type === 'eval');
  assert.equal(evalLine.length, 1);
  assert.equal(evalLine[0]!.returns.length, 2);
  assert.equal(evalLine[0]!.step, 400);
  // Prometheus has the evaluation's mean return.
  await sleep(300); // the status file is written every 0.1 s
  const metricsText = await (await fetch(`${readStatus(dir)!.metricsUrl}/metrics`)).text();
  const gauge = Number(/^sacbridge_evaluation_return (\S+)$/m.exec(metricsText)?.[1]);
  const mean = evalLine[0]!.returns.reduce((a, b) => a + b, 0) / 2;
  assert.ok(Math.abs(gauge - mean) < 1e-9 * Math.max(1, Math.abs(mean)), `gauge ${gauge}, evaluation mean ${mean}`);
  assert.match(metricsText, /^sacbridge_evaluations_total 1$/m);
  d.child.kill('SIGTERM');
  assert.equal((await d.exit).code, 0);
  const again = spawnDaemon(args);
  await again.waitFor(msgIs('ready'));
  await sleep(300);
  assert.equal(readStatus(dir)!.phase, 'idle');
  assert.equal(readStatus(dir)!.jobStatus.envSteps, 400);
  again.child.kill('SIGTERM');
  assert.equal((await again.exit).code, 0);
});

test('a stuck tick stops the watchdog pings, and SIGTERM then exits 70 after daemon.stopTimeoutSeconds', async () => {
  const dir = tempDir();
  const sock = join(dir, 'notify.sock');
  const rx = await notifyReceiver(sock);
  try {
    const job = join(DIST, 'test', 'daemon', 'fixtures', 'stuckJob.js');
    const d = spawnDaemon([...BASE, '--daemon.stateDir', dir, '--daemon.job', job, '--daemon.stopTimeoutSeconds', '0.5'], { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '100000' });
    await rx.waitFor('READY=1');
    await sleep(200);
    const pings = rx.messages.filter((m) => m === 'WATCHDOG=1').length;
    await sleep(500);
    assert.equal(rx.messages.filter((m) => m === 'WATCHDOG=1').length, pings, 'no pings while the tick is stuck: systemd would restart the unit');
    const t0 = Date.now();
    d.child.kill('SIGTERM');
    const exit = await d.exit;
    assert.equal(exit.code, 70);
    assert.ok(Date.now() - t0 >= 450);
    assert.ok(d.logs.some(msgIs('stop timed out; exiting without a final checkpoint')));
  } finally {
    await rx.close();
  }
});

test('daemon.job naming no job refuses to start with the reason (exit 78, a configuration error)', async () => {
  const d = spawnDaemon([...BASE, '--daemon.stateDir', tempDir(), '--daemon.job', 'sacc']);
  assert.equal((await d.exit).code, EX_CONFIG);
  assert.match(d.stderr.join(''), /daemon\.job = "sacc" \(flag --daemon\.job\): no such job: built-in sac/);
});

/** A configuration that trains briefly, passes the gate and switches to a robot over ROS 2. */
function robotConfig(dir: string, mode: 'automatic' | 'operator'): string {
  const file = join(dir, 'robot.json');
  writeFileSync(file, JSON.stringify({
    daemon: { stateDir: join(dir, 'state') },
    sim: { totalSteps: 300, evalEvery: 0 },
    // Any mean return passes: the test is about what happens after the gate.
    switch: { mode, gateReturn: -1e9, gateEpisodes: 2 },
    ros: { enabled: true, observations: [{ topic: '/joint_states', type: 'sensor_msgs/msg/JointState', fields: { qpos: 'position[hinge]', qvel: 'velocity[hinge]' } }] },
    safety: { commandMin: [-2], commandMax: [2] },
  }));
  return file;
}


test('a robot phase without ROS 2 is refused at start (exit 78 naming ros.enabled), not at the gate', async () => {
  const dir = tempDir();
  // spawnDaemon passes no ROS 2 environment.
  const d = spawnDaemon(['--config', robotConfig(dir, 'automatic'), ...COMMON]);
  const exit = await d.exit;
  assert.equal(exit.code, EX_CONFIG);
  assert.match(d.stderr.join('') + JSON.stringify(d.logs), /ros\.enabled = true .*the robot phase \(switch\.mode = automatic\) needs ROS 2 here: ROS_DISTRO is not set/);
  assert.equal(d.logs.some((r) => typeof r.msg === 'string' && r.msg.startsWith('phase ')), false, 'no phase was entered');
});

const rosSkip = liveRosSkip('daemon with a robot phase on real ROS 2');

test('gate passed with switch.mode operator: armed waits for the operator, who confirms over the control API; the robot reset says what it waits for, and SIGTERM stops the wait', { skip: rosSkip }, async () => {
  const dir = tempDir();
  const env = rosChildEnv(1 + ((process.pid + 7) % 101));
  const d = spawnDaemon(['--config', robotConfig(dir, 'operator'), ...COMMON, '--ros.nodeName', `sacbridge_${process.pid}`], env);
  await d.waitFor(msgIs('phase evaluating -> armed'), 60_000);
  await sleep(500);
  const s = readStatus(join(dir, 'state'))!;
  assert.equal(s.phase, 'armed', 'no switch without the operator');
  const r = await controlCall(s.zmq.control!, 'switch_phase', { phase: 'real_finetune', reason: 'operator confirms' });
  assert.deepEqual([r.ok, r.result!.from, r.result!.to], [true, 'armed', 'real_finetune']);
  const confirm = d.logs.find(msgIs('phase armed -> real_finetune'))!;
  assert.equal(confirm.source, 'control-api');
  const waiting = await d.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('robot reset: waiting for "ready"'), 30_000);
  assert.equal(waiting.topic, '/sacbridge/ready');
  assert.equal(waiting.type, 'std_msgs/msg/Bool');
  // Nobody answers: SIGTERM ends the wait at once, with a checkpoint, exit 0.
  const t0 = Date.now();
  d.child.kill('SIGTERM');
  assert.equal((await d.exit).code, 0);
  assert.ok(Date.now() - t0 < 30_000, `stopped in ${Date.now() - t0} ms`);
  assert.ok(d.logs.some(msgIs('stopped')));
});


test('the phase lives in the checkpoint too: with the state file lost, a restart resumes the checkpoint\'s phase and counters', async () => {
  const dir = tempDir();
  const args = [...BASE, '--daemon.stateDir', dir, '--daemon.checkpointEverySteps', '0', '--daemon.checkpointEverySeconds', '0'];
  const a = spawnDaemon(args);
  await a.waitFor(msgIs('ready'));
  await waitSteps(dir, 150);
  const control = readStatus(dir)!.zmq.control!;
  assert.equal((await controlCall(control, 'pause', { reason: 'test' })).ok, true);
  const ck = await controlCall(control, 'checkpoint', { tag: 'paused' });
  assert.equal(ck.ok, true);
  a.child.kill('SIGTERM');
  assert.equal((await a.exit).code, 0);
  for (const f of ['daemon-state.a.json', 'daemon-state.b.json']) if (existsSync(join(dir, f))) rmSync(join(dir, f));

  const b = spawnDaemon(args);
  const ready = await b.waitFor(msgIs('ready'));
  assert.equal(ready.phase, 'paused');
  assert.equal((ready.restored as { envSteps: number }).envSteps, ck.result!.steps);
  const adopted = await b.waitFor(msgIs('the checkpoint knows a newer phase than the state file: resuming its phase'));
  assert.equal(adopted.transitions, 2);
  const state = await b.waitFor(msgIs('state directory ready'));
  assert.equal(state.phase, 'idle', 'the lost state file started from scratch');
  const resumed = await controlCall(readStatus(dir)!.zmq.control!, 'resume', { reason: 'go on' });
  assert.deepEqual([resumed.ok, resumed.result!.to], [true, 'sim_training']);
  b.child.kill('SIGTERM');
  assert.equal((await b.exit).code, 0);
});
