/**
 * Issue 19, item 6: a table of start-up misconfigurations. For each, `sacbridge run` exits 78
 * (EX_CONFIG) naming the key, with no stack trace and nothing created, and `sacbridge config
 * check` says the same: "valid" means `run` starts. Real subprocesses, real ports and paths.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { EX_CONFIG } from '../../src/config/load.js';
import { loadRclnodejs } from '../../src/plant/ros/rclnodejs.js';
import { MAIN_JS, ROOT, tempDir } from '../daemon/helpers.js';
import { liveRosSkip, useOwnRosDomain } from '../rosLive.js';

interface Case {
  name: string;
  /** The key the error must name. */
  key: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Configuration file contents (JSON text or object). */
  file?: unknown;
  /** Text the error must contain besides the key. */
  says?: RegExp;
  /** Needs a live ROS 2 graph (skipped without one, unless REQUIRE_LIVE_ROS=1). */
  live?: true;
}

const root = tempDir('sacbridge-startup-');
const aFile = join(root, 'a-file');
writeFileSync(aFile, 'not a directory\n');
const emptyDir = join(root, 'empty');
mkdirSync(emptyDir);
const garbageModel = join(root, 'garbage.xml');
writeFileSync(garbageModel, '<mujoco><worldbody><body><geom type="nonsense"/></body></worldbody>');

// A port another process holds.
const holder: Server = createServer();
await new Promise<void>((r) => holder.listen({ host: '127.0.0.1', port: 0 }, r));
const busy = (holder.address() as { port: number }).port;
after(() => holder.close());

// A configuration that leads to a robot phase (the gate passes at once).
const robot = (ros: Record<string, unknown> = {}, safety: Record<string, unknown> = { commandMin: [-2], commandMax: [2] }): unknown => ({
  switch: { mode: 'automatic', gateReturn: -1e9 },
  ros: { enabled: true, observations: [{ topic: '/joint_states', type: 'sensor_msgs/msg/JointState', fields: { qpos: 'position[hinge]', qvel: 'velocity[hinge]' } }], ...ros },
  safety,
});
// A task file (the arm7 example) for the robot phase.
const REACH = join(ROOT, 'examples', 'arm7', 'reach.json');
// A shell where ROS 2 was never sourced (undefined: left out of the child's environment).
const NO_ROS: NodeJS.ProcessEnv = { ROS_DISTRO: undefined, AMENT_PREFIX_PATH: undefined, ROS_VERSION: undefined };

// A robot already up on the live graph, whose e-stop topic carries the wrong type.
const rosSkip = liveRosSkip('start-up misconfigurations on the live ROS 2 graph');
const WRONG_ESTOP = `/startup_table_${process.pid}/estop`;
if (rosSkip === false) {
  useOwnRosDomain();
  const rcl = await loadRclnodejs();
  await rcl.init();
  const node = new rcl.Node(`startup_table_${process.pid}`);
  node.createPublisher('std_msgs/msg/String', WRONG_ESTOP);
  node.spin();
  after(() => {
    node.destroy();
    rcl.shutdown();
  });
}

const CASES: Case[] = ([
  { name: 'control port in use', key: 'zmq.control', args: ['--zmq.control', `tcp://127.0.0.1:${busy}`], says: /in use by another process/ },
  { name: 'policy port in use', key: 'zmq.policy', args: ['--zmq.policy', `tcp://127.0.0.1:${busy}`], says: /in use/ },
  { name: 'telemetry port in use', key: 'zmq.telemetry', args: ['--zmq.telemetry', `tcp://127.0.0.1:${busy}`], says: /in use/ },
  { name: 'metrics port in use', key: 'metrics.port', args: ['--metrics.port', String(busy)], says: /in use/ },
  { name: 'the same port twice (ZeroMQ)', key: 'zmq.policy', args: ['--zmq.telemetry', 'tcp://127.0.0.1:45611', '--zmq.policy', 'tcp://127.0.0.1:45611'], says: /also zmq\.telemetry/ },
  { name: 'the same port twice (metrics and control)', key: 'metrics.port', args: ['--zmq.control', 'tcp://127.0.0.1:45612', '--metrics.port', '45612'], says: /also zmq\.control/ },
  { name: 'a port that is not a number', key: 'zmq.control', args: ['--zmq.control', 'tcp://127.0.0.1:notaport'], says: /not a TCP port/ },
  { name: 'a port out of range', key: 'zmq.telemetry', args: ['--zmq.telemetry', 'tcp://127.0.0.1:70000'], says: /1-65535/ },
  { name: 'a bind beyond loopback without CURVE', key: 'zmq.control', args: ['--zmq.control', 'tcp://0.0.0.0:45613'], says: /beyond loopback/ },
  { name: 'metrics on every interface without the opt-in', key: 'metrics.host', args: ['--metrics.host', '0.0.0.0'], says: /metrics\.insecure/ },
  { name: 'web UI port in use', key: 'ui.port', args: ['--ui.port', String(busy)], says: /in use/ },
  { name: 'the same port twice (web UI and metrics)', key: 'ui.port', args: ['--metrics.port', '45615', '--ui.port', '45615'], says: /also metrics\.port/ },
  { name: 'the web UI on every interface without the opt-in', key: 'ui.host', args: ['--ui.host', '0.0.0.0'], says: /ui\.insecure/ },
  { name: 'a metrics address this machine does not have', key: 'metrics.port', args: ['--metrics.host', '192.0.2.1', '--metrics.insecure', 'true', '--metrics.port', '45614'], says: /not an address of this machine/ },
  { name: 'an unknown task', key: 'sim.task', args: ['--sim.task', 'HalfCheetah-v4'], says: /unknown task 'HalfCheetah-v4' \(nearest: 'HalfCheetah-v5'\)/ },
  { name: 'a Gymnasium task without its models', key: 'sim.gymnasiumModelDir', args: ['--sim.task', 'HalfCheetah-v5'], says: /half_cheetah\.xml/ },
  { name: 'a missing gymnasiumModelDir', key: 'sim.gymnasiumModelDir', args: ['--sim.task', 'HalfCheetah-v5', '--sim.gymnasiumModelDir', join(root, 'nowhere')], says: /does not exist/ },
  { name: 'a gymnasiumModelDir that is a file', key: 'sim.gymnasiumModelDir', args: ['--sim.task', 'HalfCheetah-v5', '--sim.gymnasiumModelDir', aFile], says: /is not a directory/ },
  { name: 'a gymnasiumModelDir without the task\'s file', key: 'sim.gymnasiumModelDir', args: ['--sim.task', 'HalfCheetah-v5', '--sim.gymnasiumModelDir', emptyDir], says: /half_cheetah\.xml/ },
  { name: 'a missing modelPath', key: 'sim.modelPath', args: ['--sim.modelPath', join(root, 'none.xml')], says: /does not exist/ },
  { name: 'a modelPath MuJoCo refuses', key: 'sim.modelPath', args: ['--sim.modelPath', garbageModel], says: /cannot be built/ },
  { name: 'a state dir that is a file', key: 'daemon.stateDir', args: ['--daemon.stateDir', aFile], says: /is a file, not a directory/ },
  { name: 'a state dir under a file', key: 'daemon.stateDir', args: ['--daemon.stateDir', join(aFile, 'state')], says: /is a file, so .* cannot be made/ },
  { name: 'a state dir on proc', key: 'daemon.stateDir', args: ['--daemon.stateDir', '/proc/sacbridge/state'], says: /on proc, a kernel interface/ },
  { name: 'a state dir on sysfs', key: 'daemon.stateDir', args: ['--daemon.stateDir', '/sys/kernel/sacbridge'], says: /on sysfs/ },
  { name: 'a job module that does not exist', key: 'daemon.job', args: ['--daemon.job', join(root, 'job.mjs')], says: /does not exist/ },
  { name: 'ROS 2 enabled without observations', key: 'ros.observations', args: ['--ros.enabled', 'true'], says: /at least one observation source/ },
  { name: 'a switch to a robot without one', key: 'switch.mode', args: ['--switch.mode', 'automatic'], says: /needs a robot/ },
  { name: 'a hexadecimal integer from the environment', key: 'rl.batchSize', env: { SACBRIDGE_RL_BATCH_SIZE: '0x40' }, says: /plain decimal/ },
  { name: 'an exponent for an integer flag', key: 'sim.totalSteps', args: ['--sim.totalSteps', '1e6'], says: /plain decimal/ },
  { name: 'a learning rate out of range', key: 'rl.lr', args: ['--rl.lr', '-1'], says: /> 0/ },
  { name: 'an unknown log level', key: 'logging.level', args: ['--logging.level', 'loud'], says: /one of "fatal"/ },
  { name: 'a key the schema does not declare (file)', key: 'rl.learningRate', file: { rl: { learningRate: 0.001 } }, says: /not declared in the schema/ },
  { name: 'a configuration file that is not JSON', key: '(file)', file: '{"rl": {"lr": 0.001,}}', says: /not valid JSON at line 1/ },
  { name: 'command limits of unequal length', key: 'safety.commandMax', args: ['--safety.commandMin', '[-1,-1]', '--safety.commandMax', '[1]'], says: /as many elements/ },
  { name: 'CURVE with a public key file that does not exist', key: 'zmq.curvePublicKeyFile', args: ['--zmq.curveSecretKeyFile', aFile, '--zmq.curvePublicKeyFile', join(root, 'no-public-key'), '--zmq.curveAuthorizedKeysDir', emptyDir], says: /no-public-key' cannot be read/ },
  { name: 'a policy thread pinned to a CPU this machine lacks', key: 'realtime.policyThreadCpus', args: ['--realtime.policyThreadCpus', '4095'], says: /CPU 4095/ },
  { name: 'an unknown flag', key: 'rl.lrr', args: ['--rl.lrr', '0.1'], says: /unknown flag/ },
  // The robot phase's ROS 2 side (src/daemon/rosPreflight.ts), found at start, not at the gate.
  { name: 'a robot phase where ROS 2 is not sourced', key: 'ros.enabled', file: robot(), env: NO_ROS, says: /needs ROS 2 here: ROS_DISTRO is not set/ },
  { name: 'a robot observation field its message type does not have', key: 'ros.observations[0].fields.qpos', file: robot({ observations: [{ topic: '/joint_states', type: 'sensor_msgs/msg/JointState', fields: { qpos: 'positions[hinge]' } }] }), says: /expected position\|velocity\|effort\[joint,\.\.\.\]/ },
  { name: 'a robot observation type the robot phase cannot read', key: 'ros.observations[0].type', file: robot({ observations: [{ topic: '/scan', type: 'sensor_msgs/msg/LaserScan', fields: { qpos: 'ranges' } }] }), says: /not one of sensor_msgs\/msg\/JointState/ },
  { name: 'a robot observation topic that is no ROS name', key: 'ros.observations[0].topic', file: robot({ observations: [{ topic: '/joint states', type: 'sensor_msgs/msg/JointState', fields: { qpos: 'position[hinge]' } }] }), says: /not a valid ROS topic name/ },
  { name: 'a robot phase without command limits', key: 'safety.commandMin', file: robot({}, {}), says: /needs explicit command limits/ },
  { name: 'a scripted robot reset of the wrong size', key: 'ros.reset.script', file: robot({ reset: { mode: 'scripted', script: [{ command: [0, 0], durationMs: 100 }] } }), says: /reset\.steps\[0\]\.command: needs 1 components/ },
  { name: 'a Twist command on an axis that does not exist', key: 'ros.command.jointNames', file: robot({ command: { type: 'geometry_msgs/msg/Twist', topic: '/cmd_vel', jointNames: ['linear.q'] } }), says: /'linear\.q' is not one of linear\.x/ },
  { name: 'a robot whose topics lack a signal the task reads', key: 'ros.observations', file: robot({ observations: [{ topic: '/joint_states', type: 'sensor_msgs/msg/JointState', fields: { qpos: 'position[hinge]' } }] }), says: /task pendulum \(sim\.task = pendulum\) reads 'qvel' \(1 value\) on the robot; the robot's topics give qpos \(1\)/ },
  { name: 'a robot signal of another size than the task reads', key: 'ros.observations', file: robot({ observations: [{ topic: '/joint_states', type: 'sensor_msgs/msg/JointState', fields: { qpos: 'position[a,b]', qvel: 'velocity[a,b]' } }] }), says: /reads 'qpos' \(1 value\), 'qvel' \(1 value\) on the robot; the robot's topics give qpos \(2\), qvel \(2\)/ },
  { name: 'a task file on a robot without its joint state', key: 'ros.observations', file: robot({}, { commandMin: Array(7).fill(-1), commandMax: Array(7).fill(1) }), args: ['--sim.task', REACH], says: /reads the joint state from a sensor_msgs\/msg\/JointState mapped to joint_pos and joint_vel/ },
  { name: 'a robot topic the graph carries with another type', key: 'ros.estopTopic', file: robot({ estopTopic: WRONG_ESTOP }), says: /the ROS graph carries std_msgs\/msg\/String on .*expects std_msgs\/msg\/Bool/, live: true },
] as Case[]).filter((c) => c.live !== true || rosSkip === false);

interface Outcome {
  code: number | null;
  stderr: string;
}

function sacbridge(args: string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [MAIN_JS, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => done({ code, stderr }));
  });
}

/** Ephemeral ports and a private state directory unless the case sets its own. */
function baseArgs(c: Case, stateDir: string): string[] {
  const given = new Set((c.args ?? []).filter((a) => a.startsWith('--')));
  const base: [string, string][] = [
    ['--zmq.telemetry', 'tcp://127.0.0.1:*'],
    ['--zmq.policy', 'tcp://127.0.0.1:*'],
    ['--zmq.control', 'tcp://127.0.0.1:*'],
    ['--metrics.port', '0'],
    ['--ui.port', '0'],
    ['--daemon.stateDir', stateDir],
  ];
  return base.filter(([k]) => !given.has(k)).flat();
}

async function check(c: Case, i: number): Promise<string[]> {
  const stateDir = join(root, `state-${i}`);
  const file = c.file === undefined ? [] : [join(root, `config-${i}.json`)];
  if (c.file !== undefined) writeFileSync(file[0]!, typeof c.file === 'string' ? c.file : JSON.stringify(c.file));
  const args = [...baseArgs(c, stateDir), ...(c.args ?? [])];
  const env = c.env ?? {};
  const [run, checked] = await Promise.all([
    sacbridge(['run', ...(file.length ? ['--config', file[0]!] : []), ...args], env),
    sacbridge(['config', 'check', ...file, ...args], env),
  ]);
  const problems: string[] = [];
  const keyRe = new RegExp(`^  ${c.key.replace(/[.()[\]]/g, '\\$&')} = `, 'm');
  for (const [what, o] of [['run', run], ['config check', checked]] as const) {
    if (o.code !== EX_CONFIG) problems.push(`${c.name}: ${what} exited ${o.code}, not ${EX_CONFIG}:\n${o.stderr}`);
    if (!keyRe.test(o.stderr)) problems.push(`${c.name}: ${what} does not name ${c.key}:\n${o.stderr}`);
    if (c.says !== undefined && !c.says.test(o.stderr)) problems.push(`${c.name}: ${what} does not say ${c.says}:\n${o.stderr}`);
    if (/^\s+at /m.test(o.stderr)) problems.push(`${c.name}: ${what} printed a stack trace:\n${o.stderr}`);
  }
  if (existsSync(stateDir)) problems.push(`${c.name}: run created its state directory before refusing`);
  return problems;
}

test(`${CASES.length} start-up misconfigurations: run exits 78 naming the key, and config check agrees`, { timeout: 600_000 }, async () => {
  assert.ok(CASES.filter((c) => c.live !== true).length >= 30);
  const problems: string[] = [];
  const queue = CASES.map((c, i) => [c, i] as const);
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) problems.push(...(await check(next[0], next[1])));
    }),
  );
  assert.deepEqual(problems, []);
});

test('the same checks pass a good configuration: config check says valid, run starts', async () => {
  const stateDir = join(root, 'good');
  const ok = await sacbridge(['config', 'check', ...baseArgs({ name: 'good', key: '' }, stateDir)], {});
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /valid/);
});
