import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { initialDaemonState, LockError, processStartTime, resolveStateDir, seal, StateDir, unseal } from '../../src/daemon/stateDir.js';
import { tempDir } from './helpers.js';

test('state directory: explicit, systemd, XDG, home', () => {
  assert.equal(resolveStateDir('/srv/sb', { STATE_DIRECTORY: '/var/lib/sacbridge' }), '/srv/sb');
  assert.equal(resolveStateDir('', { STATE_DIRECTORY: '/var/lib/sacbridge:/var/lib/other' }), '/var/lib/sacbridge');
  assert.equal(resolveStateDir('', { INVOCATION_ID: 'abc', HOME: '/home/u' }), '/var/lib/sacbridge');
  assert.equal(resolveStateDir('', { XDG_STATE_HOME: '/home/u/.st', HOME: '/home/u' }), '/home/u/.st/sacbridge');
  assert.equal(resolveStateDir('', { HOME: '/home/u' }), '/home/u/.local/state/sacbridge');
});

test('sealed files: a changed byte is detected', () => {
  const text = seal({ a: 1, b: [1, 2] });
  assert.deepEqual(unseal(text), { ok: true, payload: { a: 1, b: [1, 2] } });
  assert.deepEqual(unseal(text.replace('"a":1', '"a":2')), { ok: false, reason: 'checksum mismatch' });
  assert.equal(unseal('{"a":1}').ok, false);
  assert.equal(unseal(text.slice(0, 40)).ok, false);
});

test('daemon state: alternate slots; a corrupt newest copy falls back to the older one', () => {
  const sd = new StateDir(tempDir());
  sd.prepare();
  assert.deepEqual(sd.loadState().state, initialDaemonState());
  let s = sd.saveState({ ...initialDaemonState(), jobSteps: 100 });
  s = sd.saveState({ ...s, jobSteps: 200, phase: { phase: 'sim_training', resumeTo: null } });
  assert.equal(sd.loadState().state.jobSteps, 200);
  const files = readdirSync(sd.dir).filter((f) => f.startsWith('daemon-state.'));
  assert.equal(files.length, 2);
  // Corrupt the newest slot (seq 2 -> slot a).
  const newest = join(sd.dir, 'daemon-state.a.json');
  writeFileSync(newest, readFileSync(newest, 'utf8').replace('"jobSteps":200', '"jobSteps":900'));
  const r = sd.loadState();
  assert.equal(r.state.jobSteps, 100);
  assert.equal(r.refused.length, 1);
  assert.match(r.refused[0]!, /daemon-state\.a\.json: checksum mismatch/);
});

test('lock: refused while a live process holds it; taken over from a dead one or a reused pid', async () => {
  const dir = tempDir();
  const sd = new StateDir(dir);
  sd.prepare();
  // A live holder: a real process that is not us.
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  await new Promise((r) => holder.once('spawn', r));
  const startTime = processStartTime(holder.pid!);
  assert.ok(startTime !== null);
  writeFileSync(sd.lockPath, JSON.stringify({ pid: holder.pid, startTime, host: (await import('node:os')).hostname() }));
  assert.throws(() => sd.lock(), (err: unknown) => err instanceof LockError && /in use by another sacbridge daemon \(pid \d+/.test(err.message));
  // Same pid, other start time: the pid was reused, the lock is stale.
  writeFileSync(sd.lockPath, JSON.stringify({ pid: holder.pid, startTime: '1', host: (await import('node:os')).hostname() }));
  sd.lock();
  assert.equal(sd.readLock()!.pid, process.pid);
  sd.unlock();
  assert.equal(existsSync(sd.lockPath), false);
  // A dead holder.
  holder.kill('SIGKILL');
  await new Promise((r) => holder.once('exit', r));
  writeFileSync(sd.lockPath, JSON.stringify({ pid: holder.pid, startTime, host: (await import('node:os')).hostname() }));
  sd.lock();
  assert.equal(sd.readLock()!.pid, process.pid);
  // Garbage in the lock file counts as stale too.
  sd.unlock();
  writeFileSync(sd.lockPath, 'garbage');
  sd.lock();
  sd.unlock();
});
