import type { DoubleBuffer, MainModule, MjData, MjModel } from 'mujoco';

/**
 * Normal contact force between two sets of geoms (e.g. a foot's geoms and the floor): the sum,
 * over MuJoCo's active contacts with one geom in each set, of the normal component of
 * mj_contactForce (N). A task names the sets by MJCF bodies and geoms; the plant offers one
 * signal per pair, named by the geom ids (`contact_force:1,2|0`), so the two agree without the
 * plant knowing about tasks.
 */

const PREFIX = 'contact_force:';

/** The signal that carries the normal force between geom sets `a` and `b` (1 value, N). */
export function contactPairSignal(a: readonly number[], b: readonly number[]): string {
  const list = (s: readonly number[]): string => [...new Set(s)].sort((x, y) => x - y).join(',');
  return `${PREFIX}${list(a)}|${list(b)}`;
}

/** The geom sets of a contact-pair signal name, or null for any other signal. */
export function parseContactPairSignal(name: string): { a: number[]; b: number[] } | null {
  if (!name.startsWith(PREFIX)) return null;
  const sides = name.slice(PREFIX.length).split('|');
  if (sides.length !== 2) return null;
  const ids = sides.map((side) => side.split(',').map(Number));
  if (ids.some((list) => list.length === 0 || list.some((g) => !Number.isInteger(g) || g < 0))) return null;
  return { a: ids[0], b: ids[1] };
}

/** Computes the contact-pair signals of one model after each tick. */
export class ContactPairForces {
  /** Signal name to its one-value array (reused). */
  readonly values = new Map<string, Float64Array>();
  private readonly sideA: Uint8Array[] = [];
  private readonly sideB: Uint8Array[] = [];
  private readonly out: Float64Array[] = [];
  private readonly buffer: DoubleBuffer | null;

  constructor(
    private readonly mujoco: MainModule,
    ngeom: number,
    signals: readonly string[],
    where: string,
  ) {
    for (const name of signals) {
      const sets = parseContactPairSignal(name);
      if (sets === null) throw new Error(`'${name}' is not a contact-pair signal (${PREFIX}A|B with geom ids)`);
      const side = (ids: number[]): Uint8Array => {
        const mask = new Uint8Array(ngeom);
        for (const g of ids) {
          if (g >= ngeom) throw new Error(`contact-pair signal '${name}' names geom ${g}; ${where} has ${ngeom} geoms`);
          mask[g] = 1;
        }
        return mask;
      };
      const value = new Float64Array(1);
      this.sideA.push(side(sets.a));
      this.sideB.push(side(sets.b));
      this.out.push(value);
      this.values.set(name, value);
    }
    this.buffer = signals.length > 0 ? new mujoco.DoubleBuffer(6) : null;
  }

  get size(): number {
    return this.out.length;
  }

  /** Recompute every pair's force from the contacts in `d` (after mj_step or mj_forward). */
  update(m: MjModel, d: MjData): void {
    const out = this.out;
    for (let p = 0; p < out.length; p++) out[p][0] = 0;
    const buffer = this.buffer;
    const ncon = d.ncon;
    if (buffer === null || ncon === 0) return;
    // The contact list is reached through embind handles (one per contact, deleted at once):
    // the cost of this signal, paid only by tasks that read it.
    const contacts = d.contact;
    try {
      for (let i = 0; i < ncon; i++) {
        const c = contacts.get(i);
        if (c === undefined) continue;
        const g1 = c.geom1;
        const g2 = c.geom2;
        c.delete();
        let normal = Number.NaN;
        for (let p = 0; p < out.length; p++) {
          const a = this.sideA[p];
          const b = this.sideB[p];
          if (!((a[g1] === 1 && b[g2] === 1) || (a[g2] === 1 && b[g1] === 1))) continue;
          if (Number.isNaN(normal)) {
            this.mujoco.mj_contactForce(m, d, i, buffer);
            normal = (buffer.GetView() as Float64Array)[0];
          }
          out[p][0] += normal;
        }
      }
    } finally {
      contacts.delete();
    }
  }

  close(): void {
    this.buffer?.delete();
  }
}
