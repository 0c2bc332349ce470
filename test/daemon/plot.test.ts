import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCurves, readCurves, robotSpans } from '../../src/plot/records.js';
import { downsample, movingAverage, niceTicks, renderLearningCurves } from '../../src/plot/svg.js';
import { MAIN_JS, msgIs, spawnDaemon, tempDir, TINY_SAC } from './helpers.js';

/** Records shaped like the trainer's (src/train/trainer.ts on the agent branch), extra fields included. */
function trainerLikeRun(dir: string): void {
  const lines: string[] = [];
  let alpha = 1;
  for (let step = 1000; step <= 50_000; step += 1000) {
    lines.push(JSON.stringify({ type: 'episode', step, episode: step / 1000, return: -500 + step / 50, length: 1000, terminated: false, steps_per_s: 50, time: new Date().toISOString() }));
    alpha *= 0.9;
    lines.push(JSON.stringify({ type: 'update', step, updates: step - 999, steps_per_s: 50, time: 't', qf1_loss: 10 / (1 + step / 1e4), qf2_loss: 11 / (1 + step / 1e4), actor_loss: -step / 1e3, alpha, alpha_loss: 0.1, entropy: 1, qf1_mean: 3 }));
    if (step % 10_000 === 0) lines.push(JSON.stringify({ type: 'eval', step, mean_return: -400 + step / 50, std_return: 3, returns: [1, 2], time: 't' }));
  }
  lines.push(JSON.stringify({ type: 'checkpoint', step: 50_000, path: '/x', time: 't' }));
  lines.push('{"type":"episode","step":51000,"ret'); // torn by a crash
  writeFileSync(join(dir, 'metrics.jsonl'), lines.join('\n') + '\n');
}

test('records: the trainer\'s fields are understood, extra fields ignored, torn lines skipped', () => {
  const dir = tempDir();
  trainerLikeRun(dir);
  const c = readCurves(dir);
  assert.equal(c.returns.x.length, 50);
  assert.equal(c.evalReturns.x.length, 5);
  assert.deepEqual(c.losses.map((s) => s.name).sort(), ['actor_loss', 'alpha_loss', 'qf1_loss', 'qf2_loss']);
  assert.equal(c.temperature.y.length, 50);
  assert.equal(c.skipped, 1);
  assert.equal(c.evalReturns.y[0], -200);
  const alt = parseCurves([{ file: 'x', text: '{"envSteps":5,"episodeReturn":3,"temperature":0.2,"criticLoss":1}\n[1,2]\n\n{"kind":"evaluation","global_step":9,"meanReturn":4}' }]);
  assert.deepEqual([alt.returns.x, alt.returns.y, alt.temperature.y, alt.losses[0]!.name, alt.evalReturns.x], [[5], [3], [0.2], 'criticLoss', [9]]);
  assert.equal(alt.skipped, 1);
});

test('robot episodes (phase "robot") are their own series on shaded "robot" stretches, apart from sim', () => {
  const rec = (step: number, phase: string | null, ret: number): string => JSON.stringify({ type: 'episode', ...(phase ? { phase } : {}), step, return: ret, length: 10, terms: { alive: ret } });
  const lines = [
    ...[1, 2, 3, 4].map((i) => rec(i * 100, null, -i)),
    ...[5, 6, 7].map((i) => rec(i * 100, 'robot', 10 * i)),
    rec(800, null, -8),
    ...[9, 10].map((i) => rec(i * 100, 'robot', 10 * i)),
    JSON.stringify({ type: 'update', step: 300, qf1_loss: 1, alpha: 0.2 }),
    JSON.stringify({ type: 'update', step: 850, qf1_loss: 0.5, alpha: 0.1 }),
  ];
  const c = parseCurves([{ file: 'm', text: lines.join('\n') }]);
  assert.deepEqual(c.returns.x, [100, 200, 300, 400, 800]);
  assert.deepEqual(c.robotReturns.x, [500, 600, 700, 900, 1000]);
  assert.deepEqual(c.robotReturns.y, [50, 60, 70, 90, 100]);
  assert.deepEqual(robotSpans(c), [{ from: 500, to: 700 }, { from: 900, to: 1000 }]);
  assert.deepEqual(robotSpans(parseCurves([{ file: 'm', text: rec(1, null, 0) }])), [], 'a sim-only run has no robot stretch');
  const svg = renderLearningCurves(c, 'run');
  // Two stretches in each of the three panels, and the robot's own legend entries.
  assert.equal(svg.match(/class="span"/g)?.length, 6);
  assert.equal(svg.match(/class="spanlabel">robot</g)?.length, 6);
  assert.match(svg, />robot episode return</);
  assert.match(svg, />robot episode return \(mean of \d+\)</);
});

test('records: the robot phase\'s fine-tuning measures become the critic and policy panels', () => {
  const lines = [
    JSON.stringify({ type: 'episode', phase: 'sim', step: 100, return: -9, entropy: 5 }),
    JSON.stringify({ type: 'episode', phase: 'robot', step: 200, return: -7, alpha: 0.05, entropy: 0.3, td_loss: 0.6, td_robot: 0.9, td_sim: 0.4, q_overestimation: 12, policy_drift: 0.02 }),
    JSON.stringify({ type: 'episode', phase: 'robot', step: 250, return: -6, alpha: 0.04, entropy: -0.5, td_robot: 1.1, q_overestimation: 10, policy_drift: 0.05 }),
  ];
  const c = parseCurves([{ file: 'm', text: lines.join('\n') }]);
  const byName = new Map(c.fineTuning.map((s) => [s.name, s]));
  assert.deepEqual(byName.get('td_robot'), { name: 'td_robot', x: [200, 250], y: [0.9, 1.1] });
  assert.deepEqual(byName.get('td_sim')!.y, [0.4]);
  assert.deepEqual(byName.get('entropy')!.x, [200, 250], 'the sim record\'s entropy is not a fine-tuning measure');
  assert.deepEqual(byName.get('policy_drift')!.y, [0.02, 0.05]);
  const svg = renderLearningCurves(c, 'run');
  assert.match(svg, /fine-tuning on the robot: critic/);
  assert.match(svg, /fine-tuning on the robot: policy/);
  assert.doesNotMatch(renderLearningCurves(parseCurves([{ file: 'm', text: lines[0]! }]), 'run'), /fine-tuning on the robot/);
});

test('ticks, downsampling, moving average', () => {
  const t = niceTicks(0.3, 9.2);
  assert.ok(t.lo <= 0.3 && t.hi >= 9.2);
  assert.deepEqual(t.values, [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(-1234, 5678).values.slice(0, 2), [-2000, 0]);
  const flat = niceTicks(5, 5);
  assert.ok(flat.lo < 5 && flat.hi > 5);
  const big = { name: 's', x: Array.from({ length: 10_000 }, (_, i) => 9999 - i), y: Array.from({ length: 10_000 }, (_, i) => 9999 - i) };
  const d = downsample(big, 100);
  assert.equal(d.x.length, 100);
  assert.ok(d.x.every((v, i) => i === 0 || v > d.x[i - 1]!), 'sorted by x');
  assert.equal(d.x[0], 49.5);
  assert.deepEqual(movingAverage({ name: 'r', x: [1, 2, 3, 4], y: [2, 4, 6, 8] }, 2).y, [2, 3, 5, 7]);
});

test('the SVG is well-formed XML with three titled panels, axes, labels and curves', () => {
  const dir = tempDir();
  trainerLikeRun(dir);
  const svg = renderLearningCurves(readCurves(dir), 'HalfCheetah-v5 <seed 0>');
  const file = join(dir, 'c.svg');
  writeFileSync(file, svg);
  // A real XML parser (Python's) reads it and reports what it found.
  const py = spawnSync('/usr/bin/python3', ['-c', `
import sys, xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
texts = [t.text for t in root.iter(ns + 'text')]
print(root.tag == ns + 'svg', len(list(root.iter(ns + 'path'))), len(list(root.iter(ns + 'circle'))))
print('|'.join(texts))
`, file], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const [head, texts] = py.stdout.split('\n');
  const [isSvg, paths, circles] = head!.split(' ');
  assert.equal(isSvg, 'True');
  assert.ok(Number(paths) >= 7, `paths: ${paths}`); // mean return, eval, 4 losses, alpha
  assert.equal(Number(circles), 50);
  for (const label of ['HalfCheetah-v5 <seed 0>: return', 'losses', 'temperature (log scale)', 'environment steps', 'qf1_loss', 'evaluation return', 'alpha', '1 unreadable line(s) skipped']) {
    assert.ok(texts!.includes(label), `missing "${label}" in ${texts}`);
  }
});

test('`sacbridge plot` draws a run of the real daemon, and refuses a directory with no metrics', async () => {
  const dir = tempDir();
  const d = spawnDaemon([...TINY_SAC, '--daemon.stateDir', dir, '--metrics.enabled', 'false', '--sim.totalSteps', '600', '--sim.evalEvery', '300', '--sim.evalEpisodes', '1']);
  await d.waitFor(msgIs('phase evaluating -> idle'), 60_000);
  d.child.kill('SIGTERM');
  assert.equal((await d.exit).code, 0);
  const out = join(tempDir(), 'curves.svg');
  const r = spawnSync(process.execPath, [MAIN_JS, 'plot', join(dir, 'run'), '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // 600 steps of 200-step episodes; evaluations at 300 and 600; an update record every 100 updates.
  assert.match(r.stdout, /3 episode returns, 2 evaluations, 4 loss series, 5 temperature points/);
  const svg = readFileSync(out, 'utf8');
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /qf1_loss/);
  const empty = spawnSync(process.execPath, [MAIN_JS, 'plot', tempDir()], { encoding: 'utf8' });
  assert.equal(empty.status, 65);
  assert.match(empty.stderr, /no metrics records/);
  assert.equal(spawnSync(process.execPath, [MAIN_JS, 'plot', '/nonexistent'], { encoding: 'utf8' }).status, 66);
});
