/**
 * Fine-tuning reliability (`npm run bench:finetune -- --seeds 10 --json`): for each scenario and
 * seed, SAC trains in MuJoCo, the sim policy is switched to a "robot" with other dynamics
 * (SimulatedRobot behind the in-memory ROS graph, RosPlant in lockstep, versions on the
 * deterministic schedule), fine-tunes for a fixed number of episodes, and is scored:
 *
 *   unadapted      deterministic return of the sim policy on the robot (3 episodes)
 *   ended_better   the last 10 fine-tuning episodes' mean is above `unadapted`
 *   worst_window   the worst 10-episode window of fine-tuning, relative to |unadapted|
 *   gain           deterministic return after fine-tuning minus `unadapted`
 *   robot_minutes  robot time used (steps x control period)
 *
 * Scenarios: point_reach on a tilted table (the simToReal test's shift) and the pendulum with a
 * 30% heavier link and 2 ticks of actuation latency, hanging down at each robot reset. The
 * pendulum's sim phase randomises the link's mass (x0.8 to x1.5) and the actuation latency (0 to
 * 3 ticks) per episode, as a user sets sim.randomize.* when the robot's mass and latency are known
 * only roughly, and trains 25k steps; --no-randomize trains on the nominal model instead.
 * The fine-tuning options default to the daemon's (switch.* in src/config/schema.ts: temperature,
 * explorationScale, guardWindow, guardTolerance, criticWarmupUpdates, simReplayRatio), except the
 * warm-up (500 robot transitions; the daemon's default is rl.batchSize).
 * Flags: --seeds N (default 3), --first-seed N (default 0), --only NAME, --json, --episodes N
 * (override), --sim-steps N (override), --critic-warmup N (updates that train the critics only
 * before the actor moves), --actor-lr X (the actor's step size while fine-tuning; default the sim
 * run's), --keep-temperature (no temperature steps on the robot), --temperature X (the temperature
 * reset to X at the switch, 0 keeps the sim run's), --robot-fraction X (the robot's share of a
 * batch; 0.5 is RLPD's symmetric sampling), --warmup N (robot transitions with the sim policy
 * before the first update, WSRL; default 500), --guard-window N and --guard-tolerance X (the
 * rollback guard, 0 = off), --guard-freeze (after a rollback the actor stays put for a window's
 * worth of updates), --guard-restore start|end (which weights of the best window come back),
 * --layer-norm (LayerNorm critics, from sim training on), --exploration X (sampled actions use
 * the policy's standard deviation times X), --rate HZ (the control rate; in lockstep the results
 * do not depend on it; default 100).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActionPolicy } from '../src/agent/policy.js';
import type { SacHyperparameters } from '../src/agent/sac.js';
import { initCompute } from '../src/compute/backend.js';
import { Env } from '../src/env/env.js';
import { FineTuneSession, type FineTuneEpisode } from '../src/finetune/session.js';
import { MujocoPlant } from '../src/plant/mujoco/mujocoPlant.js';
import { DomainRandomizer, type DomainRandomizationOptions } from '../src/plant/mujoco/domainRandomizer.js';
import { hasSimulatorAccess } from '../src/plant/plant.js';
import { FakeRosGraph } from '../src/plant/ros/testing/fakeRclnodejs.js';
import { SimulatedRobot } from '../src/plant/ros/simulatedRobot.js';
import { getTaskDefinition, resolveModelPath } from '../src/task/registry.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';
import { createEnv } from '../src/wiring/envFactory.js';
import { defaultConfig } from '../src/config/load.js';
import { runEpisodes } from '../src/train/evaluation.js';

interface Scenario {
  name: string;
  task: string;
  simSteps: number;
  hp: Partial<SacHyperparameters>;
  /** The robot's MJCF from the sim's. */
  shift(xml: string): string;
  latencySteps: number;
  joints: string[];
  low: number[];
  high: number[];
  episodes: number;
  /**
   * Domain randomisation of the sim phase (as a user sets sim.randomize.* in the daemon's
   * config when the robot's mass and latency are known only roughly); absent: nominal sim.
   */
  randomize?: DomainRandomizationOptions;
  /** The robot's state after each reset (sim access of the MuJoCo body). */
  initialize?(qpos: Float64Array, rng: Rng): void;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'point_reach_tilted',
    task: 'point_reach', simSteps: 5000,
    hp: { hidden: [64, 64], batchSize: 128, learningStarts: 500, bufferSize: 20_000 },
    shift: (xml) => xml.replace('gravity="0 0 0"', 'gravity="3 -2 0"'),
    latencySteps: 1, joints: ['x', 'y'], low: [-1, -1], high: [1, 1], episodes: 130,
  },
  {
    name: 'pendulum_heavy_latency2',
    task: 'pendulum', simSteps: 25_000,
    hp: { hidden: [64, 64], batchSize: 128, learningStarts: 1000, bufferSize: 20_000 },
    shift: (xml) => xml.replace('size="0.02" mass="1"', 'size="0.02" mass="1.3"'),
    latencySteps: 2, joints: ['hinge'], low: [-2], high: [2], episodes: 60,
    randomize: { mass: [0.8, 1.5], maxActionLatency: 3 },
    initialize: (qpos, rng) => { qpos[0] = Math.PI + rng.range(-0.2, 0.2); },
  },
];

interface RunResult {
  scenario: string;
  seed: number;
  unadapted: number;
  adapted: number;
  last10: number;
  worst_window: number;
  ended_better: boolean;
  returns: number[];
  /**
   * Per episode (src/finetune/session.ts): [alpha, entropy, TD loss, mean Q, policy drift,
   * TD error on robot data, TD error on sim data, Q of the first state, its Monte Carlo return].
   */
  measures: number[][];
  rollbacks: string[];
  robot_minutes: number;
  seconds: number;
}

/** The daemon's defaults for the robot phase: what the bench measures unless a flag says otherwise. */
const SW = defaultConfig().switch;

const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;

async function runOne(sc: Scenario, seed: number, episodesOverride: number | undefined, criticWarmupUpdates: number, actorLearningRate: number | undefined, keepTemperature: boolean): Promise<RunResult> {
  const t0 = performance.now();
  const runDir = mkdtempSync(join(tmpdir(), 'sacbridge-bench-ft-'));
  const randomize = process.argv.includes('--no-randomize') ? undefined : sc.randomize;
  const simSteps = Number(flag('sim-steps') ?? sc.simSteps);
  const hp = process.argv.includes('--layer-norm') ? { ...sc.hp, criticLayerNorm: true } : sc.hp;
  const trainer = await Trainer.create({ task: sc.task, seed, runDir, makeEnv: (s) => createEnv(sc.task, { seed: s, ...(randomize === undefined ? {} : { randomizer: new DomainRandomizer(randomize) }) }), hyperparameters: hp, metricsEvery: 1_000_000 });
  await trainer.run(simSteps);
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const robotModel = join(runDir, `robot_${sc.task}.xml`);
  const xml = readFileSync(resolveModelPath(sc.task), 'utf8');
  const shifted = sc.shift(xml);
  if (shifted === xml) throw new Error(`scenario ${sc.name}: the shift changed nothing in ${resolveModelPath(sc.task)}`);
  writeFileSync(robotModel, shifted);
  const definition = getTaskDefinition(sc.task);
  const body = await MujocoPlant.create(robotModel, { frameSkip: definition.frameSkip });
  await body.reset();
  const initRng = new Rng(seed + 77);
  const robot = SimulatedRobot.open(rcl, body, {
    nodeName: 'robot', commandTopic: '/cmd', latencySteps: sc.latencySteps, readyTopic: '/ready',
    jointStates: { topic: '/joint_states', joints: sc.joints, position: 'qpos', velocity: 'qvel' },
    noise: { std: 0.002, rng: new Rng(seed + 1) },
    timing: { mode: 'on-command' },
    ...(sc.initialize === undefined ? {} : {
      initialize: (p) => {
        if (!hasSimulatorAccess(p)) return;
        const qpos = p.sim.initialQpos.slice();
        sc.initialize!(qpos, initRng);
        p.sim.setState(qpos, new Float64Array(p.sim.nv));
      },
    }),
  });
  const { RosPlant } = await import('../src/plant/ros/rosPlant.js');
  const plant = RosPlant.open(rcl, {
    nodeName: 'sacbridge', controlPeriod: body.controlPeriod,
    observations: [{ type: 'sensor_msgs/msg/JointState', topic: '/joint_states', joints: sc.joints, signals: { position: 'qpos', velocity: 'qvel' } }],
    command: { type: 'std_msgs/msg/Float64MultiArray', topic: '/cmd', low: sc.low, high: sc.high },
    estop: { topic: '/estop' },
    reset: { mode: 'operator', topic: '/ready', timeout: 5 },
    advance: { mode: 'lockstep', timeout: 5 },
  });
  /** Deterministic episodes on the robot; each reset waits for its "ready". */
  const robotReturns = (policy: Pick<ActionPolicy, 'act'>, n: number): Promise<number[]> =>
    runEpisodes(new Env(plant, definition.create(), { seed: 0 }), policy, n, true, { alongReset: () => robot.reset() });
  const episodes = episodesOverride ?? sc.episodes;
  try {
    const unadapted = mean(await robotReturns(trainer.agent, 3));
    const done: FineTuneEpisode[] = [];
    const session = await FineTuneSession.start({
      agent: trainer.agent, simReplay: trainer.replay, plant, task: definition.create(),
      safety: { low: sc.low, high: sc.high, watchdog: { maxAge: 2, action: 'hold' } },
      rateHz: Number(flag('rate') ?? 100), robotFraction: Number(flag('robot-fraction') ?? 1 - SW.simReplayRatio), updatesPerStep: 1,
      learningStarts: Number(flag('warmup') ?? 500), publishEvery: 10, robotReplayCapacity: 50_000,
      seed: seed + 5, compute: 'wasm', versionSchedule: 'scheduled', criticWarmupUpdates, keepTemperature,
      ...(Number(flag('temperature') ?? SW.temperature) > 0 ? { temperature: Number(flag('temperature') ?? SW.temperature) } : {}),
      explorationScale: Number(flag('exploration') ?? SW.explorationScale),
      ...(Number(flag('guard-window') ?? SW.guardWindow) > 0 ? { guard: { window: Number(flag('guard-window') ?? SW.guardWindow), tolerance: Number(flag('guard-tolerance') ?? SW.guardTolerance), freeze: process.argv.includes('--guard-freeze'), restore: guardRestore(flag('guard-restore') ?? SW.guardRestore) } } : {}),
      ...(actorLearningRate === undefined ? {} : { actorLearningRate }),
      // No "ready" after the last episode: the run ends after exactly `episodes` (reproducibly).
      onEpisode: (e) => { done.push(e); if (done.length < episodes) setTimeout(() => void robot.reset(), 1); },
    });
    await robot.reset();
    while (done.length < episodes) await new Promise((r) => setTimeout(r, 200));
    const result = await session.stop();
    const returns = done.slice(0, episodes).map((e) => e.return);
    const adapted = mean(await robotReturns(trainer.agent, 3));
    let worst = Infinity;
    for (let i = 0; i + 10 <= returns.length; i++) worst = Math.min(worst, mean(returns.slice(i, i + 10)));
    const last10 = mean(returns.slice(-10));
    return {
      scenario: sc.name, seed, unadapted, adapted, last10,
      worst_window: (worst - unadapted) / Math.abs(unadapted),
      ended_better: last10 > unadapted,
      returns: returns.map((r) => Math.round(r * 10) / 10),
      measures: done.slice(0, episodes).map((e) => [e.alpha, e.entropy, e.tdLoss, e.qMean, e.policyDrift, e.tdRobot, e.tdSim, e.qStart, e.mcReturn].map((x) => Number(x.toPrecision(3)))),
      rollbacks: done.slice(0, episodes).filter((e) => e.rollback !== '').map((e) => e.rollback),
      robot_minutes: (result.status.steps * body.controlPeriod) / 60,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await plant.close();
    await robot.close();
    await body.close();
    await trainer.close();
    rmSync(runDir, { recursive: true });
  }
}

function guardRestore(v: string): 'start' | 'end' {
  if (v !== 'start' && v !== 'end') throw new Error(`--guard-restore: expected start or end, got '${v}'`);
  return v;
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  const seeds = Number(flag('seeds') ?? 3);
  const firstSeed = Number(flag('first-seed') ?? 0);
  const only = flag('only');
  const episodes = flag('episodes') === undefined ? undefined : Number(flag('episodes'));
  const json = process.argv.includes('--json');
  const warmup = Number(flag('critic-warmup') ?? SW.criticWarmupUpdates);
  const actorLr = flag('actor-lr') === undefined ? undefined : Number(flag('actor-lr'));
  await initCompute('wasm');
  const summary: Record<string, unknown> = {};
  const runs: RunResult[] = [];
  for (const sc of SCENARIOS.filter((s) => only === undefined || s.name === only)) {
    const rs: RunResult[] = [];
    for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
      const r = await runOne(sc, seed, episodes, warmup, actorLr, process.argv.includes('--keep-temperature'));
      rs.push(r);
      runs.push(r);
      if (!json) console.log(`${sc.name} seed ${seed}: unadapted ${r.unadapted.toFixed(1)}, adapted ${r.adapted.toFixed(1)}, last10 ${r.last10.toFixed(1)}, worst window ${(100 * r.worst_window).toFixed(0)}%, ${r.rollbacks.length} rollbacks, ${r.seconds.toFixed(0)} s`);
    }
    const gains = rs.map((r) => r.adapted - r.unadapted).sort((a, b) => a - b);
    summary[sc.name] = {
      runs: rs.length,
      ended_better: rs.filter((r) => r.ended_better).length,
      ended_worse: rs.filter((r) => !r.ended_better).length,
      worst_window: Math.min(...rs.map((r) => r.worst_window)),
      median_gain: gains[Math.floor((gains.length - 1) / 2)]! / 2 + gains[Math.ceil((gains.length - 1) / 2)]! / 2,
      robot_minutes: mean(rs.map((r) => r.robot_minutes)),
    };
  }
  if (!json) console.table(summary);
  console.log(JSON.stringify({ summary, runs }));
}

await main();
process.exit(0);
