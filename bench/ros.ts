/**
 * The robot phase's data path over ROS 2
 * (`npm run bench:ros -- [--duration S] [--rates 50,100,500] [--priority N] [--transports dds,double] [--depth N] [--no-kill9] [--json]`),
 * over real DDS (rclnodejs, Cyclone DDS on loopback, `sacbridge sim-robot` in its own process)
 * and over the in-memory double (the stand-in robot in this process) side by side:
 *
 *   age_ms p50/p99/max  age of the newest JointState at each tick (header stamp to tick), after
 *                       RosPlant.drain(); target p99 <= one control period + 2 ms
 *   received_per_s      JointStates that reached the plant, against the robot's publish rate
 *   lost                JointStates the robot published in the window that never reached the plant:
 *                       the robot stamps each sample with its slot on a fixed grid (start + k
 *                       periods), so a missing k between the first and the last stamp the plant
 *                       took is a lost sample (target 0). With sensor_data QoS (best effort, keep
 *                       last 5) on loopback, a sample is lost when more than 5 arrive between two
 *                       takes: lost = 0 means every sample the QoS keeps reached the plant before
 *                       the tick that should see it (the first tick after its arrival).
 *   robot_skipped       slots the stand-in robot itself skipped (late beyond its catch-up; it
 *                       reports them), taken out of lost: never published, so never lost
 *   history_full        RosPlant's counter: takes that found the whole history (depth 5, or --depth) full, where
 *                       the reader may have overwritten older samples (target 0)
 *   cmd_rate_err_pct    commands sent per second against the configured rate
 *   gap_p99_periods     p99 gap between commands, in control periods (target <= 1.5)
 *   stale_ticks         the robot stops publishing (SIGSTOP): ticks from the moment the data
 *                       crosses the stale age to the first tick that sees it stale (target <= 2)
 *   estop_ticks         ESTOP_PROBES e-stop messages, each published in a tick: the worst, over the
 *                       probes, of the ticks from the first tick that started after the message
 *                       reached the plant's reader (its MessageInfo receive time) to the first tick
 *                       that the zero command went out before (both included): 1 = the tick that
 *                       follows its arrival is the first with the zero command (target 1)
 *   estop_ticks_pub     the same counted from the tick after the one that published it (DDS
 *                       delivery included)
 *
 * Then (DDS only, unless --no-kill9) the daemon end to end: sim training, the gate, fine-tuning
 * on sim-robot, kill -9 after a checkpoint with robot updates, restart: the weights the resumed
 * robot acts with (SHA-256 in 'real fine-tuning started') against the checkpoint's
 * robot-actor.f32 (target: equal). `uptime` is printed before and after: the timing figures
 * mean little on a loaded machine.
 *
 * The robot publishes at max(200, 2 x rate) Hz. Needs a sourced ROS 2 for the DDS rows (they
 * are skipped, saying why, without one). The double runs the control loop with `wait: 'yield'`
 * because its robot shares this thread.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '../src/agent/checkpoint.js';
import { ControlLoop, MicrosecondHistogram } from '../src/control/controlLoop.js';
import { nativeLibraryThreadIds, setMainThreadScheduling, setThreadsScheduling } from '../src/control/realtime.js';
import { MujocoPlant } from '../src/plant/mujoco/mujocoPlant.js';
import { loadRclnodejs, rosEnvironmentProblem, type RclModule } from '../src/plant/ros/rclnodejs.js';
import { RosPlant } from '../src/plant/ros/rosPlant.js';
import type { RosPlantConfig } from '../src/plant/ros/rosPlantConfig.js';
import { SimulatedRobot } from '../src/plant/ros/simulatedRobot.js';
import { FakeRosGraph } from '../src/plant/ros/testing/fakeRclnodejs.js';
import { packageRoot } from '../src/util/packageRoot.js';

interface Row {
  transport: 'dds' | 'double';
  rateHz: number;
  publishHz: number;
  ticks: number;
  age_ms_p50: number;
  age_ms_p99: number;
  age_ms_max: number;
  age_target_ms: number;
  received_per_s: number;
  lost: number;
  /** Slots the robot itself skipped in the window (late by more than its catch-up allows). */
  robot_skipped: number;
  history_full: number;
  cmd_rate_err_pct: number;
  gap_p99_periods: number;
  stale_ticks: number;
  estop_ticks: number;
  estop_ticks_pub: number;
}

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const seconds = Number(flag('duration') ?? flag('seconds') ?? 10);
const kill9 = !argv.includes('--no-kill9');
/**
 * SCHED_FIFO priority for the control thread (and the DDS robot process, through chrt) while
 * measuring, as ros.controlThreadPriority gives the daemon's: 0 = normal scheduling. On a loaded
 * machine the normal scheduler's latencies, not sacbridge, decide the ages and gaps.
 */
const priority = Number(flag('priority') ?? 0);
const uptime = (): string => execFileSync('uptime', { encoding: 'utf8' }).trim();
const rates = (flag('rates') ?? '50,100,500').split(',').map(Number);
const json = argv.includes('--json');
/** Which rows: `--transports dds` skips the double (a 5-minute rate check takes half the time). */
const transports = (flag('transports') ?? 'dds,double').split(',');
/**
 * --depth N: the plant reads its JointStates best effort, keeping the last N (default: the
 * sensor_data profile, depth 5). A deeper history tells samples the QoS dropped (KEEP_LAST
 * overwrote them during a stall longer than depth x the robot's period) from samples the plant lost.
 */
const depth = flag('depth') === undefined ? null : Number(flag('depth'));
if (depth !== null && !(Number.isInteger(depth) && depth >= 1)) throw new Error(`--depth: expected a positive integer, got '${flag('depth')}'`);
const ns = `/bench_${process.pid}`;
const perf = globalThis.performance;
/** The node flags the `sacbridge` bin runs with (src/cli/main.ts's shebang): the children run as a user's would. */
const NODE_FLAGS = ['--single-threaded-gc', '--max-semi-space-size=2'];

function plantConfig(rateHz: number, tag: string): RosPlantConfig {
  return {
    nodeName: `bench_${tag}_${process.pid}`,
    controlPeriod: 1 / rateHz,
    observations: [{
      type: 'sensor_msgs/msg/JointState', topic: `${ns}/${tag}/joint_states`, joints: ['hinge'], signals: { position: 'q', velocity: 'qd' },
      ...(depth === null ? {} : { qos: { reliability: 'best_effort', depth } as const }),
    }],
    command: { type: 'std_msgs/msg/Float64MultiArray', topic: `${ns}/${tag}/cmd`, low: [-2], high: [2] },
    estop: { topic: `${ns}/${tag}/estop` },
    estopCommand: 'zero',
    status: { topic: `${ns}/${tag}/diagnostics`, period: 10 },
    reset: { mode: 'operator', timeout: 1 },
  };
}

/** One measured run: ticks for `seconds`, then the stale and e-stop probes. */
async function measure(rcl: RclModule, transport: Row['transport'], rateHz: number, robot: { pause(): void; resume(): void; publishHz: number; skipped?: () => number }, tag: string): Promise<Row> {
  const period = 1 / rateHz;
  const staleAge = 5 * period;
  const config = plantConfig(rateHz, tag);
  // E-stop probes: publication and arrival (perf ms), the zero command (its onEstop), the tick grid.
  let estopAt = Number.NaN;
  let arrivedAt = Number.NaN;
  let zeroAt = Number.NaN;
  let probeTick = -1;
  let starts: { index: number; started: number }[] = [];
  const estopTicks: number[] = [];
  const estopTicksPub: number[] = [];
  let nextProbeTick = 0;
  // Stamps of the JointStates taken in the window: slots of the robot's grid.
  const stamps: number[] = [];
  let recording = false;
  const plant = RosPlant.open(rcl, config, {
    onEstop: (_reason, receivedAt) => {
      zeroAt = perf.now();
      arrivedAt = receivedAt === undefined ? Number.NaN : receivedAt * 1000 - perf.timeOrigin;
    },
    onSample: (_topic, stamp) => {
      if (!recording || stamp === null) return;
      stamps.push(stamp);
    },
  });
  const operator = new rcl.Node(`bench_operator_${tag}_${process.pid}`);
  const estop = operator.createPublisher('std_msgs/msg/Bool', config.estop.topic);
  operator.spin();
  // As the robot phase does: the threads rclnodejs started (DDS) get the control thread's priority.
  if (priority > 0 && transport === 'dds') setThreadsScheduling(nativeLibraryThreadIds(), 'fifo', priority, 'a ROS 2 thread');
  const ages = new MicrosecondHistogram();
  const gaps = new MicrosecondHistogram();
  const command = new Float64Array(1);
  let lastTick = Number.NaN;
  let phase: 'warmup' | 'measure' | 'stale' | 'estop' | 'done' = 'warmup';
  let ticks = 0;
  let received0 = 0;
  let staleTicks = Number.NaN;
  let pausedAt = Number.NaN;
  const loop = new ControlLoop({
    rateHz,
    wait: transport === 'double' ? 'yield' : 'sleep',
    ioWindowUs: Math.min(2000, 250_000 / rateHz),
    io: (until) => plant.drain(until),
    onTick: (t) => {
      plant.takeNow(); // as the robot phase's tick does first
      const now = perf.now();
      const age = plant.signalAge('q');
      if (phase === 'measure') {
        ticks++;
        ages.add(age * 1000 * 1000);
        if (!Number.isNaN(lastTick)) gaps.add((now - lastTick) * 1000);
        lastTick = now;
      } else if (phase === 'stale' && Number.isNaN(staleTicks) && age > staleAge) {
        // The data crossed the stale age (age - staleAge) ago; this tick is the first to see it.
        staleTicks = Math.floor((age - staleAge) / period) + 1;
      } else if (phase === 'estop') {
        starts.push({ index: t.index, started: t.startedMs });
        if (!Number.isNaN(zeroAt)) {
          // This tick is the first the zero command went out before (in the I/O window or its takeNow).
          const following = starts.find((s) => s.started > arrivedAt)?.index ?? t.index;
          estopTicks.push(t.index - following + 1);
          estopTicksPub.push(t.index - (probeTick + 1) + 1);
          estopAt = zeroAt = arrivedAt = Number.NaN;
          plant.clearEstop();
          nextProbeTick = t.index + 7 + (estopTicks.length % 5);
        } else if (Number.isNaN(estopAt) && t.index >= nextProbeTick && estopTicks.length < ESTOP_PROBES) {
          estopAt = perf.now();
          probeTick = t.index;
          starts = [];
          estop.publish({ data: true });
        }
      }
      plant.write(command);
    },
  });
  if (priority > 0) setMainThreadScheduling('fifo', priority);
  loop.start();
  await sleep(1000);
  const skipped0 = robot.skipped?.() ?? 0;
  const full0 = plant.counters.historyFull;
  phase = 'measure';
  recording = true;
  received0 = plant.counters.messages;
  const t0 = perf.now();
  const published0 = plant.counters.commandsPublished;
  await sleep(seconds * 1000);
  const elapsed = (perf.now() - t0) / 1000;
  const received = plant.counters.messages - received0;
  const commands = plant.counters.commandsPublished - published0;
  recording = false;
  const historyFull = plant.counters.historyFull - full0;
  // Slots between the first and the last stamp taken that no sample filled (less the slots the
  // robot itself skipped, where it tells).
  const slot = 1 / robot.publishHz;
  let missing = 0;
  for (let i = 1; i < stamps.length; i++) missing += Math.max(0, Math.round((stamps[i]! - stamps[i - 1]!) / slot) - 1);
  const robotSkipped = (robot.skipped?.() ?? 0) - skipped0;
  const lost = Math.max(0, missing - robotSkipped);
  phase = 'stale';
  robot.pause();
  pausedAt = perf.now();
  while (Number.isNaN(staleTicks) && perf.now() - pausedAt < 5000) await sleep(20);
  robot.resume();
  await sleep(500);
  phase = 'estop';
  const probing = perf.now();
  while (estopTicks.length < ESTOP_PROBES && perf.now() - probing < 20_000) await sleep(20);
  phase = 'done';
  await loop.stop();
  if (priority > 0) setMainThreadScheduling('other');
  operator.destroy();
  await plant.close();
  return {
    transport, rateHz, publishHz: robot.publishHz, ticks,
    age_ms_p50: ages.quantile(0.5) / 1000, age_ms_p99: ages.quantile(0.99) / 1000, age_ms_max: ages.max / 1000,
    age_target_ms: period * 1000 + 2,
    received_per_s: received / elapsed,
    lost,
    robot_skipped: robotSkipped,
    history_full: historyFull,
    cmd_rate_err_pct: ((commands / elapsed - rateHz) / rateHz) * 100,
    gap_p99_periods: gaps.quantile(0.99) / (period * 1e6),
    stale_ticks: staleTicks,
    estop_ticks: Math.max(...estopTicks),
    estop_ticks_pub: Math.max(...estopTicksPub),
  };
}

/** E-stop messages per row. */
const ESTOP_PROBES = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ddsRow(rateHz: number): Promise<Row> {
  const publishHz = Math.max(200, 2 * rateHz);
  const tag = `dds${rateHz}`;
  const c = plantConfig(rateHz, tag);
  const child: ChildProcess = spawn(priority > 0 ? 'chrt' : process.execPath, [
    ...(priority > 0 ? ['-f', String(priority), process.execPath] : []), ...NODE_FLAGS,
    join(packageRoot(), 'dist', 'src', 'cli', 'main.js'), 'sim-robot', '--rate', String(publishHz), '--node-name', `bench_robot_${tag}_${process.pid}`,
    '--joint-states', c.observations[0]!.topic, '--command', (c.command as { topic: string }).topic, '--estop', `${ns}/${tag}/robot_estop`,
    '--ready', `${ns}/${tag}/ready`, '--reset-request', `${ns}/${tag}/reset_request`, '--stats-every', '0.1',
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  // The robot's own count of skipped slots, from its stats lines (at most 0.1 s old when read).
  let skippedSlots = 0;
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.includes('"simRobot":"ready"')) resolve();
        if (line.includes('"simRobot":"stats"')) skippedSlots = (JSON.parse(line) as { skippedSlots: number }).skippedSlots;
      }
    });
    child.on('exit', (code) => reject(new Error(`sim-robot exited ${code}`)));
  });
  try {
    const rcl = await loadRclnodejs();
    if (rcl.isShutdown()) await rcl.init();
    return await measure(rcl, 'dds', rateHz, { pause: () => child.kill('SIGSTOP'), resume: () => child.kill('SIGCONT'), publishHz, skipped: () => skippedSlots }, tag);
  } finally {
    child.kill('SIGCONT');
    child.kill('SIGTERM');
  }
}

async function doubleRow(rateHz: number): Promise<Row> {
  const publishHz = Math.max(200, 2 * rateHz);
  const tag = `double${rateHz}`;
  const c = plantConfig(rateHz, tag);
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const mujoco = await MujocoPlant.create(join(packageRoot(), 'sim', 'pendulum.xml'), { frameSkip: 1 });
  mujoco.model.opt.timestep = 1 / publishHz;
  let robot = SimulatedRobot.open(rcl, mujoco, {
    nodeName: `robot_${tag}`, commandTopic: (c.command as { topic: string }).topic, timing: { mode: 'periodic', periodMs: 1000 / publishHz },
    jointStates: { topic: c.observations[0]!.topic, joints: ['hinge'], position: 'qpos', velocity: 'qvel' },
  });
  await robot.reset();
  const reopen = (): SimulatedRobot => SimulatedRobot.open(rcl, mujoco, {
    nodeName: `robot_${tag}`, commandTopic: (c.command as { topic: string }).topic, timing: { mode: 'periodic', periodMs: 1000 / publishHz },
    jointStates: { topic: c.observations[0]!.topic, joints: ['hinge'], position: 'qpos', velocity: 'qvel' },
  });
  try {
    return await measure(rcl, 'double', rateHz, { pause: () => void robot.close(), resume: () => { robot = reopen(); }, publishHz, skipped: () => robot.stats.skippedSlots }, tag);
  } finally {
    await robot.close();
    await mujoco.close();
  }
}

/** A child's JSON log lines, and a wait for one that matches. */
function jsonLines(child: ChildProcess): { lines: Record<string, unknown>[]; waitFor(pred: (r: Record<string, unknown>) => boolean, ms: number, what: string): Promise<Record<string, unknown>> } {
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line });
      }
    }
  });
  return {
    lines,
    async waitFor(pred, ms, what) {
      const t0 = Date.now();
      for (;;) {
        const hit = lines.find(pred);
        if (hit !== undefined) return hit;
        if (Date.now() - t0 > ms || child.exitCode !== null) throw new Error(`kill -9 check: no ${what} (last: ${JSON.stringify(lines.slice(-3))})`);
        await sleep(100);
      }
    },
  };
}

interface Kill9 {
  checkpoint: string;
  robot_steps: number;
  resumed_sha256: string;
  checkpoint_sha256: string;
  weights_equal: boolean;
}

/**
 * The daemon on sim-robot over DDS: fine-tune until a checkpoint holds robot updates, kill -9,
 * restart; the weights the resumed robot acts with against the checkpoint's robot-actor.f32.
 */
async function kill9Check(): Promise<Kill9> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ros-kill9-'));
  const ns = `/bench_kill9_${process.pid}`;
  const config = join(dir, 'robot.json');
  writeFileSync(config, JSON.stringify({
    daemon: { stateDir: join(dir, 'state'), checkpointEverySteps: 0, checkpointEverySeconds: 3 },
    sim: { task: 'pendulum', totalSteps: 300, evalEvery: 0 },
    rl: { hiddenSizes: [16, 16], batchSize: 32, bufferSize: 20000, learningStarts: 100 },
    switch: { mode: 'automatic', gateReturn: -1e9, gateEpisodes: 2 },
    metrics: { port: 0 },
    ui: { port: 0 },
    zmq: { telemetry: 'tcp://127.0.0.1:*', policy: 'tcp://127.0.0.1:*', control: 'tcp://127.0.0.1:*' },
    ros: {
      enabled: true, nodeName: `bench_kill9_${process.pid}`, controlRateHz: 20, staleAgeMs: 300,
      observations: [{ topic: `${ns}/joint_states`, type: 'sensor_msgs/msg/JointState', fields: { qpos: 'position[hinge]', qvel: 'velocity[hinge]' } }],
      command: { type: 'std_msgs/msg/Float64MultiArray', topic: `${ns}/cmd` },
      estopTopic: `${ns}/estop`, phaseTopic: `${ns}/phase`, statusTopic: `${ns}/diagnostics`,
      reset: { mode: 'operator', readyTopic: `${ns}/ready`, requestTopic: `${ns}/reset_request` },
    },
    safety: { commandMin: [-2], commandMax: [2] },
  }));
  const main = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
  const robot = spawn(process.execPath, [...NODE_FLAGS, main, 'sim-robot', '--config', config, '--rate', '100', '--mass-scale', '1.2', '--node-name', `bench_kill9_robot_${process.pid}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const daemon = (): ChildProcess => spawn(process.execPath, [...NODE_FLAGS, main, 'run', '--config', config, '--logging.pretty', 'never'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let a: ChildProcess | null = null;
  let b: ChildProcess | null = null;
  try {
    await jsonLines(robot).waitFor((r) => r.simRobot === 'ready', 30_000, 'sim-robot');
    a = daemon();
    const la = jsonLines(a);
    const ckDir = join(dir, 'state', 'run', 'checkpoints');
    let name = '';
    const t0 = Date.now();
    for (;;) {
      const written = [...la.lines].reverse().find((r) => r.msg === 'checkpoint written');
      if (written !== undefined && written.checkpoint !== name) {
        name = String(written.checkpoint);
        const st = (await loadCheckpoint(join(ckDir, name))).state as { robot?: unknown };
        const extra = (await loadCheckpoint(join(ckDir, name))).extra as { robot?: { updates?: number } };
        if (st.robot !== undefined && (extra.robot?.updates ?? 0) > 0) break;
      }
      if (Date.now() - t0 > 180_000 || a.exitCode !== null) throw new Error(`kill -9 check: no checkpoint with robot updates (last: ${JSON.stringify(la.lines.slice(-3))})`);
      await sleep(200);
    }
    a.kill('SIGKILL');
    await new Promise((r) => a!.once('exit', r));
    const saved = await loadCheckpoint(ckDir); // the newest that verifies
    const savedSha = createHash('sha256').update(saved.blobs['robot-actor.f32']!).digest('hex');
    b = daemon();
    const started = await jsonLines(b).waitFor((r) => r.msg === 'real fine-tuning started', 120_000, "'real fine-tuning started' after the restart");
    const resumedSha = String((started.actingPolicy as { sha256?: string } | undefined)?.sha256);
    b.kill('SIGTERM');
    await new Promise((r) => b!.once('exit', r));
    return {
      checkpoint: saved.generation, robot_steps: (saved.extra as { robot: { steps: number } }).robot.steps,
      resumed_sha256: resumedSha, checkpoint_sha256: savedSha, weights_equal: resumedSha === savedSha,
    };
  } finally {
    for (const c of [a, b, robot]) if (c !== null && c.exitCode === null) c.kill('SIGKILL');
  }
}

const uptimeBefore = uptime();
const rows: Row[] = [];
const problem = rosEnvironmentProblem();
for (const rate of rates) {
  if (problem === null && transports.includes('dds')) rows.push(await ddsRow(rate));
  if (transports.includes('double')) rows.push(await doubleRow(rate));
}
const k9 = problem === null && kill9 ? await kill9Check() : null;
const uptimeAfter = uptime();
if (problem !== null && !json) console.log(`# DDS rows skipped: ${problem}`);
const fmt = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : String(x));
if (!json) {
  console.log(`uptime before: ${uptimeBefore}${priority > 0 ? ` (control thread and robot at SCHED_FIFO ${priority})` : ''}; JointState history depth ${depth ?? 5}`);
  console.log(`| transport | rate Hz | robot Hz | age ms p50 / p99 / max (target p99) | received/s | lost (target 0) | robot skipped | history full | cmd rate err % (target ±0.5) | gap p99 periods (target 1.5) | stale ticks (2) | e-stop ticks from arrival (1) / from publish |`);
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.transport} | ${r.rateHz} | ${r.publishHz} | ${fmt(r.age_ms_p50)} / ${fmt(r.age_ms_p99)} / ${fmt(r.age_ms_max)} (<= ${fmt(r.age_target_ms, 1)}) | ${fmt(r.received_per_s, 1)} | ${r.lost} | ${r.robot_skipped} | ${r.history_full} | ${fmt(r.cmd_rate_err_pct, 3)} | ${fmt(r.gap_p99_periods)} | ${r.stale_ticks} | ${r.estop_ticks} / ${r.estop_ticks_pub} |`);
  }
  if (k9 !== null) console.log(`kill -9 during the robot phase: resumed from ${k9.checkpoint} (${k9.robot_steps} robot steps); acting weights ${k9.weights_equal ? 'equal' : 'DIFFER'} (sha256 ${k9.resumed_sha256.slice(0, 12)}… vs ${k9.checkpoint_sha256.slice(0, 12)}…)`);
  console.log(`uptime after: ${uptimeAfter}`);
}
console.log(JSON.stringify({ seconds, priority, depth: depth ?? 5, ros: problem === null ? transports.join(' and ') : `double only (${problem})`, uptime: { before: uptimeBefore, after: uptimeAfter }, rows, kill9: k9 }));
process.exit(0);
