/**
 * Sim to real, end to end on the ROS double: SAC trains on point_reach in MuJoCo (5000 steps),
 * passes the sim gate (10 deterministic episodes, mean >= -60), and is switched to a "robot":
 * the same MJCF with deliberately different dynamics (a tilted table: an in-plane pull of
 * 1.5 N and 1 N against actuators of 2.5 N, which the sim never showed; one tick of actuation
 * latency; sensor noise), stepped by SimulatedRobot behind the in-memory ROS graph and seen
 * through RosPlant in lockstep. The same task code scores it; on the robot the target stays at
 * its default and the robot resets to its home position (the operator's "ready" on /ready).
 * FineTuneSession fine-tunes with the SAC learner in its worker thread (75% robot data per
 * batch, one update per robot step) for 130 episodes.
 *
 * A `.serial` test: npm test runs it after the others, alone. The run is reproducible: the
 * learner's versions act on the deterministic schedule (versionSchedule 'scheduled': which weights
 * act at which tick follows the transition count, not the thread timing) and the episode's end
 * waits for the robot's answer to the safe command before the operator's reset (the reset used to
 * race it, so episode 2 differed between runs: test/finetune/rosDoubleDeterminism.test.ts). The
 * outcome used to have two modes (gain 17-20 or 1-5), picked by thread timing; the temperature is
 * reset to 0.05 at the switch (switch.temperature, the default), which keeps the policy's entropy
 * from jumping when the actor starts to move (docs/finetuning.md).
 *
 * Measured (two runs, ~35 s sim training and ~68 s fine-tuning at 100 Hz on a loaded machine):
 * sim gate -41.7; on the robot the unadapted deterministic policy scores -67.2 (it lets the pull
 * drag the point off the target), after fine-tuning -57.2 and -54.7. The stochastic fine-tuning
 * episodes: first ten -77.4, a dip to about -170 while the critic absorbs the robot's data
 * (episodes 15-50), then -45 to -60 from episode 65 on; last ten -56.5 and -56.9.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCompute } from '../../src/compute/backend.js';
import { Env } from '../../src/env/env.js';
import { evaluateGate, runEpisodes } from '../../src/train/evaluation.js';
import { FineTuneSession, type FineTuneEpisode } from '../../src/finetune/session.js';
import { MujocoPlant } from '../../src/plant/mujoco/mujocoPlant.js';
import { FakeRosGraph } from '../../src/plant/ros/testing/fakeRclnodejs.js';
import { pointReach } from '../../src/task/builtin/pointReach.js';
import { resolveModelPath } from '../../src/task/registry.js';
import { createEnv } from '../../src/wiring/envFactory.js';
import { Trainer } from '../../src/train/trainer.js';
import { pointReachRobot } from './fixtures.js';

await initCompute();

const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;

test('sim training -> gate -> switch -> fine-tuning on a robot with other dynamics: the return rises', { timeout: 900_000 }, async () => {
  // 1. Sim training (the CI learning test's settings, shorter).
  const runDir = mkdtempSync(join(tmpdir(), 'sacbridge-s2r-'));
  const trainer = await Trainer.create({
    task: 'point_reach', seed: 3, runDir,
    makeEnv: (seed) => createEnv('point_reach', { seed }),
    hyperparameters: { hidden: [64, 64], batchSize: 128, learningStarts: 500, bufferSize: 20_000 },
    metricsEvery: 100_000,
  });
  const t0 = performance.now();
  await trainer.run(5000);
  const simSeconds = (performance.now() - t0) / 1000;

  // 2. Gate: deterministic episodes in sim.
  const gateEnv = await createEnv('point_reach', { seed: 99 });
  const gate = await evaluateGate(gateEnv, trainer.agent, 10, -60);
  await gateEnv.plant.close();
  assert.ok(gate.passed, `gate: mean ${gate.mean.toFixed(1)}`);

  // 3. The robot: other dynamics behind the ROS graph.
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  // A tilted table: gravity in the plane pulls with 1.5 N along +x and 1 N along -y (the actuators
  // give at most 2.5 N), a force the sim never showed the policy: it must learn to lean on it.
  const robotModel = join(runDir, 'robot_point_reach.xml');
  writeFileSync(robotModel, readFileSync(resolveModelPath('point_reach'), 'utf8').replace('gravity="0 0 0"', 'gravity="3 -2 0"'));
  const mujocoRobot = await MujocoPlant.create(robotModel, { frameSkip: pointReach.frameSkip });
  await mujocoRobot.reset();
  const { robot, plant } = pointReachRobot(rcl, mujocoRobot, 2);
  const task = pointReach.create(); // the same task code; on the robot its target stays put

  /** Deterministic episodes on the robot (it resets to its home position; only sensor noise differs). */
  const robotReturns = (policy: { act(o: Float32Array, d: boolean, out: Float32Array): void }, episodes: number): Promise<number[]> =>
    runEpisodes(new Env(plant, pointReach.create(), { seed: 0 }), policy, episodes, true, { alongReset: () => robot.reset() });

  try {
    const unadapted = await robotReturns(trainer.agent, 3);

    // 4. Switch: fine-tune on the robot.
    const episodes: FineTuneEpisode[] = [];
    const session = await FineTuneSession.start({
      agent: trainer.agent, simReplay: trainer.replay, plant, task,
      // The watchdog's limit as in bench:finetune: a stale tick (wall-clock age, which a loaded
      // machine can stretch in lockstep) is not learned from and would make the run differ.
      safety: { low: [-1, -1], high: [1, 1], watchdog: { maxAge: 2, action: 'hold' } },
      rateHz: 100, robotFraction: 0.75, updatesPerStep: 1, learningStarts: 500, publishEvery: 10, robotReplayCapacity: 20_000,
      seed: 5, compute: 'wasm', versionSchedule: 'scheduled', temperature: 0.05,
      // The operator answers every reset with "ready" once the robot is back at a start spot.
      // After the last episode it stops answering: the run ends after exactly 130 episodes.
      onEpisode: (e) => { episodes.push(e); if (episodes.length < 130) setTimeout(() => void robot.reset(), 1); },
    });
    await robot.reset(); // the first episode's "ready"
    const t1 = performance.now();
    while (episodes.length < 130 && performance.now() - t1 < 600_000) await new Promise((r) => setTimeout(r, 200));
    const result = await session.stop();
    const fineSeconds = (performance.now() - t1) / 1000;
    assert.ok(result.state !== null, 'the learned state came back');
    const s = result.status;

    const adapted = await robotReturns(trainer.agent, 3);
    const returns = episodes.map((e) => e.return);
    const firstTen = mean(returns.slice(0, 10)), lastTen = mean(returns.slice(-10));
    console.log(JSON.stringify({
      sim_seconds: Number(simSeconds.toFixed(1)), gate: Number(gate.mean.toFixed(1)),
      fine_seconds: Number(fineSeconds.toFixed(1)), steps: s.steps, episodes: returns.length, updates: s.learner.updates, policy_version: s.policyVersion,
      unadapted: Number(mean(unadapted).toFixed(1)), adapted: Number(mean(adapted).toFixed(1)),
      first10: Number(firstTen.toFixed(1)), last10: Number(lastTen.toFixed(1)),
      returns: returns.map((r) => Math.round(r)), loop: { late: s.loop.lateFraction, p99: s.loop.jitterUsP99 },
      safety: s.safety.counters, skipped: s.transitionsSkipped, dropped: s.learner.ringDropped,
    }));
    assert.equal(returns.length, 130, 'all 130 fine-tuning episodes ran');
    assert.equal(s.transitionsSkipped, 0, 'every transition was learned from (no stale tick: the run is the seeded one)');
    assert.ok(s.learner.updates > 1000, `updates ${s.learner.updates}`);
    assert.ok(s.policyVersion > 0, 'fine-tuned weights reached the control loop');
    // Measured (see the header): deterministic return on the robot -67.2 before, -57.2 after; the
    // fine-tuning episodes' mean -77.4 over the first ten, -56.5 over the last ten. Evaluation
    // episodes differ only by sensor noise (spread < 1), the last 60 fine-tuning episodes spread
    // by about 3 around their mean. Asked: half of each measured gain.
    assert.ok(mean(adapted) > mean(unadapted) + 5, `robot return before ${mean(unadapted).toFixed(1)}, after ${mean(adapted).toFixed(1)}`);
    assert.ok(lastTen > firstTen + 10, `fine-tuning episodes: first ten ${firstTen.toFixed(1)}, last ten ${lastTen.toFixed(1)}`);
  } finally {
    await plant.close();
    await robot.close();
    await mujocoRobot.close();
    await trainer.close();
    rmSync(runDir, { recursive: true });
  }
});
