import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('usage errors name the flag and exit 64', () => {
  const cases: [string[], RegExp][] = [
    [['train', '--task', 'no_such_task'], /--task no_such_task: unknown task 'no_such_task' \(nearest: 'point_reach'\); known tasks: .*pendulum.*point_reach.*HalfCheetah-v5.*or a task file/],
    [['train', '--steps', 'abc'], /--steps: expected an integer, got 'abc'/],
    [['train', '--steps', '0'], /--steps: must be >= 1, got 0/],
    [['train', '--seed', '1.5'], /--seed: expected an integer, got '1.5'/],
    [['train', '--variant', 'v3'], /--variant: 'v3' is not one of v1, v2/],
    [['train', '--stpes', '10'], /unknown flag --stpes/],
    [['train', '--out'], /--out: missing value/],
    [['eval'], /--checkpoint: required/],
    [['sim-robot', '--mass-scale', '0'], /--mass-scale: expected a factor > 0 or LO,HI/],
    [['sim-robot', '--mass-scale', '1.3,1.1'], /--mass-scale: expected a factor > 0 or LO,HI with 0 < LO <= HI, got '1.3,1.1'/],
    [['eval', '--checkpoint', 'x', '--episodes', '-1'], /--episodes: must be >= 1/],
    [['frobnicate'], /unknown command 'frobnicate' \(known: run, status, config, train, eval, export, tasks, plot, view, sim-robot\)/],
  ];
  for (const [args, pattern] of cases) {
    const r = cli(...args);
    assert.equal(r.code, 64, `${args.join(' ')}: exit ${r.code}, stderr ${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(' '));
  }
});

test('no arguments prints help and starts nothing; --version prints the package version', () => {
  const none = cli();
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /^usage: sacbridge <command>/);
  assert.match(none.stdout, /^ {2}train /m);
  assert.equal(none.stderr, '', 'no training started (it would log to stderr)');
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const v = cli(flag);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, `sacbridge ${pkg.version}\n`);
  }
  const flagFirst = cli('--steps', '10');
  assert.equal(flagFirst.code, 64);
  assert.match(flagFirst.stderr, /a command comes first \(e\.g\. 'sacbridge train --steps 10'\)/);
});

test('plot writes the format --out names or refuses before writing anything', () => {
  const root = mkdtempSync(join(tmpdir(), 'sacbridge-plot-'));
  writeFileSync(join(root, 'metrics.jsonl'), [1, 2, 3].map((i) => JSON.stringify({ type: 'episode', step: i * 100, return: -i })).join('\n') + '\n');
  for (const name of ['x.pdf', 'x.jpg', 'x']) {
    const r = cli('plot', root, '--out', join(root, name));
    assert.equal(r.code, 64, `${name}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`--out .*${name.replace('.', '\\.')}: cannot write '(\\.\\w+|\\(no extension\\))' files; name a \\.svg or \\.png file`));
    assert.ok(!existsSync(join(root, name)), `${name} not written`);
  }
  const svg = cli('plot', root, '--out', join(root, 'c.svg'));
  assert.equal(svg.code, 0, svg.stderr);
  assert.match(readFileSync(join(root, 'c.svg'), 'utf8'), /^<svg /);
  // PNG is rendered by rsvg-convert (librsvg2-bin, installed by .ci/run): check the file's signature and size.
  const png = cli('plot', root, '--out', join(root, 'c.png'));
  assert.equal(png.code, 0, png.stderr);
  const bytes = readFileSync(join(root, 'c.png'));
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.ok(bytes.readUInt32BE(16) > 100 && bytes.readUInt32BE(20) > 100, 'IHDR width and height');
  rmSync(root, { recursive: true });
});

test('tasks and --help', () => {
  const t = cli('tasks');
  assert.equal(t.code, 0);
  assert.match(t.stdout, /^pendulum .*\[default\]$/m);
  assert.match(t.stdout, /^point_reach /m);
  const h = cli('--help');
  assert.equal(h.code, 0);
  assert.match(h.stdout, /usage: sacbridge <command>/);
  const th = cli('train', '--help');
  assert.equal(th.code, 0);
  assert.match(th.stdout, /--resume/);
});

test('train, resume and eval end to end; a missing or corrupt checkpoint is reported by name', () => {
  const root = mkdtempSync(join(tmpdir(), 'sacbridge-cli-'));
  const out = join(root, 'run');
  const common = ['--task', 'point_reach', '--learning-starts', '100', '--batch-size', '16', '--eval-every', '0', '--out', out];
  const first = cli('train', ...common, '--steps', '120');
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /task point_reach, seed 0, 120 steps/);
  assert.ok(!first.stderr.includes('\x1b['), 'no terminal control codes when stderr is not a TTY');
  assert.ok(existsSync(join(out, 'checkpoints', 'latest')));
  const episodes = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
  assert.equal(episodes.filter((r) => r.type === 'episode').length, 2);

  // A second run into the same directory without --resume is refused; the first run is untouched.
  const before = readFileSync(join(out, 'metrics.jsonl'), 'utf8');
  const again = cli('train', ...common, '--steps', '120');
  assert.equal(again.code, 64, again.stderr);
  assert.match(again.stderr, /run directory .*run already holds a run \(1 checkpoint generation\(s\) and metrics\.jsonl \(\d+ bytes\)\): pass --resume to continue it, or choose another --out/);
  assert.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8'), before);
  assert.ok(existsSync(join(out, 'checkpoints', 'gen-00000001', 'manifest.json')));

  const second = cli('train', ...common, '--steps', '150', '--resume');
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /resumed at step 120 \(21 updates\)/);

  const ev = cli('eval', '--checkpoint', out, '--episodes', '2', '--json');
  assert.equal(ev.code, 0, ev.stderr);
  const result = JSON.parse(ev.stdout) as { task: string; steps: number; returns: number[]; mean_return: number };
  assert.equal(result.task, 'point_reach');
  assert.equal(result.steps, 150);
  assert.equal(result.returns.length, 2);
  assert.ok(Number.isFinite(result.mean_return));

  const missing = cli('eval', '--checkpoint', join(root, 'nothing'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no checkpoint in .*nothing/);

  // Corrupt the newest generation: eval warns and uses the previous one; corrupt both: an error naming the file.
  const gens = ['gen-00000002', 'gen-00000001'].map((g) => join(out, 'checkpoints', g));
  writeFileSync(join(gens[0], 'agent.f32'), 'garbage');
  const fallback = cli('eval', '--checkpoint', out, '--episodes', '1', '--json');
  assert.equal(fallback.code, 0, fallback.stderr);
  assert.match(fallback.stderr, /gen-00000002 is unusable: .*agent\.f32.*falling back to gen-00000001/);
  assert.equal((JSON.parse(fallback.stdout) as { steps: number }).steps, 120);
  writeFileSync(join(gens[1], 'replay.bin'), 'garbage');
  const broken = cli('eval', '--checkpoint', out);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /no usable checkpoint.*\n.*agent\.f32.*\n.*replay\.bin/);
  rmSync(root, { recursive: true });
});

test('SIGTERM during training stops after the step, writes a checkpoint and exits 0', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sacbridge-sig-'));
  const child = spawn(process.execPath, [MAIN, 'train', '--task', 'point_reach', '--steps', '1000000', '--learning-starts', '50', '--batch-size', '16', '--eval-every', '0', '--checkpoint-every', '0', '--out', root], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Wait until training is under way (the first episode is in the metrics).
  const metrics = join(root, 'metrics.jsonl');
  while (!(existsSync(metrics) && readFileSync(metrics, 'utf8').includes('"episode"'))) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.equal(code, 0, stderr);
  assert.match(stderr, /SIGTERM: stopping after this step/);
  assert.match(stderr, /checkpoint .*gen-00000001/);
  const records = readFileSync(metrics, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number });
  const ck = records.filter((r) => r.type === 'checkpoint');
  assert.equal(ck.length, 1);
  assert.ok(ck[0].step >= 50);
  rmSync(root, { recursive: true });
});

test('train takes every hyperparameter from --rl.<key>, SACBRIDGE_RL_*, --config and --preset; a bad one exits 78 naming it', () => {
  const root = mkdtempSync(join(tmpdir(), 'sacbridge-cli-hp-'));
  const conf = join(root, 'c.json');
  writeFileSync(conf, JSON.stringify({ rl: { hiddenSizes: [8], batchSize: 8 } }));
  const out = join(root, 'run');
  const r = spawnSync(
    process.execPath,
    [MAIN, 'train', '--task', 'point_reach', '--steps', '60', '--eval-every', '0', '--out', out, '--config', conf, '--preset', 'paper', '--rl.criticLr', '2e-3', '--rl.learningStarts=20', '--rl.criticLayerNorm', 'true'],
    { encoding: 'utf8', timeout: 120_000, env: { ...process.env, SACBRIDGE_RL_TARGET_UPDATE_FREQUENCY: '2' } },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /rl\.criticLr=0\.002 \(flag --rl\.criticLr\)/);
  assert.match(r.stderr, /rl\.policyFrequency=1 \(preset paper\)/);
  assert.match(r.stderr, /rl\.targetUpdateFrequency=2 \(env SACBRIDGE_RL_TARGET_UPDATE_FREQUENCY\)/);
  assert.match(r.stderr, /rl\.batchSize=8 \(file /);
  // The checkpoint holds what the run trained with.
  const latest = readFileSync(join(out, 'checkpoints', 'latest'), 'utf8').trim();
  const manifest = JSON.parse(readFileSync(join(out, 'checkpoints', latest, 'manifest.json'), 'utf8')) as { hyperparameters: Record<string, unknown> };
  assert.deepEqual(
    [manifest.hyperparameters.criticLearningRate, manifest.hyperparameters.policyFrequency, manifest.hyperparameters.targetUpdateFrequency, manifest.hyperparameters.criticLayerNorm, manifest.hyperparameters.hidden, manifest.hyperparameters.learningStarts],
    [0.002, 1, 2, true, [8], 20],
  );
  const bad = cli('train', '--task', 'point_reach', '--steps', '10', '--out', join(root, 'bad'), '--rl.criticLr', 'fast', '--rl.polcyFrequency', '2');
  assert.equal(bad.code, 78, bad.stderr);
  assert.match(bad.stderr, /rl\.criticLr = "fast" \(flag --rl\.criticLr\): must be "auto" or a number > 0/);
  assert.match(bad.stderr, /rl\.polcyFrequency .*unknown flag: not a configuration key/);
  rmSync(root, { recursive: true });
});
