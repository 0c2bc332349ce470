/**
 * What the live robot-phase tests share (not a test file itself): a daemon configuration for the
 * pendulum on the stand-in robot, and the stand-in robot (`sacbridge sim-robot`) as a child
 * process on the test's DDS domain.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAIN_JS } from '../daemon/helpers.js';
import { rosChildEnv } from '../rosLive.js';

/** Topics under `ns`, 20 Hz, stale after `staleAgeMs`, operator reset through ready/reset_request. */
export function robotConfig(dir: string, ns: string, options: { staleAgeMs?: number; checkpointEverySeconds?: number } = {}): string {
  const file = join(dir, 'robot.json');
  writeFileSync(file, JSON.stringify({
    daemon: { stateDir: join(dir, 'state'), checkpointEverySteps: 0, checkpointEverySeconds: options.checkpointEverySeconds ?? 3, statusEverySeconds: 0.2 },
    sim: { totalSteps: 300, evalEvery: 0 },
    switch: { mode: 'automatic', gateReturn: -1e9, gateEpisodes: 2 },
    ros: {
      enabled: true, nodeName: `sacbridge_e2e_${process.pid}`, controlRateHz: 20, staleAgeMs: options.staleAgeMs ?? 300,
      observations: [{ topic: `${ns}/joint_states`, type: 'sensor_msgs/msg/JointState', fields: { qpos: 'position[hinge]', qvel: 'velocity[hinge]' } }],
      command: { type: 'std_msgs/msg/Float64MultiArray', topic: `${ns}/effort_controller/commands` },
      estopTopic: `${ns}/estop`, phaseTopic: `${ns}/phase`, statusTopic: `${ns}/diagnostics`,
      reset: { mode: 'operator', readyTopic: `${ns}/ready`, requestTopic: `${ns}/reset_request` },
    },
    safety: { commandMin: [-2], commandMax: [2] },
  }));
  return file;
}

/** The stand-in robot from the same configuration, on DDS domain `domain`; resolves once it publishes. */
export async function startStandIn(config: string, domain: number, extra: string[] = []): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MAIN_JS, 'sim-robot', '--config', config, '--rate', '100', '--mass-scale', '1.2', '--node-name', `robot_${process.pid}_${Date.now() % 100000}`, ...extra], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...rosChildEnv(domain) }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`sim-robot did not start: ${out} ${err}`)), 30_000);
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      if (out.includes('"simRobot":"ready"')) { clearTimeout(t); resolve(); }
    });
    child.on('exit', (code) => { clearTimeout(t); reject(new Error(`sim-robot exited ${code}: ${out} ${err}`)); });
  });
  return child;
}
