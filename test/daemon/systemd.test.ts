import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, tempDir } from './helpers.js';

/**
 * systemd-analyze on the shipped unit. `verify` checks that ExecStart's binary exists, and the
 * installed path (/usr/lib/sacbridge/sacbridge-start) does not on a build machine, so the unit
 * is verified as a copy whose ExecStart names the wrapper in this checkout; nothing else changes.
 */

const UNIT = join(ROOT, 'systemd', 'sacbridge.service');
const MAX_EXPOSURE = 2.0;

/** The unit as a copy, optionally with the real-time drop-in beside it as systemd would find it. */
function unitCopy(withRealtime = false): string {
  const text = readFileSync(UNIT, 'utf8');
  const exec = /^ExecStart=(\S+)/m.exec(text);
  assert.ok(exec, 'the unit has an ExecStart=');
  assert.equal(exec[1], '/usr/lib/sacbridge/sacbridge-start');
  const dir = tempDir();
  const copy = join(dir, 'sacbridge.service');
  writeFileSync(copy, text.replace(exec[1], join(ROOT, 'systemd', 'sacbridge-start')));
  if (withRealtime) {
    mkdirSync(join(dir, 'sacbridge.service.d'));
    copyFileSync(join(ROOT, 'systemd', 'realtime.conf'), join(dir, 'sacbridge.service.d', 'realtime.conf'));
  }
  return copy;
}

function verify(unit: string): void {
  const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  assert.equal(r.error, undefined, 'systemd-analyze is installed (Debian package systemd)');
  // Messages about the host itself (no running systemd in a container) are not about the unit;
  // a drop-in's bad line is reported with its own path.
  const aboutUnit = r.stderr.split('\n').filter((l) => l.includes('sacbridge.service'));
  assert.deepEqual(aboutUnit, []);
  assert.equal(r.status, 0, r.stderr);
}

function exposure(unit: string): number {
  const r = spawnSync('systemd-analyze', ['security', '--offline=true', unit], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const m = /Overall exposure level for sacbridge\.service: (\d+(?:\.\d+)?)/.exec(r.stdout);
  assert.ok(m, r.stdout.slice(-500));
  return Number(m[1]);
}

test('systemd-analyze verify accepts the unit, alone and with the real-time drop-in', () => {
  verify(unitCopy());
  verify(unitCopy(true));
});

test(`systemd-analyze security rates the unit at most ${MAX_EXPOSURE}, also with the real-time drop-in`, () => {
  const plain = exposure(unitCopy());
  assert.ok(plain <= MAX_EXPOSURE, `exposure ${plain} > ${MAX_EXPOSURE}`);
  const realtime = exposure(unitCopy(true));
  assert.ok(realtime <= MAX_EXPOSURE, `exposure with systemd/realtime.conf ${realtime} > ${MAX_EXPOSURE}`);
});

test('the real-time drop-in grants what realtime.* needs and nothing broader', () => {
  const text = readFileSync(join(ROOT, 'systemd', 'realtime.conf'), 'utf8');
  for (const line of ['RestrictRealtime=no', 'LimitRTPRIO=20', 'DeviceAllow=/dev/cpu_dma_latency w', 'BindPaths=/dev/cpu_dma_latency']) {
    assert.ok(text.includes(line), `missing ${line}`);
  }
  // Real-time scheduling of its own threads needs no capability; the device ACL is set by a root ExecStartPre.
  assert.doesNotMatch(text, /^(AmbientCapabilities|CapabilityBoundingSet)=/m);
  assert.match(text, /^ExecStartPre=\+\/usr\/bin\/setfacl -m u:sacbridge:w \/dev\/cpu_dma_latency$/m);
});

test('the unit has what the daemon relies on', () => {
  const text = readFileSync(UNIT, 'utf8');
  for (const line of ['Type=notify', 'NotifyAccess=main', 'Restart=on-failure', 'StateDirectory=sacbridge', 'RestartPreventExitStatus=78', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'CapabilityBoundingSet=\n', 'EnvironmentFile=-/etc/sacbridge/sacbridge.env']) {
    assert.ok(text.includes(line), `missing ${line.trim()}`);
  }
  assert.match(text, /^WatchdogSec=\d+s$/m);
  assert.doesNotMatch(text, /^MemoryDenyWriteExecute=yes/m, 'V8 needs W+X memory');
  const timeoutStop = Number(/^TimeoutStopSec=(\d+)s$/m.exec(text)![1]);
  assert.ok(timeoutStop > 60, 'TimeoutStopSec leaves room for daemon.stopTimeoutSeconds (60 s by default)');
});

test('the wrapper sources ROS 2 when asked and execs node with the arguments', () => {
  const dir = tempDir();
  const setup = join(dir, 'setup.sh');
  writeFileSync(setup, 'export FROM_ROS_SETUP=sourced\n');
  const home = join(dir, 'pkg');
  const fakeCli = join(home, 'dist', 'src', 'cli');
  spawnSync('mkdir', ['-p', fakeCli]);
  // A real node program standing where the package's CLI lives: prints what it was given.
  writeFileSync(join(fakeCli, 'main.js'), 'console.log(JSON.stringify({ argv: process.argv.slice(2), execArgv: process.execArgv, ros: process.env.FROM_ROS_SETUP ?? null, arenas: process.env.MALLOC_ARENA_MAX ?? null, pid: process.pid }))\n');
  const wrapper = join(ROOT, 'systemd', 'sacbridge-start');
  const run = (env: NodeJS.ProcessEnv) => spawnSync(wrapper, ['run', '--config', '/etc/x.json'], { encoding: 'utf8', env: { PATH: process.env.PATH, SACBRIDGE_HOME: home, SACBRIDGE_NODE: process.execPath, ...env } });
  const plain = run({});
  assert.equal(plain.status, 0, plain.stderr);
  assert.deepEqual(JSON.parse(plain.stdout).argv, ['run', '--config', '/etc/x.json']);
  assert.deepEqual(JSON.parse(plain.stdout).execArgv, ['--single-threaded-gc', '--max-semi-space-size=2'], 'the daemon runs with single-threaded GC and a small young generation');
  assert.equal(JSON.parse(plain.stdout).ros, null);
  assert.equal(JSON.parse(plain.stdout).arenas, '2', 'glibc malloc arenas capped (bench/nodeFlags.ts DAEMON_ENV)');
  assert.equal(JSON.parse(run({ MALLOC_ARENA_MAX: '4' }).stdout).arenas, '4', 'sacbridge.env may set another cap');
  const ros = run({ ROS_SETUP_SCRIPT: setup });
  assert.equal(JSON.parse(ros.stdout).ros, 'sourced');
  const missing = run({ ROS_SETUP_SCRIPT: join(dir, 'nope.sh') });
  assert.equal(missing.status, 78);
  assert.match(missing.stderr, /not readable/);
});

test('every way of starting the daemon passes the same V8 flags and environment, and the benchmarks measure with them', async () => {
  const { DAEMON_ENV, DAEMON_NODE_FLAGS } = await import('../../bench/nodeFlags.js');
  const flags = DAEMON_NODE_FLAGS.join(' ');
  const env = Object.entries(DAEMON_ENV).map(([k, v]) => `${k}=${v}`).join(' ');
  assert.equal(env, 'MALLOC_ARENA_MAX=2');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  assert.ok(pkg.scripts.start.startsWith(`${env} node ${flags} dist/src/cli/main.js `), `npm start: ${pkg.scripts.start}`);
  const shebang = readFileSync(join(ROOT, 'src', 'cli', 'main.ts'), 'utf8').split('\n')[0];
  assert.equal(shebang, `#!/usr/bin/env -S ${env} node ${flags}`);
  const wrapper = readFileSync(join(ROOT, 'systemd', 'sacbridge-start'), 'utf8');
  assert.match(wrapper, new RegExp(`^exec "\\$\\{SACBRIDGE_NODE:-node\\}" ${flags} "\\$home/dist/src/cli/main.js" "\\$@"$`, 'm'));
  for (const [k, v] of Object.entries(DAEMON_ENV)) assert.match(wrapper, new RegExp(`^export ${k}="\\$\\{${k}:-${v}\\}"$`, 'm'));
});
