import type { MjData } from 'mujoco';

/**
 * Cached typed-array views into one MjData. Each property access on MjData builds a new view
 * (slow on the hot path), and a view built before the WebAssembly memory grows goes dead when
 * the heap is not shared: its buffer is detached, its length drops to 0 and writes are silently
 * lost. `current()` hands out the cache and rebuilds it only when that has happened.
 */
export interface MjDataViews {
  readonly qpos: Float64Array;
  readonly qvel: Float64Array;
  readonly ctrl: Float64Array;
  readonly xpos: Float64Array;
  readonly cfrc_ext: Float64Array;
  readonly site_xpos: Float64Array;
  readonly qfrc_constraint: Float64Array;
  readonly sensordata: Float64Array;
  readonly xmat: Float64Array;
  readonly site_xmat: Float64Array;
  readonly cvel: Float64Array;
  readonly subtree_com: Float64Array;
  readonly actuator_force: Float64Array;
  readonly mocap_pos: Float64Array;
}

export class DataViewCache {
  private views: MjDataViews;
  /** Number of times the views were rebuilt after going dead (for tests and logs). */
  rebuilds = 0;

  constructor(private readonly data: MjData) {
    this.views = DataViewCache.build(data);
  }

  /** The views, rebuilt first if memory growth killed them. */
  current(): MjDataViews {
    if (isDead(this.views.xpos)) {
      this.views = DataViewCache.build(this.data);
      this.rebuilds++;
    }
    return this.views;
  }

  /** True when the cached views went dead since the last `current()`. */
  get stale(): boolean {
    return isDead(this.views.xpos);
  }

  private static build(data: MjData): MjDataViews {
    return {
      qpos: data.qpos as Float64Array,
      qvel: data.qvel as Float64Array,
      ctrl: data.ctrl as Float64Array,
      xpos: data.xpos as Float64Array,
      cfrc_ext: data.cfrc_ext as Float64Array,
      site_xpos: data.site_xpos as Float64Array,
      qfrc_constraint: data.qfrc_constraint as Float64Array,
      sensordata: data.sensordata as Float64Array,
      xmat: data.xmat as Float64Array,
      site_xmat: data.site_xmat as Float64Array,
      cvel: data.cvel as Float64Array,
      subtree_com: data.subtree_com as Float64Array,
      actuator_force: data.actuator_force as Float64Array,
      mocap_pos: data.mocap_pos as Float64Array,
    };
  }
}

/**
 * A view over a detached buffer reports length 0. `xpos` always has the world body, so it is
 * a sentinel that is never legitimately empty; all views die together.
 */
export function isDead(view: Float64Array): boolean {
  return view.length === 0 || view.buffer.byteLength === 0;
}
