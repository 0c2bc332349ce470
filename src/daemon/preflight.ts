/**
 * Start-up checks of everything the configuration names outside itself: ports, paths, the
 * task and its models, the state directory, the job module, CURVE key files, real-time rights,
 * and for a robot phase ROS 2 and its topics (rosPreflight.ts).
 * `sacbridge run` runs them before it starts anything and `sacbridge config check`
 * runs the same ones, so "valid" means `run` starts. Each problem names the key, its value,
 * where the value came from and what would be valid; the CLI exits 78 (EX_CONFIG) on them, so
 * systemd (RestartPreventExitStatus=78) does not retry a start that cannot succeed.
 *
 * Checks only look: a port is bound for a moment and released, nothing is created on disk.
 */
import { accessSync, constants, existsSync, statfsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, type ConfigIssue, type Origin } from '../config/load.js';
import type { SacbridgeConfig } from '../config/schema.js';
import { checkTask } from '../task/registry.js';
import { createEnv } from '../wiring/envFactory.js';
import { simEnvOptions, simTask } from '../wiring/configOptions.js';
import { loadCurveServerKeys } from '../zmq/security.js';
import { JOBS } from './jobs.js';
import { checkThreadSettings } from './realtimePreflight.js';
import { absentWarning, rosPreflightProblems, type RosPreflightDeps } from './rosPreflight.js';
import { resolveStateDir } from './stateDir.js';

/** Filesystems a state directory may never live on (statfs f_type): proc, sysfs, cgroup, debugfs... */
const PSEUDO_FILESYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x1cd1, 'devpts'],
]);

export interface PreflightOptions {
  origins?: Record<string, Origin>;
  env?: NodeJS.ProcessEnv;
  /** How the ROS 2 checks reach ROS (tests: the in-memory graph); default the real environment. */
  ros?: RosPreflightDeps;
  /** Told of what could still come right by itself (a robot topic not on the graph yet). */
  warn?: (message: string) => void;
}

/** Every start-up problem of `config` (empty when `run` can start). */
export async function preflightProblems(config: SacbridgeConfig, options: PreflightOptions = {}): Promise<ConfigIssue[]> {
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [];
  const add = (key: string, value: unknown, reason: string, origin?: ConfigIssue['origin']): void => {
    issues.push({ key, value, reason, origin: origin ?? options.origins?.[key] ?? 'unknown' });
  };
  await checkPorts(config, add);
  checkStateDir(config, env, options.origins, add);
  await checkTaskAndModels(config, add);
  checkJob(config, add);
  await checkCurve(config, add);
  try {
    checkThreadSettings(config.realtime);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const i of err.issues) add(i.key, i.value, i.reason);
  }
  const ros = await rosPreflightProblems(config, { ...options.ros, origins: options.origins ?? {} });
  issues.push(...ros.issues);
  if (ros.absent.length > 0) options.warn?.(`${absentWarning(config, ros.absent)}: ${ros.absent.join(', ')}`);
  return issues;
}

/** Throws a ConfigError listing every start-up problem; returns when there is none. */
export async function preflight(config: SacbridgeConfig, options: PreflightOptions = {}): Promise<void> {
  const issues = await preflightProblems(config, options);
  if (issues.length > 0) throw new ConfigError(issues);
}

type Add = (key: string, value: unknown, reason: string, origin?: ConfigIssue['origin']) => void;

interface Listener {
  key: string;
  value: string;
  host: string;
  port: number;
}

/** The TCP ports the daemon binds: every one distinct, and free now. */
async function checkPorts(c: SacbridgeConfig, add: Add): Promise<void> {
  const listeners: Listener[] = [];
  for (const k of ['telemetry', 'policy', 'control'] as const) {
    const ep = c.zmq[k];
    const m = /^tcp:\/\/(.+):([0-9]+)$/.exec(ep);
    if (m !== null) listeners.push({ key: `zmq.${k}`, value: ep, host: unbracket(m[1]!), port: Number(m[2]) });
  }
  if (c.metrics.enabled && c.metrics.port !== 0) listeners.push({ key: 'metrics.port', value: String(c.metrics.port), host: c.metrics.host, port: c.metrics.port });
  if (c.ui.enabled && c.ui.port !== 0) listeners.push({ key: 'ui.port', value: String(c.ui.port), host: c.ui.host, port: c.ui.port });
  const clashing = new Set<string>();
  listeners.forEach((l, i) => {
    const earlier = listeners.slice(0, i).find((e) => e.port === l.port && (e.host === l.host || isWildcard(e.host) || isWildcard(l.host)));
    if (earlier !== undefined) {
      add(l.key, l.key === 'metrics.port' || l.key === 'ui.port' ? l.port : l.value, `port ${l.port} is also ${earlier.key} (${earlier.value}): every socket needs a port of its own`);
      clashing.add(l.key);
    }
  });
  for (const l of listeners) {
    if (clashing.has(l.key)) continue;
    const problem = await bindProblem(l.host, l.port);
    if (problem !== null) add(l.key, l.key === 'metrics.port' || l.key === 'ui.port' ? l.port : l.value, problem);
  }
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function isWildcard(host: string): boolean {
  return host === '*' || host === '0.0.0.0' || host === '::';
}

/** Why HOST:PORT cannot be bound now, or null (bound for a moment, then released). */
function bindProblem(host: string, port: number): Promise<string | null> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') done(`port ${port} on ${host} is in use by another process (\`ss -ltnp 'sport = :${port}'\` names it): choose a free port`);
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') done(`${host} is not an address of this machine: use 127.0.0.1, or one of its own addresses`);
      else if (err.code === 'EACCES') done(`port ${port} needs privileges this process lacks: use a port above 1023`);
      else done(`cannot bind ${host}:${port}: ${err.message}`);
    });
    server.listen({ host: host === '*' ? undefined : host, port, exclusive: true }, () => server.close(() => done(null)));
  });
}

/**
 * The state directory: a directory (or one that can be made) that this process may write, on
 * a real filesystem. Nothing is created here; the daemon makes it once every check passed.
 */
function checkStateDir(c: SacbridgeConfig, env: NodeJS.ProcessEnv, origins: Record<string, Origin> | undefined, add: Add): void {
  const dir = resolve(resolveStateDir(c.daemon.stateDir, env));
  const origin = c.daemon.stateDir === '' ? 'default' : undefined;
  const say = (reason: string): void => add('daemon.stateDir', c.daemon.stateDir === '' ? `(empty: ${dir})` : c.daemon.stateDir, reason, origin ?? origins?.['daemon.stateDir']);
  // The nearest part of the path that exists decides.
  let existing = dir;
  while (!existsSync(existing)) {
    const up = dirname(existing);
    if (up === existing) break;
    existing = up;
  }
  const st = statSync(existing);
  if (!st.isDirectory()) {
    say(existing === dir ? `${dir} is a file, not a directory: point daemon.stateDir at a directory` : `${existing} is a file, so ${dir} cannot be made under it`);
    return;
  }
  let fsType: number;
  try {
    fsType = statfsSync(existing).type;
  } catch {
    fsType = 0;
  }
  const pseudo = PSEUDO_FILESYSTEMS.get(fsType);
  if (pseudo !== undefined) {
    say(`${existing} is on ${pseudo}, a kernel interface, not storage: use a directory on a disk (/var/lib/sacbridge under systemd)`);
    return;
  }
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    say(code === 'EROFS' ? `${existing} is on a read-only filesystem: use a writable directory` : `${existing} is not writable by uid ${process.getuid?.() ?? '?'}: fix its owner or mode, or use another directory`);
  }
}

/** The task exists, its model files are there, and one env of it builds. */
async function checkTaskAndModels(c: SacbridgeConfig, add: Add): Promise<void> {
  const { sim } = c;
  if (sim.modelPath !== '') {
    const problem = fileProblem(sim.modelPath, 'file');
    if (problem !== null) {
      add('sim.modelPath', sim.modelPath, `${problem}: give an MJCF file, or leave it empty for the task's own model`);
      return;
    }
  }
  if (sim.gymnasiumModelDir !== '') {
    const problem = fileProblem(sim.gymnasiumModelDir, 'directory');
    if (problem !== null) {
      add('sim.gymnasiumModelDir', sim.gymnasiumModelDir, `${problem}: give the directory holding Gymnasium's MJCF files (half_cheetah.xml, ...)`);
      return;
    }
  }
  const task = simTask(sim);
  try {
    await checkTask(task, sim.modelPath !== '' ? { modelPath: sim.modelPath } : {});
  } catch (err) {
    add('sim.task', sim.task, `${(err as Error).message} (\`sacbridge tasks\` lists them)`);
    return;
  }
  // Building the env reads every model and asset it names, as the daemon's first step will.
  try {
    const env = await createEnv(task, { seed: sim.seed, ...simEnvOptions(sim, c.safety) });
    await env.plant.close();
  } catch (err) {
    const message = (err as Error).message;
    const key = sim.modelPath !== '' ? 'sim.modelPath' : /gymnasium|gym-models|gymnasiumModelDir/i.test(message) || sim.gymnasiumModelDir !== '' ? 'sim.gymnasiumModelDir' : 'sim.task';
    add(key, key === 'sim.task' ? sim.task : key === 'sim.modelPath' ? sim.modelPath : sim.gymnasiumModelDir, `task ${sim.task} cannot be built: ${message}`);
  }
}

function fileProblem(path: string, want: 'file' | 'directory'): string | null {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${path} does not exist` : `${path} cannot be read (${(err as NodeJS.ErrnoException).code})`;
  }
  if (want === 'file' && !st.isFile()) return `${path} is not a file`;
  if (want === 'directory' && !st.isDirectory()) return `${path} is not a directory`;
  try {
    accessSync(path, constants.R_OK);
  } catch {
    return `${path} is not readable by uid ${process.getuid?.() ?? '?'}`;
  }
  return null;
}

/** daemon.job: a built-in job, or a module file that exists. */
function checkJob(c: SacbridgeConfig, add: Add): void {
  const spec = c.daemon.job;
  if (Object.hasOwn(JOBS, spec)) return;
  if (!spec.includes('/') && !/\.[cm]?js$/.test(spec)) {
    add('daemon.job', spec, `no such job: built-in ${Object.keys(JOBS).join(', ')}, or a path to an ES module exporting createJob(context)`);
    return;
  }
  const problem = fileProblem(isAbsolute(spec) ? spec : resolve(spec), 'file');
  if (problem !== null) add('daemon.job', spec, `${problem}: give a path to an ES module exporting createJob(context), or "sac"`);
}

/** CURVE key files: readable, private, well-formed (the loader names the file and the fix). */
async function checkCurve(c: SacbridgeConfig, add: Add): Promise<void> {
  const z = c.zmq;
  if (z.curveSecretKeyFile === '' || z.curvePublicKeyFile === '' || z.curveAuthorizedKeysDir === '') return;
  try {
    await loadCurveServerKeys({ publicKeyFile: z.curvePublicKeyFile, secretKeyFile: z.curveSecretKeyFile, allowedClientKeysDir: z.curveAuthorizedKeysDir });
  } catch (err) {
    const message = (err as Error).message;
    const key = /allowed CURVE client keys/.test(message) ? 'zmq.curveAuthorizedKeysDir' : /public key/.test(message) ? 'zmq.curvePublicKeyFile' : 'zmq.curveSecretKeyFile';
    add(key, (z as Record<string, unknown>)[key.slice(4)], message);
  }
}
