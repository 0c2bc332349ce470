import { endpointProblem } from '../zmq/security.js';
import {
  bool,
  checkedStr,
  int,
  is,
  num,
  numberList,
  numOrAuto,
  objectList,
  oneOf,
  range,
  str,
  stringList,
  type ConfigOf,
} from './spec.js';

/**
 * The one configuration schema of sacbridge. Every key has a doc string, a format and a default;
 * `sacbridge config docs` prints it. Environment variable: SACBRIDGE_ + the key path in upper
 * snake case (rl.batchSize -> SACBRIDGE_RL_BATCH_SIZE); flag: --rl.batchSize.
 */

const ZMQ_ENDPOINT = 'a ZeroMQ endpoint (tcp://host:port, ipc://path) or empty to disable';
const endpoint = (doc: string, def: string): ReturnType<typeof checkedStr> => checkedStr(doc, def, ZMQ_ENDPOINT, endpointProblem);
const ROS_NAME = { re: /^(\/?[A-Za-z_~][A-Za-z0-9_/{}~]*)?$/, what: 'a ROS 2 name, or empty' };

export const schema = {
  rl: {
    preset: oneOf(
      'Named hyperparameter set applied under every rl.* key left at its default (a key set in the file, environment or flags wins): "paper" (Haarnoja et al. 2018), "cleanrl" (CleanRL\'s sac_continuous_action.py), "droq" (Hiraoka et al. 2022: dropout and LayerNorm critics, 20 updates per step); "" = none. Each is documented with its source in config/README.md.',
      ['', 'paper', 'cleanrl', 'droq'] as const,
      '',
    ),
    variant: oneOf(
      'Soft Actor-Critic variant: "v1" is the 2018 paper (separate soft value network, fixed temperature), "v2" the 2019 one (twin Q targets, learned temperature).',
      ['v1', 'v2'] as const,
      'v2',
    ),
    lr: num('Adam learning rate of actor, critics and temperature, unless rl.actorLr, rl.criticLr or rl.alphaLr say otherwise.', 3e-4, { above: 0, max: 1 }),
    actorLr: numOrAuto('Adam learning rate of the actor; "auto" = rl.lr.', 'auto', { above: 0, max: 1 }),
    criticLr: numOrAuto('Adam learning rate of the critics (Q, and V in v1); "auto" = rl.lr.', 1e-3, { above: 0, max: 1 }),
    alphaLr: numOrAuto('Adam learning rate of the temperature (log alpha); "auto" = rl.lr.', 1e-3, { above: 0, max: 1 }),
    batchSize: int('Minibatch size of one gradient step.', 256, { min: 1, max: 65536 }),
    hiddenSizes: numberList('Hidden layer widths of the actor, and of the critics unless rl.criticHiddenSizes is set (ReLU).', [256, 256], { int: true, min: 1, max: 8192 }, { min: 1 }),
    criticHiddenSizes: numberList('Hidden layer widths of the critics; [] = rl.hiddenSizes.', [], { int: true, min: 1, max: 8192 }),
    criticLayerNorm: bool('LayerNorm (learned gain and bias) before the ReLU of every critic hidden layer, as DroQ.', false),
    criticDropout: num('Dropout rate of every critic hidden layer, before its LayerNorm (DroQ uses 0.01); 0 = none.', 0, { min: 0, max: 0.9 }),
    initialization: oneOf(
      'Initial weights of every network: "uniform-fan-in" draws kernel and bias from U(±1/sqrt(fan_in)) (PyTorch\'s nn.Linear, as CleanRL and the SAC paper\'s reference code), "he-glorot" He-uniform for ReLU layers, Glorot-uniform for outputs, zero biases.',
      ['uniform-fan-in', 'he-glorot'] as const,
      'uniform-fan-in',
    ),
    gamma: num('Discount factor.', 0.99, { min: 0, max: 1 }),
    tau: num('Polyak averaging coefficient of the target networks.', 0.005, { above: 0, max: 1 }),
    targetUpdateFrequency: int('Polyak-average the target networks every N gradient steps (CleanRL: target_network_frequency).', 1, { min: 1, max: 1_000_000 }),
    bufferSize: int('Replay buffer capacity in transitions.', 1_000_000, { min: 1, max: 100_000_000 }),
    learningStarts: int('Environment steps of uniformly random actions before the first update.', 5000, { min: 0 }),
    updatesPerStep: int('Gradient steps per environment step (the update-to-data ratio).', 1, { min: 0, max: 64 }),
    policyFrequency: int('Actor and temperature steps every N gradient steps (delayed policy updates, as TD3 and CleanRL).', 2, { min: 1, max: 1000 }),
    policyCatchUp: bool('With rl.policyFrequency N > 1: take N actor steps at once every Nth gradient step (CleanRL), or only one (TD3, DroQ).', true),
    targetEntropy: numOrAuto('Target entropy of the temperature loss; "auto" = -|A| (number of action dimensions).', 'auto'),
    alphaInit: num('Initial temperature alpha.', 1.0, { above: 0 }),
    alphaLearn: bool('Learn the temperature (v2); false keeps alpha at alphaInit.', true),
  },
  sim: {
    task: str('Simulated task by name (`sacbridge tasks` lists them): built-in "pendulum", "point_reach", "planar_runner", a Gymnasium one such as "HalfCheetah-v5" (needs sim.gymnasiumModelDir), or a task file (".json") or task module (".mjs"), relative to the working directory (docs/tasks.md).', 'pendulum', { re: /^\S+$/, what: 'a task name or file path without spaces' }),
    modelPath: str('MJCF model file overriding the task\'s own; empty = the task\'s default model.', ''),
    gymnasiumModelDir: str('Directory holding the Gymnasium MJCF assets (half_cheetah.xml, ...); empty = built-in models only.', ''),
    frameSkip: int('Physics steps per control tick; 0 = the task\'s default.', 0, { min: 0, max: 1000 }),
    seed: int('Seed of every random stream (environment, networks, replay sampling).', 1, { min: 0, max: 2 ** 32 - 1 }),
    totalSteps: int('Environment steps of simulated training before evaluation and the gate.', 1_000_000, { min: 1 }),
    evalEvery: int('Environment steps between deterministic evaluations; 0 = only at the end.', 10_000, { min: 0 }),
    evalEpisodes: int('Episodes per evaluation.', 10, { min: 1, max: 1000 }),
    randomize: {
      massScale: range('Domain randomisation: body masses scaled by a factor drawn per episode from [low, high].', [1, 1], { above: 0 }),
      frictionScale: range('Domain randomisation: geom friction scaled by a factor drawn per episode from [low, high].', [1, 1], { above: 0 }),
      actuatorGainScale: range('Domain randomisation: actuator gains scaled by a factor drawn per episode from [low, high].', [1, 1], { above: 0 }),
      observationNoiseStd: num('Domain randomisation: std of Gaussian noise added to every observation component.', 0, { min: 0 }),
      actionLatencyTicks: range('Domain randomisation: command delay in ticks drawn per episode from [low, high].', [0, 0], { int: true, min: 0, max: 100 }),
    },
  },
  ros: {
    enabled: bool('Load rclnodejs and connect to ROS 2 (needed for the robot phase).', false),
    nodeName: str('ROS 2 node name.', 'sacbridge', { re: /^[A-Za-z_][A-Za-z0-9_]*$/, what: 'a ROS 2 node name (letters, digits, _)' }),
    namespace: str('ROS 2 namespace of the node; empty = root.', '', ROS_NAME),
    observations: objectList<{ topic: string; type: string; fields: Record<string, string>; qos?: 'sensor_data' | 'reliable' | 'best_effort' }>(
      'Observation sources: each subscribes to `topic` of message `type` and maps message fields to plant signals in `fields` ({signal name: field path}, e.g. {"qpos": "position[hip,knee]"}); `qos` defaults to "sensor_data".',
      'array of {topic, type, fields: {signal: field path}, qos?}',
      [],
      { topic: { check: is.string }, type: { check: is.string }, fields: { check: is.stringMap }, qos: { optional: true, check: is.oneOf('sensor_data', 'reliable', 'best_effort') } },
    ),
    rewardTopic: str('Topic (std_msgs/msg/Float64) giving the reward on the robot; empty = the task computes it from the signals.', '', ROS_NAME),
    command: {
      type: oneOf(
        'Message type of the command sink.',
        ['std_msgs/msg/Float64MultiArray', 'trajectory_msgs/msg/JointTrajectory', 'geometry_msgs/msg/Twist', 'actuator_groups'] as const,
        'std_msgs/msg/Float64MultiArray',
      ),
      topic: str('Command topic.', '/sacbridge/command', ROS_NAME),
      jointNames: stringList('Joint names of the command vector, in order (JointTrajectory; with actuator_groups, the actuator names of a task file\'s MJCF, in its order).', []),
      groups: objectList<{ name: string; type: 'std_msgs/msg/Float64MultiArray' | 'trajectory_msgs/msg/JointTrajectory'; topic: string; joints: string[]; timeFromStart?: number }>(
        'With type actuator_groups: one ros2_control controller per group, e.g. {"name": "legs", "type": "std_msgs/msg/Float64MultiArray", "topic": "/leg_controller/commands", "joints": ["hip", "knee"]} (forward command controller, data in the joints\' order) or type trajectory_msgs/msg/JointTrajectory on /arm_controller/joint_trajectory (one point of positions, timeFromStart seconds ahead, default one control period). Joints are names from jointNames; every one in exactly one group.',
        'array of {name, type, topic, joints, timeFromStart?}',
        [],
        {
          name: { check: is.string },
          type: { check: (v) => (v === 'std_msgs/msg/Float64MultiArray' || v === 'trajectory_msgs/msg/JointTrajectory' ? null : 'must be std_msgs/msg/Float64MultiArray or trajectory_msgs/msg/JointTrajectory') },
          topic: { check: is.string },
          joints: { check: is.strings },
          timeFromStart: { optional: true, check: is.number },
        },
      ),
    },
    estopTopic: str('std_msgs/msg/Bool topic: true engages the e-stop.', '/sacbridge/estop', ROS_NAME),
    statusTopic: str('diagnostic_msgs/msg/DiagnosticArray topic the daemon publishes its status on.', '/diagnostics', ROS_NAME),
    phaseTopic: str('std_msgs/msg/String topic the daemon takes phase commands from while fine-tuning on the robot: "pause", "evaluate" or "finish" (others are refused and logged).', '/sacbridge/phase', ROS_NAME),
    controlRateHz: num('Control tick rate on the robot.', 50, { above: 0, max: 10_000 }),
    staleAgeMs: num('An observation older than this is stale: the command is held or zeroed and learning pauses.', 100, { above: 0 }),
    reset: {
      mode: oneOf('How an episode on the robot is reset: "scripted" plays `script`, "operator" waits for a ready message.', ['operator', 'scripted'] as const, 'operator'),
      script: objectList<{ command: number[]; durationMs: number }>(
        'Scripted reset: commands (physical units) each held for durationMs.',
        'array of {command: number[], durationMs}',
        [],
        { command: { check: is.numbers }, durationMs: { check: is.positiveNumber } },
      ),
      readyTopic: str('std_msgs/msg/Bool topic on which the operator (or the robot) says the robot is ready for the next episode: true = ready.', '/sacbridge/ready', ROS_NAME),
      requestTopic: str('std_msgs/msg/Bool topic on which the daemon asks for a reset (true) when it starts waiting for "ready" (the stand-in robot `sacbridge sim-robot` answers it); empty = none.', '/sacbridge/reset_request', ROS_NAME),
    },
  },
  switch: {
    mode: oneOf('When to go from simulation to the robot: "never" (sim only), "automatic" once the evaluation gate is passed, or "operator" (control API).', ['never', 'automatic', 'operator'] as const, 'never'),
    gateReturn: num('Mean evaluation return the policy must reach to pass the gate.', 0),
    gateEpisodes: int('Consecutive evaluation episodes the gate is averaged over.', 10, { min: 1 }),
    simReplayRatio: num('Fraction of each minibatch drawn from simulated transitions during real fine-tuning.', 0.5, { min: 0, max: 1 }),
    temperature: num('The SAC temperature (alpha) set when fine-tuning on the robot starts; it is learned on from there. 0 = keep the sim run\'s. Default 0.05: measured in docs/finetuning.md (the sim run\'s temperature made the policy\'s entropy jump once the actor moved on the robot).', 0.05, { min: 0 }),
    warmupSteps: int('Warm-up rollouts (WSRL): robot transitions collected with the sim policy, unchanged, before the first fine-tuning update; 0 = rl.batchSize (bench:finetune uses 500).', 0, { min: 0 }),
    explorationScale: num('Exploration on the robot: sampled actions use the policy\'s standard deviation times this (1 = the policy\'s own; the learner still trains the policy\'s distribution). Default 0.25: measured in docs/finetuning.md.', 0.25, { min: 0, max: 1 }),
    guardWindow: int('Rollback guard: episodes per window; when the mean return of the last window falls below the best window\'s so far (the first is the sim policy\'s) by more than switch.guardTolerance x its magnitude, the weights of the best window (switch.guardRestore) act again, on the robot and in the learner (0 = no guard). Default 10: measured in docs/finetuning.md.', 10, { min: 0 }),
    guardTolerance: num('Rollback guard: the tolerated drop of a window\'s mean return below the best window\'s, as a fraction of its magnitude.', 0.1, { min: 0 }),
    guardRestore: oneOf('Rollback guard: which weights of the best window act again, those acting when its first episode began ("start": the weights its returns measured; for the first window, the sim policy) or when it ended ("end": the newest, not yet measured). Default "start": measured in docs/finetuning.md.', ['start', 'end'] as const, 'start'),
    criticWarmupUpdates: int('Critic warm-up on the robot: the first N fine-tuning updates train the critics only, the actor and temperature stay at the sim policy\'s (0 = off). Default 1000: measured in docs/finetuning.md (the actor moving while the critics still held the sim\'s values made the worst dip).', 1000, { min: 0 }),
  },
  safety: {
    commandMin: numberList('Per-actuator lower command limit in physical units; empty = the plant\'s range.', []),
    commandMax: numberList('Per-actuator upper command limit in physical units; empty = the plant\'s range.', []),
    maxDeltaPerTick: num('Largest change of a command per tick, as a fraction of the actuator\'s range (1 = up to half the range; 2 = no rate limit).', 2, { above: 0, max: 2 }),
    staleAction: oneOf('What the command does when observations are stale: hold the last one or zero it.', ['hold', 'zero'] as const, 'zero'),
    workspace: objectList<{ signal: string; index: number; min: number; max: number }>(
      'Workspace bounds: the episode ends safely when signal[index] leaves [min, max].',
      'array of {signal, index, min, max}',
      [],
      { signal: { check: is.string }, index: { check: is.nonNegativeInt }, min: { check: is.number }, max: { check: is.number } },
    ),
  },
  zmq: {
    telemetry: endpoint('PUB endpoint for telemetry; empty = off.', 'tcp://127.0.0.1:5555'),
    policy: endpoint('ROUTER endpoint of the policy server; empty = off.', 'tcp://127.0.0.1:5556'),
    control: endpoint('Endpoint of the control API (REQ/REP, JSON); empty = off.', 'tcp://127.0.0.1:5557'),
    curveSecretKeyFile: str('File (mode 0600) holding the server\'s CURVE secret key (Z85); with curvePublicKeyFile and curveAuthorizedKeysDir it secures every socket; required for a non-loopback bind unless insecure.', ''),
    curvePublicKeyFile: str('File (mode 0600) holding the server\'s CURVE public key (Z85).', ''),
    curveAuthorizedKeysDir: str('Directory (not writable by others) of files listing the client public keys allowed to connect, one Z85 key per line; required with CURVE: only listed clients get in.', ''),
    insecure: bool('Allow a non-loopback bind without CURVE. Only on a trusted network.', false),
    hwm: int('High-water mark (messages) of every socket.', 1000, { min: 1 }),
    policyRefreshUpdates: int('The policy server answers from a copy of the actor refreshed every N gradient updates (its version is the update count).', 100, { min: 1 }),
    policyActions: oneOf('Actions the policy server sends: "bounded" clips each into safety.commandMin/commandMax (mapped into [-1, 1] through the task\'s command range); "raw" sends the policy\'s [-1, 1] unchanged, for a controller that applies its own limits. The rate limit, watchdog and workspace bounds need the plant\'s state and apply only where sacbridge drives the plant.', ['bounded', 'raw'] as const, 'bounded'),
  },
  daemon: {
    stateDir: str('State directory; empty = /var/lib/sacbridge under systemd ($STATE_DIRECTORY), else $XDG_STATE_HOME/sacbridge or ~/.local/state/sacbridge.', ''),
    job: str('The work of the training phases: a built-in job name ("sac": SAC training, evaluation, gate, robot fine-tuning) or a path to an ES module exporting createJob(context).', 'sac', { re: /^\S+$/, what: 'a job name or module path' }),
    checkpointEverySteps: int('Checkpoint every N environment steps; 0 = off.', 10_000, { min: 0 }),
    checkpointEverySeconds: num('Checkpoint every N seconds; 0 = off.', 300, { min: 0 }),
    keepCheckpoints: int('Checkpoints kept on disk (the newest ones); older ones are removed.', 3, { min: 1, max: 1000 }),
    checkpointFailureTimeoutSeconds: num('A checkpoint that cannot be written (a full disk) is logged, counted and retried with backoff while the daemon runs on; after this many seconds without one saved, the daemon stops (exit 74, EX_IOERR). 0 = never stop for it.', 600, { min: 0 }),
    watchdog: bool('Send systemd watchdog pings from the control loop when the unit sets WatchdogSec.', true),
    stopTimeoutSeconds: num('After SIGTERM, the longest wait for the tick to finish and the checkpoint to be written before exiting non-zero (keep below the unit\'s TimeoutStopSec).', 60, { above: 0 }),
    statusEverySeconds: num('Period of the status file in the state dir and of the systemd STATUS line.', 2, { above: 0 }),
  },
  realtime: {
    cpuWakeupLatencyUs: int(
      'While the daemon runs, hold a PM QoS request (/dev/cpu_dma_latency) that no CPU take longer than this many microseconds to wake: idle CPUs poll instead of sleeping, so ticks and ZeroMQ replies start sooner and steadier, at the cost of power. Needs write access to the device (systemd/README.md). -1 = leave the CPUs alone.',
      -1,
      { min: -1 },
    ),
    controlThreadPriority: int(
      'SCHED_FIFO priority (1-99) of the control thread while fine-tuning on the robot (the learner thread keeps normal scheduling); 0 = normal scheduling. Needs LimitRTPRIO or CAP_SYS_NICE (systemd/README.md).',
      0,
      { min: 0, max: 99 },
    ),
    policyThreadPriority: int(
      'SCHED_FIFO priority (1-99) of the ZeroMQ policy server\'s thread and its I/O thread, for outside controllers that ask for actions at control rate; 0 = normal scheduling. Needs LimitRTPRIO or CAP_SYS_NICE (systemd/README.md).',
      0,
      { min: 0, max: 99 },
    ),
    policyThreadCpus: str(
      'CPUs (a Linux CPU list, e.g. "3" or "2-3") the ZeroMQ policy server\'s thread and its I/O thread are pinned to, ideally one no other busy thread uses (the controller asking for actions on another); empty = any CPU.',
      '',
      { re: /^(\d+(-\d+)?(,\d+(-\d+)?)*)?$/, what: 'a CPU list such as "1" or "2-3,6", or empty' },
    ),
  },
  compute: {
    backend: oneOf('tfjs backend: "auto" tries tfjs-node-gpu, tfjs-node, then WebAssembly.', ['auto', 'tensorflow', 'wasm', 'cpu'] as const, 'auto'),
    sacUpdate: oneOf(
      'SAC update: "auto" runs the fused update over one flat buffer where tfjs runs on WebAssembly with sacbridge\'s GEMM kernels (the same math, several times faster there) and the tfjs update elsewhere; "fused" or "tfjs" forces one.',
      ['auto', 'fused', 'tfjs'] as const,
      'auto',
    ),
    updateCores: oneOf(
      'Cores each SAC update of sim training may use: "1"; "2" (the fused update on OpenBLAS splits each GEMM over both cores, with the same results); "auto" times 25 real updates on each in alternation and keeps 2 if its median is 10% faster, measuring again every 5000 updates (1 where 2 cannot run). The robot phase\'s learner always uses one.',
      ['auto', '1', '2'] as const,
      'auto',
    ),
  },
  logging: {
    level: oneOf('Least severe log level written (pino levels).', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    pretty: oneOf('Human-readable log lines: "auto" on a terminal, JSON otherwise (journald).', ['auto', 'always', 'never'] as const, 'auto'),
  },
  metrics: {
    enabled: bool('Serve Prometheus metrics over HTTP.', true),
    host: str('Metrics listen address (loopback by default). An address beyond loopback serves /metrics and /status to the network: it needs metrics.insecure=true.', '127.0.0.1', { re: /^\S+$/, what: 'a host name or address' }),
    insecure: bool('Allow metrics.host beyond loopback (plain HTTP, no authentication: anyone who reaches the port reads /metrics and /status). Only on a trusted network.', false),
    port: int('Metrics TCP port; 0 = any free port (written to the status file).', 9464, { min: 0, max: 65535 }),
  },
  ui: {
    enabled: bool('Serve the web UI (live curves, status, 3D view of the robot, evaluation replays) over HTTP and a WebSocket.', true),
    host: str('Web UI listen address (loopback by default; it has no authentication, so reach it from elsewhere through an SSH tunnel). An address beyond loopback needs ui.insecure=true.', '127.0.0.1', { re: /^\S+$/, what: 'a host name or address' }),
    insecure: bool('Allow ui.host beyond loopback (plain HTTP, no authentication: anyone who reaches the port sees the run). Only on a trusted network.', false),
    port: int('Web UI TCP port; 0 = any free port (written to the status file as uiUrl).', 9465, { min: 0, max: 65535 }),
  },
} as const;

export type Schema = typeof schema;
/** The whole resolved configuration. */
export type SacbridgeConfig = ConfigOf<Schema>;
export type RlConfig = SacbridgeConfig['rl'];
export type SimConfig = SacbridgeConfig['sim'];
export type RosConfig = SacbridgeConfig['ros'];
export type SwitchConfig = SacbridgeConfig['switch'];
export type SafetyConfig = SacbridgeConfig['safety'];
export type ZmqConfig = SacbridgeConfig['zmq'];
export type DaemonConfig = SacbridgeConfig['daemon'];
export type RealtimeConfig = SacbridgeConfig['realtime'];
export type ComputeConfig = SacbridgeConfig['compute'];
export type LoggingConfig = SacbridgeConfig['logging'];
export type MetricsConfig = SacbridgeConfig['metrics'];

/**
 * Keys a running daemon applies on SIGHUP. Everything else needs a restart (it shapes networks,
 * sockets, the plant or the state directory); a reload that changes such a key logs it as ignored.
 */
export const LIVE_KEYS: readonly string[] = [
  'logging.level',
  'daemon.checkpointEverySteps',
  'daemon.checkpointEverySeconds',
  'daemon.keepCheckpoints',
  'daemon.checkpointFailureTimeoutSeconds',
  'daemon.statusEverySeconds',
  'daemon.stopTimeoutSeconds',
  'switch.mode',
  'switch.gateReturn',
  'switch.gateEpisodes',
  'sim.evalEvery',
  'sim.evalEpisodes',
  'safety.maxDeltaPerTick',
  'safety.staleAction',
  'safety.workspace',
];
