/**
 * A small, strict command-line parser: `--name value`, `--name=value` and boolean `--name`.
 * Unknown flags and malformed values are UsageErrors naming the flag (exit code 64, EX_USAGE).
 */

export const EX_USAGE = 64;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagKind = 'string' | 'int' | 'number' | 'boolean';

export interface FlagSpec {
  kind: FlagKind;
  /** Value placeholder and description for --help. */
  value?: string;
  help: string;
  /** For string flags: the allowed values. */
  choices?: readonly string[];
  /** For int/number flags: the smallest allowed value. */
  min?: number;
}

export type FlagSpecs = Record<string, FlagSpec>;
export type ParsedFlags = Record<string, string | number | boolean | undefined>;

export function parseFlags(argv: readonly string[], specs: FlagSpecs): { flags: ParsedFlags; positionals: string[] } {
  const flags: ParsedFlags = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = specs[name];
    if (spec === undefined) {
      const known = Object.keys(specs).map((k) => `--${k}`).join(', ');
      throw new UsageError(`unknown flag --${name}${known ? ` (known: ${known})` : ''}`);
    }
    if (spec.kind === 'boolean') {
      if (eq >= 0) {
        const v = arg.slice(eq + 1);
        if (v !== 'true' && v !== 'false') throw new UsageError(`--${name}: expected true or false, got '${v}'`);
        flags[name] = v === 'true';
      } else {
        flags[name] = true;
      }
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name}: missing value (${spec.value ?? spec.kind})`);
      raw = argv[++i];
    }
    flags[name] = parseValue(name, raw, spec);
  }
  return { flags, positionals };
}

function parseValue(name: string, raw: string, spec: FlagSpec): string | number {
  switch (spec.kind) {
    case 'string':
      if (raw === '') throw new UsageError(`--${name}: empty value`);
      if (spec.choices !== undefined && !spec.choices.includes(raw)) {
        throw new UsageError(`--${name}: '${raw}' is not one of ${spec.choices.join(', ')}`);
      }
      return raw;
    case 'int': {
      if (!/^-?\d+$/.test(raw)) throw new UsageError(`--${name}: expected an integer, got '${raw}'`);
      const v = Number(raw);
      if (!Number.isSafeInteger(v)) throw new UsageError(`--${name}: ${raw} is too large`);
      if (spec.min !== undefined && v < spec.min) throw new UsageError(`--${name}: must be >= ${spec.min}, got ${raw}`);
      return v;
    }
    case 'number': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${name}: expected a number, got '${raw}'`);
      if (spec.min !== undefined && v < spec.min) throw new UsageError(`--${name}: must be >= ${spec.min}, got ${raw}`);
      return v;
    }
    default:
      throw new UsageError(`--${name}: unsupported flag kind`);
  }
}

/** Help text for a command's flags. */
export function formatFlags(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => [`--${name}${s.kind === 'boolean' ? '' : ` ${s.value ?? s.kind.toUpperCase()}`}`, s.help + (s.choices ? ` (${s.choices.join('|')})` : '')]);
  const w = Math.max(0, ...rows.map((r) => r[0].length));
  return rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`).join('\n');
}

/** `--backend NAME`, shared by every command that runs networks. */
export const BACKEND_FLAG: FlagSpec = { kind: 'string', value: 'NAME', choices: ['auto', 'tensorflow', 'wasm', 'cpu'], help: 'tfjs backend (default auto)' };
