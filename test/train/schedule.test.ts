import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Schedule } from '../../src/train/schedule.js';

test('schedule: every N steps or N seconds, whichever comes first', () => {
  const s = new Schedule(1000, 60, 0, 0);
  assert.equal(s.due(999, 59_000), null);
  assert.equal(s.due(1000, 0), 'steps');
  assert.equal(s.due(10, 60_000), 'time');
  s.done(10, 60_000);
  assert.equal(s.due(10, 200_000), null, 'no progress, no checkpoint');
  s.configure(0, 0);
  assert.equal(s.due(1e9, 1e12), null);
});

test('schedule: the step rule fires at multiples, also when done late or resumed in between', () => {
  const s = new Schedule(1000, 0, 0, 0);
  assert.equal(s.due(1003), 'steps');
  s.done(1003);
  assert.equal(s.due(1999), null);
  assert.equal(s.due(2000), 'steps');
  const resumed = new Schedule(1000, 0, 1500, 0);
  assert.equal(resumed.due(1999), null);
  assert.equal(resumed.due(2000), 'steps');
  assert.throws(() => new Schedule(-1, 0, 0, 0), /everySteps=-1: must be >= 0/);
});
