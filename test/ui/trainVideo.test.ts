import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Replay } from '../../src/ui/replay.js';
import { MAIN_JS, tempDir } from '../daemon/helpers.js';
import { differingPixels, startView } from './pixels.js';

/**
 * `sacbridge train` keeps the first episode of each evaluation round in RUN_DIR/replays (as the
 * daemon does), `sacbridge view RUN_DIR` serves them, and `eval --video` renders the trained
 * point_reach with the web UI's viewer in headless Chromium and ffmpeg: frame count, size and
 * codec from ffprobe, and the point moving between the first and the last frame.
 *
 * Training: the learning test's settings (test/train/learning.test.ts), 3000 steps, seed 1
 * (about 7 s here). There a uniform random policy scores -141 per episode and the zero action
 * -140; this run's deterministic policy scored -22 over 10 episodes. The bar, -90, is far from
 * both, so the video shows a trained policy.
 */
test('`train` records evaluation replays, `view` serves them, `eval --video` renders the trained point_reach', { timeout: 300_000 }, async () => {
  const run = join(tempDir(), 'run');
  const train = spawnSync(process.execPath, [
    MAIN_JS, 'train', '--task', 'point_reach', '--seed', '1', '--steps', '3000', '--out', run,
    '--eval-every', '1500', '--eval-episodes', '2', '--checkpoint-every', '0',
    '--learning-starts', '500', '--batch-size', '128', '--rl.hiddenSizes', '[64,64]', '--rl.bufferSize', '10000',
  ], { encoding: 'utf8', timeout: 240_000 });
  assert.equal(train.status, 0, train.stderr);

  // One replay per evaluation round: its first episode, the one the eval record lists first.
  const names = readdirSync(join(run, 'replays')).sort();
  assert.deepEqual(names, ['eval-0000001500.json', 'eval-0000003000.json']);
  const evals = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number; returns: number[] }).filter((r) => r.type === 'eval');
  for (const [i, name] of names.entries()) {
    const replay = JSON.parse(readFileSync(join(run, 'replays', name), 'utf8')) as Replay;
    assert.equal(replay.format, 'sacbridge-replay-1');
    assert.equal(replay.step, evals[i]!.step);
    assert.equal(replay.poses.length, 51, 'the reset and 50 steps of a point_reach episode');
    assert.ok(replay.poses.every((p) => p.length === 7 * replay.bodies.length));
    assert.equal(replay.return, evals[i]!.returns[0]);
    assert.ok(Math.abs(replay.rewards.reduce((a, b) => a + b, 0) - replay.return) < 1e-3, 'its rewards add up to its return');
  }

  // sacbridge view RUN_DIR serves them, and the model to draw them with.
  const { child: view, url } = await startView(MAIN_JS, run);
  try {
    assert.deepEqual(await (await fetch(`${url}api/replays`)).json(), names);
    const scene = (await (await fetch(`${url}api/scene`)).json()) as { bodies: string[] };
    assert.deepEqual(scene.bodies, ['world', 'point']);
  } finally {
    view.kill('SIGTERM');
  }
  assert.equal(await new Promise((r) => view.on('exit', r)), 0);

  // eval --video: the first of 10 episodes, 51 frames of 640x480 at the control rate (20 Hz).
  const file = join(tempDir(), 'point_reach.mp4');
  const ev = spawnSync(process.execPath, [MAIN_JS, 'eval', '--checkpoint', run, '--episodes', '10', '--video', file, '--json'], { encoding: 'utf8', timeout: 240_000 });
  assert.equal(ev.status, 0, ev.stderr);
  const result = JSON.parse(ev.stdout) as { mean_return: number; returns: number[]; video: { file: string; frames: number; fps: number } };
  assert.equal(result.returns.length, 10);
  assert.ok(result.mean_return > -90, `a trained policy (random: -141): mean return ${result.mean_return.toFixed(1)}`);
  assert.deepEqual(result.video, { file, frames: 51, fps: 20 });
  const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,nb_read_frames,codec_name', '-of', 'json', file], { encoding: 'utf8' });
  assert.equal(probe.status, 0, probe.stderr);
  const stream = (JSON.parse(probe.stdout) as { streams: { width: number; height: number; nb_read_frames: string; codec_name: string }[] }).streams[0]!;
  assert.deepEqual([stream.codec_name, stream.width, stream.height, Number(stream.nb_read_frames)], ['h264', 640, 480, 51]);
  // The first and last frames, decoded: the point has moved.
  const raw = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-vf', 'select=eq(n\\,0)+eq(n\\,50)', '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'], { maxBuffer: 1 << 24 });
  assert.equal(raw.status, 0, String(raw.stderr));
  const frame = 640 * 480 * 4;
  assert.equal(raw.stdout.length, 2 * frame);
  const moved = differingPixels(Array.from(raw.stdout.subarray(0, frame)), Array.from(raw.stdout.subarray(frame)));
  assert.ok(moved >= 100 && moved < 640 * 480 * 0.2, `the point moves, nothing else does: ${moved} pixels changed`);

  // Without a usable browser it says how to get one, before evaluating; a format it cannot write is refused.
  const none = spawnSync(process.execPath, [MAIN_JS, 'eval', '--checkpoint', run, '--video', join(tempDir(), 'x.mp4')], { encoding: 'utf8', env: { ...process.env, SACBRIDGE_CHROMIUM: '/nonexistent/chromium' } });
  assert.equal(none.status, 69);
  assert.match(none.stderr, /--video needs Chromium, and none was found: install Chromium \(Debian\/Ubuntu: `sudo apt install chromium`/);
  const badExt = spawnSync(process.execPath, [MAIN_JS, 'eval', '--checkpoint', run, '--video', 'x.gif'], { encoding: 'utf8' });
  assert.equal(badExt.status, 64);
  assert.match(badExt.stderr, /--video x\.gif: name a \.mp4 or \.webm file/);
});
