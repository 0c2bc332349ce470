import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControlLoop, MicrosecondHistogram } from '../../src/control/controlLoop.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (polling) until `done()` holds, so a loaded machine makes the test slower, not wrong. */
async function until(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

test('control loop: ticks on absolute deadlines at the configured rate, pings the watchdog, stops cleanly', async () => {
  const ticks: { index: number; scheduledMs: number }[] = [];
  let pings = 0;
  const loop = new ControlLoop({ rateHz: 500, onTick: (t) => { ticks.push(t); }, watchdog: { intervalMs: 50, ping: () => { pings++; } } });
  loop.start();
  assert.throws(() => loop.start(), /already running/);
  await sleep(300);
  await loop.stop();
  const n = ticks.length;
  assert.ok(n > 50 && n <= 151, `~150 ticks in 300 ms at 500 Hz, got ${n}`);
  for (let i = 1; i < n; i++) {
    const slots = ticks[i].index - ticks[i - 1].index;
    assert.ok(slots >= 1);
    assert.ok(Math.abs(ticks[i].scheduledMs - ticks[i - 1].scheduledMs - 2 * slots) < 1e-6, 'deadlines are t0 + k * period');
  }
  assert.ok(pings >= 2, `watchdog pinged ${pings} times`);
  const st = loop.stats();
  assert.equal(st.ticks, n);
  assert.ok(st.jitterUsP50 <= st.jitterUsP99 && st.jitterUsP99 <= st.jitterUsMax + 1);
  await sleep(20);
  assert.equal(ticks.length, n, 'no ticks after stop');
});

test('control loop: an overrunning tick skips the missed slots instead of bursting, and counts them late', async () => {
  const indexes: number[] = [];
  const loop = new ControlLoop({
    rateHz: 1000,
    onTick: (t) => {
      indexes.push(t.index);
      if (indexes.length === 5) { const end = performance.now() + 10.5; while (performance.now() < end) { /* a 10 ms stall */ } }
    },
  });
  loop.start();
  try {
    await until(() => indexes.length >= 8, 'eight ticks');
  } finally {
    await loop.stop();
  }
  const st = loop.stats();
  assert.ok(st.missedSlots >= 9, `missed ${st.missedSlots}`);
  assert.ok(indexes[5] - indexes[4] >= 10, `slot after the stall jumps ahead: ${indexes.slice(0, 8).join(',')}`);
  assert.ok(st.tickUsMax >= 10_000);
});

test('control loop: a throwing tick stops the loop and reports the error', async () => {
  let seen: unknown = null;
  let calls = 0;
  // Counted in calls, not slot indexes: a loaded machine may skip slot 3 altogether.
  const loop = new ControlLoop({ rateHz: 200, onTick: () => { if (++calls === 4) throw new Error('plant gone'); }, onError: (e) => { seen = e; } });
  loop.start();
  try {
    // Stopped by the error itself, however long the machine takes to reach tick 3.
    await until(() => !loop.isRunning, 'the loop to stop on its own');
  } finally {
    await loop.stop();
  }
  assert.match(String(seen), /plant gone/);
  assert.equal(calls, 4, 'no tick after the throwing one');
  assert.throws(() => new ControlLoop({ rateHz: 0, onTick: () => {} }), /rateHz must be in/);
});

test('microsecond histogram quantiles', () => {
  const h = new MicrosecondHistogram();
  for (let i = 1; i <= 1000; i++) h.add(i);
  assert.equal(h.quantile(0.5), 500);
  assert.equal(h.quantile(0.99), 990);
  assert.equal(h.max, 1000);
  h.add(-5);
  assert.equal(h.quantile(0), 0);
});

for (const wait of ['sleep', 'yield'] as const) {
  test(`control loop (wait: '${wait}'): io runs once before every tick, with the time it must end by, and the tick follows it`, async () => {
    const events: string[] = [];
    const untils: number[] = [];
    const scheduled: number[] = [];
    const loop = new ControlLoop({
      rateHz: 200,
      wait,
      ioWindowUs: 1000,
      io: async (untilMs) => { events.push('io'); untils.push(untilMs); await new Promise<void>((r) => setImmediate(r)); },
      onTick: (t) => { events.push('tick'); scheduled.push(t.scheduledMs); },
    });
    loop.start();
    await until(() => scheduled.length >= 20, '20 ticks');
    await loop.stop();
    // io, tick, io, tick, ... (the loop may stop after an io).
    events.forEach((e, i) => assert.equal(e, i % 2 === 0 ? 'io' : 'tick', `event ${i}: ${events.slice(0, i + 1).join(' ')}`));
    // Each io is told to end before its tick's deadline.
    scheduled.forEach((s, k) => assert.ok(untils[k]! < s, `io ${k} until ${untils[k]} not before its tick ${s}`));
  });
}
