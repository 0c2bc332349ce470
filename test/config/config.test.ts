import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, defaultConfig, envName, EX_CONFIG, getKey, leaves, loadConfig, schemaDocs } from '../../src/config/load.js';
import { PRESETS } from '../../src/config/presets.js';
import { ROOT, tempDir } from '../daemon/helpers.js';

const MAIN_JS = join(ROOT, 'dist', 'src', 'cli', 'main.js');

function writeJson(obj: unknown): string {
  const f = join(tempDir(), 'c.json');
  writeFileSync(f, typeof obj === 'string' ? obj : JSON.stringify(obj));
  return f;
}

function issuesOf(fn: () => unknown): ConfigError['issues'] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail('expected the configuration to be refused');
}

test('every key has a doc, a format, an env name and a valid default', () => {
  const all = leaves();
  assert.ok(all.length > 60, `only ${all.length} keys`);
  for (const { key, leaf } of all) {
    assert.ok(leaf.doc.length > 10, `${key} lacks a doc`);
    assert.ok(leaf.format.length > 0, `${key} lacks a format`);
    assert.equal(leaf.check(leaf.default), null, `${key}: default invalid`);
    assert.match(envName(key), /^SACBRIDGE_[A-Z0-9_]+$/);
  }
  for (const section of ['rl', 'sim', 'ros', 'switch', 'safety', 'zmq', 'daemon', 'compute', 'logging', 'metrics']) {
    assert.ok(all.some((l) => l.key.startsWith(section + '.')), `no keys in ${section}`);
  }
  assert.equal(envName('rl.batchSize'), 'SACBRIDGE_RL_BATCH_SIZE');
  assert.equal(envName('sim.randomize.massScale'), 'SACBRIDGE_SIM_RANDOMIZE_MASS_SCALE');
});

test('config/default.json is the schema defaults plus the quick start it names; the examples are valid', () => {
  const fromFile = loadConfig({ file: join(ROOT, 'config', 'default.json'), env: {} }).config;
  const d = defaultConfig();
  const quick = { ...d, rl: { ...d.rl, hiddenSizes: [64, 64], batchSize: 128, learningStarts: 1000 }, sim: { ...d.sim, evalEvery: 2000, evalEpisodes: 5 } };
  assert.deepEqual(fromFile, quick);
  assert.equal(fromFile.daemon.job, 'sac');
  assert.equal(fromFile.sim.task, 'pendulum');
  assert.equal(fromFile.ros.enabled, false);
  assert.deepEqual(loadConfig({ env: {} }).config, defaultConfig());
  const robot = loadConfig({ file: join(ROOT, 'config', 'examples', 'sim-then-robot.json'), env: {} }).config;
  assert.equal(robot.ros.enabled, true);
  assert.equal(robot.switch.mode, 'automatic');
  assert.deepEqual(robot.sim.randomize.massScale, [0.8, 1.2]);
  const sim = loadConfig({ file: join(ROOT, 'config', 'examples', 'sim-only.json'), env: {} }).config;
  assert.equal(sim.sim.task, 'HalfCheetah-v5');
  assert.equal(sim.switch.mode, 'never');
});

test('precedence: defaults < file < environment < flags, with origins', () => {
  const file = writeJson({ rl: { lr: 0.001, batchSize: 128 }, sim: { seed: 7, randomize: { massScale: [0.9, 1.1] } }, '//': 'comment' });
  const { config, origins } = loadConfig({
    file,
    env: { SACBRIDGE_RL_BATCH_SIZE: '64', SACBRIDGE_SIM_SEED: '9', SACBRIDGE_SIM_RANDOMIZE_FRICTION_SCALE: '[0.5, 2]', SACBRIDGE_ROS_ENABLED: 'false' },
    args: ['--sim.seed', '11', '--rl.targetEntropy=-3'],
  });
  assert.equal(config.rl.lr, 0.001);
  assert.equal(origins['rl.lr'], `file ${file}`);
  assert.equal(config.rl.batchSize, 64);
  assert.equal(origins['rl.batchSize'], 'env SACBRIDGE_RL_BATCH_SIZE');
  assert.equal(config.sim.seed, 11);
  assert.equal(origins['sim.seed'], 'flag --sim.seed');
  assert.equal(config.rl.targetEntropy, -3);
  assert.deepEqual(config.sim.randomize.massScale, [0.9, 1.1]);
  assert.deepEqual(config.sim.randomize.frictionScale, [0.5, 2]);
  assert.equal(config.ros.enabled, false);
  assert.equal(config.rl.gamma, 0.99);
  assert.equal(origins['rl.gamma'], 'default');
});

test('errors name the key, the value, the origin and the reason, all at once', () => {
  const file = writeJson({ rl: { lr: -1, batchSiz: 3, hiddenSizes: [256, 0] }, sim: { evalEpisodes: 0 }, logging: { level: 'loud' }, daemon: 5 });
  const issues = issuesOf(() => loadConfig({ file, env: { SACBRIDGE_RL_GAMMA: 'high', SACBRIDGE_RL_ALPHA_LEARN: 'maybe' }, args: ['--rl.tauu', '1', '--sim.frameSkip', '-2'] }));
  const by = new Map(issues.map((i) => [i.key, i]));
  assert.match(by.get('rl.lr')!.reason, /> 0/);
  assert.equal(by.get('rl.lr')!.value, -1);
  assert.equal(by.get('rl.lr')!.origin, `file ${file}`);
  assert.match(by.get('rl.batchSiz')!.reason, /not declared in the schema.*batchSize/);
  assert.match(by.get('rl.hiddenSizes')!.reason, /element 1/);
  assert.match(by.get('sim.evalEpisodes')!.reason, /integer >= 1/);
  assert.match(by.get('logging.level')!.reason, /one of "fatal"/);
  assert.match(by.get('daemon')!.reason, /must be an object/);
  assert.equal(by.get('rl.gamma')!.value, 'high');
  assert.equal(by.get('rl.gamma')!.origin, 'env SACBRIDGE_RL_GAMMA');
  assert.match(by.get('rl.alphaLearn')!.reason, /true or false/);
  assert.match(by.get('rl.tauu')!.reason, /unknown flag/);
  assert.equal(by.get('sim.frameSkip')!.origin, 'flag --sim.frameSkip');
  const err = new ConfigError(issues);
  assert.match(err.message, /rl\.lr = -1 \(file .*\): must be a number > 0 and <= 1/);
});

test('a file that is not JSON is reported with its line', () => {
  const issues = issuesOf(() => loadConfig({ file: writeJson('{\n  "rl": {\n    "lr": 0.1,\n  }\n}'), env: {} }));
  assert.equal(issues.length, 1);
  assert.match(issues[0]!.reason, /not valid JSON at line 4/);
  assert.match(issuesOf(() => loadConfig({ file: '/nonexistent/sacbridge.json', env: {} }))[0]!.reason, /cannot read/);
});

test('cross-key rules', () => {
  const issues = issuesOf(() =>
    loadConfig({
      file: writeJson({ zmq: { control: 'tcp://0.0.0.0:5557' }, safety: { commandMin: [-1, -1], commandMax: [1] }, switch: { mode: 'automatic' }, ros: { reset: { mode: 'scripted' } } }),
      env: {},
    }),
  );
  const keys = issues.map((i) => i.key).sort();
  assert.deepEqual(keys, ['ros.reset.script', 'safety.commandMax', 'switch.mode', 'zmq.control']);
  assert.match(issues.find((i) => i.key === 'zmq.control')!.reason, /CURVE|curve/);
  // Loopback, ipc and an explicit insecure flag are fine.
  loadConfig({ file: writeJson({ zmq: { control: 'tcp://0.0.0.0:5557', insecure: true, telemetry: 'ipc:///tmp/t', policy: 'tcp://[::1]:5556' } }), env: {} });
  // CURVE is all three files or none: the ZeroMQ side admits only listed client keys.
  const curve = issuesOf(() => loadConfig({ file: writeJson({ zmq: { control: 'tcp://0.0.0.0:5557', curveSecretKeyFile: '/k/secret', curvePublicKeyFile: '/k/public' } }), env: {} }));
  assert.deepEqual(curve.map((i) => i.key).sort(), ['zmq.control', 'zmq.curveAuthorizedKeysDir']);
  assert.match(curve.find((i) => i.key === 'zmq.curveAuthorizedKeysDir')!.reason, /CURVE needs .* together/);
  loadConfig({ file: writeJson({ zmq: { control: 'tcp://0.0.0.0:5557', curveSecretKeyFile: '/k/s', curvePublicKeyFile: '/k/p', curveAuthorizedKeysDir: '/k/clients' } }), env: {} });
});

test('unknown SACBRIDGE_ variables are warned about, not fatal', () => {
  const r = loadConfig({ env: { SACBRIDGE_RL_LRR: '1', SACBRIDGE_CONFIG: '/x', SACBRIDGE_NODE: '/usr/bin/node' } });
  assert.deepEqual(r.warnings, ['environment variable SACBRIDGE_RL_LRR is not a configuration key; ignored']);
});

test('`config check` prints the resolved configuration; exit 78 on a bad one', () => {
  const good = writeJson({ rl: { batchSize: 32 } });
  const ok = spawnSync(process.execPath, [MAIN_JS, 'config', 'check', good, '--sim.seed', '5'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.equal(ok.status, 0, ok.stderr);
  const resolved = JSON.parse(ok.stdout) as ReturnType<typeof defaultConfig>;
  assert.equal(resolved.rl.batchSize, 32);
  assert.equal(resolved.sim.seed, 5);
  assert.match(ok.stderr, /valid; 2 key\(s\) differ from the defaults: rl.batchSize \(file\), sim.seed \(flag\)/);

  const bad = spawnSync(process.execPath, [MAIN_JS, 'config', 'check', writeJson({ metrics: { port: 70000 } })], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  assert.equal(bad.status, EX_CONFIG);
  assert.match(bad.stderr, /metrics\.port = 70000 \(file .*\): must be an integer >= 0 and <= 65535/);
  assert.equal(bad.stdout, '');
});

test('`config docs` documents every key', () => {
  const r = spawnSync(process.execPath, [MAIN_JS, 'config', 'docs'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(r.stdout, schemaDocs());
  for (const { key } of leaves()) {
    assert.ok(r.stdout.includes(`  ${key}\n`), `${key} missing`);
    assert.ok(r.stdout.includes(envName(key)), `${envName(key)} missing`);
  }
  assert.ok(readFileSync(join(ROOT, 'config', 'README.md'), 'utf8').includes('logging.level'));
});

test('numbers from the environment and flags are plain decimal: 0x40, 1e2 or 12.0 are no integer', () => {
  for (const text of ['0x40', '0b1', '0o7', '1e2', '12.0', '', ' ', '64abc']) {
    const [fromEnv] = issuesOf(() => loadConfig({ env: { SACBRIDGE_RL_BATCH_SIZE: text } }));
    assert.deepEqual([fromEnv!.key, fromEnv!.value, fromEnv!.origin], ['rl.batchSize', text, 'env SACBRIDGE_RL_BATCH_SIZE'], text);
    assert.match(fromEnv!.reason, /must be a finite integer >= 1/);
    if (text.trim() === '') continue; // a flag needs a value
    const [fromFlag] = issuesOf(() => loadConfig({ env: {}, args: ['--rl.batchSize', text] }));
    assert.deepEqual([fromFlag!.key, fromFlag!.value, fromFlag!.origin], ['rl.batchSize', text, 'flag --rl.batchSize'], text);
  }
  for (const text of ['0x1', 'Infinity', '1/2']) {
    const [issue] = issuesOf(() => loadConfig({ env: {}, args: ['--rl.lr', text] }));
    assert.equal(issue!.key, 'rl.lr', text);
  }
  const ok = loadConfig({ env: { SACBRIDGE_RL_BATCH_SIZE: ' 64 ', SACBRIDGE_RL_LR: '1e-3' }, args: ['--rl.tau', '.01', '--sim.seed', '+7'] }).config;
  assert.deepEqual([ok.rl.batchSize, ok.rl.lr, ok.rl.tau, ok.sim.seed], [64, 1e-3, 0.01, 7]);
});

test('ZeroMQ endpoints are checked for what they are; metrics beyond loopback needs metrics.insecure', () => {
  const reasonFor = (endpoint: string): string => issuesOf(() => loadConfig({ env: {}, args: ['--zmq.control', endpoint] }))[0]!.reason;
  assert.equal(reasonFor('tcp://127.0.0.1:notaport'), 'port "notaport" is not a TCP port: use 1-65535, or * for any free port');
  assert.match(reasonFor('tcp://127.0.0.1:70000'), /port "70000" is not a TCP port/);
  assert.match(reasonFor('tcp://127.0.0.1'), /tcp:\/\/HOST:PORT/);
  assert.match(reasonFor('udp://127.0.0.1:5'), /must be a ZeroMQ endpoint/);
  for (const ok of ['tcp://127.0.0.1:*', 'tcp://localhost:1', 'ipc:///run/sacbridge.sock', '']) {
    loadConfig({ env: {}, args: ['--zmq.control', ok] });
  }
  const [issue] = issuesOf(() => loadConfig({ env: {}, args: ['--metrics.host', '0.0.0.0'] }));
  assert.deepEqual([issue!.key, issue!.value, issue!.origin], ['metrics.host', '0.0.0.0', 'flag --metrics.host']);
  assert.match(issue!.reason, /beyond loopback.*metrics\.insecure=true/);
  assert.equal(loadConfig({ env: {}, args: ['--metrics.host', '0.0.0.0', '--metrics.insecure', 'true'] }).config.metrics.host, '0.0.0.0');
  assert.equal(loadConfig({ env: {}, args: ['--metrics.host', '::1'] }).config.metrics.host, '::1');
  // Off, it binds nothing: no opt-in needed.
  loadConfig({ env: {}, args: ['--metrics.host', '0.0.0.0', '--metrics.enabled', 'false'] });
});

test('presets fill the rl.* keys left at their defaults; a key set in the file, environment or flags wins; origins say which', () => {
  for (const [name, preset] of Object.entries(PRESETS)) {
    assert.ok(preset.source.length > 40, `${name} names its source`);
    const { config, origins } = loadConfig({ env: {}, args: [`--rl.preset=${name}`] });
    for (const [k, v] of Object.entries(preset.values)) {
      assert.deepEqual(getKey(config, `rl.${k}`), v, `${name}: rl.${k}`);
      assert.equal(origins[`rl.${k}`], `preset ${name}`);
    }
  }
  const file = writeJson({ rl: { preset: 'paper', batchSize: 64 } });
  const { config, origins } = loadConfig({ file, env: { SACBRIDGE_RL_CRITIC_LR: '0.002' }, args: ['--rl.policyFrequency', '3'] });
  assert.equal(config.rl.criticLr, 0.002);
  assert.equal(origins['rl.criticLr'], 'env SACBRIDGE_RL_CRITIC_LR');
  assert.equal(config.rl.policyFrequency, 3);
  assert.equal(config.rl.batchSize, 64);
  assert.equal(config.rl.alphaLr, 'auto');
  assert.equal(origins['rl.alphaLr'], 'preset paper');
  assert.equal(config.rl.initialization, 'uniform-fan-in');
  assert.equal(origins['rl.initialization'], 'default');
  // Without a preset the schema defaults (CleanRL's settings) stand.
  const d = loadConfig({ env: {} }).config.rl;
  assert.deepEqual([d.criticLr, d.alphaLr, d.actorLr, d.policyFrequency, d.preset], [1e-3, 1e-3, 'auto', 2, '']);
  const issues = issuesOf(() => loadConfig({ env: {}, args: ['--rl.preset', 'sb3', '--rl.criticLr', '-1'] }));
  assert.deepEqual(issues.map((i) => i.key).sort(), ['rl.criticLr', 'rl.preset']);
  assert.match(issues.find((i) => i.key === 'rl.preset')!.reason, /must be one of "", "paper", "cleanrl", "droq"/);
  assert.match(issues.find((i) => i.key === 'rl.criticLr')!.reason, /must be "auto" or a number > 0 and <= 1/);
});
