/**
 * The robot phase's data path over ROS 2 (`npm run bench:ros -- [--seconds S] [--rates 50,100,500] [--json]`),
 * over real DDS (rclnodejs, Cyclone DDS on loopback, `sacbridge sim-robot` in its own process)
 * and over the in-memory double (the stand-in robot in this process) side by side:
 *
 *   age_ms p50/p99/max  age of the newest JointState at each tick (header stamp to tick), after
 *                       RosPlant.drain(); target p99 <= one control period + 2 ms
 *   received_per_s      JointStates that reached the plant, against the robot's publish rate
 *   cmd_rate_err_pct    commands sent per second against the configured rate
 *   gap_p99_periods     p99 gap between commands, in control periods (target <= 1.5)
 *   stale_ticks         the robot stops publishing (SIGSTOP): ticks from the moment the data
 *                       crosses the stale age to the first tick that sees it stale (target <= 2)
 *   estop_ticks         an e-stop message: control periods until the zero command went out (target <= 1)
 *
 * The robot publishes at max(200, 2 x rate) Hz. Needs a sourced ROS 2 for the DDS rows (they
 * are skipped, saying why, without one). The double runs the control loop with `wait: 'yield'`
 * because its robot shares this thread.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ControlLoop, MicrosecondHistogram } from '../src/control/controlLoop.js';
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
  cmd_rate_err_pct: number;
  gap_p99_periods: number;
  stale_ticks: number;
  estop_ticks: number;
}

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const seconds = Number(flag('seconds') ?? 10);
const rates = (flag('rates') ?? '50,100,500').split(',').map(Number);
const json = argv.includes('--json');
const ns = `/bench_${process.pid}`;
const perf = globalThis.performance;

function plantConfig(rateHz: number, tag: string): RosPlantConfig {
  return {
    nodeName: `bench_${tag}_${process.pid}`,
    controlPeriod: 1 / rateHz,
    observations: [{ type: 'sensor_msgs/msg/JointState', topic: `${ns}/${tag}/joint_states`, joints: ['hinge'], signals: { position: 'q', velocity: 'qd' } }],
    command: { type: 'std_msgs/msg/Float64MultiArray', topic: `${ns}/${tag}/cmd`, low: [-2], high: [2] },
    estop: { topic: `${ns}/${tag}/estop` },
    estopCommand: 'zero',
    status: { topic: `${ns}/${tag}/diagnostics`, period: 10 },
    reset: { mode: 'operator', timeout: 1 },
  };
}

/** One measured run: ticks for `seconds`, then the stale and e-stop probes. */
async function measure(rcl: RclModule, transport: Row['transport'], rateHz: number, robot: { pause(): void; resume(): void; publishHz: number }, tag: string): Promise<Row> {
  const period = 1 / rateHz;
  const staleAge = 5 * period;
  const config = plantConfig(rateHz, tag);
  let estopAt = Number.NaN;
  let zeroAt = Number.NaN;
  const plant = RosPlant.open(rcl, config, { onEstop: () => { zeroAt = perf.now(); } });
  const operator = new rcl.Node(`bench_operator_${tag}_${process.pid}`);
  const estop = operator.createPublisher('std_msgs/msg/Bool', config.estop.topic);
  operator.spin();
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
    onTick: () => {
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
      } else if (phase === 'estop' && Number.isNaN(estopAt)) {
        estopAt = perf.now();
        estop.publish({ data: true });
      }
      plant.write(command);
    },
  });
  loop.start();
  await sleep(1000);
  phase = 'measure';
  received0 = plant.counters.messages;
  const t0 = perf.now();
  const published0 = plant.counters.commandsPublished;
  await sleep(seconds * 1000);
  const elapsed = (perf.now() - t0) / 1000;
  const received = plant.counters.messages - received0;
  const commands = plant.counters.commandsPublished - published0;
  phase = 'stale';
  robot.pause();
  pausedAt = perf.now();
  while (Number.isNaN(staleTicks) && perf.now() - pausedAt < 5000) await sleep(20);
  robot.resume();
  await sleep(500);
  phase = 'estop';
  while (Number.isNaN(zeroAt) && perf.now() - pausedAt < 10_000) await sleep(20);
  phase = 'done';
  await loop.stop();
  operator.destroy();
  await plant.close();
  return {
    transport, rateHz, publishHz: robot.publishHz, ticks,
    age_ms_p50: ages.quantile(0.5) / 1000, age_ms_p99: ages.quantile(0.99) / 1000, age_ms_max: ages.max / 1000,
    age_target_ms: period * 1000 + 2,
    received_per_s: received / elapsed,
    cmd_rate_err_pct: ((commands / elapsed - rateHz) / rateHz) * 100,
    gap_p99_periods: gaps.quantile(0.99) / (period * 1e6),
    stale_ticks: staleTicks,
    estop_ticks: Math.ceil((zeroAt - estopAt) / (period * 1000)),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ddsRow(rateHz: number): Promise<Row> {
  const publishHz = Math.max(200, 2 * rateHz);
  const tag = `dds${rateHz}`;
  const c = plantConfig(rateHz, tag);
  const child: ChildProcess = spawn(process.execPath, [
    join(packageRoot(), 'dist', 'src', 'cli', 'main.js'), 'sim-robot', '--rate', String(publishHz), '--node-name', `bench_robot_${tag}_${process.pid}`,
    '--joint-states', c.observations[0]!.topic, '--command', (c.command as { topic: string }).topic, '--estop', `${ns}/${tag}/robot_estop`,
    '--ready', `${ns}/${tag}/ready`, '--reset-request', `${ns}/${tag}/reset_request`,
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; if (out.includes('"simRobot":"ready"')) resolve(); });
    child.on('exit', (code) => reject(new Error(`sim-robot exited ${code}`)));
  });
  try {
    const rcl = await loadRclnodejs();
    if (rcl.isShutdown()) await rcl.init();
    return await measure(rcl, 'dds', rateHz, { pause: () => child.kill('SIGSTOP'), resume: () => child.kill('SIGCONT'), publishHz }, tag);
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
    return await measure(rcl, 'double', rateHz, { pause: () => void robot.close(), resume: () => { robot = reopen(); }, publishHz }, tag);
  } finally {
    await robot.close();
    await mujoco.close();
  }
}

const rows: Row[] = [];
const problem = rosEnvironmentProblem();
for (const rate of rates) {
  if (problem === null) rows.push(await ddsRow(rate));
  rows.push(await doubleRow(rate));
}
if (problem !== null && !json) console.log(`# DDS rows skipped: ${problem}`);
const fmt = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : String(x));
if (!json) {
  console.log('| transport | rate Hz | robot Hz | age ms p50 / p99 / max (target p99) | received/s | cmd rate err % | gap p99 (periods) | stale ticks | e-stop ticks |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.transport} | ${r.rateHz} | ${r.publishHz} | ${fmt(r.age_ms_p50)} / ${fmt(r.age_ms_p99)} / ${fmt(r.age_ms_max)} (<= ${fmt(r.age_target_ms, 1)}) | ${fmt(r.received_per_s, 1)} | ${fmt(r.cmd_rate_err_pct, 3)} | ${fmt(r.gap_p99_periods)} | ${r.stale_ticks} | ${r.estop_ticks} |`);
  }
}
console.log(JSON.stringify({ seconds, ros: problem === null ? 'dds and double' : `double only (${problem})`, rows }));
process.exit(0);
