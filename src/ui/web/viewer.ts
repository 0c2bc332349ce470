/// <reference lib="dom" />
import * as THREE from 'three';
import type { Scene, SceneGeom } from '../scene.js';

/**
 * The 3D view: one three.js group per MuJoCo body holding its geoms at their local poses; a
 * frame of body poses (7 numbers per body: position, then quaternion w, x, y, z) moves the groups.
 * MuJoCo is z-up, so the camera is too.
 */
export class RobotView {
  readonly renderer: THREE.WebGLRenderer;
  private readonly scene = new THREE.Scene();
  private readonly camera: THREE.PerspectiveCamera;
  private readonly bodies: THREE.Group[] = [];
  private dirty = true;

  constructor(container: HTMLElement, model: Scene) {
    const width = container.clientWidth, height = container.clientHeight;
    this.renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    this.renderer.setSize(width, height);
    this.renderer.setClearColor(0xdde3ea);
    container.appendChild(this.renderer.domElement);
    this.camera = new THREE.PerspectiveCamera(45, width / height, model.extent / 100, model.extent * 100);
    this.camera.up.set(0, 0, 1);
    const [cx, cy, cz] = model.center;
    const d = Math.max(model.extent, 0.1) * 2.2;
    this.camera.position.set(cx + 0.35 * d, cy - d, cz + 0.45 * d);
    this.camera.lookAt(cx, cy, cz);
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x667788, 1.6));
    const sun = new THREE.DirectionalLight(0xffffff, 1.8);
    sun.position.set(cx + d, cy - d, cz + 2 * d);
    this.scene.add(sun);
    for (let b = 0; b < model.bodies.length; b++) {
      const g = new THREE.Group();
      g.name = model.bodies[b]!;
      this.bodies.push(g);
      this.scene.add(g);
    }
    for (const geom of model.geoms) {
      const mesh = geomMesh(geom, model);
      if (mesh !== null) this.bodies[geom.body]?.add(mesh);
    }
    const tick = (): void => {
      if (this.dirty) {
        this.renderer.render(this.scene, this.camera);
        this.dirty = false;
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  /** Place every body; `poses` holds 7 numbers per body. The first poses frame the camera, unless framed already. */
  setPoses(poses: ArrayLike<number>): void {
    this.place(poses);
    if (!this.framed) this.frame([poses]);
    this.dirty = true;
  }

  private place(poses: ArrayLike<number>): void {
    const n = Math.min(this.bodies.length, Math.floor(poses.length / 7));
    for (let b = 0; b < n; b++) {
      const g = this.bodies[b]!;
      g.position.set(poses[7 * b]!, poses[7 * b + 1]!, poses[7 * b + 2]!);
      g.quaternion.set(poses[7 * b + 4]!, poses[7 * b + 5]!, poses[7 * b + 6]!, poses[7 * b + 3]!);
    }
  }

  private framed = false;

  /**
   * Aim at the box the robot fills over `frames` (a whole replay: everywhere it goes; live: its
   * first pose, with room around it), planes left out (they are drawn large), seen from the
   * front (-y). The bodies stay where the last frame put them until the next setPoses.
   */
  frame(frames: readonly ArrayLike<number>[]): void {
    this.framed = true;
    const box = new THREE.Box3();
    const step = Math.max(1, Math.floor(frames.length / 60));
    for (let i = 0; i < frames.length; i += step) {
      this.place(frames[i]!);
      for (const g of this.bodies) {
        g.updateMatrixWorld(true);
        for (const child of g.children) if (!(child instanceof THREE.Mesh && child.geometry instanceof THREE.PlaneGeometry)) box.expandByObject(child);
      }
    }
    if (box.isEmpty()) return;
    const centre = box.getCenter(new THREE.Vector3());
    // Live, the robot may swing or walk beyond its first pose: leave room around it.
    const radius = Math.max(box.getSize(new THREE.Vector3()).length(), 0.1);
    const d = ((frames.length > 1 ? 0.9 : 1.4) * radius) / Math.tan((this.camera.fov * Math.PI) / 360);
    this.camera.position.set(centre.x + 0.3 * d, centre.y - d, centre.z + 0.5 * d);
    this.camera.lookAt(centre);
    this.camera.near = d / 100;
    this.camera.far = d * 100;
    this.camera.updateProjectionMatrix();
    this.dirty = true;
  }

  /** Draw now rather than at the next animation frame (for frame-by-frame capture). */
  renderNow(): void {
    this.renderer.render(this.scene, this.camera);
    this.dirty = false;
  }
}

function geomMesh(geom: SceneGeom, model: Scene): THREE.Mesh | null {
  const [sx, sy, sz] = geom.size;
  let geometry: THREE.BufferGeometry;
  switch (geom.type) {
    case 0: { // plane: size 0 means infinite; draw it large
      const big = model.extent * 6;
      geometry = new THREE.PlaneGeometry(2 * (sx > 0 ? sx : big), 2 * (sy > 0 ? sy : big));
      break;
    }
    case 2:
      geometry = new THREE.SphereGeometry(sx, 24, 16);
      break;
    case 3: // capsule and cylinder: three.js builds them along y, MuJoCo along z
      geometry = new THREE.CapsuleGeometry(sx, 2 * sy, 8, 24).rotateX(Math.PI / 2);
      break;
    case 4:
      geometry = new THREE.SphereGeometry(1, 24, 16).scale(sx, sy, sz);
      break;
    case 5:
      geometry = new THREE.CylinderGeometry(sx, sx, 2 * sy, 24).rotateX(Math.PI / 2);
      break;
    case 6:
      geometry = new THREE.BoxGeometry(2 * sx, 2 * sy, 2 * sz);
      break;
    case 7: {
      const m = geom.mesh === undefined ? undefined : model.meshes[geom.mesh];
      if (m === undefined) return null;
      geometry = new THREE.BufferGeometry();
      geometry.setAttribute('position', new THREE.Float32BufferAttribute(m.vertices, 3));
      geometry.setIndex(m.faces);
      geometry.computeVertexNormals();
      break;
    }
    default:
      return null;
  }
  const [r, g, b, a] = geom.rgba;
  const material = new THREE.MeshStandardMaterial({ color: new THREE.Color(r, g, b), transparent: a < 1, opacity: a, roughness: 0.6, metalness: 0.1, side: geom.type === 0 ? THREE.DoubleSide : THREE.FrontSide });
  const mesh = new THREE.Mesh(geometry, material);
  mesh.position.set(...geom.pos);
  mesh.quaternion.set(geom.quat[1], geom.quat[2], geom.quat[3], geom.quat[0]);
  return mesh;
}
