/**
 * A small JSON-schema-like checker for control command arguments: objects of typed, bounded
 * fields with defaults, and no unknown fields. Errors name the field and the reason.
 */

export type FieldSchema =
  | { readonly type: 'string'; readonly maxLength?: number; readonly enum?: readonly string[]; readonly default?: string; readonly doc: string }
  | { readonly type: 'integer'; readonly minimum: number; readonly maximum: number; readonly default?: number; readonly doc: string }
  | { readonly type: 'boolean'; readonly default?: boolean; readonly doc: string };

export interface ArgsSchema {
  readonly properties: Readonly<Record<string, FieldSchema>>;
  readonly required?: readonly string[];
}

export class ArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgumentError';
  }
}

/** Check `value` against `schema` and return it with defaults filled in. */
export function validateArgs(schema: ArgsSchema, value: unknown, where: string): Record<string, unknown> {
  if (value === undefined || value === null) value = {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ArgumentError(`${where} must be an object`);
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    // Own properties only: `in` would take 'toString', 'constructor' or '__proto__' for arguments.
    if (!Object.hasOwn(schema.properties, key)) {
      const known = Object.keys(schema.properties);
      throw new ArgumentError(`${where}.${key} is not a known argument (known: ${known.length > 0 ? known.join(', ') : 'none'})`);
    }
  }
  for (const key of schema.required ?? []) {
    if (!Object.hasOwn(given, key) || given[key] === undefined) throw new ArgumentError(`${where}.${key} is required`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema.properties)) {
    const v = Object.hasOwn(given, key) ? given[key] : undefined;
    if (v === undefined) {
      if (field.default !== undefined) out[key] = field.default;
      continue;
    }
    out[key] = checkField(field, v, `${where}.${key}`);
  }
  return out;
}

function checkField(field: FieldSchema, v: unknown, where: string): unknown {
  switch (field.type) {
    case 'string':
      if (typeof v !== 'string') throw new ArgumentError(`${where} must be a string, got ${describe(v)}`);
      if (field.maxLength !== undefined && v.length > field.maxLength) {
        throw new ArgumentError(`${where} must be at most ${field.maxLength} characters, got ${v.length}`);
      }
      if (field.enum !== undefined && !field.enum.includes(v)) {
        throw new ArgumentError(`${where} must be one of ${field.enum.join(', ')}, got ${JSON.stringify(v.slice(0, 64))}`);
      }
      return v;
    case 'integer':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ArgumentError(`${where} must be an integer, got ${describe(v)}`);
      if (v < field.minimum || v > field.maximum) {
        throw new ArgumentError(`${where} must be in [${field.minimum}, ${field.maximum}], got ${v}`);
      }
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw new ArgumentError(`${where} must be true or false, got ${describe(v)}`);
      return v;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.slice(0, 64))}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
