import { nearestNames } from '../../util/nearestNames.js';

/** A task definition that cannot be used; the message names the file, the term and the field. */
export class TaskSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskSpecError';
  }
}

export type Json = Record<string, unknown>;

/**
 * Reads fields of a task definition, failing with the path of the field (`reward[2] 'reach'.std`)
 * and, for an unknown key, the nearest allowed ones.
 */
export class SpecReader {
  constructor(readonly where: string) {}

  fail(path: string, message: string): never {
    throw new TaskSpecError(`${this.where}: ${path === '' ? '' : `${path}: `}${message}`);
  }

  object(v: unknown, path: string): Json {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, `expected an object, got ${describe(v)}`);
    return v as Json;
  }

  array(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, `expected an array, got ${describe(v)}`);
    return v;
  }

  /** Every key of `o` must be in `allowed`. */
  onlyKeys(o: Json, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) {
        const near = nearestNames(k, allowed);
        this.fail(path, `unknown field '${k}'${near.length > 0 ? `; nearest: ${near.map((n) => `'${n}'`).join(', ')}` : ''} (allowed: ${allowed.join(', ')})`);
      }
    }
  }

  string(o: Json, key: string, path: string): string {
    const v = o[key];
    if (typeof v !== 'string' || v === '') this.fail(path, `'${key}' must be a non-empty string, got ${describe(v)}`);
    return v;
  }

  optionalString(o: Json, key: string, path: string): string | undefined {
    return o[key] === undefined ? undefined : this.string(o, key, path);
  }

  oneOf<T extends string>(o: Json, key: string, path: string, choices: readonly T[], fallback?: T): T {
    const v = o[key];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
      const near = typeof v === 'string' ? nearestNames(v, choices) : [];
      this.fail(path, `'${key}' must be one of ${choices.join(', ')}, got ${describe(v)}${near.length > 0 && typeof v === 'string' ? `; nearest: '${near[0]}'` : ''}`);
    }
    return v as T;
  }

  number(o: Json, key: string, path: string, check: { min?: number; above?: number; fallback?: number } = {}): number {
    const v = o[key] ?? check.fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(path, `'${key}' must be a finite number, got ${describe(o[key])}`);
    if (check.min !== undefined && v < check.min) this.fail(path, `'${key}' must be >= ${check.min}, got ${v}`);
    if (check.above !== undefined && !(v > check.above)) this.fail(path, `'${key}' must be > ${check.above}, got ${v}`);
    return v;
  }

  integer(o: Json, key: string, path: string, min: number, fallback?: number): number {
    const v = this.number(o, key, path, { min, fallback });
    if (!Number.isInteger(v)) this.fail(path, `'${key}' must be an integer, got ${v}`);
    return v;
  }

  numbers(v: unknown, path: string, size?: number): number[] {
    const a = this.array(v, path);
    if (!a.every((x) => typeof x === 'number' && Number.isFinite(x))) this.fail(path, `expected finite numbers, got ${describe(v)}`);
    if (size !== undefined && a.length !== size) this.fail(path, `expected ${size} numbers, got ${a.length}`);
    return a as number[];
  }

  /** [low, high] with low <= high. */
  interval(v: unknown, path: string): [number, number] {
    const [low, high] = this.numbers(v, path, 2);
    if (!(low <= high)) this.fail(path, `expected [low, high] with low <= high, got [${low}, ${high}]`);
    return [low, high];
  }
}

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return `'${v}'`;
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
