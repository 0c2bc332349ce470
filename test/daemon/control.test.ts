import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { CheckpointStore } from '../../src/daemon/checkpoints.js';
import { DaemonControl } from '../../src/daemon/control.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { eventTo, INITIAL_PHASE } from '../../src/daemon/phases.js';
import { createLogger } from '../../src/log/logger.js';
import { DIST, tempDir } from './helpers.js';

test('eventTo finds the one edge to a phase, or none', () => {
  assert.equal(eventTo(INITIAL_PHASE, 'sim_training'), 'start_training');
  assert.equal(eventTo({ phase: 'evaluating', resumeTo: null }, 'armed'), 'arm');
  assert.equal(eventTo(INITIAL_PHASE, 'real_finetune'), null);
});

test('the control API drives a real in-process daemon between ticks', async () => {
  const dir = tempDir();
  const { config } = loadConfig({ env: {}, args: ['--daemon.stateDir', dir, '--metrics.enabled', 'false', '--sim.totalSteps', '1000000000', '--sim.evalEvery', '0', '--daemon.checkpointEverySteps', '0', '--daemon.checkpointEverySeconds', '0'] });
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
    const store = new CheckpointStore(join(dir, 'checkpoints'));
    const v = await store.verify(String(ck.name));
    assert.ok(v.ok);
    assert.equal(v.manifest.steps, ck.steps);
    assert.equal(v.manifest.reason, 'requested by control-api (test)');

    await assert.rejects(control.switchPhase({ phase: 'real_finetune', reason: 'x' }), /no single transition from 'sim_training' to 'real_finetune'/);
    await control.estop({ reason: 'button' });
    await assert.rejects(control.resume({ reason: 'x' }), /only a paused daemon resumes/);
    await control.clearEstop({ reason: 'safe' });
    // Without a metrics server, `sacbridge status` falls back to the status file.
    await new Promise((r) => setTimeout(r, 50));
    const st = await new Promise<string>((resolve) => execFile(process.execPath, [join(DIST, 'src', 'cli', 'status.js'), '--state-dir', dir, '--json'], (_e, out) => resolve(out)));
    const parsed = JSON.parse(st) as { running: boolean; source: string; status: { pid: number } };
    assert.deepEqual([parsed.running, parsed.source, parsed.status.pid], [true, 'file', process.pid]);
    await control.evaluate({ episodes: 10, deterministic: true });
    assert.deepEqual(seen, ['sim_training->paused', 'paused->sim_training', 'sim_training->estop', 'estop->sim_training', 'sim_training->evaluating']);
  } finally {
    daemon.requestStop('test over');
    assert.equal(await running, 0);
    closeSync(fd);
  }
});
