import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger, prettyLine, wantsPretty } from '../../src/log/logger.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { serveMetrics } from '../../src/metrics/server.js';
import { tempDir } from './helpers.js';

test('logger: one JSON object per line (journald), level honoured and changeable', () => {
  const file = join(tempDir(), 'log');
  const fd = openSync(file, 'w');
  const log = createLogger({ level: 'info', pretty: 'auto' }, fd);
  log.debug('hidden');
  log.info({ steps: 5 }, 'hello');
  log.level = 'debug';
  log.debug('shown');
  closeSync(fd);
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines.map((l) => l.msg), ['hello', 'shown']);
  assert.equal(lines[0]!.steps, 5);
  assert.equal(lines[0]!.level, 30);
  assert.equal(typeof lines[0]!.time, 'number');
});

test('logger: pretty lines for people', () => {
  assert.equal(wantsPretty('auto', true), true);
  assert.equal(wantsPretty('auto', false), false);
  assert.equal(wantsPretty('always', false), true);
  assert.equal(wantsPretty('never', true), false);
  const t = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
  assert.equal(prettyLine(JSON.stringify({ level: 40, time: t, pid: 1, name: 'sacbridge', msg: 'checkpoint written', steps: 10, reason: 'stop (SIGTERM)' }), false), '03:04:05.678 WARN  checkpoint written steps=10 reason="stop (SIGTERM)"\n');
  assert.equal(prettyLine(JSON.stringify({ level: 30, time: t, msg: 'x' }), true), '03:04:05.678 \x1b[32mINFO \x1b[0m x\n');
  assert.match(prettyLine(JSON.stringify({ level: 50, time: t, msg: 'boom', err: { message: 'm', stack: 'Error: m\n    at f' } }), false), /ERROR boom\n    Error: m\n        at f/);
  assert.equal(prettyLine('not json', false), 'not json');
});

test('metrics: the typed API shows up in the Prometheus exposition and over loopback HTTP', async () => {
  const m = new Metrics({ processMetrics: false });
  m.addEnvSteps(100);
  m.addUpdates(50);
  m.episodeFinished(-12.5);
  m.episodeFinished(3, 'robot');
  m.setLosses({ qf1_loss: 0.5, actor_loss: -2 });
  m.setTemperature(0.2);
  m.evaluationFinished(-150.25);
  m.observeTick(0.0004);
  m.phaseChanged('sim_training');
  m.checkpointWritten('schedule (steps)', 0.3);
  m.zmqMessage('telemetry', 'out', 3);
  m.zmqError('control', 'malformed');
  m.rosMessage('/joint_states', 'in');
  m.rosStaleTick();
  m.rosRejected('/joint_states');
  const server = await serveMetrics(m, '127.0.0.1', 0, () => ({ phase: 'sim_training' }));
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /text\/plain/);
    const text = await res.text();
    for (const line of [
      'sacbridge_env_steps_total 100',
      'sacbridge_updates_total 50',
      'sacbridge_episodes_total{plant="sim"} 1',
      'sacbridge_episode_return{plant="sim"} -12.5',
      'sacbridge_episode_return{plant="robot"} 3',
      'sacbridge_loss{name="qf1_loss"} 0.5',
      'sacbridge_loss{name="actor_loss"} -2',
      'sacbridge_temperature 0.2',
      'sacbridge_evaluation_return -150.25',
      'sacbridge_evaluations_total 1',
      'sacbridge_tick_seconds_bucket{le="0.0005"} 1',
      'sacbridge_phase{phase="sim_training"} 1',
      'sacbridge_phase{phase="idle"} 0',
      'sacbridge_phase_transitions_total{to="sim_training"} 1',
      'sacbridge_checkpoints_total{reason="schedule (steps)"} 1',
      'sacbridge_zmq_messages_total{socket="telemetry",direction="out"} 3',
      'sacbridge_zmq_errors_total{socket="control",kind="malformed"} 1',
      'sacbridge_ros_messages_total{topic="/joint_states",direction="in"} 1',
      'sacbridge_ros_stale_ticks_total 1',
      'sacbridge_ros_rejected_total{topic="/joint_states"} 1',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing: ${line}`);
    }
    assert.deepEqual(await (await fetch(`http://127.0.0.1:${server.port}/status`)).json(), { phase: 'sim_training' });
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/nope`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })).status, 405);
  } finally {
    await server.close();
  }
  // Two registries do not collide (one per daemon, tests build many).
  new Metrics();
  new Metrics();
});
