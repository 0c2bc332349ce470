import { bodyPoses, sceneFromModel, type Scene } from './scene.js';
import type { SafetyReport, UiEvents } from './events.js';
import type { PoseView } from './poseView.js';
import type { UiSources } from './server.js';

/**
 * The web UI's sources in the daemon: the scene and live body poses of whatever the job shows
 * (the training env's plant, the evaluation env's while it evaluates, the robot seen through its
 * model while fine-tuning), read on the main thread between ticks. Without a view (a remote
 * plant, a robot without a joint state) the curves, status and events still show.
 */
export function liveSources(runDir: string, o: { view: () => PoseView | null; status: () => unknown; events?: UiEvents; safety?: () => SafetyReport | null }): UiSources {
  const { view, status, events, safety } = o;
  let cached: { model: PoseView['model']; scene: Scene; poses: Float32Array } | null = null;
  let lastScene: Scene | null = null;
  // The scene is read once per model (views are made afresh; their models live as long as their plants).
  const current = (): { view: PoseView; scene: Scene; poses: Float32Array } | null => {
    const v = view();
    if (v === null) return null;
    if (cached?.model !== v.model) {
      const scene = sceneFromModel(v.mujoco, v.model);
      cached = { model: v.model, scene, poses: new Float32Array(7 * scene.bodies.length) };
      lastScene = scene;
    }
    return { view: v, scene: cached.scene, poses: cached.poses };
  };
  return {
    runDir,
    // The last scene shown stays drawable between views (e.g. after the robot phase ends).
    scene: () => current()?.scene ?? lastScene,
    poses: () => {
      const c = current();
      if (c === null) return null;
      c.view.refresh?.();
      return { poses: bodyPoses(c.view.model, c.view.data, c.poses), ...(c.view.label === undefined ? {} : { label: c.view.label }) };
    },
    status,
    ...(events === undefined ? {} : { events }),
    ...(safety === undefined ? {} : { safety }),
  };
}
