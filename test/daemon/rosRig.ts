import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import type { SacbridgeConfig } from '../../src/config/schema.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { JobContext } from '../../src/daemon/job.js';
import { SacJob } from '../../src/daemon/sacJob.js';
import type { Logger } from '../../src/log/logger.js';
import { MujocoPlant } from '../../src/plant/mujoco/mujocoPlant.js';
import type { DiagnosticArray } from '../../src/plant/ros/messages.js';
import type { RclModule } from '../../src/plant/ros/rclnodejs.js';
import { SimulatedRobot } from '../../src/plant/ros/simulatedRobot.js';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import { getTaskDefinition, resolveModelPath } from '../../src/task/registry.js';
import { gymnasiumModelDir } from '../sim/simFixtures.js';
import { ANY_PORTS, ROOT } from './helpers.js';

/**
 * The robot side of config/examples/sim-then-robot.json on the in-memory ROS graph, for the
 * robot-phase and daemon tests. (Not a test file itself.)
 */

export const TASK = 'InvertedPendulum-v5';
export const gymDir = gymnasiumModelDir();

/**
 * config/examples/sim-then-robot.json made small for tests: a tiny SAC whose gate (reward 1 per
 * upright tick) any episode that does not fall at once passes, the robot at 100 Hz, no periodic
 * checkpoints. `extra` flags come last, so they win.
 */
export function smallSimThenRobotConfig(dir: string, extra: readonly string[] = []): SacbridgeConfig {
  return loadConfig({
    file: join(ROOT, 'config', 'examples', 'sim-then-robot.json'),
    env: {},
    args: [
      '--daemon.stateDir', dir, '--metrics.enabled', 'false', ...ANY_PORTS,
      '--daemon.checkpointEverySteps', '0', '--daemon.checkpointEverySeconds', '0',
      '--sim.gymnasiumModelDir', gymDir, '--sim.totalSteps', '100000', '--sim.evalEvery', '200', '--sim.evalEpisodes', '1',
      '--switch.gateEpisodes', '1', '--switch.gateReturn', '1',
      '--rl.hiddenSizes', '[16,16]', '--rl.batchSize', '32', '--rl.bufferSize', '5000', '--rl.learningStarts', '100',
      '--ros.controlRateHz', '100', '--zmq.policyRefreshUpdates', '10',
      ...extra,
    ],
  }).config;
}

/**
 * An in-process daemon running the SAC job, its robot phase on the in-memory ROS graph `graph`.
 * `wrap` may stand between the daemon and the job's context (to record what the job publishes).
 */
export async function startOnGraph(config: SacbridgeConfig, graph: FakeRosGraph, wrap: (ctx: JobContext) => JobContext = (ctx) => ctx) {
  const rcl = graph.module();
  const { logger, records } = recordingLogger();
  const daemon = await Daemon.start({ config, logger, env: {}, job: (ctx) => SacJob.create(wrap(ctx), { loadRcl: async () => rcl }) });
  return { daemon, rcl, records };
}

/** A logger whose records the test reads. */
export function recordingLogger(): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  return { records, logger: pino({ level: 'info' }, { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) }) };
}

/**
 * The robot's side of the graph: the cart-pole (MuJoCo, stepped every 10 ms with the latest
 * command), and an operator who answers resets with "ready", putting the pole back up first when
 * it fell, and who holds the phase and e-stop topics and watches the status.
 */
export async function cartpoleRig(rcl: RclModule) {
  const mujoco = await MujocoPlant.create(resolveModelPath(TASK, { gymnasiumModelDir: gymDir }), { frameSkip: getTaskDefinition(TASK).frameSkip });
  await mujoco.reset();
  const robot = SimulatedRobot.open(rcl, mujoco, {
    nodeName: 'cartpole', commandTopic: '/cartpole/effort_controller/commands', readyTopic: '/cartpole/ready',
    jointStates: { topic: '/cartpole/joint_states', joints: ['slider', 'hinge'], position: 'qpos', velocity: 'qvel' },
    timing: { mode: 'periodic', periodMs: 10 },
  });
  const operator = new rcl.Node('operator');
  const phase = operator.createPublisher('std_msgs/msg/String', '/sacbridge/phase');
  const estop = operator.createPublisher('std_msgs/msg/Bool', '/cartpole/estop');
  const ready = operator.createPublisher('std_msgs/msg/Bool', '/cartpole/ready');
  const statuses: DiagnosticArray[] = [];
  operator.createSubscription('diagnostic_msgs/msg/DiagnosticArray', '/diagnostics', {}, (m: DiagnosticArray) => void statuses.push(m));
  operator.spin();
  const answering = setInterval(() => {
    const q = mujoco.read().get('qpos')!;
    if (Math.abs(q[1]!) > 0.2 || Math.abs(q[0]!) > 0.9) void robot.reset();
    else ready.publish({ data: true });
  }, 50);
  let silenced = false;
  return {
    robot, mujoco, phase, estop, statuses,
    /** The robot dies: no more joint states, and no operator resets it (its node is gone). */
    async silence() {
      clearInterval(answering);
      silenced = true;
      await robot.close();
    },
    async close() {
      clearInterval(answering);
      if (!silenced) await robot.close();
      operator.destroy();
      await mujoco.close();
    },
  };
}

export async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

