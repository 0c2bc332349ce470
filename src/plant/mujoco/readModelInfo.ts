import type { MainModule, MjModel } from 'mujoco';
import type { JointType, KeyframeInfo, ModelInfo } from '../modelInfo.js';

const JOINT_TYPES: readonly JointType[] = ['free', 'ball', 'slide', 'hinge'];

/** Describe a compiled model by names (see ModelInfo). Copies everything: nothing refers to WASM memory. */
export function readModelInfo(mujoco: MainModule, m: MjModel, file: string): ModelInfo {
  const name = (kind: 'mjOBJ_JOINT' | 'mjOBJ_BODY' | 'mjOBJ_SITE' | 'mjOBJ_GEOM' | 'mjOBJ_SENSOR' | 'mjOBJ_ACTUATOR' | 'mjOBJ_KEY', i: number): string =>
    mujoco.mj_id2name(m, mujoco.mjtObj[kind].value, i) ?? '';
  const jntType = Int32Array.from(m.jnt_type as Int32Array);
  const jntQposadr = Int32Array.from(m.jnt_qposadr as Int32Array);
  const jntDofadr = Int32Array.from(m.jnt_dofadr as Int32Array);
  const jntLimited = Uint8Array.from(m.jnt_limited as Uint8Array);
  const jntRange = Float64Array.from(m.jnt_range as Float64Array);
  const jntBody = Int32Array.from(m.jnt_bodyid as Int32Array);
  const bodyMocap = Int32Array.from(m.body_mocapid as Int32Array);
  const bodyParent = Int32Array.from(m.body_parentid as Int32Array);
  const bodyRoot = Int32Array.from(m.body_rootid as Int32Array);
  const geomBody = Int32Array.from(m.geom_bodyid as Int32Array);
  const sensorAdr = Int32Array.from(m.sensor_adr as Int32Array);
  const sensorDim = Int32Array.from(m.sensor_dim as Int32Array);
  const ctrlRange = Float64Array.from(m.actuator_ctrlrange as Float64Array);
  const ctrlLimited = Uint8Array.from(m.actuator_ctrllimited as Uint8Array);
  const trnType = Int32Array.from(m.actuator_trntype as Int32Array);
  const trnId = Int32Array.from(m.actuator_trnid as Int32Array);
  const jointTransmission = mujoco.mjtTrn.mjTRN_JOINT.value;
  const keyQpos = Float64Array.from(m.key_qpos as Float64Array);
  const keyQvel = Float64Array.from(m.key_qvel as Float64Array);
  const keyMpos = Float64Array.from(m.key_mpos as Float64Array);
  const keyframes: KeyframeInfo[] = [];
  for (let k = 0; k < m.nkey; k++) {
    keyframes.push({
      name: name('mjOBJ_KEY', k),
      qpos: keyQpos.slice(k * m.nq, (k + 1) * m.nq),
      qvel: keyQvel.slice(k * m.nv, (k + 1) * m.nv),
      mocapPos: keyMpos.slice(k * 3 * m.nmocap, (k + 1) * 3 * m.nmocap),
    });
  }
  return {
    file,
    nq: m.nq,
    nv: m.nv,
    nu: m.nu,
    nmocap: m.nmocap,
    timestep: m.opt.timestep,
    qpos0: Float64Array.from(m.qpos0 as Float64Array),
    joints: Array.from({ length: m.njnt }, (_, i) => ({
      name: name('mjOBJ_JOINT', i),
      type: JOINT_TYPES[jntType[i]],
      qposAddress: jntQposadr[i],
      dofAddress: jntDofadr[i],
      limited: jntLimited[i] !== 0,
      range: [jntRange[2 * i], jntRange[2 * i + 1]] as const,
      body: jntBody[i],
    })),
    bodies: Array.from({ length: m.nbody }, (_, i) => ({ name: name('mjOBJ_BODY', i), mocapId: bodyMocap[i], parent: bodyParent[i], root: bodyRoot[i] })),
    sites: Array.from({ length: m.nsite }, (_, i) => name('mjOBJ_SITE', i)),
    geoms: Array.from({ length: m.ngeom }, (_, i) => ({ name: name('mjOBJ_GEOM', i), body: geomBody[i] })),
    sensors: Array.from({ length: m.nsensor }, (_, i) => ({ name: name('mjOBJ_SENSOR', i), address: sensorAdr[i], size: sensorDim[i] })),
    actuators: Array.from({ length: m.nu }, (_, i) => ({
      name: name('mjOBJ_ACTUATOR', i),
      low: ctrlRange[2 * i],
      high: ctrlRange[2 * i + 1],
      limited: ctrlLimited[i] !== 0,
      joint: trnType[i] === jointTransmission ? trnId[2 * i] : -1,
    })),
    keyframes,
  };
}
