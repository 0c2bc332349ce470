import { ReplayBuffer } from '../../src/agent/replayBuffer.js';
import { SoftActorCritic } from '../../src/agent/sac.js';
import type { MujocoPlant } from '../../src/plant/mujoco/mujocoPlant.js';
import type { RclModule } from '../../src/plant/ros/rclnodejs.js';
import { RosPlant } from '../../src/plant/ros/rosPlant.js';
import { SimulatedRobot } from '../../src/plant/ros/simulatedRobot.js';
import { Rng } from '../../src/util/rng.js';

/** A small untrained agent and a sim replay of random point_reach-shaped transitions. */
export function agentAndReplay(): { agent: SoftActorCritic; simReplay: ReplayBuffer } {
  const agent = new SoftActorCritic(4, 2, { hidden: [32, 32], batchSize: 32 }, 1);
  const simReplay = new ReplayBuffer({ capacity: 1000, observationSize: 4, actionSize: 2 });
  const rng = new Rng(2);
  const o = new Float32Array(4), a = new Float32Array(2), n = new Float32Array(4);
  for (let i = 0; i < 500; i++) {
    o.forEach((_, j) => (o[j] = rng.range(-0.5, 0.5)));
    a.forEach((_, j) => (a[j] = rng.range(-1, 1)));
    n.forEach((_, j) => (n[j] = o[j]! + 0.01 * rng.normal()));
    simReplay.add(o, a, -10 * Math.hypot(o[0]!, o[1]!), n, false);
  }
  return { agent, simReplay };
}

/**
 * The point_reach body as a lockstep robot on a ROS graph: SimulatedRobot (one tick of latency,
 * small seeded noise, a step per command) and the RosPlant that drives it (operator resets on
 * /ready, lockstep advance).
 */
export function pointReachRobot(rcl: RclModule, body: MujocoPlant, advanceTimeoutS: number): { robot: SimulatedRobot; plant: RosPlant } {
  const robot = SimulatedRobot.open(rcl, body, {
    nodeName: 'robot', commandTopic: '/cmd', latencySteps: 1, readyTopic: '/ready',
    jointStates: { topic: '/joint_states', joints: ['x', 'y'], position: 'qpos', velocity: 'qvel' },
    noise: { std: 0.002, rng: new Rng(1) },
    timing: { mode: 'on-command' },
  });
  const plant = RosPlant.open(rcl, {
    nodeName: 'sacbridge', controlPeriod: body.controlPeriod,
    observations: [{ type: 'sensor_msgs/msg/JointState', topic: '/joint_states', joints: ['x', 'y'], signals: { position: 'qpos', velocity: 'qvel' } }],
    command: { type: 'std_msgs/msg/Float64MultiArray', topic: '/cmd', low: [-1, -1], high: [1, 1] },
    estop: { topic: '/estop' },
    reset: { mode: 'operator', topic: '/ready', timeout: 5 },
    advance: { mode: 'lockstep', timeout: advanceTimeoutS },
  });
  return { robot, plant };
}
