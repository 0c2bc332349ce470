import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { RosUnavailableError, loadRclnodejs, rosEnvironmentProblem } from '../../src/plant/ros/rclnodejs.js';

// A package folder shaped like an installed rclnodejs (package.json, dist/index.cjs).
const pkg = mkdtempSync(join(tmpdir(), 'rclnodejs-pkg-'));
writeFileSync(join(pkg, 'package.json'), '{"name":"rclnodejs"}');
mkdirSync(join(pkg, 'dist'));
const resolves = () => join(pkg, 'dist', 'index.cjs');
const missing = (id: string): string => { throw new Error(`Cannot find module '${id}'`); };

test('rclnodejs loader refuses without a sourced ROS 2, naming what is missing', async () => {
  const prefix = mkdtempSync(join(tmpdir(), 'ament-'));
  assert.match(rosEnvironmentProblem({ env: {}, resolve: resolves }) ?? '', /ROS_DISTRO is not set/);
  assert.match(rosEnvironmentProblem({ env: { ROS_DISTRO: 'jazzy' }, resolve: resolves }) ?? '', /AMENT_PREFIX_PATH is empty/);
  assert.match(rosEnvironmentProblem({ env: { ROS_DISTRO: 'jazzy', AMENT_PREFIX_PATH: prefix }, resolve: resolves }) ?? '', /holds lib\/librcl\.so/);
  mkdirSync(join(prefix, 'lib'));
  writeFileSync(join(prefix, 'lib', 'librcl.so'), '');
  const env = { ROS_DISTRO: 'jazzy', AMENT_PREFIX_PATH: prefix };
  assert.match(rosEnvironmentProblem({ env: { ...env, RCLNODEJS_FORCE_BUILD: '1' }, resolve: resolves }) ?? '', /RCLNODEJS_FORCE_BUILD/);
  assert.match(rosEnvironmentProblem({ env, resolve: missing }) ?? '', /rclnodejs is not installed/);
  assert.match(rosEnvironmentProblem({ env, resolve: resolves }) ?? '', /native addon build\/Release\/rclnodejs\.node is missing/);
  mkdirSync(join(pkg, 'build', 'Release'), { recursive: true });
  writeFileSync(join(pkg, 'build', 'Release', 'rclnodejs.node'), '');
  assert.equal(rosEnvironmentProblem({ env, resolve: resolves }), null);
  await assert.rejects(loadRclnodejs({ env: {} }), (e: unknown) => e instanceof RosUnavailableError && /cannot load rclnodejs: ROS_DISTRO/.test(e.message));
});

// Run in a child without the ROS 2 variables, so the check runs whether or not this shell sourced ROS.
test('without a sourced ROS 2 the real environment is refused before any import', () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(ROS_|AMENT_|COLCON_)/.test(k)));
  const loader = new URL('../../src/plant/ros/rclnodejs.js', import.meta.url).href;
  const script = `const m = await import(${JSON.stringify(loader)});
    try { await m.loadRclnodejs(); console.log('loaded'); }
    catch (e) { console.log(e instanceof m.RosUnavailableError ? 'refused: ' + e.message : 'other: ' + e); }`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
  assert.match(out, /^refused: /, out);
});
