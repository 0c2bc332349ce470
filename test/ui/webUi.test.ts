import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { launchChromium } from '../../src/ui/browser.js';
import { msgIs, spawnDaemon, tempDir, TINY_SAC } from '../daemon/helpers.js';
import { differingPixels, scenePixels } from './pixels.js';

/**
 * The web UI in a real browser (Debian's chromium through playwright-core) against a running
 * daemon: the page loads, its curves change between two screenshots as training goes on, and
 * the 3D view draws the pendulum and moves it, checked in the canvas's pixels.
 * SACBRIDGE_SCREENSHOT=FILE keeps the page's screenshot (README's docs/ui.png is made so).
 */

const BACKGROUND = [0xdd, 0xe3, 0xea] as const;

const points = (page: Page, chart: string): Promise<number> => page.$eval(`[data-chart="${chart}"]`, (el) => Number((el as HTMLElement).dataset.points ?? 0));

test('the daemon serves the web UI: curves update, the 3D view draws the robot and it moves', { timeout: 180_000 }, async () => {
  const dir = tempDir();
  const d = spawnDaemon([...TINY_SAC, '--daemon.stateDir', dir, '--metrics.enabled', 'false', '--sim.totalSteps', '1000000000', '--sim.evalEvery', '400', '--sim.evalEpisodes', '10']);
  const served = await d.waitFor(msgIs('web UI served'), 60_000);
  const url = String(served.url);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  // The pose stream as the page gets it, by what it shows.
  const streamed: Record<string, Set<string>> = {};
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}ws`);
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as { type: string; poses?: number[]; source?: string };
    if (m.type === 'poses') (streamed[m.source ?? '?'] ??= new Set()).add(m.poses!.join());
  });
  const browser = await launchChromium({ width: 1100, height: 720 });
  try {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('requestfailed', (r) => errors.push(`${r.url()}: ${r.failure()?.errorText}`));
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    // Live poses arrive over the WebSocket.
    await page.waitForFunction(() => Number(document.body.dataset.frames ?? 0) > 5, undefined, { timeout: 30_000 });

    const first = await scenePixels(page);
    assert.ok(differingPixels(first.data, BACKGROUND) > 500, `the scene draws something: ${differingPixels(first.data, BACKGROUND)} pixels differ from the background`);
    // The pendulum swings while it trains: the same view a moment later differs where the robot is.
    let moved = 0;
    for (let i = 0; i < 20 && moved < 50; i++) {
      await page.waitForTimeout(150);
      moved = differingPixels(first.data, (await scenePixels(page)).data);
    }
    assert.ok(moved >= 50, `robot pixels change as it moves: ${moved} pixels changed`);
    assert.ok(moved < first.width * first.height * 0.5, `only the robot moves, not the whole view: ${moved} pixels changed`);

    // Curves: two screenshots of the charts a few seconds apart differ, with more points in the second.
    await page.waitForFunction(() => Number(document.querySelector('[data-chart^="return"]')?.getAttribute('data-points') ?? 0) >= 1, undefined, { timeout: 60_000 });
    const pointsBefore = await points(page, 'return (episodes and evaluations)');
    const shotBefore = await page.locator('#charts').screenshot();
    await page.waitForFunction((n) => Number(document.querySelector('[data-chart^="return"]')?.getAttribute('data-points') ?? 0) > n, pointsBefore, { timeout: 60_000 });
    // The drawing may trail the data by a frame or two on a loaded machine: look a few times.
    let shotAfter = shotBefore;
    for (let i = 0; i < 10 && shotAfter.equals(shotBefore); i++) {
      await page.waitForTimeout(300);
      shotAfter = await page.locator('#charts').screenshot();
    }
    assert.ok(!shotBefore.equals(shotAfter), 'the charts look different after more episodes');
    assert.ok((await points(page, 'return (episodes and evaluations)')) > pointsBefore);
    assert.ok((await points(page, 'losses')) > 0, 'loss curves drawn');

    // Live while training and while evaluating: the evaluation episodes stream as they run.
    const t0 = Date.now();
    while ((streamed.evaluation?.size ?? 0) < 3 && Date.now() - t0 < 60_000) await page.waitForTimeout(200);
    assert.ok((streamed.evaluation?.size ?? 0) >= 3, `the evaluation's poses stream and change: ${streamed.evaluation?.size ?? 0} distinct frames`);
    assert.ok((streamed.training?.size ?? 0) >= 3, `the training env's poses stream and change: ${streamed.training?.size ?? 0} distinct frames`);

    // Status from the daemon: phase and the acting policy's version.
    await page.waitForFunction(() => document.getElementById('phase')?.textContent === 'sim_training', undefined, { timeout: 30_000 });
    assert.match((await page.textContent('#policy')) ?? '', /^\d+$/);
    assert.deepEqual(errors, [], 'no page errors or failed requests (everything is served locally)');

    await page.evaluate(() => window.scrollTo(0, 0)); // the element screenshots scrolled to the charts
    const shot = await page.screenshot();
    if (process.env.SACBRIDGE_SCREENSHOT) writeFileSync(process.env.SACBRIDGE_SCREENSHOT, shot);
    else writeFileSync(join(dir, 'ui.png'), shot);
  } finally {
    ws.close();
    await browser.close();
    d.child.kill('SIGTERM');
    await d.exit;
  }
});
