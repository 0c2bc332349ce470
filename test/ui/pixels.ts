import { spawn, type ChildProcess } from 'node:child_process';
import type { BrowserContext, Page } from 'playwright-core';

/** The 3D view's pixels as RGBA, read in the page by drawing its WebGL canvas into a 2D canvas. */
export async function scenePixels(page: Page): Promise<{ width: number; height: number; data: number[] }> {
  return page.evaluate(() => {
    const gl = document.querySelector('#scene canvas') as HTMLCanvasElement;
    const c = document.createElement('canvas');
    c.width = gl.width;
    c.height = gl.height;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(gl, 0, 0);
    return { width: c.width, height: c.height, data: Array.from(ctx.getImageData(0, 0, c.width, c.height).data) };
  });
}

/** Pixels whose colour differs by more than 30 (sum over R, G, B) between two RGBA images, or from one colour. */
export function differingPixels(a: number[], b: number[] | readonly [number, number, number]): number {
  const single = b.length === 3;
  let n = 0;
  for (let i = 0; i < a.length; i += 4) {
    const j = single ? 0 : i;
    if (Math.abs(a[i]! - b[j]!) + Math.abs(a[i + 1]! - b[j + 1]!) + Math.abs(a[i + 2]! - b[j + 2]!) > 30) n++;
  }
  return n;
}

/** `sacbridge view RUN_DIR --port 0` as a child process, resolved with the URL it prints. */
export async function startView(mainJs: string, runDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [mainJs, 'view', runDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`view exited ${code}: ${stderr}`)));
  });
  return { child, url };
}

/** A page at `url` once the web UI says it is ready; `errors` collects uncaught page errors. */
export async function openUi(context: BrowserContext, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  return { page, errors };
}
