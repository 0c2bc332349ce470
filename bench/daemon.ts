/**
 * Daemon memory (issue 6, item 7): resident memory of a process holding a 1M-transition replay
 * buffer on HalfCheetah shapes (observation 17, action 6), filled, plus the SAC networks with
 * their Adam moments on the tfjs WebAssembly backend, plus the daemon's metrics registry.
 *
 *   node dist/bench/daemon.js            prints {"rss_mb": ..., ...}
 *
 * The measurement runs in a fresh child process, so the figure is what a daemon would hold and
 * not whatever the benchmark runner had loaded before.
 *
 * Replay: the project's ReplayBuffer (src/agent/replayBuffer.ts) when it is built; otherwise
 * preallocated Float32Arrays of the same layout (obs, action, reward, next obs, terminated per
 * row), and `replay` in the result says which.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initCompute } from '../src/compute/backend.js';
import { Metrics } from '../src/metrics/metrics.js';

export const OBS = 17;
export const ACT = 6;
export const CAPACITY = 1_000_000;
export const HIDDEN = [256, 256];

export interface DaemonMemory {
  rss_mb: number;
  /** Bytes of the replay storage itself, in MB. */
  replay_mb: number;
  /** Network parameters (actor, two critics, two target critics) and Adam moments. */
  network_floats: number;
  heap_used_mb: number;
  external_mb: number;
  array_buffers_mb: number;
  replay: 'ReplayBuffer' | 'typed arrays of the ReplayBuffer layout';
  backend: string;
}

interface ReplayLike {
  add(o: ArrayLike<number>, a: ArrayLike<number>, r: number, o2: ArrayLike<number>, terminated: boolean): void;
}

async function makeReplay(): Promise<{ buffer: ReplayLike; bytes: number; kind: DaemonMemory['replay'] }> {
  try {
    const url = pathToFileURL(fileURLToPath(new URL('../src/agent/replayBuffer.js', import.meta.url))).href;
    const mod = (await import(url)) as { ReplayBuffer?: new (o: { capacity: number; observationSize: number; actionSize: number }) => ReplayLike & { storage: ArrayBuffer } };
    if (mod.ReplayBuffer) {
      const b = new mod.ReplayBuffer({ capacity: CAPACITY, observationSize: OBS, actionSize: ACT });
      return { buffer: b, bytes: b.storage.byteLength, kind: 'ReplayBuffer' };
    }
  } catch {
    // not built on this branch: the same layout by hand
  }
  const obs = new Float32Array(CAPACITY * OBS);
  const act = new Float32Array(CAPACITY * ACT);
  const rew = new Float32Array(CAPACITY);
  const next = new Float32Array(CAPACITY * OBS);
  const term = new Float32Array(CAPACITY);
  let i = 0;
  const buffer: ReplayLike = {
    add(o, a, r, o2, t) {
      const k = i % CAPACITY;
      for (let j = 0; j < OBS; j++) {
        obs[k * OBS + j] = o[j]!;
        next[k * OBS + j] = o2[j]!;
      }
      for (let j = 0; j < ACT; j++) act[k * ACT + j] = a[j]!;
      rew[k] = r;
      term[k] = t ? 1 : 0;
      i++;
    },
  };
  return { buffer, bytes: (obs.byteLength + act.byteLength + rew.byteLength + next.byteLength + term.byteLength), kind: 'typed arrays of the ReplayBuffer layout' };
}

/** Dense layer shapes of an MLP in -> HIDDEN -> out. */
function mlp(input: number, output: number): [number, number][] {
  const sizes = [input, ...HIDDEN, output];
  return sizes.slice(1).map((n, i) => [sizes[i]!, n]);
}

/** Variables of the SAC networks and the Adam moments of the trained ones. */
function makeNetworks(): { vars: tf.Variable[]; floats: number } {
  const vars: tf.Variable[] = [];
  let floats = 0;
  const add = (layers: [number, number][], withAdam: boolean): void => {
    for (const [i, o] of layers) {
      for (const shape of [[i, o], [o]]) {
        const copies = withAdam ? 3 : 1; // value, first and second moment
        for (let c = 0; c < copies; c++) {
          vars.push(tf.variable(tf.randomNormal(shape, 0, 0.05)));
          floats += shape.reduce((a, b) => a * b, 1);
        }
      }
    }
  };
  add(mlp(OBS, 2 * ACT), true); // actor: mean and log std
  add(mlp(OBS + ACT, 1), true); // critic 1
  add(mlp(OBS + ACT, 1), true); // critic 2
  add(mlp(OBS + ACT, 1), false); // target 1
  add(mlp(OBS + ACT, 1), false); // target 2
  vars.push(tf.variable(tf.scalar(0))); // log alpha
  return { vars, floats };
}

/** Runs in the child: build everything, fill the buffer, measure. */
async function measure(): Promise<DaemonMemory> {
  const compute = await initCompute('wasm');
  const metrics = new Metrics();
  const { buffer, bytes, kind } = await makeReplay();
  const o = new Float32Array(OBS);
  const o2 = new Float32Array(OBS);
  const a = new Float32Array(ACT);
  for (let i = 0; i < CAPACITY; i++) {
    o[i % OBS] = i * 1e-6;
    o2[(i + 1) % OBS] = i * 1e-6;
    a[i % ACT] = (i % 7) / 7;
    buffer.add(o, a, Math.sin(i), o2, i % 1000 === 999);
  }
  const nets = makeNetworks();
  metrics.addEnvSteps(CAPACITY);
  global.gc?.();
  const m = process.memoryUsage();
  const mb = (x: number): number => Math.round((x / 2 ** 20) * 10) / 10;
  return {
    rss_mb: mb(m.rss),
    replay_mb: mb(bytes),
    network_floats: nets.floats,
    heap_used_mb: mb(m.heapUsed),
    external_mb: mb(m.external),
    array_buffers_mb: mb(m.arrayBuffers),
    replay: kind,
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
