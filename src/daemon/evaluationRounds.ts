import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastPolicy } from '../agent/fastPolicy.js';
import type { SacbridgeConfig } from '../config/schema.js';
import type { Env } from '../env/env.js';
import type { Plant } from '../plant/plant.js';
import { gate, returnStats, runEpisode } from '../train/evaluation.js';
import { ReplayRecorder } from '../ui/replay.js';
import { createEnv } from '../wiring/envFactory.js';
import { simEnvOptions, simTask } from '../wiring/configOptions.js';
import type { EvaluationRequest, JobContext, TickResult } from './job.js';

const EVAL_SEED_OFFSET = 7919;

interface Round {
  target: number;
  deterministic: boolean;
  /** Whether the gate decides on this round (false: an operator's round shorter than the gate's, or sampled). */
  gates: boolean;
  returns: number[];
}

/**
 * The SAC job's evaluation phase: rounds of whole episodes, one per tick, on an env of their own
 * with the fast policy (the weights the policy server serves), then the sim-to-real gate. A
 * round passing switch.gateReturn (over switch.gateEpisodes episodes when a switch is
 * configured) asks to arm; otherwise training continues, or finishes when the budget is spent.
 */
export class EvaluationRounds {
  private env: Env | null = null;
  private round: Round | null = null;
  /** The control API's request for the next round. */
  private requested: EvaluationRequest | null = null;
  private readonly metricsPath: string;
  /** Mean return of the last round, and the gate's verdict on it (status). */
  lastReturn: number | null = null;
  lastGate: string | null = null;

  constructor(
    private readonly ctx: JobContext,
    /** The running configuration (sim.eval* and switch.* are live keys). */
    private readonly config: () => SacbridgeConfig,
    private readonly policy: FastPolicy,
  ) {
    this.metricsPath = join(ctx.runDir, 'metrics.jsonl');
  }

  /** Whether a round is under way. */
  get running(): boolean {
    return this.round !== null;
  }

  /** The plant of the round under way (the web UI's 3D view shows it), or null. */
  get plant(): Plant | null {
    return this.round === null ? null : this.env?.plant ?? null;
  }

  /** "done/target" of the round under way, or null. */
  get progress(): string | null {
    return this.round === null ? null : `${this.round.returns.length}/${this.round.target}`;
  }

  /** The next round runs as the operator asked instead of as configured. */
  request(r: EvaluationRequest): void {
    this.requested = r;
  }

  /** The phase was left mid-round: the next one starts afresh. */
  cancel(): void {
    this.round = null;
  }

  /**
   * One episode of the round (starting one if none is under way); after its last, the gate's
   * phase request. `steps`: the sim steps trained so far.
   */
  async tick(steps: number): Promise<TickResult> {
    const config = this.config();
    if (this.round === null) {
      const asked = this.requested;
      this.requested = null;
      this.round =
        asked === null
          ? { target: this.gateEpisodes(), deterministic: true, gates: true, returns: [] }
          : { target: asked.episodes, deterministic: asked.deterministic, gates: asked.deterministic && asked.episodes >= this.gateEpisodes(), returns: [] };
      if (this.env === null) this.env = await createEnv(simTask(config.sim), { seed: config.sim.seed + EVAL_SEED_OFFSET, ...simEnvOptions(config.sim, config.safety) });
    }
    const ev = this.round;
    const env = this.env!;
    // The round's first episode is kept as a replay for the web UI and `eval --video` (RUN_DIR/replays/).
    const recorder = ev.returns.length === 0 ? ReplayRecorder.for(env.plant, config.sim.task) : null;
    // The loop runs every 20 ms meanwhile: signals, the control API and the web UI's live view of this episode.
    const ret = await runEpisode(env, this.policy, ev.deterministic, { yieldEveryMs: 20, ...(recorder === null ? {} : { observe: (r) => recorder.frame(r?.reward ?? 0) }) });
    ev.returns.push(ret);
    if (recorder !== null) {
      try {
        await recorder.save(this.ctx.runDir, steps, ret);
      } catch (err) {
        this.ctx.logger.warn({ error: (err as Error).message }, 'evaluation replay not saved');
      }
    }
    if (ev.returns.length < ev.target) return {};
    this.round = null;
    return this.judge(ev.returns, ev.gates, steps);
  }

  async close(): Promise<void> {
    if (this.env !== null) await this.env.plant.close();
  }

  private gateEpisodes(): number {
    const { switch: sw, sim } = this.config();
    return sw.mode === 'never' ? sim.evalEpisodes : sw.gateEpisodes;
  }

  /** The sim-to-real gate on a finished round (`gates` false: recorded, not judged). */
  private judge(returns: number[], gates: boolean, steps: number): TickResult {
    const config = this.config();
    const sw = config.switch;
    const { mean, std } = returnStats(returns);
    const passed = gates && gate({ returns, mean, std }, sw.gateReturn).passed;
    this.lastReturn = mean;
    this.ctx.metrics.evaluationFinished(mean);
    try {
      appendFileSync(this.metricsPath, `${JSON.stringify({ type: 'eval', step: steps, mean_return: mean, std_return: std, returns, time: new Date().toISOString() })}\n`);
    } catch (err) {
      // A full disk costs the record, not the evaluation's outcome.
      this.ctx.metrics.writeFailed('metrics_record');
      this.ctx.logger.error({ err: (err as Error).message }, 'could not append the evaluation record to metrics.jsonl');
    }
    this.lastGate =
      sw.mode === 'never' ? 'no switch configured'
      : !gates ? `not judged (an operator's round of ${returns.length} episodes; the gate needs ${this.gateEpisodes()} deterministic ones)`
      : passed ? `passed (${mean.toFixed(2)} >= ${sw.gateReturn})`
      : `not passed (${mean.toFixed(2)} < ${sw.gateReturn})`;
    this.ctx.logger.info({ step: steps, meanReturn: mean, stdReturn: std, episodes: returns.length, gate: this.lastGate }, 'evaluation done');
    const why = `evaluation mean ${mean.toFixed(3)} over ${returns.length} episodes`;
    if (sw.mode !== 'never' && passed) return { request: { event: 'arm', reason: `${why} passed the gate ${sw.gateReturn}` } };
    if (steps >= config.sim.totalSteps) return { request: { event: 'finish', reason: `${why}; step budget spent` } };
    return { request: { event: 'continue_training', reason: why } };
  }
}
