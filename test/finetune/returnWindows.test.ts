import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReturnWindows } from '../../src/finetune/returnWindows.js';

test('rollback guard windows: a new best, a fall beyond the tolerance, and no judging across a rollback', () => {
  const g = new ReturnWindows({ window: 2, tolerance: 0.1 });
  // Episode returns and the robot transitions pushed by each episode's end (10 per episode).
  assert.deepEqual(g.afterEpisode(-10, 10), { kind: 'keep' }, 'no full window yet');
  assert.deepEqual(g.afterEpisode(-12, 20), { kind: 'best', mean: -11 });
  assert.deepEqual(g.afterEpisode(-8, 30), { kind: 'best', mean: -10 });
  // -11.5 is more than 0.1 x 10 = 1 below the best -10: it falls.
  assert.deepEqual(g.afterEpisode(-15, 40), { kind: 'rollback', mean: -11.5, best: -10, windowTransitions: 20 });
  // The next window straddles the rollback: not judged, however bad.
  assert.deepEqual(g.afterEpisode(-100, 50), { kind: 'keep' });
  // A full window after the rollback: mean -55 is judged against the best -10.
  assert.deepEqual(g.afterEpisode(-10, 60), { kind: 'rollback', mean: -55, best: -10, windowTransitions: 20 });
  assert.equal(g.bestMean, -10);
});

test('rollback guard windows: a fall within the tolerance keeps the weights', () => {
  const g = new ReturnWindows({ window: 1, tolerance: 0.1 });
  assert.deepEqual(g.afterEpisode(-100, 5), { kind: 'best', mean: -100 });
  assert.deepEqual(g.afterEpisode(-109, 9), { kind: 'keep' }, '-109 is within 10% of -100');
  assert.deepEqual(g.afterEpisode(-111, 12), { kind: 'rollback', mean: -111, best: -100, windowTransitions: 3 });
  assert.throws(() => new ReturnWindows({ window: 0, tolerance: 0.1 }), /window must be a positive integer/);
  assert.throws(() => new ReturnWindows({ window: 3, tolerance: Number.NaN }), /tolerance must be >= 0/);
});
