/**
 * `npm run bench`: every speed and memory figure of the issues, printed as a table, or as one
 * JSON object with `--json`. Each section runs in its own child process so that one section's
 * kernels, heap or threads never colour another's figures (and `rss_mb` is a clean process).
 *
 *   npm run bench                      all sections, table
 *   npm run bench -- --json            all sections, one JSON object on stdout
 *   npm run bench -- --only env,sac    some sections
 *   npm run bench -- --quick           shorter runs (lockstep 10 s, control loop 5 s)
 *
 * `targets` puts issue 16's bars beside the same run's figures; `machine` carries `uptime` at
 * the start and the end, since other work on the machine moves every timing figure.
 */
import { execFileSync, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DAEMON_NODE_FLAGS } from './nodeFlags.js';

interface Section {
  readonly name: string;
  readonly doc: string;
  run(quick: boolean): Promise<Record<string, unknown>>;
}

const SECTIONS: readonly Section[] = [
  {
    name: 'env',
    doc: 'env_step_us per task (median, random actions, after warm-up)',
    async run() {
      const { benchEnvSteps } = await import('./envStep.js');
      return { env_step_us: await benchEnvSteps() };
    },
  },
  {
    name: 'sac',
    doc: 'sac_update_ms per update path (fused, tfjs) and GEMM provider on the real SoftActorCritic, one core (and the fused one on 2); fused_update_parts_ms, CPU time per part; policy_action_us via FastPolicy, alone and beside a busy neighbour process',
    async run() {
      const { sacUpdateMs, fusedUpdatePartsMs, policyActionUs, policyActionUsBusyNeighbour } = await import('./sac.js');
      return { sac_update_ms: await sacUpdateMs(), fused_update_parts_ms: await fusedUpdatePartsMs(), policy_action_us: await policyActionUs(), policy_action_us_busy_neighbour: await policyActionUsBusyNeighbour() };
    },
  },
  {
    name: 'train',
    doc: 'halfcheetah_train: HalfCheetah-v5 env steps/s with one update per step (the real Trainer), per compute.updateCores (auto, 1, 2; alternating chunks)',
    async run(quick) {
      const { halfCheetahTrainSpeed } = await import('./trainSpeed.js');
      return { halfcheetah_train: await halfCheetahTrainSpeed({ steps: quick ? 300 : 1000 }) };
    },
  },
  {
    name: 'gemm',
    doc: 'gemm_gflops per provider on SAC-shaped GEMMs',
    async run() {
      const { initCompute } = await import('../src/compute/backend.js');
      const { gemmGflops } = await import('./compute.js');
      await initCompute('wasm');
      return { gemm_gflops: await gemmGflops() };
    },
  },
  {
    name: 'zmq',
    doc: 'zmq_policy_rtt_us, zmq_lockstep_1khz (late fraction), zmq_telemetry_msgs_per_s',
    async run(quick) {
      const { zmqBench } = await import('./zmq.js');
      return zmqBench({ lockstepSeconds: quick ? 10 : 60, telemetrySeconds: quick ? 3 : 10 });
    },
  },
  {
    name: 'control',
    doc: 'control_loop at 500 Hz and 1 kHz with the learner busy: late fraction, jitter p99 (real-time settings as deployed, then without them)',
    async run(quick) {
      const { controlLoopBench } = await import('./controlLoop.js');
      // As a robot runs it (SCHED_FIFO 20, wake-up latency 0 µs, where this process may), long
      // enough that 0.1% late is a count of ticks; then with neither, for comparison.
      const deployed = await controlLoopBench({ seconds: quick ? 5 : 30 });
      const plain = await controlLoopBench({ seconds: quick ? 5 : 10, fifoPriority: 0, cpuWakeupLatencyUs: -1 });
      return { control_loop: deployed.control_loop, control_loop_without_realtime: plain.control_loop };
    },
  },
  {
    name: 'memory',
    doc: 'rss_mb with a 1M-transition replay buffer on HalfCheetah shapes plus SAC networks',
    async run() {
      const { daemonMemory } = await import('./daemon.js');
      const m = await daemonMemory();
      return { rss_mb: m.rss_mb, memory: m };
    },
  },
];

/** Run one section in a child process and parse the JSON it prints last. */
function runChild(section: Section, quick: boolean): Promise<Record<string, unknown>> {
  const args = [...DAEMON_NODE_FLAGS, fileURLToPath(import.meta.url), '--section', section.name, ...(quick ? ['--quick'] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`bench section '${section.name}' exited with ${code}`));
      try {
        resolve(JSON.parse(last) as Record<string, unknown>);
      } catch {
        reject(new Error(`bench section '${section.name}' printed no JSON line (last line: ${last.slice(0, 200)})`));
      }
    });
  });
}

interface Target {
  target: string;
  measured: number | string;
  /** This process's CPU time for the same figure, where it is a time. */
  measured_cpu?: number;
  /** null: reported, no bar. */
  met: boolean | null;
}

/**
 * Issue 16's targets beside this run's figures (only for the sections that ran). The SAC update
 * is the default path's: fused on OpenBLAS where the addon is built, else on the WebAssembly kernel.
 */
export function targets(r: Record<string, unknown>): Record<string, Target> {
  const out: Record<string, Target> = {};
  const sac = r.sac_update_ms as Record<string, { median_ms: number; cpu_median_ms: number }> | undefined;
  const fused = sac?.['fused+openblas'] ?? sac?.['fused+wasm-simd'];
  // The CPU time beside it: under load the wall-clock median counts time the process waited.
  if (fused !== undefined) out.sac_update_ms = { target: '<= 5.5 (median, one core)', measured: fused.median_ms, measured_cpu: fused.cpu_median_ms, met: fused.median_ms <= 5.5 };
  // The default compute.updateCores ('auto'); the CPU time per step beside it.
  const train = r.halfcheetah_train as { default?: { steps_per_s: number; cpu_ms_per_step: number }; skipped?: string } | undefined;
  if (train !== undefined) {
    out.halfcheetah_steps_per_s = train.default === undefined
      ? { target: '>= 250 (one update per step)', measured: `skipped: ${train.skipped ?? '?'}`, met: null }
      : { target: '>= 250 (one update per step)', measured: train.default.steps_per_s, measured_cpu: train.default.cpu_ms_per_step, met: train.default.steps_per_s >= 250 };
  }
  const busy = r.policy_action_us_busy_neighbour as { p99: number } | undefined;
  if (busy !== undefined) out.policy_action_p99_us_busy_neighbour = { target: '<= 25', measured: busy.p99, met: busy.p99 <= 25 };
  if (typeof r.rss_mb === 'number') out.rss_mb_1m_transitions_halfcheetah = { target: 'reported', measured: r.rss_mb, met: null };
  return out;
}

/** `uptime`'s line: the load the figures were taken under. */
function uptimeLine(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average ${loadavg().map((x) => x.toFixed(2)).join(', ')}`;
  }
}

/** Flatten nested figures into `a.b.c  value` rows for the table. */
function rows(prefix: string, value: unknown, out: [string, string][]): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) rows(prefix === '' ? k : `${prefix}.${k}`, v, out);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      const label = v !== null && typeof v === 'object' && 'rate_hz' in v ? `${String((v as { rate_hz: unknown }).rate_hz)}hz` : String(i);
      rows(`${prefix}.${label}`, v, out);
    });
  } else {
    out.push([prefix, typeof value === 'number' ? formatNumber(value) : String(value)]);
  }
}

function formatNumber(x: number): string {
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      section: { type: 'string' },
    },
  });
  const quick = values.quick === true;
  if (values.section !== undefined) {
    const section = SECTIONS.find((s) => s.name === values.section);
    if (section === undefined) throw new Error(`unknown bench section '${values.section}'`);
    process.stdout.write(`\n${JSON.stringify(await section.run(quick))}\n`);
    return;
  }
  const names = values.only?.split(',').map((s) => s.trim()) ?? SECTIONS.map((s) => s.name);
  for (const n of names) {
    if (!SECTIONS.some((s) => s.name === n)) {
      throw new Error(`--only: unknown section '${n}' (known: ${SECTIONS.map((s) => s.name).join(', ')})`);
    }
  }
  const machine: Record<string, unknown> = { load_average_1m_at_start: loadavg()[0], uptime_at_start: uptimeLine(), node: process.version };
  const result: Record<string, unknown> = { machine };
  for (const section of SECTIONS.filter((s) => names.includes(s.name))) {
    process.stderr.write(`bench: ${section.name}: ${section.doc}\n`);
    Object.assign(result, await runChild(section, quick));
  }
  machine.uptime_at_end = uptimeLine();
  result.targets = targets(result);
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const table: [string, string][] = [];
  rows('', result, table);
  const w = Math.max(...table.map(([k]) => k.length));
  process.stdout.write(`${table.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n\n${JSON.stringify(result)}\n`);
}

await main();
