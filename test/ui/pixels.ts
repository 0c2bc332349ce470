import type { Page } from 'playwright-core';

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
