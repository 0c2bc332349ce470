import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loadAddon, SdNotify } from '../../src/daemon/sdNotify.js';
import { ensureAddon, notifyReceiver, tempDir } from './helpers.js';

before(ensureAddon);

test('the addon is built and loads', () => {
  assert.notEqual(loadAddon(), null);
});

for (const prefer of ['addon', 'systemd-notify'] as const) {
  for (const kind of ['path', 'abstract'] as const) {
    test(`${prefer} sends READY, STATUS, WATCHDOG and STOPPING to a real ${kind} AF_UNIX datagram socket`, async () => {
      const socketPath = kind === 'path' ? join(tempDir(), 'notify.sock') : `@sacbridge-test-${process.pid}-${prefer}`;
      const rx = await notifyReceiver(socketPath);
      try {
        const sd = new SdNotify({ env: { NOTIFY_SOCKET: socketPath, PATH: process.env.PATH }, prefer, onError: (e) => assert.fail(e) });
        assert.equal(sd.transport, prefer);
        await sd.ready('serving');
        await sd.status('phase sim_training: 10 steps\nsecond line');
        await sd.watchdog();
        await sd.stopping();
        await rx.waitFor('STOPPING=1');
        const all = rx.messages.join('\n---\n');
        const ready = await rx.waitFor('READY=1');
        assert.match(ready, /^READY=1\nMAINPID=\d+\nSTATUS=serving/);
        assert.ok(rx.messages.includes('STATUS=phase sim_training: 10 steps second line'), all);
        assert.ok(rx.messages.includes('WATCHDOG=1'), all);
      } finally {
        await rx.close();
      }
    });
  }
}

test('without NOTIFY_SOCKET nothing is sent; the watchdog period is half of WATCHDOG_USEC, for our pid only', async () => {
  const off = new SdNotify({ env: {} });
  assert.equal(off.transport, 'none');
  await off.ready();
  assert.equal(off.watchdogIntervalMs, null);
  assert.equal(new SdNotify({ env: { WATCHDOG_USEC: '30000000' } }).watchdogIntervalMs, 15_000);
  assert.equal(new SdNotify({ env: { WATCHDOG_USEC: '30000000', WATCHDOG_PID: String(process.pid) } }).watchdogIntervalMs, 15_000);
  assert.equal(new SdNotify({ env: { WATCHDOG_USEC: '30000000', WATCHDOG_PID: '1' } }).watchdogIntervalMs, null);
  assert.equal(new SdNotify({ env: { WATCHDOG_USEC: 'x' } }).watchdogIntervalMs, null);
});

test('a send to a socket nobody listens on is reported, not thrown', async () => {
  const errors: Error[] = [];
  const sd = new SdNotify({ env: { NOTIFY_SOCKET: join(tempDir(), 'nobody.sock') }, prefer: 'addon', onError: (e) => errors.push(e) });
  await sd.ready();
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /sendto: (No such file|Connection refused)/);
});
