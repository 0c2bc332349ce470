import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Plant } from '../plant/plant.js';
import type { EvaluationListener } from '../train/trainer.js';
import { MujocoPlant } from '../plant/mujoco/mujocoPlant.js';
import { writeFileAtomic } from '../util/atomicFile.js';
import { bodyPoses } from './scene.js';

/**
 * An evaluation episode as the run directory keeps it (RUN_DIR/replays/*.json): per step the
 * model's state (qpos) and every body's world pose, so the web UI and `eval --video` can show the
 * episode again without re-running physics or policy.
 */
export interface Replay {
  readonly format: 'sacbridge-replay-1';
  readonly task: string;
  /** Training steps when the episode was evaluated. */
  readonly step: number;
  readonly return: number;
  /** Seconds between recorded frames (the control period). */
  readonly dt: number;
  readonly bodies: string[];
  /** Per frame: qpos (nq values). */
  readonly qpos: number[][];
  /** Per frame: 7 numbers per body (x, y, z, qw, qx, qy, qz). */
  readonly poses: number[][];
  /** Per frame: the reward of the step that led to it (0 for the first frame). */
  readonly rewards: number[];
}

export const REPLAY_DIR = 'replays';
/** Replays kept per run; older ones are removed (one per evaluation round). */
export const REPLAYS_KEPT = 50;

const round = (x: number): number => Math.round(x * 1e5) / 1e5;

/** Records the frames of one episode of a MuJoCo plant; other plants have no poses to record. */
export class ReplayRecorder {
  private readonly qpos: number[][] = [];
  private readonly poses: number[][] = [];
  private readonly rewards: number[] = [];
  private readonly scratch: Float32Array;

  private constructor(
    private readonly plant: MujocoPlant,
    private readonly task: string,
  ) {
    this.scratch = new Float32Array(7 * (plant.model as unknown as { nbody: number }).nbody);
  }

  /** A recorder for `plant`, or null when it is not a MuJoCo plant. */
  static for(plant: Plant, task: string): ReplayRecorder | null {
    return plant instanceof MujocoPlant ? new ReplayRecorder(plant, task) : null;
  }

  /** Record the plant's current state (after reset, then after every step). */
  frame(reward = 0): void {
    const d = this.plant.data as unknown as { qpos: Float64Array };
    this.qpos.push(Array.from(d.qpos, round));
    this.poses.push(Array.from(bodyPoses(this.plant.model, this.plant.data, this.scratch), round));
    this.rewards.push(round(reward));
  }

  get frames(): number {
    return this.qpos.length;
  }

  toReplay(step: number, ret: number): Replay {
    const bodies: string[] = [];
    const mujoco = this.plant.mujoco;
    const n = this.scratch.length / 7;
    for (let b = 0; b < n; b++) bodies.push(mujoco.mj_id2name(this.plant.model, mujoco.mjtObj.mjOBJ_BODY.value, b) ?? `body${b}`);
    return { format: 'sacbridge-replay-1', task: this.task, step, return: ret, dt: this.plant.controlPeriod, bodies, qpos: this.qpos, poses: this.poses, rewards: this.rewards };
  }

  /** Write RUN_DIR/replays/eval-<step>.json (atomically) and keep the newest REPLAYS_KEPT. */
  async save(runDir: string, step: number, ret: number): Promise<string> {
    const dir = join(runDir, REPLAY_DIR);
    const file = join(dir, `eval-${String(step).padStart(10, '0')}.json`);
    await writeFileAtomic(file, JSON.stringify(this.toReplay(step, ret)));
    const all = (await readdir(dir)).filter((f) => /^eval-\d+\.json$/.test(f)).sort();
    for (const old of all.slice(0, Math.max(0, all.length - REPLAYS_KEPT))) await rm(join(dir, old), { force: true });
    return file;
  }
}

/**
 * A Trainer evaluation listener (Trainer.onEvaluationEpisode) keeping the first episode of each
 * evaluation round as RUN_DIR/replays/eval-STEP.json, as the daemon does. A replay that cannot
 * be written costs the replay, said through `warn`, never the run.
 */
export function replayRecording(runDir: string, task: string, warn: (message: string) => void): EvaluationListener {
  return ({ env, index, step }) => {
    const recorder = index === 0 ? ReplayRecorder.for(env.plant, task) : null;
    if (recorder === null) return null;
    return {
      observe: (r) => recorder.frame(r?.reward ?? 0),
      done: async (ret) => {
        try {
          await recorder.save(runDir, step, ret);
        } catch (err) {
          warn(`evaluation replay not saved: ${(err as Error).message}`);
        }
      },
    };
  };
}

/** Replay files of a run, oldest first. */
export async function listReplays(runDir: string): Promise<string[]> {
  try {
    return (await readdir(join(runDir, REPLAY_DIR))).filter((f) => /^eval-\d+\.json$/.test(f)).sort();
  } catch {
    return [];
  }
}
