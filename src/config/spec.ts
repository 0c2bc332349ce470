/**
 * Building blocks of the configuration schema: a leaf knows its doc string, its default, how to
 * check a value (returning the reason it is wrong, or null) and how to read it from a string
 * (environment variables and command-line flags arrive as strings). The TypeScript type of the
 * whole configuration is inferred from the leaves, so the schema is the one source of truth.
 */

export type Kind = 'integer' | 'number' | 'boolean' | 'string' | 'json';

export interface Leaf<T> {
  readonly leaf: true;
  readonly doc: string;
  readonly default: T;
  readonly kind: Kind;
  /** Human-readable format, shown by `sacbridge config docs`. */
  readonly format: string;
  /** The reason `value` is not acceptable, or null when it is. */
  check(value: unknown): string | null;
}

export interface Section {
  readonly [key: string]: Leaf<unknown> | Section;
}

/** The configuration type a schema describes. */
export type ConfigOf<S> = {
  readonly [K in keyof S]: S[K] extends Leaf<infer T> ? T : ConfigOf<S[K]>;
};

export function isLeaf(node: Leaf<unknown> | Section): node is Leaf<unknown> {
  return (node as Leaf<unknown>).leaf === true;
}

function leaf<T>(kind: Kind, format: string, doc: string, def: T, check: (v: unknown) => string | null): Leaf<T> {
  const reason = check(def);
  if (reason !== null) throw new Error(`schema default ${JSON.stringify(def)} is invalid: ${reason}`);
  return { leaf: true, kind, format, doc, default: def, check };
}

interface NumberBounds {
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  above?: number;
  int?: boolean;
}

function describeBounds(b: NumberBounds): string {
  const bounds: string[] = [];
  if (b.above !== undefined) bounds.push(`> ${b.above}`);
  if (b.min !== undefined) bounds.push(`>= ${b.min}`);
  if (b.max !== undefined) bounds.push(`<= ${b.max}`);
  return `${b.int ? 'integer' : 'number'}${bounds.length ? ' ' + bounds.join(' and ') : ''}`;
}

function checkNumber(v: unknown, b: NumberBounds): string | null {
  if (typeof v !== 'number' || !Number.isFinite(v)) return `must be a finite ${describeBounds(b)}`;
  const want = `must be ${b.int ? 'an' : 'a'} ${describeBounds(b)}`;
  if (b.int && !Number.isInteger(v)) return want;
  if (b.above !== undefined && !(v > b.above)) return want;
  if (b.min !== undefined && v < b.min) return want;
  if (b.max !== undefined && v > b.max) return want;
  return null;
}

export function num(doc: string, def: number, bounds: NumberBounds = {}): Leaf<number> {
  return leaf(bounds.int ? 'integer' : 'number', describeBounds(bounds), doc, def, (v) => checkNumber(v, bounds));
}

/**
 * How a number is read from text (environment variables, flags): plain decimal only. Number()
 * would also take "0x40", "0b1", "0o7" or "" (as 64, 1, 7 and 0); an integer takes no fraction
 * or exponent either ("1e3" is refused where an integer is due). NaN for anything else, which
 * the leaf's check then refuses, showing the text as written.
 */
export function parseDecimal(text: string, integer: boolean): number {
  const s = text.trim();
  const re = integer ? /^[+-]?\d+$/ : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
  return re.test(s) ? Number(s) : Number.NaN;
}

export function int(doc: string, def: number, bounds: Omit<NumberBounds, 'int'> = {}): Leaf<number> {
  return num(doc, def, { ...bounds, int: true });
}

export function bool(doc: string, def: boolean): Leaf<boolean> {
  return leaf('boolean', 'boolean', doc, def, (v) => (typeof v === 'boolean' ? null : 'must be true or false'));
}

export function str(doc: string, def: string, pattern?: { re: RegExp; what: string }): Leaf<string> {
  return leaf('string', pattern ? `string (${pattern.what})` : 'string', doc, def, (v) => {
    if (typeof v !== 'string') return 'must be a string';
    if (pattern && !pattern.re.test(v)) return `must be ${pattern.what}`;
    return null;
  });
}

/** A string checked by `problem` (the reason it is wrong, or null); `format` describes it. */
export function checkedStr(doc: string, def: string, format: string, problem: (v: string) => string | null): Leaf<string> {
  return leaf('string', `string (${format})`, doc, def, (v) => (typeof v !== 'string' ? 'must be a string' : problem(v)));
}

export function oneOf<const V extends readonly string[]>(doc: string, values: V, def: V[number]): Leaf<V[number]> {
  return leaf('string', values.map((x) => JSON.stringify(x)).join(' | '), doc, def, (v) =>
    typeof v === 'string' && values.includes(v) ? null : `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}`,
  );
}

/** A number (within `bounds`, if given), or the literal string `auto`. */
export function numOrAuto(doc: string, def: number | 'auto', bounds?: NumberBounds): Leaf<number | 'auto'> {
  const what = bounds === undefined ? 'a finite number' : `a ${describeBounds(bounds)}`;
  return leaf('json', `"auto" | ${bounds === undefined ? 'number' : describeBounds(bounds)}`, doc, def, (v) => {
    if (v === 'auto') return null;
    if (bounds === undefined) return typeof v === 'number' && Number.isFinite(v) ? null : 'must be "auto" or a finite number';
    return checkNumber(v, bounds) === null ? null : `must be "auto" or ${what}`;
  });
}

/**
 * A structured value (array or object), checked by `check`. From the environment or a flag it
 * is read as JSON.
 */
export function structured<T>(doc: string, format: string, def: T, check: (v: unknown) => string | null): Leaf<T> {
  return leaf('json', format, doc, def, check);
}

/** [low, high] with low <= high, both within bounds. */
export function range(doc: string, def: [number, number], bounds: NumberBounds = {}): Leaf<[number, number]> {
  return structured(doc, `[low, high] of ${describeBounds(bounds)}`, def, (v) => {
    if (!Array.isArray(v) || v.length !== 2) return 'must be a two-element array [low, high]';
    for (const x of v) {
      const r = checkNumber(x, bounds);
      if (r !== null) return `each end ${r}`;
    }
    return (v[0] as number) <= (v[1] as number) ? null : 'low must not exceed high';
  });
}

export function numberList(doc: string, def: number[], bounds: NumberBounds = {}, length?: { min?: number }): Leaf<number[]> {
  return structured(doc, `array of ${describeBounds(bounds)}`, def, (v) => {
    if (!Array.isArray(v)) return 'must be an array';
    if (length?.min !== undefined && v.length < length.min) return `must hold at least ${length.min} element(s)`;
    for (let i = 0; i < v.length; i++) {
      const r = checkNumber(v[i], bounds);
      if (r !== null) return `element ${i} ${r}`;
    }
    return null;
  });
}

export function stringList(doc: string, def: string[]): Leaf<string[]> {
  return structured(doc, 'array of string', def, (v) =>
    Array.isArray(v) && v.every((x) => typeof x === 'string') ? null : 'must be an array of strings',
  );
}

/** Checks an array of objects field by field; `fields` maps a field name to its check. */
export function objectList<T>(
  doc: string,
  format: string,
  def: T[],
  fields: Record<string, { optional?: boolean; check: (v: unknown) => string | null }>,
): Leaf<T[]> {
  return structured(doc, format, def, (v) => {
    if (!Array.isArray(v)) return 'must be an array';
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      if (typeof item !== 'object' || item === null || Array.isArray(item)) return `element ${i} must be an object`;
      const rec = item as Record<string, unknown>;
      for (const k of Object.keys(rec)) {
        if (!(k in fields)) return `element ${i} has unknown field '${k}' (known: ${Object.keys(fields).join(', ')})`;
      }
      for (const [k, f] of Object.entries(fields)) {
        if (rec[k] === undefined) {
          if (f.optional) continue;
          return `element ${i} lacks field '${k}'`;
        }
        const r = f.check(rec[k]);
        if (r !== null) return `element ${i} field '${k}' ${r}`;
      }
    }
    return null;
  });
}

export const is = {
  string: (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? null : 'must be a non-empty string'),
  number: (v: unknown): string | null => (typeof v === 'number' && Number.isFinite(v) ? null : 'must be a finite number'),
  nonNegativeInt: (v: unknown): string | null =>
    typeof v === 'number' && Number.isInteger(v) && v >= 0 ? null : 'must be an integer >= 0',
  positiveNumber: (v: unknown): string | null =>
    typeof v === 'number' && Number.isFinite(v) && v > 0 ? null : 'must be a number > 0',
  numbers: (v: unknown): string | null =>
    Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)) ? null : 'must be an array of finite numbers',
  strings: (v: unknown): string | null =>
    Array.isArray(v) && v.every((x) => typeof x === 'string') ? null : 'must be an array of strings',
  oneOf:
    (...values: string[]) =>
    (v: unknown): string | null =>
      typeof v === 'string' && values.includes(v) ? null : `must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}`,
  stringMap: (v: unknown): string | null =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')
      ? null
      : 'must be an object mapping names to strings',
};
