import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { launchChromium } from './browser.js';
import { listReplays, type ReplayRecorder } from './replay.js';
import type { Scene } from './scene.js';
import { startUiServer } from './server.js';

/**
 * `eval --video`: recorded evaluation episodes drawn frame by frame by the web UI's own 3D view
 * in headless Chromium, each frame a PNG of the view piped to ffmpeg. One video frame per control
 * tick, at the control rate, so the video plays at the robot's speed.
 */

export const FFMPEG_HOW_TO = 'install ffmpeg (Debian/Ubuntu: `sudo apt install ffmpeg`)';
export const VIDEO_FORMATS = ['.mp4', '.webm'] as const;

export function hasFfmpeg(): boolean {
  const r = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

/** ffmpeg's arguments for PNG frames on stdin at `fps` into `file` (H.264 in .mp4, VP9 in .webm). */
export function ffmpegArgs(file: string, fps: number): string[] {
  const codec = extname(file).toLowerCase() === '.webm' ? ['-c:v', 'libvpx-vp9', '-b:v', '0', '-crf', '36', '-row-mt', '1'] : ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-movflags', '+faststart'];
  return ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'image2pipe', '-c:v', 'png', '-framerate', String(fps), '-i', '-', ...codec, '-pix_fmt', 'yuv420p', file];
}

export interface VideoResult {
  readonly frames: number;
  readonly fps: number;
}

/**
 * Write the recorded episodes (in order) to `file`. The scene view is `width` x `height`
 * pixels (even numbers, as yuv420p needs).
 */
export async function renderVideo(scene: Scene, episodes: readonly { recorder: ReplayRecorder; step: number; ret: number }[], file: string, size = { width: 640, height: 480 }): Promise<VideoResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sacbridge-video-'));
  try {
    for (const [i, e] of episodes.entries()) await e.recorder.save(dir, i, e.ret);
    const names = await listReplays(dir);
    const server = await startUiServer({ runDir: dir, scene: () => scene }, '127.0.0.1', 0);
    const browser = await launchChromium({ width: size.width + 40, height: size.height + 200 });
    let frames = 0;
    let fps = 0;
    try {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      // The scene element takes the video's size; no WebSocket (?still).
      await page.addInitScript(`document.addEventListener('DOMContentLoaded', () => { const s = document.getElementById('scene'); s.style.width = '${size.width}px'; s.style.height = '${size.height}px'; });`);
      await page.goto(`${server.url}?still`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
      if (errors.length > 0) throw new Error(`the viewer page failed: ${errors.join('; ')}`);
      const canvas = page.locator('#scene canvas');
      let ffmpeg: ReturnType<typeof spawn> | null = null;
      let ffmpegErr = '';
      let done: Promise<number | null> | null = null;
      for (const name of names) {
        const info = await page.evaluate((n) => (window as unknown as { sacbridge: { loadReplay(n: string): Promise<{ frames: number; dt: number }> } }).sacbridge.loadReplay(n), name);
        if (ffmpeg === null) {
          fps = Math.max(1, Math.round(1 / info.dt));
          ffmpeg = spawn('ffmpeg', ffmpegArgs(file, fps), { stdio: ['pipe', 'ignore', 'pipe'] });
          ffmpeg.stderr!.on('data', (d: Buffer) => (ffmpegErr += d.toString()));
          const proc = ffmpeg;
          done = new Promise((resolve, reject) => {
            proc.on('error', reject);
            proc.on('close', resolve);
          });
        }
        for (let i = 0; i < info.frames; i++) {
          await page.evaluate((k) => (window as unknown as { sacbridge: { showFrame(k: number): void } }).sacbridge.showFrame(k), i);
          const png = await canvas.screenshot({ type: 'png' });
          if (!ffmpeg.stdin!.write(png)) await new Promise((r) => ffmpeg!.stdin!.once('drain', r));
          frames++;
        }
      }
      if (ffmpeg === null || done === null) throw new Error('no episode to render');
      ffmpeg.stdin!.end();
      const code = await done;
      if (code !== 0) throw new Error(`ffmpeg failed (exit ${code}): ${ffmpegErr.trim()}`);
    } finally {
      await browser.close();
      await server.close();
    }
    return { frames, fps };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
