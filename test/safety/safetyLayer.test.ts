import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SafetyLayer } from '../../src/safety/safetyLayer.js';

const sig = (o: Record<string, number[]>) => new Map(Object.entries(o).map(([k, v]) => [k, Float64Array.from(v)]));

test('per-actuator limits clamp and the rate limit bounds the change per tick', () => {
  const s = new SafetyLayer({ low: [-1, -2], high: [1, 2], maxDelta: [0.1, 0.5] });
  const signals = sig({ q: [0] });
  const c = Float64Array.of(5, -5);
  assert.equal(s.filter(c, signals), null);
  assert.deepEqual([...c], [1, -2], 'first tick: clamped, no previous command to rate-limit from');
  const d = Float64Array.of(-1, 2);
  s.filter(d, signals);
  assert.ok(Math.abs(d[0] - 0.9) < 1e-12 && Math.abs(d[1] - -1.5) < 1e-12, `got ${[...d]}`);
  assert.deepEqual(s.counters, { ...s.counters, clamped: 1, rateLimited: 1, ticks: 2 });
  // After reset the rate limit starts from initialCommand when given.
  const t = new SafetyLayer({ low: [-1], high: [1], maxDelta: 0.2, initialCommand: [0] });
  const e = Float64Array.of(1);
  t.filter(e, signals);
  assert.ok(Math.abs(e[0] - 0.2) < 1e-12);
  t.reset();
  const f = Float64Array.of(-1);
  t.filter(f, signals);
  assert.ok(Math.abs(f[0] - -0.2) < 1e-12);
});

test('NaN/inf observations and commands are refused with a safe command and end the episode', () => {
  const s = new SafetyLayer({ low: [-1, 0.5], high: [1, 2], safeCommand: 'zero' });
  const c = Float64Array.of(0.3, 1);
  assert.equal(s.filter(c, sig({ q: [0, Number.NaN] })), 'non-finite observation q[1] (NaN)');
  assert.deepEqual([...c], [0, 0.5], 'zero clamped into the range');
  const d = Float64Array.of(Number.POSITIVE_INFINITY, 1);
  assert.match(s.filter(d, sig({ q: [0, 0] })) ?? '', /non-finite command component 0/);
  assert.deepEqual([...d], [0, 0.5]);
  assert.equal(s.counters.nonFiniteObservation, 1);
  assert.equal(s.counters.nonFiniteCommand, 1);
  // 'hold' repeats the last command that went out.
  const h = new SafetyLayer({ low: [-1], high: [1], safeCommand: 'hold' });
  const ok = Float64Array.of(0.7);
  h.filter(ok, sig({ q: [0] }));
  const bad = Float64Array.of(Number.NaN);
  assert.notEqual(h.filter(bad, sig({ q: [0] })), null);
  assert.deepEqual([...bad], [0.7]);
});

test('out-of-range observations are refused; workspace bounds end the episode with the safe command', () => {
  const s = new SafetyLayer({
    low: [-1], high: [1],
    observations: { ranges: [{ signal: 'q', low: -3, high: 3 }] },
    workspace: [{ signal: 'base_pos', index: 2, low: 0.2, high: 2 }],
  });
  const c = Float64Array.of(0.5);
  assert.equal(s.filter(c, sig({ q: [4], base_pos: [0, 0, 1] })), 'observation out of range: q[0] = 4 outside [-3, 3]');
  const d = Float64Array.of(0.5);
  assert.equal(s.filter(d, sig({ q: [0], base_pos: [0, 0, 1] })), null);
  assert.deepEqual([...d], [0.5]);
  const e = Float64Array.of(0.5);
  assert.equal(s.filter(e, sig({ q: [0], base_pos: [9, 9, 0.1] })), 'workspace: base_pos[2] = 0.1 outside [0.2, 2]');
  assert.deepEqual([...e], [0]);
  assert.equal(s.counters.workspace, 1);
  assert.equal(s.lastReason, 'workspace: base_pos[2] = 0.1 outside [0.2, 2]');
  assert.equal(s.lastReasonTick, 3);
  assert.throws(() => s.filter(Float64Array.of(0), sig({ q: [0] })), /bounds on signal 'base_pos' which the plant does not provide/);
});

test('stale observations trip the watchdog: hold or zero, learning paused, episode continues; fresh data resumes', () => {
  const ages = new Map([['q', 0.001], ['imu', 0.001]]);
  const s = new SafetyLayer({ low: [-1], high: [1], watchdog: { maxAge: 0.05, action: 'hold' }, ageOf: (n) => ages.get(n) ?? Infinity });
  const signals = sig({ q: [0], imu: [0] });
  const c = Float64Array.of(0.4);
  s.filter(c, signals);
  assert.equal(s.learningPaused, false);
  ages.set('imu', 0.2);
  const d = Float64Array.of(-0.9);
  assert.equal(s.filter(d, signals), null);
  assert.deepEqual([...d], [0.4], 'held');
  assert.equal(s.learningPaused, true);
  assert.match(s.lastReason ?? '', /stale 'imu': 0\.200 s > 0\.05 s/);
  ages.set('imu', 0.001);
  const e = Float64Array.of(-0.9);
  s.filter(e, signals);
  assert.deepEqual([...e], [-0.9]);
  assert.equal(s.learningPaused, false);
  assert.equal(s.counters.stale, 1);
  const z = new SafetyLayer({ low: [0.1], high: [1], watchdog: { maxAge: 0.05, action: 'zero', signals: ['q'] }, ageOf: () => Infinity });
  const f = Float64Array.of(0.9);
  z.filter(f, signals);
  assert.deepEqual([...f], [0.1]);
  assert.match(z.lastReason ?? '', /never received/);
  // In sim the age source is constant 0: never stale.
  const sim = new SafetyLayer({ low: [-1], high: [1], watchdog: { maxAge: 0.01, action: 'zero' }, ageOf: () => 0 });
  sim.filter(Float64Array.of(0.5), signals);
  assert.equal(sim.learningPaused, false);
});

test('between episodes the watchdog still watches: a signal gone stale is counted and named, one never received is the reset\'s to wait for', () => {
  const ages = new Map([['q', 0.001], ['imu', Infinity]]);
  const s = new SafetyLayer({ low: [-1], high: [1], watchdog: { maxAge: 0.05, action: 'zero' }, ageOf: (n) => ages.get(n) ?? Infinity });
  const signals = sig({ q: [0], imu: [0] });
  s.watchIdle(signals);
  assert.equal(s.counters.stale, 0, 'imu never received: not stale yet');
  ages.set('q', 0.3);
  s.watchIdle(signals);
  s.watchIdle(signals);
  assert.equal(s.counters.stale, 2);
  assert.equal(s.counters.ticks, 0, 'no command went out');
  assert.equal(s.learningPaused, false, 'nothing is learned between episodes anyway');
  assert.match(s.lastReason ?? '', /stale 'q': 0\.300 s > 0\.05 s/);
});

test('bad options are named', () => {
  assert.throws(() => new SafetyLayer({ low: [1], high: [0] }), /low\[0\]=1 is not <= high\[0\]=0/);
  assert.throws(() => new SafetyLayer({ low: [0, 0], high: [1, 1], maxDelta: [1] }), /maxDelta has 1 entries for 2 actuators/);
  assert.throws(() => new SafetyLayer({ low: [0], high: [1], watchdog: { maxAge: 0.1, action: 'zero' } }), /watchdog needs ageOf/);
  assert.throws(() => new SafetyLayer({ low: [0], high: [1] }).filter(Float64Array.of(0, 0), new Map()), /command has 2 components/);
});
