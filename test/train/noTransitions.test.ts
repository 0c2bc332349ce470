import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// A model that is non-finite on every step (gravity NaN: every qacc is NaN) gives no
// transition to learn from: `sacbridge train` must fail saying so, not exit 0 with a
// checkpoint of an untrained policy.

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'sacbridge-nan-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MODEL = `<mujoco model="diverges">
  <option timestep="0.01" gravity="0 0 nan"/>
  <worldbody>
    <body name="cart"><joint name="slide" type="slide" axis="1 0 0"/><geom type="box" size="0.1 0.1 0.1"/></body>
  </worldbody>
  <actuator><motor name="push" joint="slide" ctrlrange="-1 1"/></actuator>
</mujoco>`;

const TASK = {
  name: 'diverges',
  model: 'nan.xml',
  episodeSteps: 50,
  observation: [{ name: 'q', quantity: 'joint_pos', joints: ['slide'] }],
  reward: [{ name: 'alive', type: 'alive', weight: 1 }],
};

function train(...args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, 'train', '--task', path.join(dir, 'nan.json'), '--eval-every', '0', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stderr: r.stderr };
}

test('a run that never gets one valid transition fails with a clear error', () => {
  writeFileSync(path.join(dir, 'nan.xml'), MODEL);
  writeFileSync(path.join(dir, 'nan.json'), JSON.stringify(TASK));
  const message = /no valid transition in (\d+) env steps \((\d+) episodes\): every step ended the episode with non-finite observation or reward, so there is nothing to learn from\. The model diverges from its first step/;

  // Shorter than learningStarts: at the end of the run.
  const short = train('--steps', '40', '--out', path.join(dir, 'short'));
  assert.equal(short.code, 1, short.stderr);
  const m1 = message.exec(short.stderr);
  assert.ok(m1 !== null, short.stderr);
  assert.deepEqual([m1[1], m1[2]], ['40', '40']);

  // Longer: as soon as learning would start (step 30), not after the whole run.
  const long = train('--steps', '100000', '--learning-starts', '30', '--out', path.join(dir, 'long'));
  assert.equal(long.code, 1, long.stderr);
  const m2 = message.exec(long.stderr);
  assert.ok(m2 !== null, long.stderr);
  assert.deepEqual([m2[1], m2[2]], ['30', '30']);
});
