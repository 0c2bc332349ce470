/**
 * CI's short, seeded `npm run bench:fuzz` (issue 19, item 2): 3,000 fuzzed messages against a
 * real daemon on every socket. No crash, every policy and control message answered, liveness
 * every 1,000, and the daemon's own counts (sacbridge_zmq_errors_total) equal to the error
 * replies by class. The daemon is warmed up first (valid traffic on every socket while it
 * trains), and its settled rss may not end more than 10 MB above the rss before the fuzz (the
 * full run's target, over 100,000 messages: npm run bench:fuzz).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzzFailures, runFuzz } from '../../bench/fuzz.js';

test('bench:fuzz, short and seeded: 3,000 messages over every socket of a running daemon; none unanswered or uncounted', { timeout: 300_000 }, async () => {
  const r = await runFuzz(3000, 7);
  console.log(JSON.stringify({ rssMb: r.rssMb, warmUp: r.warmUp, seconds: r.seconds, loadavg: r.loadavg }));
  assert.deepEqual(fuzzFailures(r), []);
  assert.equal(r.liveness.checks, 3);
  assert.equal(r.warmUp.policyRequests, 20_000);
  assert.equal(r.warmUp.controlRequests, 1000);
  assert.ok(r.warmUp.telemetryReceived > 0, 'the warm-up subscriber got telemetry');
  assert.equal(r.policy.sent + r.control.sent + r.telemetry.rogueFrames, 3000);
  for (const [socket, replies] of [['policy', r.policy.replies], ['control', r.control.replies]] as const) {
    const errors = Object.entries(replies).filter(([code]) => code !== 'ok');
    assert.ok(errors.length >= 5, `${socket}: several error classes exercised`);
    for (const [code, n] of errors) assert.equal(r.daemonErrorCounts[`${socket}.${code}`], n, `${socket}.${code}: counted by the daemon as often as answered`);
  }
});
