import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { launchChromium } from '../../src/ui/browser.js';
import { MAIN_JS, tempDir } from '../daemon/helpers.js';

/**
 * The page reads the daemon's robot records as they are written (phase 'robot', with the safety
 * layer's counters): a robot return series beside the sim one, a safety event where a counter
 * grew, and a run without a checkpoint says it has no model to draw.
 */
test('`sacbridge view` of sim and robot records: robot returns, safety events, no model to draw', { timeout: 120_000 }, async () => {
  const run = tempDir();
  const lines = [
    { type: 'episode', step: 200, episode: 1, return: -900, length: 200, terms: { angle_cost: -800, ctrl_cost: -100 } },
    { type: 'eval', step: 200, mean_return: -700, std_return: 0, returns: [-700] },
    { type: 'episode', phase: 'robot', step: 400, episode: 2, return: -300, length: 200, policy_version: 5, safety: { clamped: 0, rateLimited: 0 } },
    { type: 'episode', phase: 'robot', step: 600, episode: 3, return: -200, length: 200, policy_version: 9, safety: { clamped: 4, rateLimited: 0 } },
  ];
  writeFileSync(join(run, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const view = spawn(process.execPath, [MAIN_JS, 'view', run, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    view.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    view.on('exit', (code) => reject(new Error(`view exited ${code}`)));
  });
  const browser = await launchChromium({ width: 1100, height: 720 });
  try {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    const legend = await page.$$eval('[data-chart^="return"] .u-legend .u-label', (els) => els.map((e) => e.textContent));
    assert.deepEqual(legend, ['episode (sim)', 'episode (robot)', 'evaluation']);
    assert.equal(await page.$eval('[data-chart^="return"]', (el) => (el as HTMLElement).dataset.points), '4');
    assert.equal(await page.$eval('[data-chart^="reward terms"]', (el) => (el as HTMLElement).dataset.points), '2');
    const events = await page.$$eval('#events li', (els) => els.map((e) => e.textContent ?? ''));
    assert.equal(events.filter((e) => /safety in episode 3 \(step 600\): clamped \+4$/.test(e)).length, 1, events.join(' | '));
    assert.match((await page.textContent('#scene')) ?? '', /no MuJoCo model to draw/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    view.kill('SIGTERM');
  }
  assert.equal(await new Promise((r) => view.on('exit', r)), 0);
});
