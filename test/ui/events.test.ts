import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SafetyWatch, safetyChange, safetyText, UiEvents, EVENTS_KEPT } from '../../src/ui/events.js';

const report = (counters: Record<string, number>, lastReason: string | null = null) => ({ counters: { ticks: 0, ...counters }, lastReason });

test('safety changes: what grew (ticks left out), a new reason, a fresh session counted from zero', () => {
  assert.equal(safetyChange(null, report({ clamped: 0 })), null);
  assert.deepEqual(safetyChange(null, report({ ticks: 50, clamped: 2, stale: 0 })), { grew: { clamped: 2 }, reason: null });
  const a = report({ ticks: 10, clamped: 2, stale: 0 }, 'stale \'qpos\' 0.2 s > 0.06 s');
  assert.equal(safetyChange(a, report({ ticks: 20, clamped: 2, stale: 0 }, a.lastReason)), null, 'only ticks grew');
  assert.deepEqual(safetyChange(a, report({ ticks: 20, clamped: 5, stale: 0 }, a.lastReason)), { grew: { clamped: 3 }, reason: null }, 'an old reason is not repeated');
  assert.deepEqual(safetyChange(a, report({ ticks: 20, clamped: 2, stale: 4 }, 'stale \'qpos\' 0.3 s > 0.06 s')), { grew: { stale: 4 }, reason: 'stale \'qpos\' 0.3 s > 0.06 s' });
  assert.deepEqual(safetyChange(a, report({ ticks: 3, clamped: 1, stale: 0 })), { grew: { clamped: 1 }, reason: null }, 'a new session counts from zero');
  assert.equal(safetyText({ grew: { rateLimited: 3, workspace: 1 }, reason: 'workspace: qpos[0] = 0.95' }), 'safety: rateLimited +3, workspace +1 (workspace: qpos[0] = 0.95)');
});

test('events: kept (newest EVENTS_KEPT), pushed to subscribers; the safety watch turns reports into events', () => {
  const events = new UiEvents();
  const seen: string[] = [];
  const off = events.subscribe((e) => seen.push(`${e.kind}: ${e.text}`));
  const watch = new SafetyWatch(events);
  watch.observe(null);
  watch.observe(report({ ticks: 5, stale: 0 }));
  watch.observe(report({ ticks: 9, stale: 2 }, 'stale'));
  watch.observe(report({ ticks: 12, stale: 2 }, 'stale'));
  events.push('phase', 'phase real_finetune -> estop: e-stop');
  off();
  events.push('phase', 'not seen by the unsubscribed');
  assert.deepEqual(seen, ['safety: safety: stale +2 (stale)', 'phase: phase real_finetune -> estop: e-stop']);
  assert.deepEqual(events.recent()[0]!.data, { stale: 2, reason: 'stale' });
  for (let i = 0; i < EVENTS_KEPT + 5; i++) events.push('phase', `e${i}`);
  assert.equal(events.recent().length, EVENTS_KEPT);
  assert.equal(events.recent().at(-1)!.text, `e${EVENTS_KEPT + 4}`);
});
