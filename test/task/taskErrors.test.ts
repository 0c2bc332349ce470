import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadTaskFile } from '../../src/task/taskFile.js';
import { packageRoot } from '../../src/util/packageRoot.js';

// A task file with an error is refused at load with the term, the field and the nearest names;
// `sacbridge train` then exits 64 and leaves no run directory.

const dir = mkdtempSync(path.join(tmpdir(), 'sacbridge-taskerr-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MODEL = `<mujoco><compiler angle="radian"/><worldbody>
  <body name="upper_arm"><joint name="shoulder" axis="0 1 0" range="-1 1"/><geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.03"/>
    <body name="forearm" pos="0.3 0 0"><joint name="elbow" axis="0 1 0" range="-2 2"/><geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.03"/><site name="end_effector" pos="0.3 0 0"/></body>
  </body></worldbody>
  <actuator><motor name="shoulder_motor" joint="shoulder" ctrlrange="-1 1"/><motor name="elbow_motor" joint="elbow" ctrlrange="-1 1"/></actuator>
  <keyframe><key name="home" qpos="0.1 0.2"/></keyframe>
</mujoco>`;
writeFileSync(path.join(dir, 'arm.xml'), MODEL);
writeFileSync(path.join(dir, 'bare.xml'), '<mujoco><worldbody><body><joint name="j"/><geom size="0.1"/></body></worldbody></mujoco>');

const GOOD = {
  name: 'reach',
  model: 'arm.xml',
  episodeSteps: 50,
  targets: { goal: { low: [0.1, 0, 0.1], high: [0.4, 0, 0.4] } },
  observation: [
    { name: 'angles', quantity: 'joint_pos', joints: ['shoulder', 'elbow'] },
    { name: 'to_goal', quantity: 'vector', from: { site: 'end_effector' }, to: { target: 'goal' } },
  ],
  reward: [{ name: 'reach', type: 'distance', from: { site: 'end_effector' }, to: { target: 'goal' }, weight: -1 }],
  reset: { keyframe: 'home' },
};

let n = 0;
async function load(spec: unknown): Promise<unknown> {
  const file = path.join(dir, `t${n++}.json`);
  writeFileSync(file, typeof spec === 'string' ? spec : JSON.stringify(spec));
  return loadTaskFile(file);
}
const edit = (f: (s: any) => void): unknown => {
  const s = structuredClone(GOOD) as any;
  f(s);
  return s;
};

test('a valid task file loads', async () => {
  const loaded = (await load(GOOD)) as Awaited<ReturnType<typeof loadTaskFile>>;
  assert.equal(loaded.compiled!.observationSize, 5);
  assert.deepEqual(loaded.compiled!.layout.map((l) => [l.term, l.from, l.to]), [['angles', 0, 2], ['to_goal', 2, 5]]);
});

test('unknown names: the term, the name and the nearest names the model has', async () => {
  const cases: [unknown, RegExp][] = [
    [edit((s) => (s.observation[0].joints[1] = 'elbo')), /observation\[0\] 'angles'\.joints\[1\]: the model .*arm\.xml has no joint named 'elbo'; nearest joints: 'elbow'/],
    [edit((s) => (s.observation[1].from = { site: 'ee' })), /observation\[1\] 'to_goal'\.from\.site: .*no site named 'ee'; nearest sites: 'end_effector'/],
    [edit((s) => (s.reward[0].from = { body: 'forarm' })), /reward\[0\] 'reach'\.from\.body: .*no body named 'forarm'; nearest bodies: 'forearm'/],
    [edit((s) => (s.reset.keyframe = 'homee')), /reset\.keyframe: .*no keyframe named 'homee'; nearest keyframes: 'home'/],
    [edit((s) => (s.observation[1].to = { target: 'gaol' })), /observation\[1\] 'to_goal'\.to\.target: no target named "gaol" in the task's 'targets'; it has: goal/],
    [edit((s) => (s.observation.push({ name: 'f', quantity: 'actuator_force', actuators: ['elbow'] }))), /actuators\[0\]: .*no actuator named 'elbow'; nearest actuators: 'elbow_motor'/],
    [edit((s) => (s.observation.push({ name: 'x', quantity: 'sensor', sensor: 'imu' }))), /no sensor named 'imu'; the model has no named sensors/],
  ];
  for (const [spec, re] of cases) await assert.rejects(load(spec), re);
});

test('unknown fields, quantities and types name the nearest valid ones', async () => {
  const cases: [unknown, RegExp][] = [
    [edit((s) => (s.observation[0].scael = 2)), /observation\[0\] 'angles': unknown field 'scael'; nearest: 'scale'/],
    [edit((s) => (s.observation[0].quantity = 'joint_position')), /observation\[0\] 'angles': 'quantity' must be one of .*got 'joint_position'; nearest: 'joint_pos'/],
    [edit((s) => (s.reward[0].type = 'distanc')), /reward\[0\] 'reach': 'type' must be one of .*nearest: 'distance'/],
    [edit((s) => (s.episodeStep = 5)), /unknown field 'episodeStep'; nearest: 'episodeSteps'/],
    [edit((s) => delete s.episodeSteps), /'episodeSteps' must be a finite number, got nothing/],
    [edit((s) => (s.observation[1].name = 'angles')), /observation\[1\] 'angles': term name 'angles' is used twice/],
  ];
  for (const [spec, re] of cases) await assert.rejects(load(spec), re);
});

test('sizes and ranges are checked', async () => {
  const cases: [unknown, RegExp][] = [
    [edit((s) => (s.observation[0].slice = [1, 3])), /observation\[0\] 'angles'\.slice: expected \[from, to\) with 0 <= from < to <= 2/],
    [edit((s) => (s.observation[0].scale = [1, 2, 3])), /observation\[0\] 'angles'\.scale: expected 2 numbers, got 3/],
    [edit((s) => (s.observation[0].clip = [1, -1])), /observation\[0\] 'angles'\.clip: expected \[low, high\] with low <= high/],
    [edit((s) => (s.targets.goal.high = [1, 1])), /targets\.goal\.high: expected 3 numbers, got 2/],
    [edit((s) => (s.targets = { speed: { value: [1, 2] } }) && (s.observation[1].to = { target: 'speed' })), /target 'speed' has 2 components; a point needs 3/],
    [edit((s) => s.reward.push({ name: 'v', type: 'velocity_tracking', body: 'forearm', axes: ['x', 'y'], command: [1], std: 1, weight: 1 })), /reward\[1\] 'v'\.command: has 1 components for 2 axes/],
    [edit((s) => s.reward.push({ name: 'k', type: 'distance', from: { site: 'end_effector' }, to: [0, 0, 0], kernel: 'tanh', weight: 1 })), /reward\[1\] 'k': 'std' must be a finite number/],
    [edit((s) => s.reward.push({ name: 'l', type: 'joint_limits', joints: ['shoulder'], soft: 2, weight: 1 })), /'soft' is the fraction of the range/],
    [edit((s) => (s.targets.goal.mocap = 'forearm')), /targets\.goal\.mocap: body 'forearm' is not a mocap body/],
  ];
  for (const [spec, re] of cases) await assert.rejects(load(spec), re);
});

test('file-level errors: bad JSON with its line, no model, a model without actuators', async () => {
  await assert.rejects(load('{\n  "name": "x",\n  "episodeSteps": 5,\n}'), /is not valid JSON: .*\(line 4, column 1\)/);
  await assert.rejects(load(edit((s) => delete s.model)), /'model' must name the MJCF file/);
  await assert.rejects(load(edit((s) => (s.model = 'bare.xml'))), /the model .*bare\.xml has no actuators: there is nothing for a policy to control/);
  await assert.rejects(load(edit((s) => (s.model = 'nope.xml'))), /cannot read MJCF model .*nope\.xml/);
});

test('sacbridge train with a bad task file exits 64 naming the error and creates no run directory', async () => {
  const file = path.join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify(edit((s) => (s.observation[0].joints = ['shouldr', 'elbow']))));
  const out = path.join(dir, 'run');
  const main = path.join(packageRoot(), 'dist/src/cli/main.js');
  const err = await promisify(execFile)(process.execPath, [main, 'train', '--task', file, '--steps', '10', '--out', out]).then(
    () => null,
    (e: { code: number; stderr: string }) => e,
  );
  assert.ok(err !== null, 'train must fail');
  assert.equal(err.code, 64);
  assert.match(err.stderr, /no joint named 'shouldr'; nearest joints: 'shoulder'/);
  assert.equal(existsSync(out), false);
});
