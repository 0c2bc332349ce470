import type { Plant } from '../plant/plant.js';
import { MujocoPlant } from '../plant/mujoco/mujocoPlant.js';
import { bodyPoses, sceneFromModel, type Scene } from './scene.js';
import type { UiSources } from './server.js';

/**
 * The web UI's sources in the daemon: the scene and live body poses of whatever plant the job
 * shows (the sim training env's MuJoCo plant), read on the main thread between ticks. Plants
 * without a MuJoCo model (ROS 2, remote) have no scene; the curves and status still show.
 */
export function liveSources(runDir: string, plant: () => Plant | null, status: () => unknown): UiSources {
  let cached: { plant: MujocoPlant; scene: Scene; poses: Float32Array } | null = null;
  const current = (): typeof cached => {
    const p = plant();
    if (!(p instanceof MujocoPlant)) return null;
    if (cached?.plant !== p) {
      const scene = sceneFromModel(p.mujoco, p.model);
      cached = { plant: p, scene, poses: new Float32Array(7 * scene.bodies.length) };
    }
    return cached;
  };
  return {
    runDir,
    scene: () => current()?.scene ?? null,
    poses: () => {
      const c = current();
      return c === null ? null : bodyPoses(c.plant.model, c.plant.data, c.poses);
    },
    status,
  };
}
