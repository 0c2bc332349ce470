import convict from 'convict';
import { readFileSync } from 'node:fs';
import { schema, type SacbridgeConfig } from './schema.js';
import { isLoopbackEndpoint, isLoopbackHost } from '../zmq/security.js';
import { isLeaf, parseDecimal, type Kind, type Leaf, type Section } from './spec.js';
import { PRESETS } from './presets.js';

/** Where a value came from, for error messages and `config check`. */
export type Origin = 'default' | `file ${string}` | `env ${string}` | `flag --${string}` | `preset ${string}`;

export interface ConfigIssue {
  key: string;
  value: unknown;
  reason: string;
  origin: Origin | 'unknown';
}

/** Invalid configuration: every problem names the key, the value, where it came from and why. */
export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(
      `invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  ${i.key} = ${show(i.value)} (${i.origin}): ${i.reason}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** sysexits.h EX_CONFIG: the exit code of every command refused for its configuration. */
export const EX_CONFIG = 78;

export interface LoadOptions {
  /** JSON configuration file. */
  file?: string;
  /** Environment (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Command-line flags such as `--rl.lr 1e-3` (default: none). */
  args?: string[];
}

export interface LoadedConfig {
  config: SacbridgeConfig;
  /** Origin of every key. */
  origins: Record<string, Origin>;
  /** Non-fatal remarks, e.g. an unknown SACBRIDGE_ environment variable. */
  warnings: string[];
}

/** In a configuration file, a key named "//" holds a comment (string or array of strings) and is ignored. */
export const COMMENT_KEY = '//';

export interface LeafEntry {
  key: string;
  leaf: Leaf<unknown>;
}

export function leaves(section: Section = schema as unknown as Section, prefix = ''): LeafEntry[] {
  const out: LeafEntry[] = [];
  for (const [k, node] of Object.entries(section)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isLeaf(node)) out.push({ key, leaf: node });
    else out.push(...leaves(node, key));
  }
  return out;
}

/** rl.batchSize -> SACBRIDGE_RL_BATCH_SIZE */
export function envName(key: string): string {
  return 'SACBRIDGE_' + key.split('.').map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

/** The environment variable naming the configuration file when --config is absent. */
export const CONFIG_FILE_ENV = 'SACBRIDGE_CONFIG';

/** SACBRIDGE_* variables that are not configuration keys (read by the systemd wrapper). */
export const NON_CONFIG_ENV: readonly string[] = [CONFIG_FILE_ENV, 'SACBRIDGE_NODE', 'SACBRIDGE_HOME'];

const FORMAT: Record<Kind, string> = { integer: 'sacbridge-integer', number: 'sacbridge-number', boolean: 'sacbridge-boolean', string: 'sacbridge-string', json: 'sacbridge-json' };

let formatsAdded = false;
/** Strings from the environment and flags become typed values here; the leaves check them after. */
function addFormats(): void {
  if (formatsAdded) return;
  formatsAdded = true;
  const any = (): void => undefined;
  convict.addFormat({ name: FORMAT.integer, validate: any, coerce: (v: string) => parseDecimal(v, true) });
  convict.addFormat({ name: FORMAT.number, validate: any, coerce: (v: string) => parseDecimal(v, false) });
  convict.addFormat({
    name: FORMAT.boolean,
    validate: any,
    coerce: (v: string) => {
      const s = v.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(s)) return true;
      if (['false', '0', 'no', 'off'].includes(s)) return false;
      return v;
    },
  });
  convict.addFormat({ name: FORMAT.string, validate: any });
  convict.addFormat({
    name: FORMAT.json,
    validate: any,
    coerce: (v: string) => {
      try {
        return JSON.parse(v) as unknown;
      } catch {
        return v; // left as a string: the leaf's check names the problem
      }
    },
  });
}

type ConvictSchemaNode = { [k: string]: ConvictSchemaNode } | convict.SchemaObj;

function convictSchema(section: Section, prefix = ''): Record<string, ConvictSchemaNode> {
  const out: Record<string, ConvictSchemaNode> = {};
  for (const [k, node] of Object.entries(section)) {
    const key = prefix ? `${prefix}.${k}` : k;
    out[k] = isLeaf(node)
      ? { doc: node.doc, format: FORMAT[node.kind], default: structuredClone(node.default), env: envName(key), arg: key }
      : convictSchema(node, key);
  }
  return out;
}

function show(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 200 ? s.slice(0, 200) + '…' : s;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Read and parse the file; a syntax error names the file, line and column. */
function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ key: '(file)', value: file, reason: `cannot read: ${(err as Error).message}`, origin: 'unknown' }]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg);
    let where = '';
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      const line = before.split('\n').length;
      where = ` at line ${line} column ${Number(pos[1]) - before.lastIndexOf('\n')}`;
    }
    throw new ConfigError([{ key: '(file)', value: file, reason: `not valid JSON${where}: ${msg}`, origin: 'unknown' }]);
  }
}

/**
 * Walk the file's object against the schema: undeclared keys, sections that are not objects and
 * values that fail their check are reported with the file as origin. Returns the object without
 * comment keys, ready for convict.
 */
function checkFileObject(obj: unknown, section: Section, prefix: string, origin: Origin, issues: ConfigIssue[]): Record<string, unknown> {
  const clean: Record<string, unknown> = {};
  if (!isRecord(obj)) {
    issues.push({ key: prefix || '(root)', value: obj, reason: 'must be an object (a section of the configuration)', origin });
    return clean;
  }
  for (const [k, v] of Object.entries(obj)) {
    if (k === COMMENT_KEY) continue;
    const key = prefix ? `${prefix}.${k}` : k;
    const node = section[k];
    if (node === undefined) {
      const known = Object.keys(section).join(', ');
      issues.push({ key, value: v, reason: `not declared in the schema (known here: ${known})`, origin });
      continue;
    }
    if (isLeaf(node)) {
      const reason = node.check(v);
      if (reason !== null) issues.push({ key, value: v, reason, origin });
      else clean[k] = v;
    } else {
      clean[k] = checkFileObject(v, node, key, origin, issues);
    }
  }
  return clean;
}

/**
 * Read `--key value` / `--key=value` flags: unknown keys and stray words are errors (a typo must
 * not pass silently), a repeated key keeps its last value. Returns the flags in the one form
 * convict reads unambiguously.
 */
function readFlags(args: string[], known: Set<string>, issues: ConfigIssue[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) {
      issues.push({ key: '(arguments)', value: a, reason: 'unexpected argument: flags are --key value', origin: 'unknown' });
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    let value: string | undefined;
    if (eq >= 0) value = a.slice(eq + 1);
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('--')) value = args[++i];
    if (!known.has(name)) {
      issues.push({ key: name, value, reason: 'unknown flag: not a configuration key (see `sacbridge config docs`)', origin: `flag --${name}` });
    } else if (value === undefined) {
      issues.push({ key: name, value, reason: 'flag without a value', origin: `flag --${name}` });
    } else {
      flags.delete(name);
      flags.set(name, value);
    }
  }
  return flags;
}

function hasKey(obj: Record<string, unknown>, key: string): boolean {
  let cur: unknown = obj;
  for (const p of key.split('.')) {
    if (!isRecord(cur) || !(p in cur)) return false;
    cur = cur[p];
  }
  return true;
}

/** Rules that involve several keys. */
function crossChecks(c: SacbridgeConfig, origins: Record<string, Origin>, issues: ConfigIssue[]): void {
  const add = (key: string, value: unknown, reason: string): void => {
    issues.push({ key, value, reason, origin: origins[key] ?? 'unknown' });
  };
  const { commandMin, commandMax } = c.safety;
  if (commandMin.length !== commandMax.length) {
    add('safety.commandMax', commandMax, `must have as many elements as safety.commandMin (${commandMin.length})`);
  } else {
    commandMin.forEach((lo, i) => {
      if (lo > commandMax[i]!) add('safety.commandMax', commandMax, `element ${i} (${commandMax[i]}) is below safety.commandMin[${i}] (${lo})`);
    });
  }
  for (const w of c.safety.workspace) if (w.min > w.max) add('safety.workspace', c.safety.workspace, `bound of ${w.signal}[${w.index}] has min > max`);
  const curveKeys = ['curveSecretKeyFile', 'curvePublicKeyFile', 'curveAuthorizedKeysDir'] as const;
  const curveSet = curveKeys.filter((k) => c.zmq[k] !== '');
  const hasCurve = curveSet.length === curveKeys.length;
  if (curveSet.length > 0 && !hasCurve) {
    // The ZeroMQ side accepts only listed clients: CURVE needs all three (no "any client" mode).
    for (const k of curveKeys.filter((k) => c.zmq[k] === '')) add(`zmq.${k}`, '', `CURVE needs zmq.curveSecretKeyFile, zmq.curvePublicKeyFile and zmq.curveAuthorizedKeysDir together (${curveSet.map((x) => `zmq.${x}`).join(', ')} set)`);
  }
  for (const k of ['telemetry', 'policy', 'control'] as const) {
    const ep = c.zmq[k];
    if (ep !== '' && !isLoopbackEndpoint(ep) && !hasCurve && !c.zmq.insecure) {
      add(`zmq.${k}`, ep, 'binds beyond loopback: set zmq.curveSecretKeyFile, zmq.curvePublicKeyFile and zmq.curveAuthorizedKeysDir, or zmq.insecure=true on a trusted network');
    }
  }
  if (c.metrics.enabled && !isLoopbackHost(c.metrics.host) && !c.metrics.insecure) {
    add('metrics.host', c.metrics.host, 'serves /metrics and /status beyond loopback: use 127.0.0.1 (or ::1, localhost), or set metrics.insecure=true on a trusted network');
  }
  if (c.ui.enabled && !isLoopbackHost(c.ui.host) && !c.ui.insecure) {
    add('ui.host', c.ui.host, 'serves the web UI beyond loopback: use 127.0.0.1 (or ::1, localhost) and an SSH tunnel, or set ui.insecure=true on a trusted network');
  }
  if (c.switch.mode !== 'never' && !c.ros.enabled) {
    add('switch.mode', c.switch.mode, 'a switch to the robot needs a robot: set ros.enabled=true (with ros.observations and ros.command)');
  }
  if (c.ros.enabled && c.ros.observations.length === 0) {
    add('ros.observations', c.ros.observations, 'ros.enabled=true needs at least one observation source');
  }
  if (c.ros.reset.mode === 'scripted' && c.ros.reset.script.length === 0) {
    add('ros.reset.script', c.ros.reset.script, 'ros.reset.mode="scripted" needs at least one scripted command');
  }
}

function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (!isRecord(cur[p])) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** rl.preset's values under every rl.* key still at its default (origin "preset NAME"). */
function applyPreset(config: SacbridgeConfig, origins: Record<string, Origin>): void {
  const name = config.rl.preset;
  if (name === '') return;
  for (const [k, v] of Object.entries(PRESETS[name].values)) {
    const key = `rl.${k}`;
    if (origins[key] !== 'default') continue;
    setPath(config as unknown as Record<string, unknown>, key, structuredClone(v));
    origins[key] = `preset ${name}`;
  }
}

/** The configuration with every default: no file, no environment, no flags. */
export function defaultConfig(): SacbridgeConfig {
  const out: Record<string, unknown> = {};
  for (const { key, leaf } of leaves()) setPath(out, key, structuredClone(leaf.default));
  return out as unknown as SacbridgeConfig;
}

/**
 * Resolve the configuration: schema defaults, overlaid by the file, then SACBRIDGE_* environment
 * variables, then flags. Throws ConfigError naming every bad key; nothing is started by this.
 */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  addFormats();
  const env = options.env ?? process.env;
  const args = options.args ?? [];
  const all = leaves();
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];

  const fileOrigin: Origin = `file ${options.file ?? ''}`;
  const fileObj = options.file !== undefined ? checkFileObject(readConfigFile(options.file), schema as unknown as Section, '', fileOrigin, issues) : {};
  const flags = readFlags(args, new Set(all.map((l) => l.key)), issues);
  const envNames = new Set(all.map((l) => envName(l.key)));
  for (const name of Object.keys(env)) {
    if (name.startsWith('SACBRIDGE_') && !NON_CONFIG_ENV.includes(name) && !envNames.has(name)) {
      warnings.push(`environment variable ${name} is not a configuration key; ignored`);
    }
  }

  const origins: Record<string, Origin> = {};
  for (const { key } of all) {
    origins[key] = flags.has(key) ? `flag --${key}` : env[envName(key)] !== undefined ? `env ${envName(key)}` : hasKey(fileObj, key) ? fileOrigin : 'default';
  }

  const flagArgs = [...flags].map(([k, v]) => `--${k}=${v}`);
  const conf = convict(convictSchema(schema as unknown as Section) as convict.Schema<SacbridgeConfig>, { env, args: flagArgs });
  conf.load(fileObj);
  const config = conf.getProperties();

  for (const { key, leaf } of all) {
    if (origins[key]!.startsWith('file')) continue; // already checked, before any coercion
    const value = conf.get(key as never) as unknown;
    // The text as written: convict's own flag parser reads "0x40" or "1e2" as numbers before any
    // format sees them, so numbers are judged on the text (plain decimal only, parseDecimal).
    const text = origins[key]!.startsWith('env') ? env[envName(key)] : origins[key]!.startsWith('flag') ? flags.get(key) : undefined;
    const numeric = leaf.kind === 'integer' || leaf.kind === 'number';
    const notDecimal = numeric && text !== undefined && Number.isNaN(parseDecimal(text, leaf.kind === 'integer'));
    const reason = notDecimal ? `is not written as a plain decimal number; ${leaf.check(Number.NaN)}` : leaf.check(value);
    // Show what was read; the text as written where it could not be read as it should (NaN).
    const shown = notDecimal || (!numeric && origins[key]!.startsWith('env')) ? text : value;
    if (reason !== null) issues.push({ key, value: shown, reason, origin: origins[key]! });
  }
  if (issues.length === 0) applyPreset(config, origins);
  if (issues.length === 0) crossChecks(config, origins, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  // convict's own strict pass: a disagreement with ours would be a bug here, not a user error.
  conf.validate({ allowed: 'strict' });
  return { config, origins, warnings };
}

/** The keys whose values differ between two configurations. */
export function changedKeys(a: SacbridgeConfig, b: SacbridgeConfig): string[] {
  return leaves()
    .map((l) => l.key)
    .filter((k) => JSON.stringify(getKey(a, k)) !== JSON.stringify(getKey(b, k)));
}

/** Read one key by its dotted path. */
export function getKey(c: SacbridgeConfig, key: string): unknown {
  return key.split('.').reduce<unknown>((o, p) => (isRecord(o) ? o[p] : undefined), c);
}

/** The documented schema as text, for `sacbridge config docs`. */
export function schemaDocs(): string {
  const lines: string[] = [];
  let section = '';
  for (const { key, leaf } of leaves()) {
    const top = key.split('.')[0]!;
    if (top !== section) {
      section = top;
      lines.push(`[${top}]`);
    }
    lines.push(`  ${key}`);
    lines.push(`      ${leaf.doc}`);
    lines.push(`      format: ${leaf.format}   default: ${show(leaf.default)}`);
    lines.push(`      env: ${envName(key)}   flag: --${key}`);
  }
  return lines.join('\n') + '\n';
}
