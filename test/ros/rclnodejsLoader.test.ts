import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

test('on this machine (no ROS 2 sourced) the real environment is refused before any import', { skip: process.env.ROS_DISTRO ? 'a ROS 2 environment is sourced here' : false }, async () => {
  await assert.rejects(loadRclnodejs(), RosUnavailableError);
});
