import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ANY_PORTS, ROOT, tempDir } from '../daemon/helpers.js';
import { gymnasiumModelDir } from '../sim/simFixtures.js';

/**
 * systemd/README.md's install from a checkout: `npm pack`, then `npm install -g` of the tarball.
 * The global prefix is a temporary directory, so nothing on the machine changes. `npm pack` runs
 * with --ignore-scripts because its `prepare` script (tsc) would rewrite dist/ under the tests that
 * run beside this one; `npm test` has just built it.
 */
test('npm pack + npm install -g of the tarball gives a working sacbridge and sacbridge-start', { timeout: 600_000 }, () => {
  const dir = tempDir();
  const pack = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(pack.status, 0, pack.stderr);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const tgz = readdirSync(dir).filter((f) => /^sacbridge-.*\.tgz$/.test(f));
  assert.deepEqual(tgz, [`sacbridge-${pkg.version}.tgz`]);

  const prefix = join(dir, 'prefix');
  const install = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, tgz[0]!)], { encoding: 'utf8', timeout: 540_000 });
  assert.equal(install.status, 0, `${install.stdout}\n${install.stderr}`);
  const home = join(prefix, 'lib', 'node_modules', 'sacbridge');
  for (const f of ['dist/src/cli/main.js', 'sim', 'config/examples/sim-only.json', 'systemd/sacbridge-start', 'systemd/sacbridge.service']) {
    assert.ok(existsSync(join(home, f)), `${f} is in the installed package`);
  }
  assert.ok(!existsSync(join(home, 'dist', 'test')), 'tests are not shipped');

  // The bin link npm made, as a user runs it.
  const bin = join(prefix, 'bin', 'sacbridge');
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  assert.equal(version.status, 0, version.stderr);
  assert.equal(version.stdout, `sacbridge ${pkg.version}\n`);
  // config check runs run's start-up checks: this machine's Gymnasium models, a state directory
  // and ports of the test's own stand in for the example's deployment paths and ports.
  const here = ['--sim.gymnasiumModelDir', gymnasiumModelDir(), '--daemon.stateDir', join(dir, 'state'), ...ANY_PORTS, '--metrics.port', '0'];
  const check = spawnSync(bin, ['config', 'check', join(home, 'config', 'examples', 'sim-only.json'), ...here], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);

  // The unit's wrapper with SACBRIDGE_HOME pointing at the installed package runs the same CLI;
  // `tasks` loads the task registry and the built-in MJCF from the installed files.
  const start = spawnSync('sh', [join(home, 'systemd', 'sacbridge-start'), 'tasks'], { encoding: 'utf8', env: { ...process.env, SACBRIDGE_HOME: home } });
  assert.equal(start.status, 0, start.stderr);
  assert.match(start.stdout, /^pendulum .*\[default\]$/m);
  rmSync(dir, { recursive: true }); // the installed dependencies take a few hundred MB
});
