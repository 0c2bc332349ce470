/**
 * Start-up checks of a configuration that leads to a robot phase: the ROS 2 environment,
 * rclnodejs, the ros.* keys and, where the graph already shows them, the topics and their types.
 * Found at start, not at the gate after all of sim training; `sacbridge config check` runs them
 * too (through preflight.ts). What cannot come right by itself is a configuration error (exit 78
 * naming the key); a topic nobody publishes yet is a loud warning (the robot may start later).
 */
import { ConfigError, type ConfigIssue, type Origin } from '../config/load.js';
import type { SacbridgeConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { loadRclnodejs, rosEnvironmentProblem, type RclModule, type RosEnvironmentCheck } from '../plant/ros/rclnodejs.js';
import { READY_TYPE } from '../plant/ros/rosPlant.js';
import { validateRosPlantConfig, type RosPlantConfig } from '../plant/ros/rosPlantConfig.js';
import type { Plant } from '../plant/plant.js';
import type { Task } from '../task/task.js';
import { simTask } from '../wiring/configOptions.js';
import { taskOnRobot } from '../wiring/taskOnRobot.js';
import { rosPlantConfigFrom } from './robotPhase.js';

export interface RosPreflightDeps {
  rosCheck?: RosEnvironmentCheck;
  /** Where rclnodejs comes from (tests: the in-memory graph's module); default the real one, after the environment check. */
  loadRcl?: () => Promise<RclModule>;
  /** How long to let discovery find the graph's topics (ms, default 1500). */
  discoveryMs?: number;
  /** Where each key's value came from (loadConfig's origins), for the issues. */
  origins?: Record<string, Origin>;
}

/** What the checks found: problems (each a configuration error) and topics not on the graph yet. */
export interface RosPreflightResult {
  issues: ConfigIssue[];
  /** `topic (type, key)` of each expected topic nobody has announced yet. */
  absent: string[];
  /** How many topics were checked (0 when there is no robot phase or the checks stopped early). */
  checked: number;
}

/** A topic the robot phase uses, the type it expects there, and the key that names it. */
interface ExpectedTopic {
  key: string;
  topic: string;
  type: string;
}

/** Throws ConfigError naming the key when the robot phase cannot work; warns where it could come right later. */
export async function rosPreflight(config: SacbridgeConfig, logger: Logger, deps: RosPreflightDeps = {}): Promise<void> {
  const r = await rosPreflightProblems(config, deps);
  if (r.issues.length > 0) throw new ConfigError(r.issues);
  if (r.absent.length > 0) logger.warn({ topics: r.absent }, absentWarning(config, r.absent));
  else if (r.checked > 0) logger.info({ topics: r.checked }, 'ROS 2 check: every topic of the robot phase is on the graph with the expected type');
}

/** The warning about topics not on the graph yet. */
export function absentWarning(config: SacbridgeConfig, absent: readonly string[]): string {
  return `ROS 2 check: ${absent.length} topic(s) of ${robotPhase(config)} are not on the graph yet; the robot phase waits for them`;
}

function robotPhase(config: SacbridgeConfig): string {
  return `the robot phase (switch.mode = ${config.switch.mode})`;
}

/** Every problem of the robot phase's ROS 2 side, without throwing (none when there is no robot phase). */
export async function rosPreflightProblems(config: SacbridgeConfig, deps: RosPreflightDeps = {}): Promise<RosPreflightResult> {
  const none: RosPreflightResult = { issues: [], absent: [], checked: 0 };
  if (config.switch.mode === 'never' || !config.ros.enabled) return none;
  const issue = (key: string, value: unknown, reason: string): ConfigIssue => ({ key, value, reason, origin: originOf(key, deps.origins) });
  const why = robotPhase(config);
  // The keys and the environment are independent problems: both are reported.
  const issues: ConfigIssue[] = [];
  try {
    const plantConfig = rosPlantConfigFrom(config);
    const sizes = validateRosPlantConfig(plantConfig);
    // The task on the robot as configured: what it reads, the robot's topics must give.
    const task = await robotTaskProblem(config, plantConfig, sizes);
    if (task !== null) issues.push(issue(task.key, valueOf(config, task.key), task.reason));
  } catch (err) {
    const { key, reason } = configKeyOf((err as Error).message);
    issues.push(issue(key, key === 'ros' ? '(the ros.* keys)' : valueOf(config, key), reason));
  }
  let loadRcl = deps.loadRcl;
  if (loadRcl === undefined) {
    const problem = rosEnvironmentProblem(deps.rosCheck);
    if (problem !== null) issues.push(issue('ros.enabled', true, `${why} needs ROS 2 here: ${problem}`));
    loadRcl = () => loadRclnodejs(deps.rosCheck);
  }
  // The graph is only asked with valid keys and a usable ROS 2 (never load rclnodejs without it).
  if (issues.length > 0) return { ...none, issues };
  const r = config.ros;
  const expected: ExpectedTopic[] = [
    ...r.observations.map((o, i) => ({ key: `ros.observations[${i}].topic`, topic: o.topic, type: o.type })),
    { key: 'ros.command.topic', topic: r.command.topic, type: r.command.type },
    { key: 'ros.estopTopic', topic: r.estopTopic, type: 'std_msgs/msg/Bool' },
    ...(r.rewardTopic ? [{ key: 'ros.rewardTopic', topic: r.rewardTopic, type: 'std_msgs/msg/Float64' }] : []),
    ...(r.reset.mode === 'operator' ? [{ key: 'ros.reset.readyTopic', topic: r.reset.readyTopic, type: READY_TYPE }] : []),
  ].map((e) => ({ ...e, topic: resolveName(e.topic, r.namespace) }));

  const rcl = await loadRcl();
  const ownsContext = rcl.isShutdown();
  if (ownsContext) await rcl.init();
  const node = new rcl.Node(`${r.nodeName}_preflight`, r.namespace);
  let graph: Map<string, string[]>;
  try {
    node.spin();
    // Discovery takes a moment; stop early once every expected topic shows.
    const until = Date.now() + (deps.discoveryMs ?? 1500);
    for (;;) {
      graph = new Map(node.getTopicNamesAndTypes().map((t) => [t.name, t.types]));
      if (expected.every((e) => graph.has(e.topic)) || Date.now() >= until) break;
      await new Promise((res) => setTimeout(res, 100));
    }
  } finally {
    node.destroy();
    if (ownsContext) rcl.shutdown();
  }
  const absent: string[] = [];
  for (const e of expected) {
    const types = graph.get(e.topic);
    if (types === undefined) absent.push(`${e.topic} (${e.type}, ${e.key})`);
    else if (!types.includes(e.type)) issues.push(issue(e.key, e.topic, `the ROS graph carries ${types.join(', ')} on ${e.topic}, ${why} expects ${e.type}: publish ${e.type} there or point ${e.key} at the topic that carries it`));
  }
  return { issues, absent, checked: expected.length };
}

/**
 * Why the robot phase's task cannot run on the robot as configured, or null. It is built the
 * way the robot phase builds it (taskOnRobot: a task file sees the robot through its model's
 * kinematics), on a robot described by its configured topics, and every signal it reads must
 * be there at its size: otherwise the first robot tick, after all of sim training, would fail.
 */
async function robotTaskProblem(config: SacbridgeConfig, plantConfig: RosPlantConfig, sizes: ReadonlyMap<string, number>): Promise<{ key: string; reason: string } | null> {
  const described = describedRobot(plantConfig, sizes);
  const name = simTask(config.sim);
  let onRobot: { task: Task; plant: Plant };
  try {
    onRobot = await taskOnRobot(name, described, plantConfig.observations, config.sim.modelPath || undefined);
  } catch (err) {
    const message = (err as Error).message;
    return { key: /mapped to joint_pos/.test(message) ? 'ros.observations' : 'sim.task', reason: message };
  }
  try {
    const have = new Map(onRobot.plant.signals.map((x) => [x.name, x.size]));
    const wrong = onRobot.task.requiredSignals.filter((r) => have.get(r.name) !== r.size);
    if (wrong.length === 0) return null;
    const list = wrong.map((r) => `'${r.name}' (${r.size} value${r.size === 1 ? '' : 's'})`).join(', ');
    return {
      key: 'ros.observations',
      reason: `task ${onRobot.task.name} (sim.task = ${name}) reads ${list} on the robot; the robot's topics give ${[...have].map(([n, k]) => `${n} (${k})`).join(', ') || 'nothing'}: map a topic's fields to those signal names and sizes`,
    };
  } finally {
    if (onRobot.plant !== described) await onRobot.plant.close();
  }
}

/** A robot as its configuration describes it: its signals and command, not connected to anything. */
function describedRobot(c: RosPlantConfig, sizes: ReadonlyMap<string, number>): Plant {
  const notConnected = (): never => {
    throw new Error('the start-up check describes the robot; it is not connected');
  };
  return {
    kind: 'ros (described)',
    signals: [...sizes].map(([name, size]) => ({ name, size })),
    command: { size: c.command.low.length, low: Float64Array.from(c.command.low), high: Float64Array.from(c.command.high) },
    controlPeriod: c.controlPeriod,
    reset: async () => notConnected(),
    read: notConnected,
    write: notConnected,
    advance: async () => notConnected(),
    close: async () => undefined,
  };
}

/** The origin of `key`, or of the list it is an element of (ros.observations[0].topic -> ros.observations). */
function originOf(key: string, origins: Record<string, Origin> | undefined): Origin | 'unknown' {
  if (origins === undefined) return 'unknown';
  return origins[key] ?? origins[key.replace(/\[.*$/, '')] ?? 'unknown';
}

/** The value at a configuration key such as ros.observations[0].topic (undefined when absent). */
function valueOf(config: SacbridgeConfig, key: string): unknown {
  let v: unknown = config;
  for (const part of key.split(/\.|\[|\]\.?/).filter((p) => p !== '')) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/**
 * The daemon's configuration key behind a robot-phase configuration error: the plant's own
 * names (validateRosPlantConfig: "ros config: observations[0].topic: ...") map back to the
 * ros.* / safety.* keys they are made from; the daemon's mapping names its keys itself.
 */
export function configKeyOf(message: string): { key: string; reason: string } {
  const plant = /^ros config: ([^:]+): ([\s\S]*)$/.exec(message);
  if (plant !== null) {
    const [, k, reason] = plant as unknown as [string, string, string];
    const obs = /^observations\[(\d+)\](?:\.(topic|qos|type))?/.exec(k);
    const key = obs !== null
      ? `ros.observations[${obs[1]}].${obs[2] ?? 'fields'}`
      : k === 'nodeName' ? 'ros.nodeName'
      : k === 'controlPeriod' || k === 'command.timeFromStart' ? 'ros.controlRateHz'
      : k.startsWith('reward.') ? 'ros.rewardTopic'
      : k === 'command.topic' || k === 'command.qos' ? 'ros.command.topic'
      : k === 'command.type' || k === 'command.field' ? 'ros.command.type'
      : /^command\.(names|joints|axes)/.test(k) ? 'ros.command.jointNames'
      : k.startsWith('command.low') ? 'safety.commandMin'
      : k.startsWith('estop') ? 'ros.estopTopic'
      : k.startsWith('status.') ? 'ros.statusTopic'
      : k === 'phaseTopic' ? 'ros.phaseTopic'
      : k.startsWith('reset.steps') ? 'ros.reset.script'
      : k === 'reset.topic' ? 'ros.reset.readyTopic'
      : k === 'reset.requestTopic' ? 'ros.reset.requestTopic'
      : 'ros';
    // Where one key is made into several of the plant's, the plant's name says which part.
    const detail = /^(reset\.steps|command\.(low|axes\[)|observations\[\d+\]\.(signals|joints))/.test(k) ? `${k}: ` : '';
    return { key, reason: key === 'ros' ? message : `${detail}${reason}` };
  }
  const own = /^((?:ros|safety|switch)\.[\w.[\]]+?)(?: = (?:"(?:[^"\\]|\\.)*"|[^:"]*)| \/ [\w.]+)?: ([\s\S]*)$/.exec(message);
  if (own !== null) return { key: own[1]!, reason: own[2]! };
  return { key: 'ros', reason: message };
}

/** A relative topic name under the node's namespace, as ROS 2 resolves it. */
function resolveName(topic: string, namespace: string): string {
  if (topic.startsWith('/')) return topic;
  const ns = namespace === '' ? '' : namespace.startsWith('/') ? namespace : `/${namespace}`;
  return `${ns}/${topic}`;
}
