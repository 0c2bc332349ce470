import { robotSpans, type Curves, type Series } from './records.js';

/**
 * Learning curves as a self-contained SVG: one panel each for return, losses and temperature.
 * Robot episodes are drawn in their own colour on a shaded stretch labelled "robot", so the two
 * phases of a sim-then-robot run can be told apart.
 */

const WIDTH = 960;
const PANEL_H = 280;
const M = { left: 84, right: 210, top: 36, bottom: 46 };
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
const MAX_POINTS = 1500;

export interface Ticks {
  lo: number;
  hi: number;
  values: number[];
}

/** Round tick values (1, 2, 5 times a power of ten) covering [min, max]. */
export function niceTicks(min: number, max: number, target = 5): Ticks {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { lo: 0, hi: 1, values: [0, 1] };
  if (min === max) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const values: number[] = [];
  for (let v = lo; v <= hi + step / 2; v += step) values.push(Number(v.toPrecision(12)));
  return { lo, hi, values };
}

export function formatNumber(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  if (a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Sort by x and average into at most `max` buckets, so a million points stay a light SVG. */
export function downsample(s: Series, max = MAX_POINTS): Series {
  const idx = s.x.map((_, i) => i).sort((a, b) => s.x[a]! - s.x[b]!);
  const x = idx.map((i) => s.x[i]!);
  const y = idx.map((i) => s.y[i]!);
  if (x.length <= max) return { name: s.name, x, y };
  const out: Series = { name: s.name, x: [], y: [] };
  const per = x.length / max;
  for (let b = 0; b < max; b++) {
    const from = Math.floor(b * per);
    const to = Math.floor((b + 1) * per);
    let sx = 0;
    let sy = 0;
    for (let i = from; i < to; i++) {
      sx += x[i]!;
      sy += y[i]!;
    }
    out.x.push(sx / (to - from));
    out.y.push(sy / (to - from));
  }
  return out;
}

/** Trailing moving average over `window` points (sorted by x first). */
export function movingAverage(s: Series, window: number): Series {
  const sorted = downsample(s, Number.POSITIVE_INFINITY);
  const y: number[] = [];
  let sum = 0;
  for (let i = 0; i < sorted.y.length; i++) {
    sum += sorted.y[i]!;
    if (i >= window) sum -= sorted.y[i - window]!;
    y.push(sum / Math.min(i + 1, window));
  }
  return { name: `${s.name} (mean of ${window})`, x: sorted.x, y };
}

interface Trace {
  series: Series;
  colour: string;
  style: 'line' | 'dots';
  width?: number;
  /** A shaded band [lo, hi] at the series' x values (drawn under the line, never downsampled). */
  band?: { lo: number[]; hi: number[] };
}

/** A stretch of x shaded behind the curves, with a label at its top. */
interface Span {
  from: number;
  to: number;
  label: string;
}

function panel(top: number, title: string, yLabel: string, traces: Trace[], logY: boolean, spans: Span[] = []): string {
  const w = WIDTH - M.left - M.right;
  const h = PANEL_H - M.top - M.bottom;
  const x0 = M.left;
  const y0 = top + M.top;
  const parts: string[] = [`<text x="${x0}" y="${top + 22}" class="title">${esc(title)}</text>`];
  const data = traces.map((t) => ({ ...t, series: t.band ? t.series : downsample(t.series) })).filter((t) => t.series.x.length > 0);
  parts.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" class="frame"/>`);
  if (data.length === 0) {
    parts.push(`<text x="${x0 + w / 2}" y="${y0 + h / 2}" class="empty">no data in the run's metrics</text>`);
    return parts.join('\n');
  }
  const fy = (v: number): number => (logY ? Math.log10(v) : v);
  const xs = [...data.flatMap((t) => t.series.x), ...spans.flatMap((s) => [s.from, s.to])];
  const ys = data.flatMap((t) => [...t.series.y, ...(t.band?.lo ?? []), ...(t.band?.hi ?? [])].map(fy));
  const xt = niceTicks(Math.min(...xs), Math.max(...xs));
  const yt = logY ? { lo: Math.floor(Math.min(...ys)), hi: Math.ceil(Math.max(...ys)), values: [] as number[] } : niceTicks(Math.min(...ys), Math.max(...ys));
  if (logY) {
    if (yt.lo === yt.hi) yt.hi = yt.lo + 1;
    for (let e = yt.lo; e <= yt.hi; e++) yt.values.push(e);
  }
  const px = (v: number): number => x0 + ((v - xt.lo) / (xt.hi - xt.lo)) * w;
  const py = (v: number): number => y0 + h - ((fy(v) - yt.lo) / (yt.hi - yt.lo)) * h;
  const pyRaw = (v: number): number => y0 + h - ((v - yt.lo) / (yt.hi - yt.lo)) * h;
  for (const v of xt.values) {
    const X = px(v).toFixed(1);
    parts.push(`<line x1="${X}" y1="${y0}" x2="${X}" y2="${y0 + h}" class="grid"/>`);
    parts.push(`<text x="${X}" y="${y0 + h + 16}" class="xtick">${formatNumber(v)}</text>`);
  }
  for (const v of yt.values) {
    const Y = pyRaw(v).toFixed(1);
    parts.push(`<line x1="${x0}" y1="${Y}" x2="${x0 + w}" y2="${Y}" class="grid"/>`);
    parts.push(`<text x="${x0 - 6}" y="${Y}" class="ytick">${logY ? formatNumber(10 ** v) : formatNumber(v)}</text>`);
  }
  parts.push(`<text x="${x0 + w / 2}" y="${y0 + h + 36}" class="axis">environment steps</text>`);
  parts.push(`<text transform="translate(${x0 - 62} ${y0 + h / 2}) rotate(-90)" class="axis">${esc(yLabel)}</text>`);
  parts.push(`<clipPath id="clip${top}"><rect x="${x0}" y="${y0}" width="${w}" height="${h}"/></clipPath>`);
  for (const s of spans) {
    const a = px(s.from), b = Math.max(px(s.to), a + 2);
    parts.push(`<rect x="${a.toFixed(1)}" y="${y0}" width="${(b - a).toFixed(1)}" height="${h}" class="span"/>`);
    parts.push(`<text x="${(a + 4).toFixed(1)}" y="${y0 + 14}" class="spanlabel">${esc(s.label)}</text>`);
  }
  data.forEach((t, i) => {
    const s = t.series;
    if (t.band !== undefined) {
      const upper = s.x.map((x, k) => `${k === 0 ? 'M' : 'L'}${px(x).toFixed(1)} ${py(t.band!.hi[k]!).toFixed(1)}`);
      const lower = s.x.map((x, k) => `L${px(x).toFixed(1)} ${py(t.band!.lo[k]!).toFixed(1)}`).reverse();
      parts.push(`<path d="${[...upper, ...lower].join(' ')} Z" fill="${t.colour}" fill-opacity="0.18" stroke="none" clip-path="url(#clip${top})"/>`);
    }
    if (t.style === 'dots') {
      const dots = s.x.map((x, k) => `<circle cx="${px(x).toFixed(1)}" cy="${py(s.y[k]!).toFixed(1)}" r="1.6"/>`).join('');
      parts.push(`<g fill="${t.colour}" fill-opacity="0.35" clip-path="url(#clip${top})">${dots}</g>`);
    } else {
      const d = s.x.map((x, k) => `${k === 0 ? 'M' : 'L'}${px(x).toFixed(1)} ${py(s.y[k]!).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${t.colour}" stroke-width="${t.width ?? 1.5}" clip-path="url(#clip${top})"/>`);
    }
    const ly = y0 + 8 + i * 18;
    parts.push(`<rect x="${x0 + w + 12}" y="${ly}" width="14" height="4" fill="${t.colour}"/>`);
    parts.push(`<text x="${x0 + w + 32}" y="${ly + 5}" class="legend">${esc(s.name)}</text>`);
  });
  return parts.join('\n');
}

const STYLE = `<style>
  .title { font-size: 15px; font-weight: bold; fill: #222 }
  .frame { fill: #fff; stroke: #444; stroke-width: 1 }
  .grid { stroke: #ddd; stroke-width: 1 }
  .xtick { font-size: 11px; fill: #333; text-anchor: middle }
  .ytick { font-size: 11px; fill: #333; text-anchor: end; dominant-baseline: middle }
  .axis { font-size: 12px; fill: #222; text-anchor: middle }
  .legend { font-size: 11px; fill: #222; dominant-baseline: middle }
  .empty { font-size: 13px; fill: #888; text-anchor: middle }
  .caption { font-size: 11px; fill: #666 }
  .span { fill: #ff7f0e; fill-opacity: 0.08; stroke: none }
  .spanlabel { font-size: 11px; fill: #b35806 }
</style>`;

export function renderLearningCurves(c: Curves, title: string): string {
  const traces: Trace[] = [];
  if (c.returns.x.length > 0) {
    traces.push({ series: c.returns, colour: '#9bbbd9', style: 'dots' });
    traces.push({ series: movingAverage(c.returns, Math.max(1, Math.min(100, Math.ceil(c.returns.x.length / 20)))), colour: COLOURS[0]!, style: 'line', width: 2 });
  }
  if (c.robotReturns.x.length > 0) {
    traces.push({ series: c.robotReturns, colour: '#f5b97f', style: 'dots' });
    traces.push({ series: movingAverage(c.robotReturns, Math.max(1, Math.min(20, Math.ceil(c.robotReturns.x.length / 10)))), colour: COLOURS[4]!, style: 'line', width: 2 });
  }
  if (c.evalReturns.x.length > 0) traces.push({ series: c.evalReturns, colour: COLOURS[1]!, style: 'line', width: 2 });
  const spans = robotSpans(c).map((s) => ({ ...s, label: 'robot' }));
  const losses = c.losses.map((s, i) => ({ series: s, colour: COLOURS[i % COLOURS.length]!, style: 'line' as const }));
  const alphaPositive = c.temperature.y.length > 0 && c.temperature.y.every((v) => v > 0);
  const spread = alphaPositive ? Math.max(...c.temperature.y) / Math.min(...c.temperature.y) : 1;
  // Fine-tuning on the robot: the critic's fit (robot and sim data apart, Q against the Monte
  // Carlo return) and the policy (entropy, drift from the sim policy), when the run has them.
  const ft = c.fineTuning.filter((s) => s.x.length > 0).map((s, i) => ({ series: s, colour: COLOURS[i % COLOURS.length]!, style: 'line' as const }));
  const ftCritic = ft.filter((t) => ['td_robot', 'td_sim', 'q_overestimation'].includes(t.series.name));
  const ftPolicy = ft.filter((t) => ['entropy', 'policy_drift'].includes(t.series.name));
  const ftPanels = ft.length > 0 ? 2 : 0;
  const height = (3 + ftPanels) * PANEL_H + 40;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    STYLE,
    `<rect width="${WIDTH}" height="${height}" fill="#fafafa"/>`,
    panel(0, `${title}: return`, 'return', traces, false, spans),
    panel(PANEL_H, 'losses', 'loss', losses, false, spans),
    panel(2 * PANEL_H, `temperature${alphaPositive && spread > 10 ? ' (log scale)' : ''}`, 'alpha', c.temperature.x.length ? [{ series: c.temperature, colour: COLOURS[3]!, style: 'line' }] : [], alphaPositive && spread > 10, spans),
    ...(ftPanels > 0 ? [
      panel(3 * PANEL_H, 'fine-tuning on the robot: critic (TD error on robot / sim data, Q - Monte Carlo return)', 'critic', ftCritic, false, spans),
      panel(4 * PANEL_H, 'fine-tuning on the robot: policy (entropy, drift from the sim policy)', 'policy', ftPolicy, false, spans),
    ] : []),
    `<text x="${M.left}" y="${height - 12}" class="caption">${esc(`${c.records} records from ${c.files.length} file(s)${c.skipped ? `, ${c.skipped} unreadable line(s) skipped` : ''}`)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

/** One curve over seeds: the mean, and the band between the lowest and highest seed. */
export interface SeedCurve {
  name: string;
  x: number[];
  mean: number[];
  lo: number[];
  hi: number[];
}

/** Panels of curves over seeds (bench:learn: one panel per task, one curve per configuration). */
export function renderSeedCurves(panels: { title: string; curves: SeedCurve[] }[], caption: string): string {
  const height = panels.length * PANEL_H + 40;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    STYLE,
    `<rect width="${WIDTH}" height="${height}" fill="#fafafa"/>`,
    ...panels.map((p, i) =>
      panel(
        i * PANEL_H,
        p.title,
        'evaluation return',
        p.curves.map((c, k) => ({ series: { name: c.name, x: c.x, y: c.mean }, colour: COLOURS[k % COLOURS.length]!, style: 'line' as const, width: 2, band: { lo: c.lo, hi: c.hi } })),
        false,
      ),
    ),
    `<text x="${M.left}" y="${height - 12}" class="caption">${esc(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
