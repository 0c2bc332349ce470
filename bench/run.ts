/**
 * `npm run bench`: every speed and memory figure of the issues, printed as a table, or as one
 * JSON object with `--json`. Each section runs in its own child process so that one section's
 * kernels, heap or threads never colour another's figures (and `rss_mb` is a clean process).
 *
 *   npm run bench                      all sections, table
 *   npm run bench -- --json            all sections, one JSON object on stdout
 *   npm run bench -- --only env,sac    some sections
 *   npm run bench -- --quick           shorter runs (lockstep 10 s, control loop 5 s)
 */
import { spawn } from 'node:child_process';
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
    doc: 'sac_update_ms per backend/provider on the real SoftActorCritic; policy_action_us via FastPolicy',
    async run() {
      const { sacUpdateMs, policyActionUs } = await import('./sac.js');
      return { sac_update_ms: await sacUpdateMs(), policy_action_us: await policyActionUs() };
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
  const result: Record<string, unknown> = {
    machine: { load_average_1m_at_start: loadavg()[0], node: process.version },
  };
  for (const section of SECTIONS.filter((s) => names.includes(s.name))) {
    process.stderr.write(`bench: ${section.name}: ${section.doc}\n`);
    Object.assign(result, await runChild(section, quick));
  }
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
