/**
 * Start-up checks of a configuration that leads to a robot phase: the ROS 2 environment,
 * rclnodejs, the ros.* keys and, where the graph already shows them, the topics and their types.
 * Found at start, not at the gate after all of sim training. What cannot come right by itself is
 * a configuration error (exit 78 naming the key); a topic nobody publishes yet is a loud warning
 * (the robot may start later).
 */
import { ConfigError, type ConfigIssue } from '../config/load.js';
import type { SacbridgeConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { loadRclnodejs, rosEnvironmentProblem, type RclModule, type RosEnvironmentCheck } from '../plant/ros/rclnodejs.js';
import { READY_TYPE } from '../plant/ros/rosPlant.js';
import { validateRosPlantConfig } from '../plant/ros/rosPlantConfig.js';
import { rosPlantConfigFrom } from './robotPhase.js';

export interface RosPreflightDeps {
  rosCheck?: RosEnvironmentCheck;
  /** Where rclnodejs comes from (tests: the in-memory graph's module); default the real one, after the environment check. */
  loadRcl?: () => Promise<RclModule>;
  /** How long to let discovery find the graph's topics (ms, default 1500). */
  discoveryMs?: number;
}

/** A topic the robot phase uses, the type it expects there, and the key that names it. */
interface ExpectedTopic {
  key: string;
  topic: string;
  type: string;
}

function issue(key: string, value: unknown, reason: string): ConfigIssue {
  return { key, value, origin: 'unknown', reason };
}

/** Throws ConfigError naming the key when the robot phase cannot work; warns where it could come right later. */
export async function rosPreflight(config: SacbridgeConfig, logger: Logger, deps: RosPreflightDeps = {}): Promise<void> {
  if (config.switch.mode === 'never' || !config.ros.enabled) return;
  const why = `the robot phase (switch.mode = ${config.switch.mode})`;
  let loadRcl = deps.loadRcl;
  if (loadRcl === undefined) {
    const problem = rosEnvironmentProblem(deps.rosCheck);
    if (problem !== null) throw new ConfigError([issue('ros.enabled', true, `${why} needs ROS 2 here: ${problem}`)]);
    loadRcl = () => loadRclnodejs(deps.rosCheck);
  }
  try {
    validateRosPlantConfig(rosPlantConfigFrom(config));
  } catch (err) {
    throw new ConfigError([issue('ros', '(the ros.* keys)', (err as Error).message)]);
  }
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
  const wrong: ConfigIssue[] = [];
  const absent: ExpectedTopic[] = [];
  for (const e of expected) {
    const types = graph.get(e.topic);
    if (types === undefined) absent.push(e);
    else if (!types.includes(e.type)) wrong.push(issue(e.key, e.topic, `the ROS graph carries ${types.join(', ')} on ${e.topic}, ${why} expects ${e.type}`));
  }
  if (wrong.length > 0) throw new ConfigError(wrong);
  if (absent.length > 0) {
    logger.warn({ topics: absent.map((e) => `${e.topic} (${e.type}, ${e.key})`) }, `ROS 2 check: ${absent.length} topic(s) of ${why} are not on the graph yet; the robot phase waits for them`);
  } else {
    logger.info({ topics: expected.length }, 'ROS 2 check: every topic of the robot phase is on the graph with the expected type');
  }
}

/** A relative topic name under the node's namespace, as ROS 2 resolves it. */
function resolveName(topic: string, namespace: string): string {
  if (topic.startsWith('/')) return topic;
  const ns = namespace === '' ? '' : namespace.startsWith('/') ? namespace : `/${namespace}`;
  return `${ns}/${topic}`;
}
