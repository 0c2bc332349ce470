import type { ModelInfo } from '../../plant/modelInfo.js';
import { jointWidths } from '../../plant/modelInfo.js';
import type { Signals, SimulatorAccess } from '../../plant/plant.js';
import { Rng } from '../../util/rng.js';
import type { StepScore, Task } from '../task.js';
import { compileBodyVelocity, compilePoint, contactPair, compileSlicedQuantity, ModelNames, QUANTITY_FIELDS, QUANTITY_KINDS, SignalSlots, targetVector, type CompiledQuantity, type QuantityContext, type SlotArrays } from './quantities.js';
import { SpecReader, type Json } from './specReader.js';

/**
 * Compiles a declarative task (src/task/spec/taskSpec.ts; docs/tasks.md) against one model
 * into a Task. Every name is resolved here, once: an unknown name fails with the term, the name
 * and the nearest names the model has. The compiled terms are closures over fixed offsets and
 * preallocated buffers, so a tick allocates nothing but the terms record of its score.
 */

export interface ObservationSlice {
  readonly term: string;
  readonly from: number;
  readonly to: number;
  readonly source: string;
  readonly units: string;
  readonly transform: string;
}

export interface TermDescription {
  readonly name: string;
  readonly kind: string;
  readonly detail: string;
}

export interface CompiledTaskSpec {
  readonly name: string;
  readonly description: string;
  readonly frameSkip: number;
  readonly episodeSteps: number;
  readonly observationSize: number;
  readonly layout: readonly ObservationSlice[];
  readonly rewards: readonly (TermDescription & { weight: number })[];
  readonly terminations: readonly TermDescription[];
  readonly reset: readonly string[];
  /** Plant signals read, with sizes (the env checks the plant offers them). */
  readonly signals: readonly { name: string; size: number }[];
  /** A new task instance (one per env). */
  create(): Task;
}

const TOP_FIELDS = ['$schema', 'name', 'description', 'model', 'frameSkip', 'episodeSteps', 'targets', 'observation', 'reward', 'termination', 'reset'];
const OBS_FIELDS = ['name', 'quantity', 'slice', 'scale', 'offset', 'clip', 'noise'];
const REWARD_TYPES = ['distance', 'progress', 'velocity_tracking', 'upright', 'alive', 'action_magnitude', 'action_rate', 'joint_limits', 'joint_velocity', 'actuator_force', 'contact_force', 'termination'] as const;
type RewardType = (typeof REWARD_TYPES)[number];
const REWARD_FIELDS: Record<RewardType, readonly string[]> = {
  distance: ['from', 'to', 'kernel', 'std'],
  progress: ['body', 'axis'],
  velocity_tracking: ['body', 'frame', 'axes', 'command', 'std', 'angular'],
  upright: ['body', 'site'],
  alive: [],
  action_magnitude: ['units'],
  action_rate: [],
  joint_limits: ['joints', 'soft'],
  joint_velocity: ['joints'],
  actuator_force: ['actuators'],
  contact_force: ['bodies', 'geoms', 'with', 'clip'],
  termination: [],
};
const TERMINATION_TYPES = ['bounds', 'non_finite', 'contact'] as const;
const AXES = ['x', 'y', 'z'] as const;

/** The state shared by a task's compiled terms within one instance. */
class Frame {
  readonly arrays: SlotArrays;
  /** Normalised action of the tick being scored and of the tick before, in [-1, 1]. */
  readonly action: Float64Array;
  readonly previousAction: Float64Array;
  terminated = false;
  constructor(slotCount: number, nu: number) {
    this.arrays = new Array<Float64Array>(slotCount).fill(new Float64Array(0));
    this.action = new Float64Array(nu);
    this.previousAction = new Float64Array(nu);
  }
}

interface RewardFn {
  readonly name: string;
  readonly weight: number;
  value(f: Frame, command: Float64Array): number;
  begin?(f: Frame): void;
}

/** Compile `raw` (parsed JSON or a module's definition) against `model`; `where` names the source in errors. */
export function compileTaskSpec(raw: unknown, model: ModelInfo, where: string): CompiledTaskSpec {
  const r = new SpecReader(where);
  const top = r.object(raw, '');
  r.onlyKeys(top, '', TOP_FIELDS);
  const name = r.string(top, 'name', '');
  const description = r.optionalString(top, 'description', '') ?? `task file ${where}`;
  const frameSkip = r.integer(top, 'frameSkip', '', 1, 1);
  const episodeSteps = r.integer(top, 'episodeSteps', '', 1);
  if (model.nu === 0) r.fail('', `the model ${model.file} has no actuators: there is nothing for a policy to control (add <actuator> elements, e.g. <position joint="..." ctrlrange="..."/>)`);
  const unlimited = model.actuators.findIndex((a) => !a.limited);
  if (unlimited >= 0) r.fail('', `actuator '${model.actuators[unlimited].name || `#${unlimited}`}' of ${model.file} has no ctrlrange: actions in [-1, 1] are scaled onto ctrlrange, so every actuator needs one`);
  const names = new ModelNames(model, r);
  const slots = new SignalSlots();
  const nu = model.nu;

  // Targets: per-episode vectors the task holds.
  const targets = new Map<string, Float64Array>();
  const targetDraws: { name: string; low: Float64Array; high: Float64Array; mocap: number }[] = [];
  const resetLines: string[] = [];
  if (top.targets !== undefined) {
    const t = r.object(top.targets, 'targets');
    for (const [tn, tv] of Object.entries(t)) {
      const path = `targets.${tn}`;
      const o = r.object(tv, path);
      r.onlyKeys(o, path, ['low', 'high', 'value', 'mocap']);
      let low: number[];
      let high: number[];
      if (o.value !== undefined) {
        if (o.low !== undefined || o.high !== undefined) r.fail(path, `give either 'value' or 'low' and 'high'`);
        low = high = r.numbers(o.value, `${path}.value`);
      } else {
        low = r.numbers(o.low, `${path}.low`);
        high = r.numbers(o.high, `${path}.high`, low.length);
        low.forEach((lo, k) => lo <= high[k] || r.fail(path, `low[${k}] = ${lo} is above high[${k}] = ${high[k]}`));
      }
      if (low.length === 0) r.fail(path, 'a target needs at least one component');
      let mocap = -1;
      if (o.mocap !== undefined) {
        const b = names.id('body', o.mocap, `${path}.mocap`);
        mocap = model.bodies[b].mocapId;
        if (mocap < 0) r.fail(`${path}.mocap`, `body '${String(o.mocap)}' is not a mocap body (give it mocap="true" in the MJCF)`);
        if (low.length !== 3) r.fail(`${path}.mocap`, `only a 3-vector target can move a mocap body; '${tn}' has ${low.length} components`);
      }
      const value = Float64Array.from(low, (lo, k) => 0.5 * (lo + high[k]));
      targets.set(tn, value);
      targetDraws.push({ name: tn, low: Float64Array.from(low), high: Float64Array.from(high), mocap });
      const drawn = o.value !== undefined ? `= [${low.join(', ')}]` : `~ U([${low.join(', ')}], [${high.join(', ')}])`;
      resetLines.push(`target ${tn} ${drawn}${mocap >= 0 ? ` (moves mocap body ${String(o.mocap)})` : ''}`);
    }
  }
  const c: QuantityContext = { r, names, slots, vectors: { targets } };

  // Observation.
  const obsTerms = r.array(top.observation, 'observation');
  if (obsTerms.length === 0) r.fail('observation', 'needs at least one term');
  const layout: ObservationSlice[] = [];
  const observers: { q: CompiledQuantity; at: number; scale: Float64Array | null; offset: Float64Array | null; low: number; high: number; noise: { normal: boolean; size: number } | null }[] = [];
  let obsSize = 0;
  const seenNames = new Set<string>();
  const uniqueName = (o: Json, path: string): string => {
    const n = r.string(o, 'name', path);
    if (seenNames.has(n)) r.fail(path, `term name '${n}' is used twice`);
    seenNames.add(n);
    return n;
  };
  obsTerms.forEach((v, i) => {
    const path0 = `observation[${i}]`;
    const o = r.object(v, path0);
    const path = typeof o.name === 'string' ? `${path0} '${o.name}'` : path0;
    const kind = r.oneOf(o, 'quantity', path, QUANTITY_KINDS);
    r.onlyKeys(o, path, [...OBS_FIELDS, ...QUANTITY_FIELDS[kind]]);
    const term = uniqueName(o, path);
    const q = compileSlicedQuantity(c, o, path);
    const perComponent = (key: 'scale' | 'offset', identity: number): Float64Array | null => {
      const s = o[key];
      if (s === undefined) return null;
      const values = typeof s === 'number' ? new Array<number>(q.size).fill(s) : r.numbers(s, `${path}.${key}`, q.size);
      if (!values.every(Number.isFinite)) r.fail(`${path}.${key}`, 'must be finite');
      return values.every((x) => x === identity) ? null : Float64Array.from(values);
    };
    const scale = perComponent('scale', 1);
    const offset = perComponent('offset', 0);
    const [low, high] = o.clip === undefined ? [-Infinity, Infinity] : r.interval(o.clip, `${path}.clip`);
    let noise: { normal: boolean; size: number } | null = null;
    if (o.noise !== undefined) {
      const n = r.object(o.noise, `${path}.noise`);
      r.onlyKeys(n, `${path}.noise`, ['normal', 'uniform']);
      const key = n.normal !== undefined ? 'normal' : 'uniform';
      if (Object.keys(n).length !== 1) r.fail(`${path}.noise`, `give one of {"normal": STD} or {"uniform": HALF_WIDTH}`);
      noise = { normal: key === 'normal', size: r.number(n, key, `${path}.noise`, { min: 0 }) };
    }
    observers.push({ q, at: obsSize, scale, offset, low, high, noise });
    const transform = [offset ? 'minus offset' : '', scale ? 'times scale' : '', noise ? `${noise.normal ? 'N' : 'U'}(${noise.size}) noise` : '', o.clip !== undefined ? `clip [${low}, ${high}]` : ''].filter((x) => x !== '').join(', ');
    layout.push({ term, from: obsSize, to: obsSize + q.size, source: q.source, units: q.units, transform });
    obsSize += q.size;
  });

  // Termination (compiled before rewards: the termination reward reads its outcome).
  const terminators: ((f: Frame) => boolean)[] = [];
  const terminations: TermDescription[] = [];
  if (top.termination !== undefined) {
    r.array(top.termination, 'termination').forEach((v, i) => {
      const path0 = `termination[${i}]`;
      const o = r.object(v, path0);
      const path = typeof o.name === 'string' ? `${path0} '${o.name}'` : path0;
      const type = r.oneOf(o, 'type', path, TERMINATION_TYPES);
      const term = uniqueName(o, path);
      if (type === 'bounds') {
        const kind = r.oneOf(o, 'quantity', path, QUANTITY_KINDS);
        r.onlyKeys(o, path, ['name', 'type', 'quantity', 'slice', 'min', 'max', ...QUANTITY_FIELDS[kind]]);
        const q = compileSlicedQuantity(c, o, path);
        const min = o.min === undefined ? -Infinity : r.number(o, 'min', path);
        const max = o.max === undefined ? Infinity : r.number(o, 'max', path);
        if (o.min === undefined && o.max === undefined) r.fail(path, `give 'min', 'max' or both`);
        if (!(min <= max)) r.fail(path, `min ${min} is above max ${max}`);
        const buf = new Float64Array(q.size);
        const read = q.read;
        terminators.push((f) => {
          read(f.arrays, buf, 0);
          for (let k = 0; k < buf.length; k++) if (!(buf[k] >= min && buf[k] <= max)) return true;
          return false;
        });
        terminations.push({ name: term, kind: type, detail: `ends when any of ${q.source} (${q.units}) leaves [${min}, ${max}] or is not finite` });
      } else if (type === 'non_finite') {
        r.onlyKeys(o, path, ['name', 'type']);
        const qpos = slots.slot('qpos', model.nq);
        const qvel = slots.slot('qvel', model.nv);
        terminators.push((f) => !allFinite(f.arrays[qpos]) || !allFinite(f.arrays[qvel]));
        terminations.push({ name: term, kind: type, detail: 'ends when any qpos or qvel value is not finite' });
      } else {
        r.onlyKeys(o, path, ['name', 'type', 'bodies', 'geoms', 'with', 'threshold']);
        const pair = contactPair(c, o, path);
        const threshold = r.number(o, 'threshold', path, { min: 0, fallback: 1 });
        const slot = slots.slot(pair.signal, 1);
        terminators.push((f) => f.arrays[slot][0] > threshold);
        terminations.push({ name: term, kind: type, detail: `ends when the normal contact force between ${pair.label} exceeds ${threshold} N` });
      }
    });
  }

  // Reward.
  const rewardTerms = r.array(top.reward, 'reward');
  if (rewardTerms.length === 0) r.fail('reward', 'needs at least one term');
  const rewards: RewardFn[] = [];
  const rewardDocs: (TermDescription & { weight: number })[] = [];
  rewardTerms.forEach((v, i) => {
    const path0 = `reward[${i}]`;
    const o = r.object(v, path0);
    const path = typeof o.name === 'string' ? `${path0} '${o.name}'` : path0;
    const type = r.oneOf(o, 'type', path, REWARD_TYPES);
    r.onlyKeys(o, path, ['name', 'type', 'weight', ...REWARD_FIELDS[type]]);
    const term = uniqueName(o, path);
    const weight = r.number(o, 'weight', path);
    const { fn, formula } = compileReward(c, type, o, path, model, terminators.length > 0);
    rewards.push({ name: term, weight, ...fn });
    rewardDocs.push({ name: term, kind: type, weight, detail: formula });
  });

  // Reset (simulator only).
  let baseQpos: Float64Array = model.qpos0;
  let baseQvel: Float64Array = new Float64Array(model.nv);
  let baseMocap: Float64Array | null = null;
  const positionNoise: { index: Int32Array; normal: boolean; size: number }[] = [];
  const velocityNoise: { index: Int32Array; normal: boolean; size: number }[] = [];
  if (top.reset !== undefined) {
    const o = r.object(top.reset, 'reset');
    r.onlyKeys(o, 'reset', ['keyframe', 'noise']);
    if (o.keyframe !== undefined) {
      const k = model.keyframes[names.id('keyframe', o.keyframe, 'reset.keyframe')];
      baseQpos = k.qpos;
      baseQvel = k.qvel;
      baseMocap = k.mocapPos;
      resetLines.unshift(`start from keyframe '${k.name}'`);
    }
    if (o.noise !== undefined) {
      r.array(o.noise, 'reset.noise').forEach((v, i) => {
        const path = `reset.noise[${i}]`;
        const n = r.object(v, path);
        r.onlyKeys(n, path, ['joints', 'position', 'velocity']);
        const joints = names.ids('joint', n.joints, `${path}.joints`);
        for (const which of ['position', 'velocity'] as const) {
          if (n[which] === undefined) continue;
          const d = r.object(n[which], `${path}.${which}`);
          r.onlyKeys(d, `${path}.${which}`, ['normal', 'uniform']);
          if (Object.keys(d).length !== 1) r.fail(`${path}.${which}`, `give one of {"normal": STD} or {"uniform": HALF_WIDTH}`);
          const normal = d.normal !== undefined;
          const size = r.number(d, normal ? 'normal' : 'uniform', `${path}.${which}`, { min: 0 });
          const index: number[] = [];
          for (const j of joints) {
            const info = model.joints[j];
            const w = jointWidths(info.type);
            const base = which === 'position' ? info.qposAddress : info.dofAddress;
            for (let k = 0; k < (which === 'position' ? w.qpos : w.qvel); k++) index.push(base + k);
          }
          (which === 'position' ? positionNoise : velocityNoise).push({ index: Int32Array.from(index), normal, size });
          resetLines.push(`${which} of ${names.labels('joint', joints)} += ${normal ? `N(0, ${size})` : `U(-${size}, ${size})`}`);
        }
        if (n.position === undefined && n.velocity === undefined) r.fail(path, `give 'position', 'velocity' or both`);
      });
    }
  }
  const hasNoise = observers.some((ob) => ob.noise !== null);
  const signals = slots.names.map((n, i) => ({ name: n, size: slots.sizes[i] }));
  const slotNames = [...slots.names];

  const create = (): Task => {
    const frame = new Frame(slotNames.length, nu);
    const scratch = new Float64Array(Math.max(1, ...observers.map((ob) => ob.q.size)));
    const qpos = new Float64Array(model.nq);
    const qvel = new Float64Array(model.nv);
    // Targets and observation noise draw from their own stream; an episode on the simulator
    // reseeds it from the env's, so a seeded run repeats.
    const ownRng = new Rng(0x5eed);
    let initialized = false;
    const low = Float64Array.from(model.actuators, (a) => a.low);
    const span = Float64Array.from(model.actuators, (a) => a.high - a.low);
    const terms: Record<string, number> = {};
    for (const rw of rewards) terms[rw.name] = 0;
    const fill = (s: Signals): void => {
      const arrays = frame.arrays;
      for (let k = 0; k < slotNames.length; k++) arrays[k] = s.get(slotNames[k]) as Float64Array;
    };
    const drawTargets = (rng: Rng): void => {
      for (const t of targetDraws) {
        const v = targets.get(t.name) as Float64Array;
        for (let k = 0; k < v.length; k++) v[k] = t.low[k] === t.high[k] ? t.low[k] : rng.range(t.low[k], t.high[k]);
      }
    };
    const task: Task = {
      name,
      observationSize: obsSize,
      maxEpisodeSteps: episodeSteps,
      requiredSignals: signals,
      initializeEpisode(sim: SimulatorAccess, rng: Rng): void {
        qpos.set(baseQpos);
        qvel.set(baseQvel);
        for (const n of positionNoise) for (let k = 0; k < n.index.length; k++) qpos[n.index[k]] += n.normal ? n.size * rng.normal() : rng.range(-n.size, n.size);
        for (const n of velocityNoise) for (let k = 0; k < n.index.length; k++) qvel[n.index[k]] += n.normal ? n.size * rng.normal() : rng.range(-n.size, n.size);
        if (targetDraws.length > 0 || hasNoise) ownRng.setState(new Rng(rng.nextU32()).getState());
        drawTargets(ownRng);
        if (sim.setMocapPosition !== undefined) {
          if (baseMocap !== null) for (let b = 0; b < model.nmocap; b++) sim.setMocapPosition(b, baseMocap.subarray(3 * b, 3 * b + 3));
          for (const t of targetDraws) if (t.mocap >= 0) sim.setMocapPosition(t.mocap, targets.get(t.name) as Float64Array);
        }
        sim.setState(qpos, qvel);
        initialized = true;
      },
      beginEpisode(s: Signals): void {
        // Off the simulator (a robot) nothing else draws the targets.
        if (!initialized) drawTargets(ownRng);
        initialized = false;
        fill(s);
        frame.action.fill(0);
        frame.previousAction.fill(0);
        frame.terminated = false;
        for (const rw of rewards) rw.begin?.(frame);
      },
      observe(s: Signals, out: Float32Array): void {
        fill(s);
        for (const ob of observers) {
          ob.q.read(frame.arrays, scratch, 0);
          const { at, scale, offset, low: lo, high: hi, noise } = ob;
          for (let k = 0; k < ob.q.size; k++) {
            let x = scratch[k];
            if (offset !== null) x -= offset[k];
            if (scale !== null) x *= scale[k];
            if (noise !== null) x += noise.normal ? noise.size * ownRng.normal() : ownRng.range(-noise.size, noise.size);
            out[at + k] = x < lo ? lo : x > hi ? hi : x;
          }
        }
      },
      score(s: Signals, command: Float64Array): StepScore {
        fill(s);
        const a = frame.action;
        frame.previousAction.set(a);
        for (let k = 0; k < nu; k++) a[k] = span[k] > 0 ? (2 * (command[k] - low[k])) / span[k] - 1 : 0;
        let terminated = false;
        for (let k = 0; k < terminators.length && !terminated; k++) terminated = terminators[k](frame);
        frame.terminated = terminated;
        let reward = 0;
        for (let k = 0; k < rewards.length; k++) {
          const rw = rewards[k];
          const v = rw.weight * rw.value(frame, command);
          terms[rw.name] = v;
          reward += v;
        }
        return { reward, terms, terminated };
      },
    };
    return task;
  };

  return {
    name,
    description,
    frameSkip,
    episodeSteps,
    observationSize: obsSize,
    layout,
    rewards: rewardDocs,
    terminations,
    reset: resetLines,
    signals,
    create,
  };
}

function allFinite(v: Float64Array): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}

function compileReward(c: QuantityContext, type: RewardType, o: Json, path: string, model: ModelInfo, canTerminate: boolean): { fn: Omit<RewardFn, 'name' | 'weight'>; formula: string } {
  const { r, names, slots } = c;
  switch (type) {
    case 'distance': {
      const from = compilePoint(c, o.from, `${path}.from`);
      const to = compilePoint(c, o.to, `${path}.to`);
      const kernel = r.oneOf(o, 'kernel', path, ['linear', 'squared', 'tanh', 'exp'] as const, 'linear');
      const std = kernel === 'tanh' || kernel === 'exp' ? r.number(o, 'std', path, { above: 0 }) : 1;
      if ((kernel === 'linear' || kernel === 'squared') && o.std !== undefined) r.fail(path, `'std' is for the tanh and exp kernels`);
      const a = new Float64Array(3);
      const b = new Float64Array(3);
      const d = `d = |${to.source} - ${from.source}| (m)`;
      const formula = { linear: `${d}`, squared: `d^2, ${d}`, tanh: `1 - tanh(d / ${std}), ${d}`, exp: `exp(-(d / ${std})^2), ${d}` }[kernel];
      return {
        formula,
        fn: {
          value: (f) => {
            from.read(f.arrays, a, 0);
            to.read(f.arrays, b, 0);
            const dist = Math.hypot(b[0] - a[0], b[1] - a[1], b[2] - a[2]);
            if (kernel === 'linear') return dist;
            if (kernel === 'squared') return dist * dist;
            if (kernel === 'tanh') return 1 - Math.tanh(dist / std);
            return Math.exp(-(dist / std) * (dist / std));
          },
        },
      };
    }
    case 'progress': {
      const b = names.id('body', o.body, `${path}.body`);
      const axis = AXES.indexOf(r.oneOf(o, 'axis', path, AXES));
      const xpos = slots.slot('xpos', model.bodies.length * 3);
      const time = slots.slot('time', 1);
      const a = 3 * b + axis;
      let last = 0;
      let lastTime = 0;
      return {
        formula: `(p_t - p_t-1) / (t - t_-1), p = xpos[${names.label('body', b)}].${AXES[axis]} (m/s; Gymnasium's forward reward)`,
        fn: {
          begin: (f) => {
            last = f.arrays[xpos][a];
            lastTime = f.arrays[time][0];
          },
          value: (f) => {
            const p = f.arrays[xpos][a];
            const t = f.arrays[time][0];
            const v = (p - last) / (t - lastTime);
            last = p;
            lastTime = t;
            return v;
          },
        },
      };
    }
    case 'velocity_tracking': {
      const angular = o.angular === undefined ? false : o.angular === true ? true : o.angular === false ? false : r.fail(path, `'angular' must be true or false`);
      const frame = r.oneOf(o, 'frame', path, ['world', 'body'] as const, 'world');
      const vel = compileBodyVelocity(c, o.body, frame, angular, `${path}.body`);
      const axesRaw = r.array(o.axes, `${path}.axes`);
      if (axesRaw.length === 0) r.fail(`${path}.axes`, `name at least one of x, y, z`);
      const axes = Int32Array.from(axesRaw.map((x, k) => (AXES.includes(x as 'x') ? AXES.indexOf(x as 'x') : r.fail(`${path}.axes[${k}]`, `expected x, y or z, got ${JSON.stringify(x)}`))));
      const command = typeof o.command === 'string' ? targetVector(c, o.command, `${path}.command`) : Float64Array.from(r.numbers(o.command, `${path}.command`));
      if (command.length !== axes.length) r.fail(`${path}.command`, `has ${command.length} components for ${axes.length} axes`);
      const std = r.number(o, 'std', path, { above: 0 });
      const v = new Float64Array(3);
      return {
        formula: `exp(-sum_i (v_i - c_i)^2 / ${std}^2), v = ${vel.source} along ${axesRaw.join(',')}, c = ${typeof o.command === 'string' ? `target ${o.command}` : `[${[...command].join(', ')}]`} (${vel.units})`,
        fn: {
          value: (f) => {
            vel.read(f.arrays, v, 0);
            let e = 0;
            for (let k = 0; k < axes.length; k++) {
              const d = v[axes[k]] - command[k];
              e += d * d;
            }
            return Math.exp(-e / (std * std));
          },
        },
      };
    }
    case 'upright': {
      const q = compileSlicedQuantity(c, { ...o, quantity: 'up' }, path);
      const up = new Float64Array(3);
      return { formula: `cos(tilt) = world z component of ${q.source} (1 upright, -1 upside down)`, fn: { value: (f) => (q.read(f.arrays, up, 0), up[2]) } };
    }
    case 'alive':
      return { formula: '1 while no termination term fires, else 0', fn: { value: (f) => (f.terminated ? 0 : 1) } };
    case 'termination':
      if (!canTerminate) r.fail(path, `the task has no termination terms, so this term would always be 0`);
      return { formula: '1 on the tick a termination term fires (not on truncation), else 0', fn: { value: (f) => (f.terminated ? 1 : 0) } };
    case 'action_magnitude': {
      const units = r.oneOf(o, 'units', path, ['action', 'command'] as const, 'action');
      return {
        formula: units === 'action' ? 'sum_i a_i^2, a = action in [-1, 1]' : 'sum_i u_i^2, u = command in ctrlrange units',
        fn: {
          value: (f, command) => {
            const x = units === 'action' ? f.action : command;
            let s = 0;
            for (let k = 0; k < x.length; k++) s += x[k] * x[k];
            return s;
          },
        },
      };
    }
    case 'action_rate':
      return {
        formula: 'sum_i (a_i - a_prev_i)^2, a in [-1, 1]; a_prev = 0 at the first tick',
        fn: {
          value: (f) => {
            let s = 0;
            for (let k = 0; k < f.action.length; k++) {
              const d = f.action[k] - f.previousAction[k];
              s += d * d;
            }
            return s;
          },
        },
      };
    case 'joint_limits': {
      const joints = names.ids('joint', o.joints, `${path}.joints`);
      const soft = r.number(o, 'soft', path, { above: 0, fallback: 1 });
      if (soft > 1) r.fail(path, `'soft' is the fraction of the range that is free of cost, in (0, 1]; got ${soft}`);
      const index: number[] = [];
      const lo: number[] = [];
      const hi: number[] = [];
      for (const j of joints) {
        const info = model.joints[j];
        if (info.type === 'free' || info.type === 'ball') r.fail(`${path}.joints`, `joint '${info.name}' is a ${info.type} joint; limits are for hinge and slide joints`);
        if (!info.limited) r.fail(`${path}.joints`, `joint '${info.name}' has no range in ${model.file}`);
        const mid = 0.5 * (info.range[0] + info.range[1]);
        const half = 0.5 * (info.range[1] - info.range[0]) * soft;
        index.push(info.qposAddress);
        lo.push(mid - half);
        hi.push(mid + half);
      }
      const qpos = slots.slot('qpos', model.nq);
      const idx = Int32Array.from(index);
      const l = Float64Array.from(lo);
      const h = Float64Array.from(hi);
      return {
        formula: `sum_j max(0, lo_j - q_j) + max(0, q_j - hi_j) over ${names.labels('joint', joints)}, [lo, hi] = middle ${soft} of the joint's range (rad or m)`,
        fn: {
          value: (f) => {
            const q = f.arrays[qpos];
            let s = 0;
            for (let k = 0; k < idx.length; k++) {
              const x = q[idx[k]];
              if (x < l[k]) s += l[k] - x;
              else if (x > h[k]) s += x - h[k];
            }
            return s;
          },
        },
      };
    }
    case 'joint_velocity':
    case 'actuator_force': {
      const q = compileSlicedQuantity(c, type === 'joint_velocity' ? { quantity: 'joint_vel', joints: o.joints } : { quantity: 'actuator_force', actuators: o.actuators }, path);
      const buf = new Float64Array(q.size);
      return {
        formula: `sum of squares of ${q.source} (${q.units})`,
        fn: {
          value: (f) => {
            q.read(f.arrays, buf, 0);
            let s = 0;
            for (let k = 0; k < buf.length; k++) s += buf[k] * buf[k];
            return s;
          },
        },
      };
    }
    case 'contact_force': {
      if (o.with !== undefined || o.geoms !== undefined) {
        // Between named parts: the normal force of their contacts (N).
        const pair = contactPair(c, o, path);
        const slot = slots.slot(pair.signal, 1);
        const [lo, hi] = o.clip === undefined ? [-Infinity, Infinity] : r.interval(o.clip, `${path}.clip`);
        return {
          formula: `F^2, F = normal contact force between ${pair.label}${o.clip === undefined ? '' : ` clipped to [${lo}, ${hi}]`} (N)`,
          fn: {
            value: (f) => {
              const x = f.arrays[slot][0];
              const y = x < lo ? lo : x > hi ? hi : x;
              return y * y;
            },
          },
        };
      }
      // Without 'with': Gymnasium's contact cost over the bodies' external wrenches.
      const q = compileSlicedQuantity(c, { quantity: 'contact_wrench', bodies: o.bodies }, path);
      const [lo, hi] = o.clip === undefined ? [-Infinity, Infinity] : r.interval(o.clip, `${path}.clip`);
      const buf = new Float64Array(q.size);
      return {
        formula: `sum of squares of ${q.source}${o.clip === undefined ? '' : `, each clipped to [${lo}, ${hi}]`} (N·m, N)`,
        fn: {
          value: (f) => {
            q.read(f.arrays, buf, 0);
            let s = 0;
            for (let k = 0; k < buf.length; k++) {
              const x = buf[k] < lo ? lo : buf[k] > hi ? hi : buf[k];
              s += x * x;
            }
            return s;
          },
        },
      };
    }
  }
}
