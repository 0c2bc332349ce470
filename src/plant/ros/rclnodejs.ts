/**
 * The narrow slice of rclnodejs 2.2.0 that sacbridge uses, and its guarded lazy loader.
 *
 * The interfaces below list exactly the calls RosPlant makes, with the signatures of
 * rclnodejs's own typings (types/index.d.ts, node.d.ts, publisher.d.ts, subscription.d.ts,
 * qos.d.ts), narrowed to the message types in messages.ts. The in-memory double
 * (testing/fakeRclnodejs.ts) implements the same interfaces, and
 * test/ros/typings/check.ts (see its README) checks the real typings against them.
 *
 * rclnodejs is an optional dependency: it builds only where a ROS 2 distribution is sourced,
 * and importing it without one makes its native loader run `npm run rebuild`, which deletes
 * its own build folder. So the environment is checked before the import, and a clear error
 * names what is missing instead.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import type { RosMessages, RosTypeName } from './messages.js';

/**
 * rclnodejs.QoS instances (history, depth, durability as rmw enum values). Reliability is set
 * through the constructor and never read back: rclnodejs implements it as a getter
 * (lib/qos.js) while its typings declare a method, so neither shape would be right for both.
 */
export interface RclQoS {
  history: number;
  depth: number;
  durability: number;
}

/** A QoS argument: a profile name (`QoS.profileSensorData`, ...) or a QoS object. */
export type RclQoSArg = RclQoS | string;

export interface RclQoSStatic {
  new (history?: number, depth?: number, reliability?: number, durability?: number): RclQoS;
  readonly profileDefault: string;
  readonly profileSystemDefault: string;
  readonly profileSensorData: string;
}

/** rmw enum values, as in qos.d.ts (QoS.HistoryPolicy, QoS.ReliabilityPolicy, DurabilityPolicy). */
export const RmwHistory = { SYSTEM_DEFAULT: 0, KEEP_LAST: 1, KEEP_ALL: 2 } as const;
export const RmwReliability = { SYSTEM_DEFAULT: 0, RELIABLE: 1, BEST_EFFORT: 2 } as const;
export const RmwDurability = { SYSTEM_DEFAULT: 0, TRANSIENT_LOCAL: 1, VOLATILE: 2 } as const;

export interface RclEntityOptions {
  qos?: RclQoSArg;
}

export interface RclPublisher<M> {
  readonly topic: string;
  publish(message: M): void;
}

/** rclnodejs's MessageInfo: when the sample was written and when this reader received it (ns since the epoch). */
export interface RclMessageInfo {
  readonly sourceTimestamp: bigint;
  readonly receivedTimestamp: bigint;
}

export interface RclSubscription {
  readonly topic: string;
}

export interface RclNode {
  createPublisher<K extends RosTypeName>(typeClass: K, topic: string, options?: RclEntityOptions): RclPublisher<RosMessages[K]>;
  /** `isRaw`: the callback gets the serialized message (CDR, see cdr.ts), not rclnodejs's conversion of it. */
  createSubscription<K extends RosTypeName>(
    typeClass: K,
    topic: string,
    options: RclEntityOptions & { isRaw: true },
    callback: (serialized: Uint8Array) => void,
  ): RclSubscription;
  /** A callback with two parameters gets the message's MessageInfo too (rclnodejs checks its length). */
  createSubscription<K extends RosTypeName>(
    typeClass: K,
    topic: string,
    options: RclEntityOptions,
    callback: (message: RosMessages[K], info: RclMessageInfo) => void,
  ): RclSubscription;
  /**
   * Non-blocking in rclnodejs 2.x: a wait thread takes part, and the callbacks run on the event
   * loop, one message per ready subscription per wake-up of the main thread.
   */
  spin(timeout?: number): void;
  /**
   * On this thread, now: wait up to `timeout` ms (0: not at all) for the node's subscriptions,
   * then take one message from each ready one and run its callback. Throws on a spinning node.
   */
  spinOnce(timeout?: number): void;
  /** Topics the graph shows (discovery), each with its message types ('std_msgs/msg/Bool'). */
  getTopicNamesAndTypes(): { name: string; types: string[] }[];
  destroy(): void;
}

export interface RclNodeConstructor {
  new (nodeName: string, namespace?: string): RclNode;
}

/** The module (rclnodejs's default export in ESM). */
export interface RclModule {
  init(): Promise<void>;
  readonly Node: RclNodeConstructor;
  readonly QoS: RclQoSStatic;
  shutdown(): void;
  isShutdown(): boolean;
  /**
   * rclnodejs shuts every context down on SIGINT (its own handler); the daemon stops cleanly
   * itself, publishing the safe command last, so the loader removes that handler.
   */
  removeSignalHandlers?(): void;
}

export class RosUnavailableError extends Error {
  override readonly name = 'RosUnavailableError';
}

export interface RosEnvironmentCheck {
  env?: NodeJS.ProcessEnv;
  /** Resolves a module id, throwing when absent (default: Node's resolver from this file). */
  resolve?: (id: string) => string;
}

/**
 * Why rclnodejs cannot be loaded safely here, or null when it can. Checks that a ROS 2
 * distribution is sourced (ROS_DISTRO, AMENT_PREFIX_PATH naming a prefix that holds librcl),
 * that no forced rebuild is requested, and that the package resolves with its native addon built.
 */
export function rosEnvironmentProblem(check: RosEnvironmentCheck = {}): string | null {
  const env = check.env ?? process.env;
  const resolve = check.resolve ?? ((id: string) => createRequire(import.meta.url).resolve(id));
  const distro = env.ROS_DISTRO;
  if (!distro) {
    return 'ROS_DISTRO is not set: source a ROS 2 distribution first (e.g. `source /opt/ros/jazzy/setup.bash`)';
  }
  const prefixes = (env.AMENT_PREFIX_PATH ?? '').split(delimiter).filter((p) => p.length > 0);
  if (prefixes.length === 0) {
    return `AMENT_PREFIX_PATH is empty although ROS_DISTRO=${distro}: the ROS 2 setup script was not sourced in this shell`;
  }
  const hasRcl = prefixes.some((p) => existsSync(join(p, 'lib', 'librcl.so')) || existsSync(join(p, 'lib', 'librcl.dylib')));
  if (!hasRcl) {
    return `no prefix in AMENT_PREFIX_PATH (${prefixes.join(delimiter)}) holds lib/librcl.so: not a sourced ROS 2 installation`;
  }
  if (env.RCLNODEJS_FORCE_BUILD === '1') {
    return 'RCLNODEJS_FORCE_BUILD=1 would rebuild rclnodejs in place at load time; unset it and build with `npm rebuild rclnodejs`';
  }
  let main: string;
  try {
    main = resolve('rclnodejs');
  } catch {
    return `ROS 2 ${distro} is sourced but the optional npm package rclnodejs is not installed: run \`npm_config_yes=true npm install --foreground-scripts\` in this shell`;
  }
  // Without its addon, rclnodejs's loader compiles one at import time (into its own folder).
  const root = packageRoot(main);
  if (root === null || !existsSync(join(root, 'build', 'Release', 'rclnodejs.node'))) {
    return `rclnodejs is installed${root === null ? '' : ` (${root})`} but its native addon build/Release/rclnodejs.node is missing (its install script failed or was skipped): with ROS 2 sourced, run \`npm_config_yes=true npm rebuild rclnodejs --foreground-scripts\``;
  }
  return null;
}

/** The nearest folder above `file` holding a package.json, or null. */
function packageRoot(file: string): string | null {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return null;
  }
}

let loaded: Promise<RclModule> | undefined;

/**
 * Import rclnodejs once, after checking the environment. Does not call `init()`.
 * Throws RosUnavailableError with the reason when ROS 2 is not usable here.
 */
export function loadRclnodejs(check: RosEnvironmentCheck = {}): Promise<RclModule> {
  const problem = rosEnvironmentProblem(check);
  if (problem !== null) {
    return Promise.reject(new RosUnavailableError(`cannot load rclnodejs: ${problem}`));
  }
  loaded ??= importRclnodejs();
  return loaded;
}

async function importRclnodejs(): Promise<RclModule> {
  // A variable specifier keeps TypeScript from resolving the optional package at build time.
  const specifier = 'rclnodejs';
  const mod = (await import(specifier)) as { default?: RclModule };
  if (mod.default === undefined || typeof mod.default.init !== 'function') {
    throw new RosUnavailableError('rclnodejs loaded but has no default export with init(): unexpected version (want 2.x)');
  }
  mod.default.removeSignalHandlers?.();
  return mod.default;
}
