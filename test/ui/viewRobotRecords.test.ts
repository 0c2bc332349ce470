import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { launchChromium } from '../../src/ui/browser.js';
import { MAIN_JS, tempDir } from '../daemon/helpers.js';
import { openUi, startView } from './pixels.js';

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
  const { child: view, url } = await startView(MAIN_JS, run);
  const browser = await launchChromium({ width: 1100, height: 720 });
  try {
    const { page, errors } = await openUi(browser.context, url);
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
