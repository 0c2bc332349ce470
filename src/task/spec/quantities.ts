import type { ModelInfo } from '../../plant/modelInfo.js';
import { jointWidths } from '../../plant/modelInfo.js';
import { contactPairSignal } from '../../plant/mujoco/contactPairs.js';
import { nearestHint } from '../../util/nearestNames.js';
import type { Json, SpecReader } from './specReader.js';

/**
 * Quantities a task reads, resolved once against a model into readers that copy values from
 * the plant's signals (by fixed offsets) into an output vector: no lookups by name and no
 * allocation per tick.
 */

/** Signal arrays in slot order, refreshed from the plant's Signals before each use. */
export type SlotArrays = Float64Array[];
export type Reader = (s: SlotArrays, out: Float64Array, at: number) => void;

export interface CompiledQuantity {
  readonly size: number;
  readonly units: string;
  /** Where the values come from, for `tasks --describe`. */
  readonly source: string;
  readonly read: Reader;
}

/** The plant signals a compiled task reads, each at a fixed slot. */
export class SignalSlots {
  readonly names: string[] = [];
  readonly sizes: number[] = [];

  slot(name: string, size: number): number {
    const i = this.names.indexOf(name);
    if (i >= 0) return i;
    this.names.push(name);
    this.sizes.push(size);
    return this.names.length - 1;
  }
}

/** Vectors the task itself holds: its targets. */
export interface TaskVectors {
  readonly targets: ReadonlyMap<string, Float64Array>;
}

export type ElementKind = 'joint' | 'body' | 'site' | 'sensor' | 'actuator' | 'geom' | 'keyframe';

/** Resolves MJCF names of one model, failing with the nearest names it has. */
export class ModelNames {
  constructor(
    readonly model: ModelInfo,
    private readonly r: SpecReader,
  ) {}

  names(kind: ElementKind): string[] {
    const m = this.model;
    switch (kind) {
      case 'joint':
        return m.joints.map((j) => j.name);
      case 'body':
        return m.bodies.map((b) => b.name);
      case 'site':
        return [...m.sites];
      case 'sensor':
        return m.sensors.map((s) => s.name);
      case 'actuator':
        return m.actuators.map((a) => a.name);
      case 'geom':
        return m.geoms.map((g) => g.name);
      case 'keyframe':
        return m.keyframes.map((k) => k.name);
    }
  }

  id(kind: ElementKind, name: unknown, path: string): number {
    if (typeof name !== 'string' || name === '') this.r.fail(path, `expected the name of a ${kind}, got ${JSON.stringify(name) ?? 'nothing'}`);
    const all = this.names(kind);
    const i = all.indexOf(name);
    if (i < 0) this.r.fail(path, `the model ${this.model.file} has no ${kind} named '${name}'; ${nearestHint(name, all, kind === 'body' ? 'bodies' : `${kind}s`)}`);
    return i;
  }

  /** A list of names or '*' (every element, in model order; bodies leave out the world). */
  ids(kind: 'joint' | 'body' | 'actuator', v: unknown, path: string): number[] {
    if (v === '*') {
      const n = this.names(kind).length;
      return Array.from({ length: n }, (_, i) => i).filter((i) => kind !== 'body' || i > 0);
    }
    const list = this.r.array(v, path);
    if (list.length === 0) this.r.fail(path, `expected at least one ${kind} name or '*'`);
    return list.map((name, k) => this.id(kind, name, `${path}[${k}]`));
  }

  label(kind: ElementKind, i: number): string {
    const n = this.names(kind)[i];
    return n === '' || n === undefined ? `${kind}#${i}` : n;
  }

  labels(kind: ElementKind, ids: readonly number[]): string {
    return ids.length > 4 ? `${ids.slice(0, 3).map((i) => this.label(kind, i)).join(',')},...(${ids.length})` : ids.map((i) => this.label(kind, i)).join(',');
  }
}

export interface QuantityContext {
  readonly r: SpecReader;
  readonly names: ModelNames;
  readonly slots: SignalSlots;
  readonly vectors: TaskVectors;
}

export const QUANTITY_KINDS = ['joint_pos', 'joint_vel', 'position', 'vector', 'up', 'tilt', 'yaw', 'linear_velocity', 'angular_velocity', 'sensor', 'contact_wrench', 'contact_force', 'action', 'actuator_force', 'target'] as const;

/** The fields each quantity takes besides `quantity`. */
export const QUANTITY_FIELDS: Record<(typeof QUANTITY_KINDS)[number], readonly string[]> = {
  joint_pos: ['joints'],
  joint_vel: ['joints'],
  position: ['site', 'body', 'target'],
  vector: ['from', 'to'],
  up: ['site', 'body'],
  tilt: ['site', 'body'],
  yaw: ['site', 'body'],
  linear_velocity: ['body', 'frame'],
  angular_velocity: ['body', 'frame'],
  sensor: ['sensor'],
  contact_wrench: ['bodies'],
  contact_force: ['bodies', 'geoms', 'with'],
  action: [],
  actuator_force: ['actuators'],
  target: ['target'],
};

/** A world point: reads 3 values. */
interface Point {
  readonly source: string;
  readonly read: Reader;
}

export function compilePoint(c: QuantityContext, v: unknown, path: string): Point {
  if (Array.isArray(v)) {
    const p = c.r.numbers(v, path, 3);
    return { source: `[${p.join(', ')}]`, read: (_s, out, at) => ((out[at] = p[0]), (out[at + 1] = p[1]), (out[at + 2] = p[2])) };
  }
  const o = c.r.object(v, path);
  const keys = Object.keys(o);
  if (keys.length !== 1 || !['site', 'body', 'target'].includes(keys[0])) c.r.fail(path, `a point is {"site": NAME}, {"body": NAME}, {"target": NAME} or [x, y, z], got ${JSON.stringify(v)}`);
  return compileFramePosition(c, o, path, keys[0] as 'site' | 'body' | 'target');
}

function compileFramePosition(c: QuantityContext, o: Json, path: string, key: 'site' | 'body' | 'target'): Point {
  const m = c.names.model;
  if (key === 'target') {
    const t = targetVector(c, o.target, `${path}.target`);
    if (t.length !== 3) c.r.fail(`${path}.target`, `target '${String(o.target)}' has ${t.length} components; a point needs 3`);
    return { source: `target ${String(o.target)}`, read: (_s, out, at) => ((out[at] = t[0]), (out[at + 1] = t[1]), (out[at + 2] = t[2])) };
  }
  const id = c.names.id(key, o[key], `${path}.${key}`);
  const slot = key === 'site' ? c.slots.slot('site_xpos', m.sites.length * 3) : c.slots.slot('xpos', m.bodies.length * 3);
  const a = 3 * id;
  return {
    source: `${key === 'site' ? 'site_xpos' : 'xpos'}[${c.names.label(key, id)}]`,
    read: (s, out, at) => {
      const x = s[slot];
      out[at] = x[a];
      out[at + 1] = x[a + 1];
      out[at + 2] = x[a + 2];
    },
  };
}

export function targetVector(c: QuantityContext, name: unknown, path: string): Float64Array {
  const t = typeof name === 'string' ? c.vectors.targets.get(name) : undefined;
  if (t === undefined) {
    const all = [...c.vectors.targets.keys()];
    c.r.fail(path, `no target named ${JSON.stringify(name)} in the task's 'targets'; ${all.length === 0 ? 'it declares none' : `it has: ${all.join(', ')}`}`);
  }
  return t;
}

/** Slot and row offset of a body's or site's rotation matrix (row-major 3x3, world frame). */
function frameRotation(c: QuantityContext, o: Json, path: string): { slot: number; a: number; label: string } {
  const m = c.names.model;
  const hasSite = o.site !== undefined;
  if (hasSite === (o.body !== undefined)) c.r.fail(path, `name exactly one of 'body' or 'site'`);
  if (hasSite) {
    const id = c.names.id('site', o.site, `${path}.site`);
    return { slot: c.slots.slot('site_xmat', m.sites.length * 9), a: 9 * id, label: `site ${c.names.label('site', id)}` };
  }
  const id = c.names.id('body', o.body, `${path}.body`);
  return { slot: c.slots.slot('xmat', m.bodies.length * 9), a: 9 * id, label: `body ${c.names.label('body', id)}` };
}

/** Linear or angular velocity of a body's frame origin, world or body frame (from cvel). */
export function compileBodyVelocity(c: QuantityContext, bodyName: unknown, frame: 'world' | 'body', angular: boolean, path: string): CompiledQuantity {
  const m = c.names.model;
  const b = c.names.id('body', bodyName, path);
  if (b === 0) c.r.fail(path, `the world body does not move`);
  const cvel = c.slots.slot('cvel', m.bodies.length * 6);
  const xmat = c.slots.slot('xmat', m.bodies.length * 9);
  const xpos = c.slots.slot('xpos', m.bodies.length * 3);
  const com = c.slots.slot('subtree_com', m.bodies.length * 3);
  const v6 = 6 * b;
  const p3 = 3 * b;
  const c3 = 3 * m.bodies[b].root;
  const r9 = 9 * b;
  const local = frame === 'body';
  // cvel is [angular; linear] at the subtree centre of mass of the body's root, in world axes;
  // the velocity at the body origin p is v + w x (p - com) (MuJoCo's mj_objectVelocity).
  const read: Reader = (s, out, at) => {
    const cv = s[cvel];
    const wx = cv[v6];
    const wy = cv[v6 + 1];
    const wz = cv[v6 + 2];
    let x: number;
    let y: number;
    let z: number;
    if (angular) {
      x = wx;
      y = wy;
      z = wz;
    } else {
      const p = s[xpos];
      const cm = s[com];
      const dx = p[p3] - cm[c3];
      const dy = p[p3 + 1] - cm[c3 + 1];
      const dz = p[p3 + 2] - cm[c3 + 2];
      x = cv[v6 + 3] + wy * dz - wz * dy;
      y = cv[v6 + 4] + wz * dx - wx * dz;
      z = cv[v6 + 5] + wx * dy - wy * dx;
    }
    if (local) {
      const R = s[xmat];
      out[at] = R[r9] * x + R[r9 + 3] * y + R[r9 + 6] * z;
      out[at + 1] = R[r9 + 1] * x + R[r9 + 4] * y + R[r9 + 7] * z;
      out[at + 2] = R[r9 + 2] * x + R[r9 + 5] * y + R[r9 + 8] * z;
    } else {
      out[at] = x;
      out[at + 1] = y;
      out[at + 2] = z;
    }
  };
  return { size: 3, units: angular ? 'rad/s' : 'm/s', source: `${angular ? 'angular' : 'linear'} velocity of body ${c.names.label('body', b)} (${frame} frame)`, read };
}

function gather(slot: number, index: Int32Array): Reader {
  return (s, out, at) => {
    const x = s[slot];
    for (let k = 0; k < index.length; k++) out[at + k] = x[index[k]];
  };
}

function jointUnits(type: string, velocity: boolean): string {
  if (type === 'hinge') return velocity ? 'rad/s' : 'rad';
  if (type === 'slide') return velocity ? 'm/s' : 'm';
  if (type === 'ball') return velocity ? 'rad/s' : 'quaternion';
  return velocity ? 'm/s,rad/s' : 'm,quaternion';
}

/** Compile the quantity named by `o.quantity` (the other keys of `o` are its parameters). */
export function compileQuantity(c: QuantityContext, o: Json, path: string): CompiledQuantity {
  const kind = c.r.oneOf(o, 'quantity', path, QUANTITY_KINDS);
  const m = c.names.model;
  switch (kind) {
    case 'joint_pos':
    case 'joint_vel': {
      const velocity = kind === 'joint_vel';
      const joints = c.names.ids('joint', o.joints, `${path}.joints`);
      const index: number[] = [];
      const units = new Set<string>();
      for (const j of joints) {
        const info = m.joints[j];
        const w = jointWidths(info.type);
        const base = velocity ? info.dofAddress : info.qposAddress;
        for (let k = 0; k < (velocity ? w.qvel : w.qpos); k++) index.push(base + k);
        units.add(jointUnits(info.type, velocity));
      }
      const slot = velocity ? c.slots.slot('qvel', m.nv) : c.slots.slot('qpos', m.nq);
      return { size: index.length, units: [...units].join(','), source: `${velocity ? 'qvel' : 'qpos'}[${c.names.labels('joint', joints)}]`, read: gather(slot, Int32Array.from(index)) };
    }
    case 'position': {
      const keys = ['site', 'body', 'target'].filter((k) => o[k] !== undefined) as ('site' | 'body' | 'target')[];
      if (keys.length !== 1) c.r.fail(path, `name exactly one of 'site', 'body' or 'target'`);
      const p = compileFramePosition(c, o, path, keys[0]);
      return { size: 3, units: 'm', source: p.source, read: p.read };
    }
    case 'vector': {
      const from = compilePoint(c, o.from, `${path}.from`);
      const to = compilePoint(c, o.to, `${path}.to`);
      const a = new Float64Array(3);
      return {
        size: 3,
        units: 'm',
        source: `(${to.source}) - (${from.source})`,
        read: (s, out, at) => {
          from.read(s, a, 0);
          to.read(s, out, at);
          out[at] -= a[0];
          out[at + 1] -= a[1];
          out[at + 2] -= a[2];
        },
      };
    }
    case 'up':
    case 'tilt':
    case 'yaw': {
      const { slot, a, label } = frameRotation(c, o, path);
      if (kind === 'up') {
        // The frame's z axis in world coordinates: the third column of the rotation.
        return { size: 3, units: '1', source: `z axis of ${label}`, read: (s, out, at) => ((out[at] = s[slot][a + 2]), (out[at + 1] = s[slot][a + 5]), (out[at + 2] = s[slot][a + 8])) };
      }
      if (kind === 'tilt') return { size: 1, units: 'rad', source: `angle of ${label}'s z axis from vertical`, read: (s, out, at) => void (out[at] = Math.acos(Math.max(-1, Math.min(1, s[slot][a + 8])))) };
      return { size: 1, units: 'rad', source: `heading of ${label}'s x axis about world z`, read: (s, out, at) => void (out[at] = Math.atan2(s[slot][a + 3], s[slot][a])) };
    }
    case 'linear_velocity':
    case 'angular_velocity':
      return compileBodyVelocity(c, o.body, c.r.oneOf(o, 'frame', path, ['world', 'body'] as const, 'world'), kind === 'angular_velocity', `${path}.body`);
    case 'sensor': {
      const id = c.names.id('sensor', o.sensor, `${path}.sensor`);
      const sensor = m.sensors[id];
      const slot = c.slots.slot(`sensor:${sensor.name}`, sensor.size);
      return { size: sensor.size, units: 'sensor units', source: `sensor ${sensor.name}`, read: gather(slot, Int32Array.from({ length: sensor.size }, (_, k) => k)) };
    }
    case 'contact_wrench': {
      const bodies = c.names.ids('body', o.bodies, `${path}.bodies`);
      const slot = c.slots.slot('cfrc_ext', m.bodies.length * 6);
      const index = Int32Array.from(bodies.flatMap((b) => [0, 1, 2, 3, 4, 5].map((k) => 6 * b + k)));
      return { size: index.length, units: 'N·m,N', source: `cfrc_ext[${c.names.labels('body', bodies)}] (torque, force per body)`, read: gather(slot, index) };
    }
    case 'contact_force': {
      const pair = contactPair(c, o, path);
      const slot = c.slots.slot(pair.signal, 1);
      return { size: 1, units: 'N', source: `normal contact force between ${pair.label}`, read: (s, out, at) => void (out[at] = s[slot][0]) };
    }
    case 'action': {
      // The plant's 'ctrl' (what reached the actuators this tick), mapped back onto [-1, 1].
      const slot = c.slots.slot('ctrl', m.nu);
      const low = Float64Array.from(m.actuators, (a) => a.low);
      const span = Float64Array.from(m.actuators, (a) => a.high - a.low);
      return {
        size: m.nu,
        units: '1 (action, [-1, 1])',
        source: 'ctrl, scaled from ctrlrange to [-1, 1]',
        read: (s, out, at) => {
          const u = s[slot];
          for (let k = 0; k < low.length; k++) out[at + k] = span[k] > 0 ? (2 * (u[k] - low[k])) / span[k] - 1 : 0;
        },
      };
    }
    case 'actuator_force': {
      const ids = o.actuators === undefined ? m.actuators.map((_, i) => i) : c.names.ids('actuator', o.actuators, `${path}.actuators`);
      const slot = c.slots.slot('actuator_force', m.nu);
      return { size: ids.length, units: 'N or N·m', source: `actuator_force[${c.names.labels('actuator', ids)}]`, read: gather(slot, Int32Array.from(ids)) };
    }
    case 'target': {
      const t = targetVector(c, o.target, `${path}.target`);
      return { size: t.length, units: 'target units', source: `target ${String(o.target)}`, read: (_s, out, at) => out.set(t, at) };
    }
  }
}

/** A quantity with an optional `slice: [from, to)` of its components. */
export function compileSlicedQuantity(c: QuantityContext, o: Json, path: string): CompiledQuantity {
  const q = compileQuantity(c, o, path);
  if (o.slice === undefined) return q;
  const [from, to] = c.r.numbers(o.slice, `${path}.slice`, 2);
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > q.size || from >= to) {
    c.r.fail(`${path}.slice`, `expected [from, to) with 0 <= from < to <= ${q.size} (the quantity's size), got [${from}, ${to}]`);
  }
  const full = new Float64Array(q.size);
  const read = q.read;
  return {
    size: to - from,
    units: q.units,
    source: `${q.source}[${from}:${to}]`,
    read: (s, out, at) => {
      read(s, full, 0);
      for (let k = from; k < to; k++) out[at + k - from] = full[k];
    },
  };
}

/**
 * The two geom sets of a contact-force term: `bodies` and/or `geoms` on one side, `with` (the
 * same keys) on the other; without `with`, the ground: the geoms of the world body.
 */
export function contactPair(c: QuantityContext, o: Json, path: string): { signal: string; label: string } {
  const m = c.names.model;
  const side = (v: Json, p: string): { ids: number[]; label: string } => {
    if (v.bodies === undefined && v.geoms === undefined) c.r.fail(p, `name 'bodies', 'geoms' or both`);
    const ids = new Set<number>();
    const parts: string[] = [];
    if (v.bodies !== undefined) {
      const bodies = c.names.ids('body', v.bodies, `${p}.bodies`);
      for (const b of bodies) {
        const own = m.geoms.flatMap((g, i) => (g.body === b ? [i] : []));
        if (own.length === 0) c.r.fail(`${p}.bodies`, `body '${c.names.label('body', b)}' has no geoms, so nothing of it can touch`);
        own.forEach((g) => ids.add(g));
      }
      parts.push(`bodies ${c.names.labels('body', bodies)}`);
    }
    if (v.geoms !== undefined) {
      const list = c.r.array(v.geoms, `${p}.geoms`);
      if (list.length === 0) c.r.fail(`${p}.geoms`, 'expected at least one geom name');
      const geoms = list.map((g, k) => c.names.id('geom', g, `${p}.geoms[${k}]`));
      geoms.forEach((g) => ids.add(g));
      parts.push(`geoms ${c.names.labels('geom', geoms)}`);
    }
    return { ids: [...ids], label: parts.join(' + ') };
  };
  const a = side(o, path);
  let b: { ids: number[]; label: string };
  if (o.with === undefined) {
    const ground = m.geoms.flatMap((g, i) => (g.body === 0 ? [i] : []));
    if (ground.length === 0) c.r.fail(path, `the model ${m.file} has no ground (no geoms on the world body); name the other side with 'with': {"bodies": [...]} or {"geoms": [...]}`);
    b = { ids: ground, label: 'the ground (world-body geoms)' };
  } else {
    const w = c.r.object(o.with, `${path}.with`);
    c.r.onlyKeys(w, `${path}.with`, ['bodies', 'geoms']);
    b = side(w, `${path}.with`);
  }
  const shared = a.ids.filter((g) => b.ids.includes(g));
  if (shared.length > 0) c.r.fail(path, `geom ${c.names.label('geom', shared[0])} is on both sides of the contact pair`);
  return { signal: contactPairSignal(a.ids, b.ids), label: `${a.label} and ${b.label}` };
}
