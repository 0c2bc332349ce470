/**
 * GEMM kernels chosen by measurement rather than by OpenBLAS's CPU table.
 *
 * Why: Debian's OpenBLAS 0.3.21 picks its kernels from a table of CPU models; on CPUs newer than
 * the table it falls back to older kernels (Haswell's on an AVX-512 EPYC, 1.6x slower in the
 * issue's measurement), and on others its pick is not the fastest on SAC's shapes. So at install
 * (scripts/build-native.mjs) or on the first start, each OpenBLAS core type this CPU can run and
 * the WebAssembly SIMD kernel are timed on the GEMM shapes of one SAC update, each in a child
 * process (OpenBLAS reads OPENBLAS_CORETYPE only when it loads), and the fastest is kept in a
 * cache file beside the addon. Later starts read the cache while it matches this machine (CPU,
 * addon, WebAssembly kernel, Node).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../util/atomicFile.js';
import { DEFAULT_ADDON_PATH, firstLine, WASM_GEMM_PATH } from './gemmProviders.js';

export interface KernelTiming {
  /** 'openblas' or 'wasm-simd'. */
  provider: 'openblas' | 'wasm-simd';
  /** OpenBLAS core type forced through OPENBLAS_CORETYPE; null = the library's own pick. */
  coreType: string | null;
  /** The core type OpenBLAS reported running (its config string names it). */
  runs: string;
  /** Best pass over the update's GEMM shapes, CPU milliseconds; null when it could not run. */
  ms: number | null;
  /** Why it could not run. */
  error?: string;
}

export interface KernelChoice {
  provider: 'openblas' | 'wasm-simd';
  /** OPENBLAS_CORETYPE to set before the addon loads; null = none needed. */
  coreType: string | null;
  timings: KernelTiming[];
  /** What the measurement was made for (see machineKey). */
  key: string;
  measuredAt: string;
}

export const KERNEL_CHOICE_FILE = 'kernel-choice.json';

/** Default cache path: beside the addon (build/). */
export const defaultChoicePath = (addonPath: string = DEFAULT_ADDON_PATH()): string => join(dirname(addonPath), KERNEL_CHOICE_FILE);

/** One CPU flag set: the `flags` line of /proc/cpuinfo (empty off Linux). */
function cpuFlags(): { model: string; flags: Set<string> } {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const model = /^model name\s*:\s*(.*)$/m.exec(text)?.[1] ?? 'unknown';
    const flags = new Set((/^(?:flags|Features)\s*:\s*(.*)$/m.exec(text)?.[1] ?? '').split(/\s+/));
    return { model, flags };
  } catch {
    return { model: 'unknown', flags: new Set() };
  }
}

/**
 * OpenBLAS core types (names as OPENBLAS_CORETYPE takes them) whose instructions this CPU has.
 * Core types the library was built without are found out by the probe (its config names another).
 */
export function runnableCoreTypes(flags: ReadonlySet<string>, arch: string = process.arch): string[] {
  if (arch !== 'x64') return [];
  const has = (...f: string[]): boolean => f.every((x) => flags.has(x));
  const out: string[] = [];
  if (has('avx')) out.push('Sandybridge');
  if (has('avx2', 'fma')) out.push('Haswell', 'Zen');
  if (has('avx512f', 'avx512bw', 'avx512dq', 'avx512vl', 'avx512cd')) out.push('SkylakeX');
  if (has('avx512f', 'avx512bw', 'avx512vl', 'avx512_bf16')) out.push('Cooperlake');
  if (has('avx512f', 'avx512_bf16', 'amx_bf16', 'amx_tile')) out.push('SapphireRapids');
  return out;
}

/** What a cached choice must match: CPU, addon and WebAssembly kernel files, Node's version. */
export function machineKey(addonPath: string): string {
  const { model, flags } = cpuFlags();
  const fileId = (p: string): string => {
    try {
      const s = statSync(p);
      return `${p}:${s.size}:${s.mtimeMs}`;
    } catch {
      return `${p}:missing`;
    }
  };
  const text = [model, [...flags].sort().join(' '), fileId(addonPath), fileId(WASM_GEMM_PATH()), process.version, process.arch].join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** A forced core type must beat OpenBLAS's own pick by this fraction: closer is measurement noise. */
export const FORCE_MARGIN = 0.02;

/** The fastest timing that ran; OpenBLAS's own pick stays unless another beats it by FORCE_MARGIN. */
export function fastest(timings: readonly KernelTiming[]): KernelTiming {
  const ran = timings.filter((t) => t.ms !== null);
  if (ran.length === 0) throw new Error(`no GEMM kernel ran: ${timings.map((t) => `${label(t)}: ${t.error ?? 'no time'}`).join('; ')}`);
  const best = ran.reduce((b, t) => (t.ms! < b.ms! ? t : b));
  const own = ran.find((t) => t.provider === 'openblas' && t.coreType === null);
  return own !== undefined && own.ms! <= best.ms! * (1 + FORCE_MARGIN) ? own : best;
}

const label = (t: KernelTiming): string => (t.provider === 'wasm-simd' ? 'wasm-simd' : t.coreType === null ? `${t.runs} (OpenBLAS's pick)` : t.coreType);

/** "Haswell 5.12 ms, Cooperlake (OpenBLAS's pick) 5.31, ..." fastest first, for the log line. */
export function describeTimings(timings: readonly KernelTiming[]): string {
  const ran = timings.filter((t) => t.ms !== null).sort((a, b) => a.ms! - b.ms!);
  const failed = timings.filter((t) => t.ms === null);
  const parts = ran.map((t, i) => `${label(t)} ${t.ms!.toFixed(2)}${i === 0 ? ' ms' : ''}`);
  for (const t of failed) parts.push(`${label(t)}: ${t.error ?? 'did not run'}`);
  return parts.join(', ');
}

const probePath = (): string => join(dirname(fileURLToPath(import.meta.url)), 'kernelProbe.js');

/** Run the probe in a child with `env` added; resolves to its parsed line or an error text. */
function probe(args: string[], env: Record<string, string>): Promise<{ config: string; ms: number } | { error: string }> {
  return new Promise((resolve) => {
    const childEnv = { ...process.env, ...env };
    if (env.OPENBLAS_CORETYPE === undefined) delete childEnv.OPENBLAS_CORETYPE;
    execFile(process.execPath, [probePath(), ...args], { env: childEnv, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err !== null) return resolve({ error: firstLine(stderr.trim() !== '' ? stderr.trim().split('\n').pop() : err) });
      try {
        const line = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { config: string; ms: number };
        resolve({ config: line.config, ms: line.ms });
      } catch {
        resolve({ error: `probe printed no result (${stdout.slice(0, 120)})` });
      }
    });
  });
}

/** The core name in OpenBLAS's config string ("OpenBLAS 0.3.21 ... DYNAMIC_ARCH ... Haswell MAX_THREADS=64"). */
export function coreInConfig(config: string): string {
  const words = config.split(';')[0]!.split(/\s+/);
  const i = words.findIndex((w) => w.startsWith('MAX_THREADS'));
  return i > 0 ? words[i - 1]! : words[words.length - 1] ?? 'unknown';
}

/**
 * Time every runnable kernel, one child at a time (they must not share the cores with each
 * other), in `rounds` interleaved rounds keeping each kernel's best: a burst of load from other
 * processes then spoils one round of every kernel alike instead of all rounds of one.
 */
export async function measureKernels(addonPath: string, openBlasAvailable: boolean, rounds = 3): Promise<KernelTiming[]> {
  const timings: KernelTiming[] = [
    ...(openBlasAvailable ? [null, ...runnableCoreTypes(cpuFlags().flags)] : []).map(
      (coreType): KernelTiming => ({ provider: 'openblas', coreType, runs: coreType ?? 'default', ms: null }),
    ),
    { provider: 'wasm-simd', coreType: null, runs: 'wasm-simd', ms: null },
  ];
  for (let round = 0; round < rounds; round++) {
    for (const t of timings) {
      if (t.error !== undefined) continue;
      const r = t.provider === 'wasm-simd'
        ? await probe(['wasm-simd'], {})
        : await probe(['openblas', addonPath], t.coreType === null ? {} : { OPENBLAS_CORETYPE: t.coreType });
      if ('error' in r) {
        t.error = r.error;
        t.ms = null;
        continue;
      }
      if (t.provider === 'openblas') {
        t.runs = coreInConfig(r.config);
        if (t.coreType !== null && t.runs.toLowerCase() !== t.coreType.toLowerCase()) {
          t.error = `not in this OpenBLAS build (it ran ${t.runs})`;
          continue;
        }
      }
      t.ms = t.ms === null ? r.ms : Math.min(t.ms, r.ms);
    }
  }
  return timings;
}

/** A cached choice, if the file holds one for this machine. */
export async function readChoice(path: string, key: string): Promise<KernelChoice | null> {
  try {
    const c = JSON.parse(await readFile(path, 'utf8')) as KernelChoice;
    return c.key === key && (c.provider === 'openblas' || c.provider === 'wasm-simd') && Array.isArray(c.timings) ? c : null;
  } catch {
    return null;
  }
}

export interface ChosenKernel {
  choice: KernelChoice;
  /** For the compute log line: how the choice was made and where it is cached. */
  note: string;
}

/**
 * The kernel for this machine: the cached choice when it matches, else measured now and cached
 * (a cache that cannot be written is reported in the note, and the measurement still applies).
 */
export async function chooseKernel(options: { addonPath?: string; cachePath?: string; openBlasAvailable: boolean; remeasure?: boolean; rounds?: number }): Promise<ChosenKernel> {
  const addonPath = options.addonPath ?? DEFAULT_ADDON_PATH();
  const cachePath = options.cachePath ?? defaultChoicePath(addonPath);
  const key = machineKey(addonPath);
  const cached = options.remeasure === true ? null : await readChoice(cachePath, key);
  if (cached !== null) return { choice: cached, note: `chosen by measurement on ${cached.measuredAt.slice(0, 10)} (update GEMMs: ${describeTimings(cached.timings)}; cached in ${cachePath})` };
  const timings = await measureKernels(addonPath, options.openBlasAvailable, options.rounds);
  const best = fastest(timings);
  const choice: KernelChoice = { provider: best.provider, coreType: best.coreType, timings, key, measuredAt: new Date().toISOString() };
  let cacheNote = `cached in ${cachePath}`;
  try {
    await writeFileAtomic(cachePath, `${JSON.stringify(choice, null, 1)}\n`);
  } catch (err) {
    cacheNote = `not cached: ${firstLine(err)}`;
  }
  return { choice, note: `chosen by measurement now (update GEMMs: ${describeTimings(timings)}; ${cacheNote})` };
}
