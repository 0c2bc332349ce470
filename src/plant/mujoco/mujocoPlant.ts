import type { MainModule, MjData, MjModel } from 'mujoco';
import type { ModelInfo } from '../modelInfo.js';
import type { CommandSpec, Plant, SignalSpec, Signals, SimulatorAccess } from '../plant.js';
import { ContactPairForces } from './contactPairs.js';
import { DataViewCache, type MjDataViews } from './dataViews.js';
import { loadModelFile } from './modelLoader.js';
import { loadMujoco, mujocoErrorText } from './mujocoModule.js';
import { readModelInfo } from './readModelInfo.js';

export interface MujocoPlantOptions {
  /** Physics steps per control tick (`advance()`); the control period is timestep * frameSkip. */
  frameSkip: number;
  /**
   * Offer the 'cfrc_ext' signal and run `mj_rnePostConstraint` after each tick to fill it
   * (MuJoCo leaves it zero otherwise). Costs one extra pass per tick, so only when a task reads it.
   */
  contactForces?: boolean;
  /**
   * Contact-pair signals to offer (names from `contactPairSignal`): the normal contact force
   * between two geom sets, recomputed after each tick.
   */
  contactPairs?: readonly string[];
}

export type MjcfElementKind = 'body' | 'joint' | 'geom' | 'site' | 'actuator' | 'sensor';

const ELEMENT_TYPES = {
  body: 'mjOBJ_BODY',
  joint: 'mjOBJ_JOINT',
  geom: 'mjOBJ_GEOM',
  site: 'mjOBJ_SITE',
  actuator: 'mjOBJ_ACTUATOR',
  sensor: 'mjOBJ_SENSOR',
} as const;

/** Model parameters that domain randomisation perturbs, as copied from the model at load. */
export interface NominalParameters {
  /** nbody */
  readonly bodyMass: Float64Array;
  /** nbody x 3 */
  readonly bodyInertia: Float64Array;
  /** ngeom x 3 (sliding, torsional, rolling) */
  readonly geomFriction: Float64Array;
  /** nu x 10 */
  readonly actuatorGainprm: Float64Array;
  /** nu x 10 */
  readonly actuatorBiasprm: Float64Array;
}

/**
 * A MuJoCo model running in process on DeepMind's WebAssembly build. Signals:
 * 'qpos' (nq), 'qvel' (nv), 'ctrl' (nu), 'xpos' (nbody*3), 'site_xpos' (nsite*3),
 * 'qfrc_constraint' (nv), 'xmat' (nbody*9), 'site_xmat' (nsite*9), 'cvel' (nbody*6),
 * 'subtree_com' (nbody*3), 'actuator_force' (nu), 'time' (1), 'cfrc_ext' (nbody*6, only with `contactForces`),
 * the requested contact-pair signals (1 each, N) and 'sensor:<name>' per MJCF sensor. The signal arrays are live views into MuJoCo's memory:
 * valid until the next `advance()`/`reset()`, copy what must outlive the tick.
 */
export class MujocoPlant implements Plant {
  readonly kind = 'mujoco';
  readonly signals: readonly SignalSpec[];
  readonly command: CommandSpec;
  readonly controlPeriod: number;
  readonly sim: SimulatorAccess;
  readonly nominal: NominalParameters;
  readonly frameSkip: number;
  readonly modelPath: string;
  /** The model's elements by name (for tasks that name them). */
  readonly info: ModelInfo;

  private readonly views: DataViewCache;
  private viewsInMap: MjDataViews | null = null;
  private readonly signalMap = new Map<string, Float64Array>();
  private readonly time = new Float64Array(1);
  private readonly sensorSlices: { name: string; adr: number; dim: number }[];
  private readonly contactForces: boolean;
  private readonly contactPairs: ContactPairForces;
  /** Command delay line: commands written `delay` ticks ago reach the actuators. */
  private delayLine: Float64Array[] = [];
  private delayHead = 0;
  private closed = false;

  private constructor(
    readonly mujoco: MainModule,
    private readonly mjModel: MjModel,
    private readonly mjData: MjData,
    modelPath: string,
    options: MujocoPlantOptions,
  ) {
    if (!Number.isInteger(options.frameSkip) || options.frameSkip < 1) {
      throw new Error(`frameSkip must be a positive integer, got ${options.frameSkip}`);
    }
    this.modelPath = modelPath;
    this.frameSkip = options.frameSkip;
    this.contactForces = options.contactForces ?? false;
    const m = mjModel;
    // Divergence must show as non-finite signals (the env then aborts the episode) rather than
    // MuJoCo silently resetting the state behind the task's back.
    m.opt.disableflags = m.opt.disableflags | mujoco.mjtDisableBit.mjDSBL_AUTORESET.value;
    this.controlPeriod = m.opt.timestep * this.frameSkip;

    // Copies, not views: the accessor objects below allocate, which may grow (and detach) the heap.
    const sensorAdr = Int32Array.from(m.sensor_adr as Int32Array);
    const sensorDim = Int32Array.from(m.sensor_dim as Int32Array);
    this.sensorSlices = [];
    for (let i = 0; i < m.nsensor; i++) {
      const accessor = m.sensor(i);
      const name = accessor.name === '' ? String(i) : accessor.name;
      accessor.delete();
      this.sensorSlices.push({ name: `sensor:${name}`, adr: sensorAdr[i], dim: sensorDim[i] });
    }
    const signals: SignalSpec[] = [
      { name: 'qpos', size: m.nq, doc: 'generalized positions' },
      { name: 'qvel', size: m.nv, doc: 'generalized velocities' },
      { name: 'ctrl', size: m.nu, doc: 'actuator controls applied this tick' },
      { name: 'xpos', size: m.nbody * 3, doc: 'body frame positions, world frame, row per body' },
      { name: 'site_xpos', size: m.nsite * 3, doc: 'site positions, world frame, row per site' },
      { name: 'qfrc_constraint', size: m.nv, doc: 'constraint forces in joint space' },
      { name: 'xmat', size: m.nbody * 9, doc: 'body orientations, world frame, row-major 3x3 per body' },
      { name: 'site_xmat', size: m.nsite * 9, doc: 'site orientations, world frame, row-major 3x3 per site' },
      { name: 'cvel', size: m.nbody * 6, doc: "body spatial velocities [angular; linear] at the root's subtree centre of mass, world axes" },
      { name: 'subtree_com', size: m.nbody * 3, doc: 'centre of mass of each subtree, world frame' },
      { name: 'actuator_force', size: m.nu, doc: 'actuator forces in actuation space' },
      { name: 'time', size: 1, doc: 'simulation time in seconds' },
    ];
    if (this.contactForces) signals.push({ name: 'cfrc_ext', size: m.nbody * 6, doc: 'external (contact) wrench per body: torque, force' });
    this.contactPairs = new ContactPairForces(mujoco, m.ngeom, options.contactPairs ?? [], modelPath);
    for (const name of this.contactPairs.values.keys()) signals.push({ name, size: 1, doc: 'normal contact force between two geom sets (N)' });
    for (const s of this.sensorSlices) signals.push({ name: s.name, size: s.dim, doc: 'MJCF sensor' });
    this.signals = signals;

    const range = Float64Array.from(m.actuator_ctrlrange as Float64Array);
    const limited = Uint8Array.from(m.actuator_ctrllimited as Uint8Array);
    const low = new Float64Array(m.nu);
    const high = new Float64Array(m.nu);
    const names: string[] = [];
    for (let i = 0; i < m.nu; i++) {
      if (!limited[i]) {
        throw new Error(`actuator ${i} has no ctrlrange: sacbridge scales actions onto ctrlrange, so every actuator must be ctrllimited`);
      }
      low[i] = range[2 * i];
      high[i] = range[2 * i + 1];
      const accessor = m.actuator(i);
      names.push(accessor.name === '' ? `actuator${i}` : accessor.name);
      accessor.delete();
    }
    this.command = { size: m.nu, low, high, names };

    this.nominal = {
      bodyMass: Float64Array.from(m.body_mass as Float64Array),
      bodyInertia: Float64Array.from(m.body_inertia as Float64Array),
      geomFriction: Float64Array.from(m.geom_friction as Float64Array),
      actuatorGainprm: Float64Array.from(m.actuator_gainprm as Float64Array),
      actuatorBiasprm: Float64Array.from(m.actuator_biasprm as Float64Array),
    };
    const qpos0 = Float64Array.from(m.qpos0 as Float64Array);
    this.views = new DataViewCache(mjData);
    this.sim = {
      nq: m.nq,
      nv: m.nv,
      initialQpos: qpos0,
      setState: (qpos, qvel) => this.setState(qpos, qvel),
      setMocapPosition: (mocapId, position) => {
        if (!(mocapId >= 0 && mocapId < m.nmocap)) throw new Error(`mocap index ${mocapId} out of range: ${this.modelPath} has ${m.nmocap} mocap bodies`);
        this.views.current().mocap_pos.set(position, 3 * mocapId);
      },
    };
    this.info = readModelInfo(mujoco, m, modelPath);
    this.setCommandDelay(0);
    this.resetNow();
  }

  /** Load the MJCF file and build a plant on it. */
  static async create(modelPath: string, options: MujocoPlantOptions): Promise<MujocoPlant> {
    const mujoco = await loadMujoco();
    const model = loadModelFile(mujoco, modelPath);
    let data: MjData | null = null;
    try {
      data = new mujoco.MjData(model);
      return new MujocoPlant(mujoco, model, data, modelPath, options);
    } catch (err) {
      data?.delete();
      model.delete();
      throw new Error(`MuJoCo model ${modelPath}: ${mujocoErrorText(mujoco, err)}`, { cause: err });
    }
  }

  /** The compiled model (for randomisation and tests). Its arrays are views: re-read them after allocations. */
  get model(): MjModel {
    this.assertOpen();
    return this.mjModel;
  }

  get data(): MjData {
    this.assertOpen();
    return this.mjData;
  }

  /** Index of a named model element (e.g. a body for 'xpos' rows); unknown names throw. */
  elementId(kind: MjcfElementKind, name: string): number {
    const type = this.mujoco.mjtObj[ELEMENT_TYPES[kind]].value;
    const id = this.mujoco.mj_name2id(this.model, type, name);
    if (id < 0) throw new Error(`model ${this.modelPath} has no ${kind} named '${name}'`);
    return id;
  }

  /** Times the cached data views were rebuilt after WebAssembly memory growth. */
  get viewRebuilds(): number {
    return this.views.rebuilds;
  }

  async reset(): Promise<void> {
    this.assertOpen();
    this.resetNow();
  }

  read(): Signals {
    this.assertOpen();
    const v = this.views.current();
    if (v !== this.viewsInMap) this.fillSignalMap(v);
    this.time[0] = this.mjData.time;
    return this.signalMap;
  }

  write(command: Float64Array): void {
    this.assertOpen();
    if (command.length !== this.command.size) {
      throw new Error(`command has ${command.length} components, the MuJoCo model ${this.modelPath} has ${this.command.size} actuators`);
    }
    const line = this.delayLine;
    line[this.delayHead].set(command);
    this.delayHead = (this.delayHead + 1) % line.length;
    // The oldest entry in the line is the command that reaches the actuators now.
    this.views.current().ctrl.set(line[this.delayHead]);
  }

  async advance(): Promise<void> {
    this.assertOpen();
    const { mujoco, mjModel: m, mjData: d } = this;
    for (let i = 0; i < this.frameSkip; i++) mujoco.mj_step(m, d);
    if (this.contactForces) mujoco.mj_rnePostConstraint(m, d);
    if (this.contactPairs.size > 0) this.contactPairs.update(m, d);
  }

  /**
   * Delay commands by `ticks` control periods (action latency). The line starts filled with
   * zeros, MuJoCo's ctrl after reset.
   */
  setCommandDelay(ticks: number): void {
    if (!Number.isInteger(ticks) || ticks < 0) throw new Error(`command delay must be a non-negative integer number of ticks, got ${ticks}`);
    this.delayLine = Array.from({ length: ticks + 1 }, () => new Float64Array(this.command.size));
    this.delayHead = 0;
  }

  get commandDelay(): number {
    return this.delayLine.length - 1;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.signalMap.clear();
    this.contactPairs.close();
    this.mjData.delete();
    this.mjModel.delete();
  }

  private resetNow(): void {
    this.mujoco.mj_resetData(this.mjModel, this.mjData);
    this.mujoco.mj_forward(this.mjModel, this.mjData);
    if (this.contactPairs.size > 0) this.contactPairs.update(this.mjModel, this.mjData);
    for (const slot of this.delayLine) slot.fill(0);
    this.delayHead = 0;
  }

  private setState(qpos: Float64Array, qvel: Float64Array): void {
    this.assertOpen();
    if (qpos.length !== this.sim.nq || qvel.length !== this.sim.nv) {
      throw new Error(`setState needs qpos of ${this.sim.nq} and qvel of ${this.sim.nv} values, got ${qpos.length} and ${qvel.length}`);
    }
    const v = this.views.current();
    v.qpos.set(qpos);
    v.qvel.set(qvel);
    this.mujoco.mj_forward(this.mjModel, this.mjData);
    if (this.contactPairs.size > 0) this.contactPairs.update(this.mjModel, this.mjData);
  }

  private fillSignalMap(v: MjDataViews): void {
    const map = this.signalMap;
    map.set('qpos', v.qpos);
    map.set('qvel', v.qvel);
    map.set('ctrl', v.ctrl);
    map.set('xpos', v.xpos);
    map.set('site_xpos', v.site_xpos);
    map.set('qfrc_constraint', v.qfrc_constraint);
    map.set('xmat', v.xmat);
    map.set('site_xmat', v.site_xmat);
    map.set('cvel', v.cvel);
    map.set('subtree_com', v.subtree_com);
    map.set('actuator_force', v.actuator_force);
    map.set('time', this.time);
    if (this.contactForces) map.set('cfrc_ext', v.cfrc_ext);
    for (const [name, value] of this.contactPairs.values) map.set(name, value);
    for (const s of this.sensorSlices) map.set(s.name, v.sensordata.subarray(s.adr, s.adr + s.dim));
    this.viewsInMap = v;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`MuJoCo plant for ${this.modelPath} is closed`);
  }
}
