import type { MjData, MjModel } from 'mujoco';
import type { ModelInfo } from '../modelInfo.js';
import type { CommandSpec, Plant, SignalSpec, Signals } from '../plant.js';
import { nearestHint } from '../../util/nearestNames.js';
import { loadModelFile } from './modelLoader.js';
import { loadMujoco } from './mujocoModule.js';
import { readModelInfo } from './readModelInfo.js';

/**
 * A robot seen through its MJCF model: wraps the robot's plant (RosPlant) and gives the signals
 * the MuJoCo plant gives, computed from the robot's joint state by forward kinematics
 * (mj_kinematics, mj_comPos, mj_comVel on the model's own MjData), so the same task scores sim
 * and robot. The robot's joint positions and velocities arrive as the signals `joint_pos` and
 * `joint_vel`, one entry per name in `joints` (JointState names = MJCF joint names); a
 * floating base needs `base_position` (3, world), `base_orientation` (4, w x y z) and, for
 * velocities, `base_linear_velocity` (3, world) and `base_angular_velocity` (3, body), e.g. from
 * an Odometry topic. Signals it cannot compute (contact forces, actuator forces, sensors) are
 * the robot plant's own, passed through by name when it has them.
 */
export interface KinematicsPlantOptions {
  /** MJCF joint names, in the order of the robot's `joint_pos` / `joint_vel` signals. */
  joints: readonly string[];
}

const COMPUTED = ['qpos', 'qvel', 'xpos', 'xmat', 'site_xpos', 'site_xmat', 'cvel', 'subtree_com', 'ctrl', 'time'];

export class KinematicsPlant implements Plant {
  readonly kind: string;
  readonly signals: readonly SignalSpec[];
  readonly command: CommandSpec;
  readonly controlPeriod: number;
  readonly info: ModelInfo;
  private readonly qposIndex: Int32Array;
  private readonly qvelIndex: Int32Array;
  private readonly qpos: Float64Array;
  private readonly qvel: Float64Array;
  private readonly ctrl: Float64Array;
  private readonly time = new Float64Array(1);
  private readonly free: { qpos: number; qvel: number } | null;
  private readonly out = new Map<string, Float64Array>();
  private readonly started = performance.now();
  private readonly buffers: Record<'xpos' | 'xmat' | 'site_xpos' | 'site_xmat' | 'cvel' | 'subtree_com', Float64Array>;
  private closed = false;

  // The robot plant's optional capabilities, forwarded when it has them (see Plant).
  drain?: Plant['drain'];
  takeNow?: Plant['takeNow'];
  cancelReset?: Plant['cancelReset'];
  triggerEstop?: Plant['triggerEstop'];
  clearEstop?: Plant['clearEstop'];
  signalAge?: Plant['signalAge'];
  declare readonly estopped?: boolean;
  declare readonly estopCause?: string | null;

  private constructor(
    private readonly inner: Plant,
    // Public for the web UI's 3D view: after each read(), data holds the robot's body poses.
    readonly mujoco: Awaited<ReturnType<typeof loadMujoco>>,
    readonly model: MjModel,
    readonly data: MjData,
    modelPath: string,
    options: KinematicsPlantOptions,
  ) {
    this.kind = `${inner.kind}+kinematics`;
    this.command = inner.command;
    this.controlPeriod = inner.controlPeriod;
    const info = readModelInfo(mujoco, model, modelPath);
    this.info = info;
    const innerSizes = new Map(inner.signals.map((s) => [s.name, s.size]));
    const names = info.joints.map((j) => j.name);
    const qposIndex: number[] = [];
    const qvelIndex: number[] = [];
    for (const name of options.joints) {
      const j = info.joints.find((x) => x.name === name);
      if (j === undefined) throw new Error(`robot joint '${name}' is not a joint of ${modelPath}; ${nearestHint(name, names, 'joints')}`);
      if (j.type === 'free' || j.type === 'ball') throw new Error(`robot joint '${name}' is a ${j.type} joint in ${modelPath}: a JointState carries hinge and slide joints only`);
      qposIndex.push(j.qposAddress);
      qvelIndex.push(j.dofAddress);
    }
    for (const [signal, n] of [['joint_pos', options.joints.length], ['joint_vel', options.joints.length]] as const) {
      if (innerSizes.get(signal) !== n) throw new Error(`the robot plant must give '${signal}' with one value per joint (${n}: ${options.joints.join(', ')}), it gives ${innerSizes.has(signal) ? innerSizes.get(signal) : 'no such signal'}: map a JointState's ${signal === 'joint_pos' ? 'position' : 'velocity'} to it`);
    }
    const freeJoint = info.joints.find((j) => j.type === 'free');
    this.free = null;
    if (freeJoint !== undefined) {
      for (const [signal, n] of [['base_position', 3], ['base_orientation', 4]] as const) {
        if (innerSizes.get(signal) !== n) throw new Error(`${modelPath} has a floating base (free joint '${freeJoint.name}'): on the robot its pose must come in as '${signal}' (${n} values), e.g. from nav_msgs/msg/Odometry; the robot plant gives ${innerSizes.has(signal) ? `${innerSizes.get(signal)} values` : 'no such signal'}`);
      }
      this.free = { qpos: freeJoint.qposAddress, qvel: freeJoint.dofAddress };
    }
    const unlisted = info.joints.filter((j) => (j.type === 'hinge' || j.type === 'slide') && !options.joints.includes(j.name)).map((j) => j.name);
    if (unlisted.length > 0 && unlisted.length === info.joints.length) throw new Error(`no joint of ${modelPath} is mapped from the robot`);
    this.qposIndex = Int32Array.from(qposIndex);
    this.qvelIndex = Int32Array.from(qvelIndex);
    // Joints the robot does not publish stay at the model's initial position, at rest.
    this.qpos = Float64Array.from(info.qpos0);
    this.qvel = new Float64Array(info.nv);
    this.ctrl = new Float64Array(inner.command.size);
    const m = model;
    this.buffers = {
      xpos: new Float64Array(m.nbody * 3),
      xmat: new Float64Array(m.nbody * 9),
      site_xpos: new Float64Array(m.nsite * 3),
      site_xmat: new Float64Array(m.nsite * 9),
      cvel: new Float64Array(m.nbody * 6),
      subtree_com: new Float64Array(m.nbody * 3),
    };
    if (inner.drain) this.drain = (untilMs) => inner.drain!(untilMs);
    if (inner.takeNow) this.takeNow = () => inner.takeNow!();
    if (inner.cancelReset) this.cancelReset = () => inner.cancelReset!();
    if (inner.triggerEstop) this.triggerEstop = (reason) => inner.triggerEstop!(reason);
    if (inner.clearEstop) this.clearEstop = () => inner.clearEstop!();
    // Computed signals are as old as the joint state they come from; 'ctrl' (the command last
    // written) and 'time' (this machine's clock) are held here and always current.
    if (inner.signalAge) this.signalAge = (signal) => (signal === 'ctrl' || signal === 'time' ? 0 : inner.signalAge!(COMPUTED.includes(signal) ? 'joint_pos' : signal));
    if ('estopped' in inner) Object.defineProperty(this, 'estopped', { get: () => inner.estopped, enumerable: true });
    if ('estopCause' in inner) Object.defineProperty(this, 'estopCause', { get: () => inner.estopCause, enumerable: true });
    this.signals = [
      { name: 'qpos', size: m.nq, doc: 'generalized positions from the robot joint state' },
      { name: 'qvel', size: m.nv, doc: 'generalized velocities from the robot joint state' },
      { name: 'xpos', size: m.nbody * 3, doc: 'body positions by forward kinematics' },
      { name: 'xmat', size: m.nbody * 9, doc: 'body orientations by forward kinematics' },
      { name: 'site_xpos', size: m.nsite * 3, doc: 'site positions by forward kinematics' },
      { name: 'site_xmat', size: m.nsite * 9, doc: 'site orientations by forward kinematics' },
      { name: 'cvel', size: m.nbody * 6, doc: 'body velocities by forward kinematics' },
      { name: 'subtree_com', size: m.nbody * 3, doc: 'subtree centres of mass by forward kinematics' },
      { name: 'ctrl', size: inner.command.size, doc: 'the command last written' },
      { name: 'time', size: 1, doc: 'seconds since the plant opened (wall clock)' },
      ...inner.signals.filter((s) => !COMPUTED.includes(s.name)),
    ];
  }

  /** Wrap `inner` with the kinematics of the MJCF file `modelPath`; throws naming an unmapped joint or base. */
  static async create(inner: Plant, modelPath: string, options: KinematicsPlantOptions): Promise<KinematicsPlant> {
    const mujoco = await loadMujoco();
    const model = loadModelFile(mujoco, modelPath);
    const data = new mujoco.MjData(model);
    try {
      return new KinematicsPlant(inner, mujoco, model, data, modelPath, options);
    } catch (err) {
      data.delete();
      model.delete();
      throw err;
    }
  }

  async reset(): Promise<void> {
    this.ctrl.fill(0);
    await this.inner.reset();
  }

  read(): Signals {
    const s = this.inner.read();
    const q = this.qpos;
    const v = this.qvel;
    const jp = s.get('joint_pos') as Float64Array;
    const jv = s.get('joint_vel') as Float64Array;
    for (let k = 0; k < this.qposIndex.length; k++) {
      q[this.qposIndex[k]] = jp[k];
      v[this.qvelIndex[k]] = jv[k];
    }
    if (this.free !== null) {
      const p = s.get('base_position') as Float64Array;
      const o = s.get('base_orientation') as Float64Array;
      for (let k = 0; k < 3; k++) q[this.free.qpos + k] = p[k];
      for (let k = 0; k < 4; k++) q[this.free.qpos + 3 + k] = o[k];
      const lin = s.get('base_linear_velocity');
      const ang = s.get('base_angular_velocity');
      for (let k = 0; k < 3; k++) {
        v[this.free.qvel + k] = lin === undefined ? 0 : lin[k];
        v[this.free.qvel + 3 + k] = ang === undefined ? 0 : ang[k];
      }
    }
    const { mujoco, model: m, data: d } = this;
    (d.qpos as Float64Array).set(q);
    (d.qvel as Float64Array).set(v);
    mujoco.mj_kinematics(m, d);
    mujoco.mj_comPos(m, d);
    mujoco.mj_comVel(m, d);
    this.time[0] = (performance.now() - this.started) / 1000;
    const out = this.out;
    for (const [k, x] of s) out.set(k, x);
    out.set('qpos', q);
    out.set('qvel', v);
    // Copied out: views into WASM memory die when it grows.
    const b = this.buffers;
    b.xpos.set(d.xpos as Float64Array);
    b.xmat.set(d.xmat as Float64Array);
    b.site_xpos.set(d.site_xpos as Float64Array);
    b.site_xmat.set(d.site_xmat as Float64Array);
    b.cvel.set(d.cvel as Float64Array);
    b.subtree_com.set(d.subtree_com as Float64Array);
    for (const k of ['xpos', 'xmat', 'site_xpos', 'site_xmat', 'cvel', 'subtree_com'] as const) out.set(k, b[k]);
    out.set('ctrl', this.ctrl);
    out.set('time', this.time);
    return out;
  }

  write(command: Float64Array): void {
    this.ctrl.set(command);
    this.inner.write(command);
  }

  advance(): Promise<void> {
    return this.inner.advance();
  }

  /** Closed: its MuJoCo model and data are freed. */
  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.data.delete();
    this.model.delete();
    await this.inner.close();
  }
}
