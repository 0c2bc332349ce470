import { loadConfig } from '../config/load.js';
import type { SacbridgeConfig } from '../config/schema.js';
import { rosPlantConfigFrom } from '../daemon/robotPhase.js';
import { MujocoPlant } from '../plant/mujoco/mujocoPlant.js';
import { DomainRandomizer, type FactorRange } from '../plant/mujoco/domainRandomizer.js';
import { loadRclnodejs } from '../plant/ros/rclnodejs.js';
import type { RosPlantConfig } from '../plant/ros/rosPlantConfig.js';
import { SimulatedRobot, type SimulatedRobotConfig } from '../plant/ros/simulatedRobot.js';
import { hasSimulatorAccess } from '../plant/plant.js';
import { getTaskDefinition, resolveModelPath } from '../task/registry.js';
import { Rng } from '../util/rng.js';
import { parseFlags, UsageError, type FlagSpecs, type ParsedFlags } from './args.js';
import type { Command } from './command.js';

/**
 * `sacbridge sim-robot`: a stand-in robot on the ROS 2 graph, driven by MuJoCo, to rehearse the
 * robot phase before touching hardware (as gz_ros2_control or mujoco_ros2_control users do).
 *
 * It steps the model in real time at `--rate`, publishes header-stamped JointState (and Imu /
 * Odometry where the daemon's config reads them), takes forward-command-controller
 * (Float64MultiArray) or JointTrajectory commands, latches on the e-stop topic and answers a
 * reset request with a reset and "ready". The reality gap is the domain randomiser's: mass,
 * friction and actuator gain factors (one value, or a range drawn at every reset), a command
 * latency in ticks and observation noise. With `--config`, every topic, joint and the model come
 * from the daemon's own configuration, so the two match.
 */

const flags: FlagSpecs = {
  config: { kind: 'string', value: 'FILE', help: "the daemon's configuration: topics, joints, task and model are taken from it" },
  task: { kind: 'string', value: 'NAME', help: 'task whose model to run (default: sim.task of --config, else pendulum)' },
  model: { kind: 'string', value: 'FILE', help: 'MJCF file instead of the task\'s' },
  'gym-models': { kind: 'string', value: 'DIR', help: "directory of Gymnasium's MJCF files (Gymnasium tasks)" },
  rate: { kind: 'number', value: 'HZ', min: 1, help: 'physics steps and JointState messages per second (default 200)' },
  joints: { kind: 'string', value: 'A,B', help: 'joints in the JointState (default: from --config, else every hinge and slide joint)' },
  'joint-states': { kind: 'string', value: 'TOPIC', help: 'JointState topic (default: from --config, else /joint_states)' },
  command: { kind: 'string', value: 'TOPIC', help: 'Float64MultiArray command topic (default: from --config, else /forward_command_controller/commands)' },
  trajectory: { kind: 'string', value: 'TOPIC', help: 'JointTrajectory command topic, by the actuators\' joint names (default: from --config)' },
  estop: { kind: 'string', value: 'TOPIC', help: 'std_msgs/msg/Bool e-stop topic (default: from --config, else /sacbridge/estop)' },
  ready: { kind: 'string', value: 'TOPIC', help: 'std_msgs/msg/Bool topic for "ready" after a reset (default: from --config, else /sacbridge/ready)' },
  'reset-request': { kind: 'string', value: 'TOPIC', help: 'std_msgs/msg/Bool topic on which a reset is asked for (default: from --config, else /sacbridge/reset_request)' },
  'ready-every': { kind: 'number', value: 'S', min: 0, help: 'also publish "ready" every S seconds without resetting (default 0 = only after a reset)' },
  'mass-scale': { kind: 'string', value: 'F|LO,HI', help: 'body masses times F (or a factor drawn per reset from [LO, HI])' },
  'friction-scale': { kind: 'string', value: 'F|LO,HI', help: 'geom friction times F' },
  'gain-scale': { kind: 'string', value: 'F|LO,HI', help: 'actuator gains times F' },
  'latency-ticks': { kind: 'int', value: 'N', min: 0, help: 'commands act N ticks after they arrive (default 0)' },
  noise: { kind: 'number', value: 'STD', min: 0, help: 'Gaussian noise on every published value (default 0)' },
  seed: { kind: 'int', value: 'S', min: 0, help: 'seed of the dynamics draws and the noise (default 1)' },
  'node-name': { kind: 'string', value: 'NAME', help: 'ROS 2 node name (default sim_robot)' },
  duration: { kind: 'number', value: 'S', min: 0, help: 'exit after S seconds (default: run until SIGINT/SIGTERM)' },
  'stats-every': { kind: 'number', value: 'S', min: 0, help: 'print a JSON line of counters every S seconds (default 0 = only at exit)' },
};

export const simRobotCommand: Command = {
  name: 'sim-robot',
  summary: 'a stand-in robot on ROS 2, driven by MuJoCo, to rehearse the robot phase',
  usage: 'sim-robot [--config FILE] [--task NAME | --model FILE] [--rate HZ] [--mass-scale F] [--latency-ticks N] [--noise STD] ...',
  flags,
  async run(argv) {
    const { flags: f, positionals } = parseFlags(argv, flags);
    if (positionals.length > 0) throw new UsageError(`sim-robot: unexpected argument '${positionals[0]}'`);
    const config = f.config === undefined ? null : loadConfig({ file: f.config as string, env: {} }).config;
    const setup = simRobotSetup(f, config);
    const rcl = await loadRclnodejs();
    await rcl.init();
    // Real time at --rate: k physics steps per tick, the timestep no longer than the model's.
    const probe = await MujocoPlant.create(setup.modelPath, { frameSkip: 1 });
    const modelTimestep = probe.model.opt.timestep;
    await probe.close();
    setup.frameSkip = Math.max(1, Math.round(1 / setup.rateHz / modelTimestep));
    setup.timestep = 1 / setup.rateHz / setup.frameSkip;
    const mujoco = await MujocoPlant.create(setup.modelPath, { frameSkip: setup.frameSkip });
    mujoco.model.opt.timestep = setup.timestep;
    const rng = new Rng((f.seed as number | undefined) ?? 1);
    const randomizer = new DomainRandomizer({ mass: setup.mass, friction: setup.friction, actuatorGain: setup.gain, maxActionLatency: 0 });
    const task = setup.task === null ? null : getTaskDefinition(setup.task).create();
    const robot = SimulatedRobot.open(rcl, mujoco, {
      ...setup.robotConfig(mujoco, rng, (plant) => {
        randomizer.apply(plant, rng);
        plant.setCommandDelay(setup.latencyTicks);
      }),
      // Each reset starts where the task starts its episodes (pendulum: hanging, at a random angle).
      initialize: () => {
        if (task?.initializeEpisode !== undefined && hasSimulatorAccess(mujoco)) task.initializeEpisode(mujoco.sim, rng);
      },
    });
    await robot.reset();
    const counters = (): Record<string, number | boolean> => ({ ...robot.stats, estopped: robot.estopped });
    // Whoever reads the JSON lines may go first (a bench that is done, `| head`): the robot carries on.
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
    process.stdout.write(`${JSON.stringify({ simRobot: 'ready', model: setup.modelPath, rateHz: setup.rateHz, timestep: setup.timestep, frameSkip: setup.frameSkip, topics: setup.topics, pid: process.pid })}\n`);
    const readyEvery = (f['ready-every'] as number | undefined) ?? 0;
    const timers: NodeJS.Timeout[] = [];
    if (readyEvery > 0) timers.push(setInterval(() => robot.announceReady(), readyEvery * 1000));
    const statsEvery = (f['stats-every'] as number | undefined) ?? 0;
    if (statsEvery > 0) timers.push(setInterval(() => process.stdout.write(`${JSON.stringify({ simRobot: 'stats', ...counters() })}\n`), statsEvery * 1000));
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const d = f.duration as number | undefined;
      if (d !== undefined) timers.push(setTimeout(stop, d * 1000));
    });
    for (const t of timers) clearInterval(t);
    await robot.close();
    await mujoco.close();
    rcl.shutdown();
    process.stdout.write(`${JSON.stringify({ simRobot: 'stopped', ...counters(), error: robot.error === null ? null : String(robot.error) })}\n`);
    return robot.error === null ? 0 : 1;
  },
};

/** A factor or a range of factors: "1.2" or "0.9,1.3". */
export function parseFactor(flag: string, raw: string | undefined): FactorRange {
  if (raw === undefined) return [1, 1];
  const parts = raw.split(',').map((s) => Number(s.trim()));
  const ok = (parts.length === 1 || parts.length === 2) && parts.every((x) => Number.isFinite(x) && x > 0) && (parts.length === 1 || parts[0]! <= parts[1]!);
  if (!ok) throw new UsageError(`--${flag}: expected a factor > 0 or LO,HI with 0 < LO <= HI, got '${raw}'`);
  return parts.length === 1 ? [parts[0]!, parts[0]!] : [parts[0]!, parts[1]!];
}

export interface SimRobotSetup {
  task: string | null;
  modelPath: string;
  rateHz: number;
  timestep: number;
  frameSkip: number;
  mass: FactorRange;
  friction: FactorRange;
  gain: FactorRange;
  latencyTicks: number;
  topics: Record<string, string | null>;
  /** The SimulatedRobot's configuration for this model (joint addresses looked up in it). */
  robotConfig(plant: MujocoPlant, rng: Rng, redraw: (plant: MujocoPlant) => void): SimulatedRobotConfig;
}

/** Resolve flags and the daemon's config (if given) into what the stand-in runs. Throws UsageError naming the flag. */
export function simRobotSetup(f: ParsedFlags, config: SacbridgeConfig | null): SimRobotSetup {
  const task = (f.task as string | undefined) ?? (f.model === undefined ? config?.sim.task ?? 'pendulum' : null);
  let modelPath: string;
  try {
    modelPath = task === null
      ? (f.model as string)
      : resolveModelPath(task, {
        ...(f.model !== undefined ? { modelPath: f.model as string } : config?.sim.modelPath ? { modelPath: config.sim.modelPath } : {}),
        ...(f['gym-models'] !== undefined ? { gymnasiumModelDir: f['gym-models'] as string } : config?.sim.gymnasiumModelDir ? { gymnasiumModelDir: config.sim.gymnasiumModelDir } : {}),
      });
  } catch (e) {
    throw new UsageError(`--task/--model: ${(e as Error).message}`);
  }
  const rateHz = (f.rate as number | undefined) ?? 200;
  const rosPlant: RosPlantConfig | null = config !== null && config.ros.enabled ? rosPlantConfigFrom(config) : null;
  const js = rosPlant?.observations.find((o) => o.type === 'sensor_msgs/msg/JointState');
  const imu = rosPlant?.observations.find((o) => o.type === 'sensor_msgs/msg/Imu');
  const odom = rosPlant?.observations.find((o) => o.type === 'nav_msgs/msg/Odometry');
  const cmd = rosPlant?.command;
  const flagTopic = (name: string): string | undefined => f[name] as string | undefined;
  const jointStatesTopic = flagTopic('joint-states') ?? js?.topic ?? '/joint_states';
  // With actuator groups from --config, the commands come on the groups' topics.
  const commandTopic = flagTopic('command') ?? (cmd?.type === 'std_msgs/msg/Float64MultiArray' ? cmd.topic : f.trajectory === undefined && cmd === undefined ? '/forward_command_controller/commands' : undefined);
  const trajectoryTopic = flagTopic('trajectory') ?? (cmd?.type === 'trajectory_msgs/msg/JointTrajectory' ? cmd.topic : undefined);
  if (cmd?.type === 'geometry_msgs/msg/Twist') throw new UsageError('--config: ros.command.type geometry_msgs/msg/Twist: the stand-in robot takes Float64MultiArray or JointTrajectory commands');
  const estopTopic = flagTopic('estop') ?? config?.ros.estopTopic ?? '/sacbridge/estop';
  const readyTopic = flagTopic('ready') ?? config?.ros.reset.readyTopic ?? '/sacbridge/ready';
  const resetRequestTopic = flagTopic('reset-request') ?? (config?.ros.reset.requestTopic || undefined) ?? '/sacbridge/reset_request';
  const jointList = (f.joints as string | undefined)?.split(',').map((s) => s.trim()).filter((s) => s.length > 0) ?? (js?.type === 'sensor_msgs/msg/JointState' ? js.joints : null);
  return {
    task,
    modelPath,
    rateHz,
    timestep: 0,
    frameSkip: 1,
    mass: parseFactor('mass-scale', f['mass-scale'] as string | undefined),
    friction: parseFactor('friction-scale', f['friction-scale'] as string | undefined),
    gain: parseFactor('gain-scale', f['gain-scale'] as string | undefined),
    latencyTicks: (f['latency-ticks'] as number | undefined) ?? 0,
    topics: { jointStates: jointStatesTopic, command: commandTopic ?? (cmd?.type === 'actuator_groups' ? cmd.groups.map((g) => g.topic).join(',') : null), trajectory: trajectoryTopic ?? null, estop: estopTopic, ready: readyTopic, resetRequest: resetRequestTopic, imu: imu?.topic ?? null, odometry: odom?.topic ?? null },
    robotConfig(plant, rng, redraw) {
      const m = plant.model;
      const joints = jointList ?? hingeAndSlideJoints(plant);
      const qposAdr = m.jnt_qposadr as Int32Array;
      const dofAdr = m.jnt_dofadr as Int32Array;
      const ids = joints.map((j) => {
        try {
          return plant.elementId('joint', j);
        } catch (e) {
          throw new UsageError(`--joints: ${(e as Error).message}`);
        }
      });
      const noise = (f.noise as number | undefined) ?? 0;
      return {
        nodeName: (f['node-name'] as string | undefined) ?? 'sim_robot',
        jointStates: {
          topic: jointStatesTopic, joints, position: 'qpos', velocity: 'qvel',
          index: { position: ids.map((id) => qposAdr[id] as number), velocity: ids.map((id) => dofAdr[id] as number) },
        },
        ...(imu?.type === 'sensor_msgs/msg/Imu' ? { imu: { topic: imu.topic, ...imu.signals } } : {}),
        ...(odom?.type === 'nav_msgs/msg/Odometry' ? { odometry: { topic: odom.topic, ...odom.signals } } : {}),
        ...(commandTopic !== undefined ? { commandTopic } : {}),
        ...(trajectoryTopic !== undefined ? { trajectory: { topic: trajectoryTopic, joints: cmd?.type === 'trajectory_msgs/msg/JointTrajectory' ? cmd.joints : [...plant.command.names ?? []] } } : {}),
        ...(cmd?.type === 'actuator_groups' ? { groups: { actuators: cmd.actuators, groups: cmd.groups } } : {}),
        ...(noise > 0 ? { noise: { std: noise, rng } } : {}),
        // A process of its own: slots to the microsecond, not to libuv's millisecond timers.
        timing: { mode: 'periodic', periodMs: 1000 / rateHz, wait: 'block' },
        readyTopic,
        estopTopic,
        resetRequestTopic,
        onReset: (p) => redraw(p as MujocoPlant),
      };
    },
  };
}

function hingeAndSlideJoints(plant: MujocoPlant): string[] {
  const m = plant.model;
  const types = m.jnt_type as Int32Array;
  const out: string[] = [];
  const hinge = plant.mujoco.mjtJoint.mjJNT_HINGE.value, slide = plant.mujoco.mjtJoint.mjJNT_SLIDE.value;
  for (let j = 0; j < m.njnt; j++) {
    if (types[j] !== hinge && types[j] !== slide) continue;
    out.push(plant.mujoco.mj_id2name(m, plant.mujoco.mjtObj.mjOBJ_JOINT.value, j) || `joint${j}`);
  }
  if (out.length === 0) throw new UsageError('--joints: the model has no hinge or slide joint to publish; name the joints');
  return out;
}
