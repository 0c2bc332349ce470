import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { readGeneration } from '../../src/agent/checkpoint.js';
import { DaemonControl } from '../../src/daemon/control.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { eventTo, INITIAL_PHASE } from '../../src/daemon/phases.js';
import { createLogger } from '../../src/log/logger.js';
import { MAIN_JS, tempDir, TINY_SAC } from './helpers.js';

test('eventTo finds the one edge to a phase, or none', () => {
  assert.equal(eventTo(INITIAL_PHASE, 'sim_training'), 'start_training');
  assert.equal(eventTo({ phase: 'evaluating', resumeTo: null }, 'armed'), 'arm');
  assert.equal(eventTo(INITIAL_PHASE, 'real_finetune'), null);
});

test('the control API drives a real in-process daemon between ticks', async () => {
  const dir = tempDir();
  const { config } = loadConfig({ env: {}, args: [...TINY_SAC, '--daemon.stateDir', dir, '--metrics.enabled', 'false', '--sim.totalSteps', '1000000000', '--sim.evalEvery', '0', '--daemon.checkpointEverySteps', '0', '--daemon.checkpointEverySeconds', '0'] });
  const fd = openSync(join(dir, 'daemon.log'), 'w');
  const daemon = await Daemon.start({ config, logger: createLogger({ level: 'info', pretty: 'never' }, fd), env: {} });
  const running = daemon.run();
  const control = new DaemonControl(daemon);
  try {
    assert.equal(daemon.phase, 'sim_training');
    const seen: string[] = [];
    daemon.onPhaseChange((c) => seen.push(`${c.from.phase}->${c.to.phase}`));

    const paused = await control.pause({ reason: 'operator' });
    assert.deepEqual([paused.from, paused.to, paused.event], ['sim_training', 'paused', 'pause']);
    const stepsPaused = daemon.status().jobStatus.envSteps;
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(daemon.status().jobStatus.envSteps, stepsPaused, 'no ticks while paused');
    assert.equal(control.status().phase, 'paused');
    await assert.rejects(control.pause({ reason: 'again' }), /'pause' is not allowed in phase 'paused'/);
    await control.resume({ reason: 'go' });

    const ck = await control.checkpoint({ tag: 'test' });
    const gen = await readGeneration(join(dir, 'run', 'checkpoints', String(ck.name)));
    assert.equal(gen.counters.steps, ck.steps);
    assert.equal((gen.extra as { phase: { phase: string } }).phase.phase, 'sim_training');

    await assert.rejects(control.switchPhase({ phase: 'real_finetune', reason: 'x' }), /no single transition from 'sim_training' to 'real_finetune'/);
    await control.estop({ reason: 'button' });
    await assert.rejects(control.resume({ reason: 'x' }), /only a paused daemon resumes/);
    await control.clearEstop({ reason: 'safe' });
    // `sacbridge status` asks this daemon over its control socket.
    await new Promise((r) => setTimeout(r, 50));
    const st = await new Promise<string>((resolve) => execFile(process.execPath, [MAIN_JS, 'status', '--state-dir', dir, '--json'], (_e, out) => resolve(out)));
    const parsed = JSON.parse(st) as { running: boolean; source: string; status: { pid: number; phase: string } };
    assert.deepEqual([parsed.running, parsed.source, parsed.status.pid, parsed.status.phase], [true, 'zmq', process.pid, 'sim_training']);
    await control.evaluate({ episodes: 10, deterministic: true });
    assert.deepEqual(await control.evaluate({ episodes: 10, deterministic: true }), { phase: 'evaluating', already: true });
    assert.deepEqual(seen, ['sim_training->paused', 'paused->sim_training', 'sim_training->estop', 'estop->sim_training', 'sim_training->evaluating']);
  } finally {
    daemon.requestStop('test over');
    assert.equal(await running, 0);
    closeSync(fd);
  }
});
