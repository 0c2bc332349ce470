/** CoreChoice (src/compute/coreChoice.ts): alternation, the choice by median with its margin, re-measuring, fixed settings. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreChoice } from '../../src/compute/coreChoice.js';

/** Run `n` updates whose time on 1 and on 2 cores is given; returns the cores each used. */
function drive(c: CoreChoice, n: number, ms: (cores: 1 | 2, i: number) => number): (1 | 2)[] {
  const used: (1 | 2)[] = [];
  for (let i = 0; i < n; i++) {
    const cores = c.next();
    used.push(cores);
    c.record(cores, ms(cores, i));
  }
  return used;
}

test('auto: alternates 1 and 2 for a round, then keeps the faster by median for `keep` updates, then measures again', () => {
  const c = new CoreChoice('auto', { trial: 3, keep: 4 });
  assert.equal(c.lastRound, null);
  // Two cores faster (one outlier does not move a median).
  const used = drive(c, 6 + 4 + 6, (cores, i) => (cores === 2 ? (i === 1 ? 50 : 4) : 7));
  assert.deepEqual(used.slice(0, 6), [1, 2, 1, 2, 1, 2]);
  assert.deepEqual(used.slice(6, 10), [2, 2, 2, 2]);
  assert.deepEqual(used.slice(10), [1, 2, 1, 2, 1, 2]);
  assert.deepEqual(c.lastRound, { oneMs: 7, twoMs: 4, chosen: 2 });
});

test('auto: 2 cores must be `margin` faster; slower or within the margin keeps 1', () => {
  const slower = new CoreChoice('auto', { trial: 2, keep: 10 });
  drive(slower, 4, (cores) => (cores === 2 ? 9 : 7));
  assert.equal(slower.next(), 1);
  assert.deepEqual(slower.lastRound, { oneMs: 7, twoMs: 9, chosen: 1 });
  const close = new CoreChoice('auto', { trial: 2, margin: 0.1 });
  drive(close, 4, (cores) => (cores === 2 ? 6.5 : 7));
  assert.equal(close.next(), 1);
  const enough = new CoreChoice('auto', { trial: 2, margin: 0.1 });
  drive(enough, 4, (cores) => (cores === 2 ? 6.2 : 7));
  assert.equal(enough.next(), 2);
});

test('fixed settings never alternate; bad options are refused by name', () => {
  for (const setting of [1, 2] as const) {
    const c = new CoreChoice(setting, { trial: 1 });
    assert.deepEqual(new Set(drive(c, 10, () => 1)), new Set([setting]));
    assert.equal(c.lastRound, null);
  }
  assert.throws(() => new CoreChoice('auto', { trial: 0 }), /trial must be a positive integer, not 0/);
  assert.throws(() => new CoreChoice('auto', { keep: 1.5 }), /keep must be a positive integer, not 1.5/);
  assert.throws(() => new CoreChoice('auto', { margin: 1 }), /margin must be in \[0, 1\), not 1/);
});
