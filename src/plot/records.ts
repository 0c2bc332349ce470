import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Learning curves from the run's metrics JSONL. Tolerant by design: the trainer's records may
 * carry any extra fields, and older runs may name things differently. One JSON object per line:
 *   - x axis: `step` | `envSteps` | `env_steps` | `global_step` (else the line's position)
 *   - evaluation: `kind`/`type` of "eval"/"evaluation", value `return` | `meanReturn` | `mean_return`
 *   - episode return: `return` | `episodeReturn` | `episode_return` (any other record); records
 *     with `phase` "robot" (the daemon's fine-tuning on the robot) are the robot's returns
 *   - losses: every finite number whose key contains "loss" (any case)
 *   - temperature: `alpha` | `temperature` | `ent_coef`
 *   - fine-tuning on the robot (records with `phase` "robot"): `td_robot`, `td_sim`,
 *     `q_overestimation`, `entropy`, `policy_drift` (src/daemon/sacJob.ts writes them)
 * Unparsable lines (e.g. the torn last line after a crash) are counted and skipped.
 */

export interface Series {
  name: string;
  x: number[];
  y: number[];
}

export interface Curves {
  /** Episode returns in simulation. */
  returns: Series;
  /** Episode returns on the robot (`phase: "robot"`). */
  robotReturns: Series;
  evalReturns: Series;
  losses: Series[];
  temperature: Series;
  /** Fine-tuning measures by key (FINETUNE_KEYS), from the robot phase's episode records. */
  fineTuning: Series[];
  files: string[];
  records: number;
  skipped: number;
}

const X_KEYS = ['step', 'envSteps', 'env_steps', 'global_step'];
const RETURN_KEYS = ['return', 'episodeReturn', 'episode_return'];
const EVAL_KEYS = ['return', 'meanReturn', 'mean_return', 'evalReturn', 'eval_return'];
const ALPHA_KEYS = ['alpha', 'temperature', 'ent_coef'];
/** The robot phase's per-episode fine-tuning measures (critic: the first three; policy: the others). */
export const FINETUNE_KEYS = ['td_robot', 'td_sim', 'q_overestimation', 'entropy', 'policy_drift'] as const;

function firstNumber(rec: Record<string, unknown>, keys: string[]): number | null {
  for (const k of keys) {
    const v = rec[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return null;
}

function series(name: string): Series {
  return { name, x: [], y: [] };
}

/** The JSONL files of a run directory (or the file itself). */
export function metricsFiles(path: string): string[] {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((f) => join(path, f));
}

export function parseCurves(texts: { file: string; text: string }[]): Curves {
  const c: Curves = { returns: series('episode return'), robotReturns: series('robot episode return'), evalReturns: series('evaluation return'), losses: [], temperature: series('alpha'), fineTuning: FINETUNE_KEYS.map((k) => series(k)), files: texts.map((t) => t.file), records: 0, skipped: 0 };
  const losses = new Map<string, Series>();
  let position = 0;
  for (const { text } of texts) {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      position++;
      let rec: unknown;
      try {
        rec = JSON.parse(line);
      } catch {
        c.skipped++;
        continue;
      }
      if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
        c.skipped++;
        continue;
      }
      const r = rec as Record<string, unknown>;
      c.records++;
      const x = firstNumber(r, X_KEYS) ?? position;
      const kind = typeof r.kind === 'string' ? r.kind : typeof r.type === 'string' ? r.type : '';
      if (kind === 'eval' || kind === 'evaluation') {
        const v = firstNumber(r, EVAL_KEYS);
        if (v !== null) {
          c.evalReturns.x.push(x);
          c.evalReturns.y.push(v);
        }
        continue;
      }
      const ret = firstNumber(r, RETURN_KEYS);
      if (ret !== null) {
        const to = r.phase === 'robot' ? c.robotReturns : c.returns;
        to.x.push(x);
        to.y.push(ret);
      }
      for (const [k, v] of Object.entries(r)) {
        if (!/loss/i.test(k) || typeof v !== 'number' || !Number.isFinite(v)) continue;
        let s = losses.get(k);
        if (!s) losses.set(k, (s = series(k)));
        s.x.push(x);
        s.y.push(v);
      }
      if (r.phase === 'robot') {
        FINETUNE_KEYS.forEach((k, i) => {
          const v = r[k];
          if (typeof v !== 'number' || !Number.isFinite(v)) return;
          c.fineTuning[i]!.x.push(x);
          c.fineTuning[i]!.y.push(v);
        });
      }
      const a = firstNumber(r, ALPHA_KEYS);
      if (a !== null) {
        c.temperature.x.push(x);
        c.temperature.y.push(a);
      }
    }
  }
  c.losses = [...losses.values()];
  return c;
}

export function readCurves(path: string): Curves {
  const files = metricsFiles(path);
  return parseCurves(files.map((file) => ({ file, text: readFileSync(file, 'utf8') })));
}

/**
 * The stretches of x the robot phase covers: its episodes' x values, split where a sim episode
 * comes between (sim, robot, sim again...). Each span runs from a robot episode's x to the last
 * one before the next sim episode. Pure.
 */
export function robotSpans(c: Pick<Curves, 'returns' | 'robotReturns'>): { from: number; to: number }[] {
  const sim = [...c.returns.x].sort((a, b) => a - b);
  const robot = [...c.robotReturns.x].sort((a, b) => a - b);
  const spans: { from: number; to: number }[] = [];
  let k = 0;
  for (const x of robot) {
    while (k < sim.length && sim[k]! < x) k++;
    const last = spans.at(-1);
    // A sim episode between the previous robot episode and this one starts a new span.
    if (last !== undefined && !(k > 0 && sim[k - 1]! > last.to)) last.to = x;
    else spans.push({ from: x, to: x });
  }
  return spans;
}
