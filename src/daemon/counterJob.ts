import { appendFileSync, mkdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SacbridgeConfig } from '../config/schema.js';
import { Rng } from '../util/rng.js';
import type { DirectoryCheckpoints, Job, JobBase, JobContext, JobStatus, TickResult } from './job.js';
import type { Phase } from './phases.js';

/**
 * The smallest real job: a point mass on a line driven toward the origin by a fixed linear
 * feedback law plus Gaussian exploration noise. It learns nothing. It exists so the daemon's
 * lifecycle (phases, checkpoints, resume, signals, watchdog) runs and is tested against real
 * work while the SAC trainer is built elsewhere: it steps, ends episodes, fills a replay ring,
 * appends episode records to run/metrics.jsonl and checkpoints all of it, RNG included.
 */

const EPISODE_STEPS = 200;
const DT = 0.05;
const GAIN = [1.5, 1.2] as const;
/** Replay row: x, v, action, reward. */
const ROW = 4;
const STATE_FILE = 'counter.json';
const REPLAY_FILE = 'replay.f32';

interface SavedState {
  version: 1;
  envSteps: number;
  episodes: number;
  lastReturn: number | null;
  x: number;
  v: number;
  episodeStep: number;
  episodeReturn: number;
  replaySize: number;
  replayHead: number;
  capacity: number;
  rng: ReturnType<Rng['getState']>;
  evalReturns: number[];
  evalEpisodeStep: number;
  evalReturn: number;
  evalX: number;
  evalV: number;
}

export class CounterJob implements JobBase, DirectoryCheckpoints {
  readonly name = 'counter';
  private envSteps = 0;
  private episodes = 0;
  private lastReturn: number | null = null;
  private x = 0;
  private v = 0;
  private episodeStep = 0;
  private episodeReturn = 0;
  private readonly replay: Float32Array;
  private replaySize = 0;
  private replayHead = 0;
  private rng: Rng;
  // Evaluation: deterministic episodes from a fixed start, run tick by tick.
  private evalReturns: number[] = [];
  private evalEpisodeStep = 0;
  private evalReturn = 0;
  private evalX = 1;
  private evalV = 0;
  private readonly metricsFile: string;
  private config: SacbridgeConfig;
  private readonly metrics: JobContext['metrics'];

  constructor(ctx: JobContext, capacity = Math.min(ctx.config.rl.bufferSize, 100_000)) {
    this.config = ctx.config;
    this.metrics = ctx.metrics;
    this.rng = new Rng(ctx.config.sim.seed);
    this.replay = new Float32Array(capacity * ROW);
    mkdirSync(ctx.runDir, { recursive: true });
    this.metricsFile = join(ctx.runDir, 'metrics.jsonl');
    this.resetEpisode();
  }

  get capacity(): number {
    return this.replay.length / ROW;
  }

  private resetEpisode(): void {
    this.x = this.rng.range(-1, 1);
    this.v = 0;
    this.episodeStep = 0;
    this.episodeReturn = 0;
  }

  /** One step of the dynamics; returns the reward. */
  private static step(s: { x: number; v: number }, action: number): number {
    const a = Math.max(-1, Math.min(1, action));
    s.v += a * DT;
    s.x += s.v * DT;
    return -(s.x * s.x) - 0.01 * a * a;
  }

  async tick(phase: Phase): Promise<TickResult> {
    if (phase === 'sim_training') return this.trainTick();
    if (phase === 'evaluating') return this.evalTick();
    return { request: { event: 'finish', reason: 'the counter job has no robot to fine-tune on' } };
  }

  private trainTick(): TickResult {
    const action = -GAIN[0] * this.x - GAIN[1] * this.v + 0.3 * this.rng.normal();
    const s = { x: this.x, v: this.v };
    const reward = CounterJob.step(s, action);
    const row = this.replayHead * ROW;
    this.replay[row] = this.x;
    this.replay[row + 1] = this.v;
    this.replay[row + 2] = action;
    this.replay[row + 3] = reward;
    this.replayHead = (this.replayHead + 1) % this.capacity;
    this.replaySize = Math.min(this.replaySize + 1, this.capacity);
    this.x = s.x;
    this.v = s.v;
    this.envSteps++;
    this.episodeStep++;
    this.episodeReturn += reward;
    if (this.episodeStep >= EPISODE_STEPS) {
      this.episodes++;
      this.lastReturn = this.episodeReturn;
      this.metrics.episodeFinished(this.episodeReturn);
      appendFileSync(this.metricsFile, JSON.stringify({ kind: 'episode', step: this.envSteps, episode: this.episodes, return: this.episodeReturn, length: this.episodeStep, time: Date.now() / 1000 }) + '\n');
      this.resetEpisode();
    }
    const { totalSteps, evalEvery } = this.config.sim;
    if (this.envSteps >= totalSteps) return { request: { event: 'evaluate', reason: `step budget of ${totalSteps} spent` } };
    if (evalEvery > 0 && this.envSteps % evalEvery === 0) return { request: { event: 'evaluate', reason: `every ${evalEvery} steps` } };
    return {};
  }

  private evalTick(): TickResult {
    const s = { x: this.evalX, v: this.evalV };
    this.evalReturn += CounterJob.step(s, -GAIN[0] * s.x - GAIN[1] * s.v);
    this.evalX = s.x;
    this.evalV = s.v;
    if (++this.evalEpisodeStep < EPISODE_STEPS) return {};
    this.evalReturns.push(this.evalReturn);
    this.evalEpisodeStep = 0;
    this.evalReturn = 0;
    this.evalX = 1;
    this.evalV = 0;
    const { evalEpisodes, totalSteps } = this.config.sim;
    if (this.evalReturns.length < evalEpisodes) return {};
    const mean = this.evalReturns.reduce((a, b) => a + b, 0) / this.evalReturns.length;
    this.evalReturns = [];
    appendFileSync(this.metricsFile, JSON.stringify({ kind: 'eval', step: this.envSteps, return: mean, episodes: evalEpisodes }) + '\n');
    const sw = this.config.switch;
    if (sw.mode === 'automatic' && mean >= sw.gateReturn) return { request: { event: 'arm', reason: `evaluation mean ${mean.toFixed(3)} passed the gate ${sw.gateReturn}` } };
    if (this.envSteps >= totalSteps) return { request: { event: 'finish', reason: `evaluation mean ${mean.toFixed(3)}; step budget spent` } };
    return { request: { event: 'continue_training', reason: `evaluation mean ${mean.toFixed(3)}` } };
  }

  status(): JobStatus {
    return { envSteps: this.envSteps, updates: 0, episodes: this.episodes, replaySize: this.replaySize, lastReturn: this.lastReturn };
  }

  reconfigure(config: SacbridgeConfig, changed: readonly string[]): string[] {
    this.config = config;
    return changed.filter((k) => k.startsWith('sim.eval') || k.startsWith('switch.'));
  }

  async save(dir: string): Promise<void> {
    const state: SavedState = {
      version: 1,
      envSteps: this.envSteps,
      episodes: this.episodes,
      lastReturn: this.lastReturn,
      x: this.x,
      v: this.v,
      episodeStep: this.episodeStep,
      episodeReturn: this.episodeReturn,
      replaySize: this.replaySize,
      replayHead: this.replayHead,
      capacity: this.capacity,
      rng: this.rng.getState(),
      evalReturns: this.evalReturns,
      evalEpisodeStep: this.evalEpisodeStep,
      evalReturn: this.evalReturn,
      evalX: this.evalX,
      evalV: this.evalV,
    };
    await writeFile(join(dir, STATE_FILE), JSON.stringify(state));
    const used = this.replay.subarray(0, this.replaySize * ROW);
    await writeFile(join(dir, REPLAY_FILE), new Uint8Array(used.buffer, used.byteOffset, used.byteLength));
  }

  async restore(dir: string): Promise<void> {
    const s = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as SavedState;
    if (s.version !== 1) throw new Error(`${STATE_FILE}: unknown version ${String(s.version)}`);
    if (s.capacity !== this.capacity) throw new Error(`${STATE_FILE}: replay capacity ${s.capacity} differs from the configured ${this.capacity}`);
    const bytes = await readFile(join(dir, REPLAY_FILE));
    if (bytes.length !== s.replaySize * ROW * 4) throw new Error(`${REPLAY_FILE}: ${bytes.length} bytes, expected ${s.replaySize * ROW * 4}`);
    this.replay.set(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
    Object.assign(this, {
      envSteps: s.envSteps,
      episodes: s.episodes,
      lastReturn: s.lastReturn,
      x: s.x,
      v: s.v,
      episodeStep: s.episodeStep,
      episodeReturn: s.episodeReturn,
      replaySize: s.replaySize,
      replayHead: s.replayHead,
      evalReturns: s.evalReturns,
      evalEpisodeStep: s.evalEpisodeStep,
      evalReturn: s.evalReturn,
      evalX: s.evalX,
      evalV: s.evalV,
    });
    this.rng = new Rng(0);
    this.rng.setState(s.rng);
  }
}

export function createCounterJob(ctx: JobContext): Job {
  return new CounterJob(ctx);
}
