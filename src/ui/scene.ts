import type { MainModule, MjData, MjModel } from 'mujoco';

/**
 * What the browser's 3D view draws, taken from MuJoCo's compiled model of the MJCF: every geom
 * with its body, shape, size, local pose and colour, and the vertices and faces of mesh geoms
 * (MuJoCo has already read the STL/OBJ files and placed each mesh in its geom's frame). The
 * browser then only needs the bodies' world poses per step.
 */
export interface SceneGeom {
  readonly body: number;
  /** MuJoCo's mjtGeom: 0 plane, 2 sphere, 3 capsule, 4 ellipsoid, 5 cylinder, 6 box, 7 mesh. */
  readonly type: number;
  /** MuJoCo's geom_size (half sizes / radius, half length). */
  readonly size: [number, number, number];
  readonly pos: [number, number, number];
  /** w, x, y, z as MuJoCo stores quaternions. */
  readonly quat: [number, number, number, number];
  readonly rgba: [number, number, number, number];
  /** Index into `meshes` for mesh geoms. */
  readonly mesh?: number;
}

export interface SceneMesh {
  readonly vertices: number[];
  readonly faces: number[];
}

export interface Scene {
  readonly bodies: string[];
  readonly geoms: SceneGeom[];
  readonly meshes: SceneMesh[];
  /** A length that frames the model (MuJoCo's stat.extent), for the camera. */
  readonly extent: number;
  /** The model's centre (stat.center). */
  readonly center: [number, number, number];
}

const GEOM_HFIELD = 1;
const GEOM_MESH = 7;

/** Geoms of these groups are drawn; MuJoCo's viewer shows groups 0-2 by default, and so do we. */
const VISIBLE_GROUPS = 3;

export function sceneFromModel(mujoco: MainModule, model: MjModel): Scene {
  const m = model as unknown as Record<string, ArrayLike<number>> & { ngeom: number; nbody: number; nmesh: number; stat: { extent: number; center: ArrayLike<number> } };
  const type = m.geom_type!, size = m.geom_size!, pos = m.geom_pos!, quat = m.geom_quat!, rgba = m.geom_rgba!;
  const bodyId = m.geom_bodyid!, dataId = m.geom_dataid!, matId = m.geom_matid!, group = m.geom_group!, matRgba = m.mat_rgba!;
  const bodies: string[] = [];
  const objBody = mujoco.mjtObj.mjOBJ_BODY.value;
  for (let b = 0; b < m.nbody; b++) bodies.push(mujoco.mj_id2name(model, objBody, b) ?? `body${b}`);
  const meshIndex = new Map<number, number>();
  const meshes: SceneMesh[] = [];
  const geoms: SceneGeom[] = [];
  const three = (a: ArrayLike<number>, i: number): [number, number, number] => [a[3 * i]!, a[3 * i + 1]!, a[3 * i + 2]!];
  const four = (a: ArrayLike<number>, i: number): [number, number, number, number] => [a[4 * i]!, a[4 * i + 1]!, a[4 * i + 2]!, a[4 * i + 3]!];
  for (let g = 0; g < m.ngeom; g++) {
    const t = type[g]!;
    if (t === GEOM_HFIELD || group[g]! >= VISIBLE_GROUPS) continue;
    const colour = matId[g]! >= 0 ? four(matRgba, matId[g]!) : four(rgba, g);
    if (colour[3] === 0) continue; // invisible by design (e.g. collision-only geoms)
    let mesh: number | undefined;
    if (t === GEOM_MESH) {
      const id = dataId[g]!;
      if (!meshIndex.has(id)) {
        meshIndex.set(id, meshes.length);
        meshes.push(meshData(m, id));
      }
      mesh = meshIndex.get(id);
    }
    geoms.push({ body: bodyId[g]!, type: t, size: three(size, g), pos: three(pos, g), quat: four(quat, g), rgba: colour, ...(mesh !== undefined ? { mesh } : {}) });
  }
  return { bodies, geoms, meshes, extent: m.stat.extent, center: [m.stat.center[0]!, m.stat.center[1]!, m.stat.center[2]!] };
}

function meshData(m: Record<string, ArrayLike<number>>, id: number): SceneMesh {
  const vAdr = m.mesh_vertadr![id]!, vNum = m.mesh_vertnum![id]!, fAdr = m.mesh_faceadr![id]!, fNum = m.mesh_facenum![id]!;
  const vert = m.mesh_vert!, face = m.mesh_face!;
  return {
    vertices: Array.from({ length: 3 * vNum }, (_, i) => vert[3 * vAdr + i]!),
    faces: Array.from({ length: 3 * fNum }, (_, i) => face[3 * fAdr + i]!),
  };
}

/** Every body's world pose, 7 numbers each: x, y, z, qw, qx, qy, qz (MuJoCo's xpos and xquat). */
export function bodyPoses(model: MjModel, data: MjData, out: Float32Array = new Float32Array(7 * (model as unknown as { nbody: number }).nbody)): Float32Array {
  const d = data as unknown as { xpos: Float64Array; xquat: Float64Array };
  const xpos = d.xpos, xquat = d.xquat;
  const n = out.length / 7;
  for (let b = 0; b < n; b++) {
    out[7 * b] = xpos[3 * b]!;
    out[7 * b + 1] = xpos[3 * b + 1]!;
    out[7 * b + 2] = xpos[3 * b + 2]!;
    out[7 * b + 3] = xquat[4 * b]!;
    out[7 * b + 4] = xquat[4 * b + 1]!;
    out[7 * b + 5] = xquat[4 * b + 2]!;
    out[7 * b + 6] = xquat[4 * b + 3]!;
  }
  return out;
}
