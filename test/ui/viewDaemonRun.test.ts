import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { launchChromium } from '../../src/ui/browser.js';
import type { Replay } from '../../src/ui/replay.js';
import { MAIN_JS, msgIs, spawnDaemon, tempDir, TINY_SAC } from '../daemon/helpers.js';
import { differingPixels, openUi, scenePixels, startView } from './pixels.js';

/**
 * A daemon run records its evaluation episodes (RUN_DIR/replays/); `sacbridge view RUN_DIR` shows
 * that finished run (curves and replays) in a real browser. (`eval --video` of a trained policy:
 * trainVideo.test.ts.)
 */

type Api = { sacbridge: { loadReplay(n: string): Promise<{ frames: number; dt: number }>; showFrame(i: number): void } };

test('evaluation replays in the daemon\'s run directory, `sacbridge view` of the finished run in a browser', { timeout: 300_000 }, async () => {
  const state = tempDir();
  const d = spawnDaemon([...TINY_SAC, '--daemon.stateDir', state, '--metrics.enabled', 'false', '--sim.totalSteps', '600', '--sim.evalEvery', '300', '--sim.evalEpisodes', '1']);
  await d.waitFor(msgIs('phase evaluating -> idle'), 120_000);
  d.child.kill('SIGTERM');
  assert.equal((await d.exit).code, 0);
  const run = join(state, 'run');

  // One replay per evaluation round (at 300 and 600 steps): the model's state and body poses per frame.
  const names = readdirSync(join(run, 'replays')).sort();
  assert.deepEqual(names, ['eval-0000000300.json', 'eval-0000000600.json']);
  const replay = JSON.parse(readFileSync(join(run, 'replays', names[1]!), 'utf8')) as Replay;
  assert.equal(replay.format, 'sacbridge-replay-1');
  assert.equal(replay.step, 600);
  assert.equal(replay.poses.length, 201, 'the reset and 200 steps of a pendulum episode');
  assert.equal(replay.qpos.length, 201);
  assert.ok(replay.poses.every((p) => p.length === 7 * replay.bodies.length));
  assert.ok(replay.dt > 0);
  const evalRecord = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number; returns: number[] }).find((r) => r.type === 'eval' && r.step === 600)!;
  assert.ok(Math.abs(evalRecord.returns[0]! - replay.return) < 1e-6 * Math.max(1, Math.abs(replay.return)), 'the replay is the evaluation episode');
  assert.ok(Math.abs(replay.rewards.reduce((a, b) => a + b, 0) - replay.return) < 0.01, 'its rewards add up to its return');

  // sacbridge view RUN_DIR
  const { child: view, url } = await startView(MAIN_JS, run);
  const browser = await launchChromium({ width: 1100, height: 720 });
  try {
    const { page, errors } = await openUi(browser.context, url);
    // 3 training episodes and 2 evaluations on the return chart.
    assert.equal(await page.$eval('[data-chart^="return"]', (el) => (el as HTMLElement).dataset.points), '5');
    assert.deepEqual(await page.$$eval('#replays option', (os) => os.map((o) => (o as HTMLOptionElement).value)), names);
    const info = await page.evaluate((n) => (window as unknown as Api).sacbridge.loadReplay(n), names[1]!);
    assert.deepEqual(info, { frames: 201, dt: replay.dt });
    await page.evaluate(() => (window as unknown as Api).sacbridge.showFrame(0));
    const a = (await scenePixels(page)).data;
    await page.evaluate(() => (window as unknown as Api).sacbridge.showFrame(60));
    const b = (await scenePixels(page)).data;
    assert.ok(differingPixels(a, b) >= 50, `the replayed pendulum moves: ${differingPixels(a, b)} pixels changed between frames 1 and 61`);
    // Playing it in the page at its recorded speed reaches the last frame.
    await page.click('#play');
    await page.waitForFunction(() => document.body.dataset.replayFrame === '201', undefined, { timeout: 60_000 });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    view.kill('SIGTERM');
  }
  assert.equal(await new Promise((r) => view.on('exit', r)), 0);
});
