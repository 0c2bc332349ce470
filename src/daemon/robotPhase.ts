import { createHash } from 'node:crypto';
import type { ActorWeights } from '../agent/policy.js';
import type { ReplayBuffer, ReplaySnapshot } from '../agent/replayBuffer.js';
import { actorToFloats } from '../learner/weightExchange.js';
import { nativeLibraryThreadIds, setThreadsScheduling } from '../control/realtime.js';
import type { SoftActorCritic } from '../agent/sac.js';
import type { SacbridgeConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { loadRclnodejs, rosEnvironmentProblem, type RclModule, type RosEnvironmentCheck } from '../plant/ros/rclnodejs.js';
import { RosPlant } from '../plant/ros/rosPlant.js';
import type { CommandSink, ObservationSource, RosPlantConfig } from '../plant/ros/rosPlantConfig.js';
import type { Plant } from '../plant/plant.js';
import { FineTuneSession, type FineTuneOptions, type FineTuneStatus } from '../finetune/session.js';
import type { SacLearnerState } from '../finetune/sacLearner.js';
import type { RosPlantCounters } from '../plant/ros/rosPlant.js';
import { fineTuneSettings, safetyOptions } from '../wiring/configOptions.js';
import { taskOnRobot } from '../wiring/taskOnRobot.js';
import type { TickResult } from './job.js';
import type { PhaseEvent } from './phases.js';

/**
 * The `real_finetune` phase: the same agent fine-tuned on the robot through ROS 2.
 *
 * The fine-tuning itself (control loop on its own timer, learner in a worker, mixed sim/robot
 * replay, safety layer) is the FineTuneSession (src/finetune/session.ts); this module wires the
 * daemon to it: check the ROS 2 environment, load rclnodejs, open the RosPlant from the convict
 * keys, start the session, and turn its state into phase requests. Without ROS 2 (as on this
 * machine) it fails before touching anything, with an error that says what is missing; the job
 * then asks for the e-stop.
 */

/** Phase events accepted from the ROS phase topic while fine-tuning. */
export const ROBOT_PHASE_COMMANDS: readonly PhaseEvent[] = ['pause', 'evaluate', 'finish'];

export class RobotPhaseError extends Error {
  override name = 'RobotPhaseError';
}

export interface RobotPhase {
  /** Called by the daemon's loop; the session runs on its own timer, so this only watches it. */
  tick(): Promise<TickResult>;
  /** Stop the session (the safe command goes out last); the learner's final state, if it gave one. */
  stop(): Promise<SacLearnerState | null>;
  /** The session's counters (steps, episodes, returns, learner, safety, loop). */
  status(): FineTuneStatus;
  /** The ROS messages counted by the plant. */
  rosCounters(): RosPlantCounters;
  /**
   * The learner's state now, with the robot replay as of that state, for a checkpoint during
   * fine-tuning (null if the learner has none to give).
   */
  learnedState(): Promise<SacLearnerState | null>;
  /** The robot replay read from this thread (when the learner gave no state). */
  robotReplay(): ReplaySnapshot;
  /** The plant the session steps (the robot; through its model's kinematics for a task file): the web UI draws it. */
  readonly plant: Plant;
}

export interface RobotPhaseDeps {
  config: SacbridgeConfig;
  logger: Logger;
  agent: SoftActorCritic;
  simReplay: ReplayBuffer;
  task: string;
  /** Resuming on the robot: the weights that acted at the checkpoint, and the robot replay then. */
  actingWeights?: ActorWeights;
  robotReplay?: ReplaySnapshot;
  /** Every set of actor weights the robot acts with (FineTuneOptions.onPolicy). */
  onPolicy?: FineTuneOptions['onPolicy'];
  /** Every control tick and every finished episode on the robot (telemetry, metrics). */
  onTick?: FineTuneOptions['onTick'];
  onEpisode?: FineTuneOptions['onEpisode'];
  /** The daemon's phase, for the DiagnosticArray status (default 'real_finetune'). */
  phase?: () => string;
  /** For tests: the environment rclnodejs is checked against. */
  rosCheck?: RosEnvironmentCheck;
  /**
   * Where the rclnodejs module comes from. Default: the real package, imported only after the
   * ROS 2 environment check. Tests pass the in-memory graph's module
   * (src/plant/ros/testing/fakeRclnodejs.ts); nothing is imported then, so no check applies.
   */
  loadRcl?: () => Promise<RclModule>;
}

/** Start fine-tuning on the robot; throws RobotPhaseError naming what is missing. */
export async function startRobotPhase(deps: RobotPhaseDeps): Promise<RobotPhase> {
  const { config, logger } = deps;
  if (!config.ros.enabled) {
    throw new RobotPhaseError('ros.enabled is false: the robot phase needs ROS 2 (set ros.enabled=true with ros.observations and ros.command, and run where a ROS 2 distribution is sourced)');
  }
  let loadRcl = deps.loadRcl;
  if (loadRcl === undefined) {
    const problem = rosEnvironmentProblem(deps.rosCheck);
    if (problem !== null) throw new RobotPhaseError(`ROS 2 is not available: ${problem}`);
    loadRcl = () => loadRclnodejs(deps.rosCheck);
  }
  const plantConfig = rosPlantConfigFrom(config);
  const rcl = await loadRcl();
  // A node needs an initialised context. The phase that initialises it shuts it down when it
  // stops, so a later robot phase starts from a fresh one (rclnodejs allows init after shutdown).
  const ownsContext = rcl.isShutdown();
  if (ownsContext) await rcl.init();
  // Phase commands from the phase topic become phase requests on the daemon's next tick. On the
  // robot only leaving is offered: pausing, evaluating in sim or finishing. Anything else is
  // refused without effect: logged here, and (thrown back to RosPlant) counted as phaseRejected
  // with the message as last_error in the DiagnosticArray status.
  const pending: PhaseEvent[] = [];
  let plant: RosPlant | null = null;
  let session: FineTuneSession;
  // The plant the session runs on: the RosPlant, or a KinematicsPlant over it (a task file),
  // which holds a MuJoCo model and data that its close() frees (and closes the RosPlant).
  let sessionPlant: Plant | null = null;
  let sessionRef: FineTuneSession | undefined;
  try {
    plant = RosPlant.open(rcl, plantConfig, {
      status: () => {
        const s = sessionRef?.status();
        return {
          phase: deps.phase?.() ?? 'real_finetune',
          values: s === undefined ? {} as Record<string, string | number> : {
            session: s.state, robot_steps: s.steps, robot_episodes: s.episodes, last_return: Number.isNaN(s.lastReturn) ? 'none' : s.lastReturn.toFixed(2),
            policy_version: s.policyVersion, updates: s.learner.updates, learning_paused: s.learningPausedReason ?? 'no',
            rollbacks: s.rollbacks, last_rollback: s.lastRollback === '' ? 'none' : s.lastRollback,
          },
        };
      },
      onPhaseCommand: (command) => {
        if (!ROBOT_PHASE_COMMANDS.includes(command as PhaseEvent)) {
          const error = new RobotPhaseError(`phase command ${JSON.stringify(command)} on ${config.ros.phaseTopic} refused: expected one of ${ROBOT_PHASE_COMMANDS.join(', ')}`);
          logger.warn({ command, topic: config.ros.phaseTopic }, error.message);
          throw error;
        }
        pending.push(command as PhaseEvent);
      },
      // Logged when it arrives (the zero command has just gone out): the live test counts from here.
      onEstop: (reason) => logger.warn({ reason, topic: config.ros.estopTopic }, 'e-stop received: zero command sent'),
      onReadyWait: (w) => logger.info(
        { topic: w.topic, type: w.type, timeoutSeconds: w.timeoutSeconds, requestTopic: plantConfig.reset.mode === 'operator' ? plantConfig.reset.requestTopic ?? null : null },
        `robot reset: waiting for "ready" (${w.type}, data: true) on ${w.topic ?? 'the control API only'} or the control API, up to ${w.timeoutSeconds} s`,
      ),
    });
    // With a real-time control thread, the DDS threads that deliver its samples get the same
    // priority: at normal priority they wait behind every busy process, and the data ages.
    const priority = config.realtime.controlThreadPriority;
    if (priority > 0 && deps.loadRcl === undefined) {
      const dds = nativeLibraryThreadIds();
      setThreadsScheduling(dds, 'fifo', priority, 'a ROS 2 thread');
      logger.info({ threads: dds.length, priority }, 'ROS 2 threads at SCHED_FIFO, as the control thread');
    }
    const onRobot = await taskOnRobot(deps.task, plant, plantConfig.observations, config.sim.modelPath || undefined).catch((err: Error) => {
      throw new RobotPhaseError(err.message);
    });
    const settings = fineTuneSettings(config);
    sessionPlant = onRobot.plant;
    session = await FineTuneSession.start({
      agent: deps.agent,
      simReplay: deps.simReplay,
      plant: onRobot.plant,
      task: onRobot.task,
      safety: safetyOptions(config.safety, plant.command, config.ros.staleAgeMs / 1000),
      ...settings,
      // Robot transitions kept from before count towards the ones learning waits for.
      learningStarts: Math.max(1, settings.learningStarts - (deps.robotReplay?.size ?? 0)),
      ...(deps.actingWeights ? { actingWeights: deps.actingWeights } : {}),
      ...(deps.robotReplay ? { robotReplay: deps.robotReplay } : {}),
      onError: (err) => logger.error({ err: err.message }, 'fine-tuning error'),
      ...(deps.onPolicy ? { onPolicy: deps.onPolicy } : {}),
      ...(deps.onTick ? { onTick: deps.onTick } : {}),
      onEpisode: (e) => {
        if (e.rollback !== '') logger.warn({ episode: e.episode, policyVersion: e.policyVersion }, `rollback guard: ${e.rollback}`);
        deps.onEpisode?.(e);
      },
    });
  } catch (err) {
    await sessionPlant?.close();
    await plant?.close();
    if (ownsContext) rcl.shutdown();
    throw err;
  }
  sessionRef = session;
  const openPlant: RosPlant = plant;
  const openSessionPlant: Plant = sessionPlant ?? plant;
  logger.info({
    rateHz: config.ros.controlRateHz, robotFraction: 1 - config.switch.simReplayRatio,
    // Which weights act first (the sim agent's, or those a checkpoint kept) and what the robot replay starts with.
    actingPolicy: { resumed: deps.actingWeights !== undefined, sha256: actorDigest(deps.actingWeights ?? deps.agent.actorWeights()) },
    robotReplay: session.robotReplay.size,
  }, 'real fine-tuning started');
  const periodMs = 1000 / config.ros.controlRateHz;
  return {
    async tick() {
      // The session ticks itself; the daemon's loop only needs to notice an e-stop (topic or
      // safety) and a failed learner. Its status goes into the DiagnosticArray too.
      await new Promise((r) => setTimeout(r, Math.min(50, periodMs)));
      const s = session.status();
      if (s.state === 'estop') return { request: { event: 'estop', reason: `robot e-stop: ${s.estopReason ?? 'unknown'}` } };
      if (s.state === 'failed') return { request: { event: 'estop', reason: `fine-tuning failed: ${s.lastError ?? 'unknown'}` } };
      const event = pending.shift();
      if (event !== undefined) return { request: { event, reason: `phase command on ${config.ros.phaseTopic}` } };
      return {};
    },
    status: () => session.status(),
    rosCounters: () => openPlant.counters,
    learnedState: () => session.learnedState(),
    robotReplay: () => session.robotReplay.snapshot(),
    plant: openSessionPlant,
    async stop() {
      // Installs the learned weights into deps.agent, so the next checkpoint holds them.
      try {
        return (await session.stop()).state;
      } finally {
        await openSessionPlant.close();
        await openPlant.close();
        if (ownsContext) rcl.shutdown();
      }
    },
  };
}

/** SHA-256 of an actor's weights in checkpoint order (robot-actor.f32's bytes): which weights act, in logs. */
export function actorDigest(w: ActorWeights): string {
  const f = actorToFloats(w);
  return createHash('sha256').update(new Uint8Array(f.buffer, f.byteOffset, f.byteLength)).digest('hex');
}

/**
 * The convict ros.* keys as a RosPlantConfig. Field maps: JointState
 * {"qpos": "position[hip,knee]", "qvel": "velocity[hip,knee]"}; Imu {"gyro": "angular_velocity"};
 * Odometry {"pos": "pose.position"}; Float64MultiArray {"x": "data[0:3]"} (offset:size).
 */
export function rosPlantConfigFrom(c: SacbridgeConfig): RosPlantConfig {
  const r = c.ros;
  const where = (i: number, signal: string): string => `ros.observations[${i}].fields.${signal}`;
  const observations: ObservationSource[] = r.observations.map((o, i): ObservationSource => {
    const qos = o.qos === undefined ? undefined : o.qos === 'reliable' ? { reliability: 'reliable' as const, depth: 10 } : o.qos === 'best_effort' ? { reliability: 'best_effort' as const, depth: 10 } : 'sensor_data';
    const entries = Object.entries(o.fields);
    switch (o.type) {
      case 'sensor_msgs/msg/JointState': {
        let joints: string[] | null = null;
        const signals: { position?: string; velocity?: string; effort?: string } = {};
        for (const [signal, path] of entries) {
          const m = /^(position|velocity|effort)\[([^\]]+)\]$/.exec(path);
          if (m === null) throw new RobotPhaseError(`${where(i, signal)} = ${JSON.stringify(path)}: expected position|velocity|effort[joint,...]`);
          const js = m[2]!.split(',').map((s) => s.trim());
          if (joints !== null && joints.join() !== js.join()) throw new RobotPhaseError(`${where(i, signal)}: every field of one JointState source must list the same joints`);
          joints = js;
          signals[m[1] as 'position'] = signal;
        }
        return { type: o.type, topic: o.topic, qos, joints: joints ?? [], signals };
      }
      case 'sensor_msgs/msg/Imu':
      case 'nav_msgs/msg/Odometry': {
        const names: Record<string, string> = o.type === 'sensor_msgs/msg/Imu'
          ? { orientation: 'orientation', angular_velocity: 'angularVelocity', linear_acceleration: 'linearAcceleration' }
          : { 'pose.position': 'position', 'pose.orientation': 'orientation', 'twist.linear': 'linearVelocity', 'twist.angular': 'angularVelocity' };
        const signals: Record<string, string> = {};
        for (const [signal, path] of entries) {
          const key = names[path];
          if (key === undefined) throw new RobotPhaseError(`${where(i, signal)} = ${JSON.stringify(path)}: expected one of ${Object.keys(names).join(', ')}`);
          signals[key] = signal;
        }
        return { type: o.type, topic: o.topic, qos, signals } as ObservationSource;
      }
      case 'std_msgs/msg/Float64MultiArray':
        return {
          type: o.type,
          topic: o.topic,
          qos,
          signals: entries.map(([signal, path]) => {
            const m = /^data\[(\d+):(\d+)\]$/.exec(path);
            if (m === null) throw new RobotPhaseError(`${where(i, signal)} = ${JSON.stringify(path)}: expected data[start:end]`);
            return { name: signal, offset: Number(m[1]), size: Number(m[2]) - Number(m[1]) };
          }),
        };
      default:
        throw new RobotPhaseError(`ros.observations[${i}].type = ${JSON.stringify(o.type)}: not one of sensor_msgs/msg/JointState, sensor_msgs/msg/Imu, nav_msgs/msg/Odometry, std_msgs/msg/Float64MultiArray`);
    }
  });
  const low = [...c.safety.commandMin];
  const high = [...c.safety.commandMax];
  if (low.length === 0) throw new RobotPhaseError('safety.commandMin / safety.commandMax: the robot phase needs explicit command limits');
  let command: CommandSink;
  switch (r.command.type) {
    case 'std_msgs/msg/Float64MultiArray':
      command = { type: r.command.type, topic: r.command.topic, low, high, ...(r.command.jointNames.length ? { names: [...r.command.jointNames] } : {}) };
      break;
    case 'trajectory_msgs/msg/JointTrajectory':
      command = { type: r.command.type, topic: r.command.topic, low, high, joints: [...r.command.jointNames], field: 'positions', timeFromStart: 1 / r.controlRateHz };
      break;
    case 'geometry_msgs/msg/Twist': {
      const axes = ['linear.x', 'linear.y', 'linear.z', 'angular.x', 'angular.y', 'angular.z'] as const;
      command = { type: r.command.type, topic: r.command.topic, low, high, axes: r.command.jointNames.length ? (r.command.jointNames as (typeof axes)[number][]) : axes.slice(0, low.length) };
      break;
    }
    case 'actuator_groups':
      command = {
        type: r.command.type, low, high, actuators: [...r.command.jointNames],
        groups: r.command.groups.map((g) => (g.type === 'std_msgs/msg/Float64MultiArray' ? { name: g.name, type: g.type, topic: g.topic, joints: [...g.joints] } : { name: g.name, type: g.type, topic: g.topic, joints: [...g.joints], field: 'positions' as const, timeFromStart: g.timeFromStart ?? 1 / r.controlRateHz })),
      };
      break;
  }
  return {
    nodeName: r.nodeName,
    ...(r.namespace ? { namespace: r.namespace } : {}),
    controlPeriod: 1 / r.controlRateHz,
    observations,
    ...(r.rewardTopic ? { reward: { topic: r.rewardTopic } } : {}),
    command,
    estop: { topic: r.estopTopic },
    estopCommand: 'zero',
    status: { topic: r.statusTopic },
    phaseTopic: r.phaseTopic,
    reset: r.reset.mode === 'scripted'
      ? { mode: 'scripted', steps: r.reset.script.map((s) => ({ command: [...s.command], duration: s.durationMs / 1000 })) }
      : { mode: 'operator', topic: r.reset.readyTopic, ...(r.reset.requestTopic ? { requestTopic: r.reset.requestTopic } : {}), timeout: 600 },
  };
}
