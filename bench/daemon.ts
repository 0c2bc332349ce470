/**
 * Daemon memory (issue 6, item 7): resident memory of a process holding what the daemon's sac
 * job holds on HalfCheetah shapes (observation 17, action 6): the agent's ReplayBuffer with 1M
 * transitions, filled; the SoftActorCritic networks (256x256, twin critics, targets) after a few
 * updates, so every Adam moment exists; the fast-policy copy the policy server answers from; the
 * MuJoCo HalfCheetah-v5 env; the daemon's metrics registry.
 *
 *   node dist/bench/daemon.js            prints {"rss_mb": ..., ...}
 *
 * The measurement runs in a fresh child process, so the figure is what a daemon would hold and
 * not whatever the benchmark runner had loaded before. The Gymnasium model comes from
 * ../shared/mjcf-gymnasium (benchmarks may read it; the product never does).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FastPolicy } from '../src/agent/fastPolicy.js';
import { ReplayBuffer } from '../src/agent/replayBuffer.js';
import { SoftActorCritic, resolveHyperparameters } from '../src/agent/sac.js';
import { initCompute } from '../src/compute/backend.js';
import { Metrics } from '../src/metrics/metrics.js';
import { createEnv } from '../src/wiring/envFactory.js';
import { packageRoot } from '../src/util/packageRoot.js';
import { Rng } from '../src/util/rng.js';

export const OBS = 17;
export const ACT = 6;
export const CAPACITY = 1_000_000;

/** shared/mjcf-gymnasium beside the repository or one of its parents. */
function gymnasiumDir(): string | null {
  let dir = dirname(packageRoot());
  for (let i = 0; i < 3; i++) {
    const candidate = join(dir, 'shared', 'mjcf-gymnasium');
    if (existsSync(join(candidate, 'half_cheetah.xml'))) return candidate;
    dir = dirname(dir);
  }
  return null;
}

export interface DaemonMemory {
  rss_mb: number;
  /** Bytes of the replay storage itself, in MB. */
  replay_mb: number;
  replay_size: number;
  /** Float32 values of the agent's state (networks, targets, Adam moments), from its export. */
  agent_floats: number;
  heap_used_mb: number;
  external_mb: number;
  array_buffers_mb: number;
  env: string;
  backend: string;
}

/** Runs in the child: build everything, fill the buffer, measure. */
async function measure(): Promise<DaemonMemory> {
  const compute = await initCompute('wasm');
  const metrics = new Metrics();
  const replay = new ReplayBuffer({ capacity: CAPACITY, observationSize: OBS, actionSize: ACT });
  const o = new Float32Array(OBS);
  const o2 = new Float32Array(OBS);
  const a = new Float32Array(ACT);
  for (let i = 0; i < CAPACITY; i++) {
    o[i % OBS] = i * 1e-6;
    o2[(i + 1) % OBS] = i * 1e-6;
    a[i % ACT] = (i % 7) / 7;
    replay.add(o, a, Math.sin(i), o2, i % 1000 === 999);
  }
  const hp = resolveHyperparameters({ bufferSize: CAPACITY });
  const agent = new SoftActorCritic(OBS, ACT, hp, 1);
  const rng = new Rng(2);
  for (let k = 0; k < 5; k++) agent.update(replay.sample(hp.batchSize, rng));
  const policy = new FastPolicy(agent.actorWeights(), new Rng(3), agent.version);
  let env = 'none (../shared/mjcf-gymnasium missing)';
  const gym = gymnasiumDir();
  if (gym !== null) {
    const e = await createEnv('HalfCheetah-v5', { seed: 1, gymnasiumModelDir: gym });
    const obs = await e.reset();
    policy.act(obs, true, a);
    await e.step(a);
    env = 'HalfCheetah-v5';
  }
  metrics.addEnvSteps(CAPACITY);
  const agentFloats = agent.exportState().arrays.reduce((s, x) => s + x.data.length, 0);
  global.gc?.();
  const m = process.memoryUsage();
  const mb = (x: number): number => Math.round((x / 2 ** 20) * 10) / 10;
  return {
    rss_mb: mb(m.rss),
    replay_mb: mb(replay.storage.byteLength),
    replay_size: replay.size,
    agent_floats: agentFloats,
    heap_used_mb: mb(m.heapUsed),
    external_mb: mb(m.external),
    array_buffers_mb: mb(m.arrayBuffers),
    env,
    backend: compute.backend,
  };
}

/** The figure for `npm run bench`: measured in a fresh node process. */
export function daemonMemory(): DaemonMemory {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--expose-gc', self, '--child'], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`daemon memory bench failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as DaemonMemory;
}

const entry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (entry && process.argv.includes('--child')) {
  measure().then((m) => process.stdout.write(JSON.stringify(m) + '\n'));
} else if (entry) {
  process.stdout.write(JSON.stringify(daemonMemory()) + '\n');
}
