/**
 * What the live ROS 2 tests share: whether they can run here, and a DDS domain of their own.
 * (Not a test file itself.)
 *
 * They run where a ROS 2 distribution is sourced and rclnodejs is built, and skip saying why
 * otherwise; with REQUIRE_LIVE_ROS=1 (CI) an unusable ROS 2 fails them instead.
 * Each test process takes a DDS domain derived from its pid (and loopback discovery), so test
 * files running side by side, or two checkouts on one machine, do not hear each other.
 */
import { rosEnvironmentProblem } from '../src/plant/ros/rclnodejs.js';

export const rosProblem = rosEnvironmentProblem();

/** `skip` for node:test: false when ROS 2 is usable, the reason otherwise; throws when it is required. */
export function liveRosSkip(what: string): string | false {
  if (rosProblem === null) return false;
  if (process.env.REQUIRE_LIVE_ROS === '1') {
    throw new Error(`${what}: REQUIRE_LIVE_ROS=1 but ROS 2 is not usable: ${rosProblem}`);
  }
  const reason = `no usable ROS 2 environment: ${rosProblem}`;
  console.log(`# ${what} skipped: ${reason}`);
  return reason;
}

/** The sourced ROS 2's variables for a child process (a daemon, sim-robot), on `domain`, loopback only. */
export function rosChildEnv(domain: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ROS_AUTOMATIC_DISCOVERY_RANGE: 'LOCALHOST', ROS_DOMAIN_ID: String(domain) };
  for (const k of ['ROS_DISTRO', 'AMENT_PREFIX_PATH', 'LD_LIBRARY_PATH', 'PYTHONPATH', 'ROS_VERSION', 'ROS_PYTHON_VERSION', 'RMW_IMPLEMENTATION', 'CMAKE_PREFIX_PATH', 'COLCON_PREFIX_PATH']) {
    if (process.env[k] !== undefined) env[k] = process.env[k];
  }
  return env;
}

/** A domain id in 1..101 from this process's pid, set before rclnodejs initialises. */
export function useOwnRosDomain(): number {
  const id = 1 + (process.pid % 101);
  process.env.ROS_DOMAIN_ID = String(id);
  process.env.ROS_AUTOMATIC_DISCOVERY_RANGE ??= 'LOCALHOST';
  return id;
}
