// The reach task of reach.json written as a module: `sacbridge train --task examples/arm7/reach.mjs`.
// A module can compute its definition (here: the same terms, with the target box as constants).
import { defineTask } from 'sacbridge';

const ee = { site: 'end_effector' };
const goal = { target: 'goal' };

export default defineTask({
  name: 'arm7_reach',
  description: '7-DoF arm: bring the end-effector site to a target drawn per episode (success: within 2 cm)',
  model: 'scene.xml',
  frameSkip: 10,
  episodeSteps: 100,
  targets: { goal: { low: [0.3, -0.3, 0.2], high: [0.6, 0.3, 0.6], mocap: 'target' } },
  observation: [
    { name: 'joint_angles', quantity: 'joint_pos', joints: '*' },
    { name: 'joint_speeds', quantity: 'joint_vel', joints: '*', scale: 0.1 },
    { name: 'to_goal', quantity: 'vector', from: ee, to: goal, scale: 5 },
    { name: 'goal', quantity: 'target', target: 'goal' },
  ],
  reward: [
    { name: 'distance', type: 'distance', from: ee, to: goal, weight: -1 },
    { name: 'precision', type: 'distance', from: ee, to: goal, kernel: 'exp', std: 0.05, weight: 0.5 },
    { name: 'action_rate', type: 'action_rate', weight: -0.01 },
    { name: 'joint_limits', type: 'joint_limits', joints: '*', soft: 0.95, weight: -1 },
  ],
  reset: { keyframe: 'home', noise: [{ joints: '*', position: { uniform: 0.1 } }] },
});
