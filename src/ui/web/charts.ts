/// <reference lib="dom" />
import uPlot from 'uplot';

/** One named series of (step, value) points. */
export interface Series {
  readonly name: string;
  readonly x: number[];
  readonly y: number[];
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

/**
 * Series with different x values on one shared, sorted x axis (what uPlot draws), with null
 * where a series has no point; lines span the gaps.
 */
export function align(series: readonly Series[]): uPlot.AlignedData {
  const xs = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const y: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    s.x.forEach((x, i) => (y[index.get(x)!] = s.y[i]!));
    return y;
  });
  return [xs, ...ys];
}

/** An axis label with an ASCII minus sign (some fonts lack the one toLocaleString may use). */
function tick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-3 ? v.toExponential(1) : a >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(3)));
}

/** A titled uPlot chart whose series may appear over time (a new name rebuilds the chart). */
export class Chart {
  private plot: uPlot | null = null;
  private names: string[] = [];
  readonly element: HTMLElement;
  /** Points drawn in the last update (for tests and the page's title attribute). */
  points = 0;

  constructor(
    parent: HTMLElement,
    readonly title: string,
    private readonly log = false,
  ) {
    this.element = document.createElement('div');
    this.element.className = 'chart';
    this.element.dataset.chart = title;
    const h = document.createElement('h2');
    h.textContent = title;
    this.element.appendChild(h);
    parent.appendChild(this.element);
  }

  update(series: readonly Series[]): void {
    const shown = series.filter((s) => s.x.length > 0);
    const names = shown.map((s) => s.name);
    const data = align(shown);
    this.points = shown.reduce((n, s) => n + s.x.length, 0);
    this.element.dataset.points = String(this.points);
    if (this.plot !== null && names.join('\u0000') === this.names.join('\u0000')) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.names = names;
    if (shown.length === 0) {
      this.plot = null;
      return;
    }
    this.plot = new uPlot(
      {
        width: 420,
        height: 190,
        scales: { x: { time: false }, y: this.log ? { distr: 3 } : {} },
        axes: [{ label: 'environment steps', values: (_u, splits) => splits.map((v) => (v === null || v === undefined ? '' : tick(v))) }, { values: (_u, splits) => splits.map((v) => (v === null || v === undefined ? '' : tick(v))), size: 60 }],
        series: [{ label: 'step' }, ...names.map((label, i) => ({ label, stroke: COLOURS[i % COLOURS.length]!, width: 1.5, spanGaps: true, points: { show: false } }))],
        legend: { live: false },
      },
      data,
      this.element,
    );
  }
}
