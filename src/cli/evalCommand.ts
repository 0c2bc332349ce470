import { extname } from 'node:path';
import { returnStats, runEpisode } from '../train/evaluation.js';
import { CHROMIUM_HOW_TO, findChromium } from '../ui/browser.js';
import { ReplayRecorder } from '../ui/replay.js';
import { sceneFromModel } from '../ui/scene.js';
import { FFMPEG_HOW_TO, hasFfmpeg, renderVideo, VIDEO_FORMATS } from '../ui/video.js';
import { MujocoPlant } from '../plant/mujoco/mujocoPlant.js';
import { parseFlags, UsageError, type FlagSpecs } from './args.js';
import { CHECKPOINT_FLAGS, openCheckpointPolicy } from './checkpointPolicy.js';
import type { Command } from './command.js';

const flags: FlagSpecs = {
  checkpoint: CHECKPOINT_FLAGS.checkpoint!,
  episodes: { kind: 'int', value: 'N', min: 1, help: 'deterministic evaluation episodes (default 10)' },
  seed: { kind: 'int', value: 'S', min: 0, help: 'seed of the evaluation env (default 12345)' },
  model: CHECKPOINT_FLAGS.model!,
  'gym-models': CHECKPOINT_FLAGS['gym-models']!,
  config: CHECKPOINT_FLAGS.config!,
  json: { kind: 'boolean', help: 'print one JSON object' },
  backend: CHECKPOINT_FLAGS.backend!,
  video: { kind: 'string', value: 'FILE', help: 'render the first --video-episodes episodes to FILE (.mp4 or .webm) with the web UI\'s 3D view in headless Chromium; needs chromium and ffmpeg' },
  'video-episodes': { kind: 'int', value: 'N', min: 1, help: 'episodes in the video (default 1)' },
};

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate a checkpoint with the deterministic policy (and render it to a video)',
  usage: 'eval --checkpoint DIR [--episodes N] [--seed S] [--json] [--video FILE [--video-episodes N]]',
  flags,
  async run(argv) {
    const { flags: f, positionals } = parseFlags(argv, flags);
    if (positionals.length > 0) throw new UsageError(`eval: unexpected argument '${positionals[0]}'`);
    if (f.checkpoint === undefined) throw new UsageError('--checkpoint: required (the checkpoint directory to evaluate)');
    const episodes = (f.episodes as number | undefined) ?? 10;
    const video = f.video as string | undefined;
    const videoEpisodes = Math.min(episodes, (f['video-episodes'] as number | undefined) ?? 1);
    if (video !== undefined) {
      if (!(VIDEO_FORMATS as readonly string[]).includes(extname(video).toLowerCase())) throw new UsageError(`--video ${video}: name a ${VIDEO_FORMATS.join(' or ')} file`);
      // Say what is missing before spending time on the evaluation.
      if (findChromium() === null) {
        process.stderr.write(`sacbridge eval: --video needs Chromium, and none was found: ${CHROMIUM_HOW_TO}\n`);
        return 69; // EX_UNAVAILABLE
      }
      if (!hasFfmpeg()) {
        process.stderr.write(`sacbridge eval: --video needs ffmpeg to encode the frames: ${FFMPEG_HOW_TO}\n`);
        return 69;
      }
    }
    const { loaded, snapshot: snap, env, agent, close } = await openCheckpointPolicy(f, (f.seed as number | undefined) ?? 12345);
    try {
      if (video !== undefined && !(env.plant instanceof MujocoPlant)) throw new Error(`--video: task ${snap.task} does not run on MuJoCo; there is no model to draw`);
      const recorded: { recorder: ReplayRecorder; step: number; ret: number }[] = [];
      const returns: number[] = [];
      for (let e = 0; e < episodes; e++) {
        const recorder = video !== undefined && e < videoEpisodes ? ReplayRecorder.for(env.plant, snap.task) : null;
        const ret = await runEpisode(env, agent, true, recorder === null ? {} : { observe: (r) => recorder.frame(r?.reward ?? 0) });
        returns.push(ret);
        if (recorder !== null) recorded.push({ recorder, step: snap.counters.steps, ret });
      }
      const { mean, std } = returnStats(returns);
      let videoResult: { file: string; frames: number; fps: number } | null = null;
      if (video !== undefined) {
        const plant = env.plant as MujocoPlant;
        const r = await renderVideo(sceneFromModel(plant.mujoco, plant.model), recorded, video);
        videoResult = { file: video, ...r };
      }
      if (f.json === true) {
        process.stdout.write(`${JSON.stringify({ checkpoint: loaded.path, task: snap.task, steps: snap.counters.steps, episodes, mean_return: mean, std_return: std, returns, ...(videoResult !== null ? { video: videoResult } : {}) })}\n`);
      } else {
        process.stdout.write(`checkpoint ${loaded.path} (task ${snap.task}, ${snap.counters.steps} steps)\n`);
        process.stdout.write(`returns: ${returns.map((r) => r.toFixed(2)).join(' ')}\n`);
        process.stdout.write(`mean return ${mean.toFixed(2)} ± ${std.toFixed(2)} over ${episodes} episodes\n`);
        if (videoResult !== null) process.stdout.write(`video ${videoResult.file}: ${videoResult.frames} frames at ${videoResult.fps} frames/s (${videoEpisodes} episode${videoEpisodes > 1 ? 's' : ''})\n`);
      }
    } finally {
      await close();
    }
    return 0;
  },
};
