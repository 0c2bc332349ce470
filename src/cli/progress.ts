/**
 * Training progress for people: on a TTY one line redrawn in place (bar, steps, steps/s, last
 * return, ETA); elsewhere (logs, pipes) a plain line every `plainEverySeconds`.
 */
export interface ProgressState {
  steps: number;
  total: number;
  stepsPerSecond: number;
  lastReturn: number;
  lastEvalReturn: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(1) : '--';
}

export function formatProgress(p: ProgressState, width = 24): { bar: string; text: string } {
  const frac = p.total > 0 ? Math.min(1, p.steps / p.total) : 0;
  const filled = Math.round(frac * width);
  const eta = p.stepsPerSecond > 0 ? (p.total - p.steps) / p.stepsPerSecond : NaN;
  const text = `${p.steps}/${p.total} steps  ${p.stepsPerSecond.toFixed(0)} steps/s  return ${fmt(p.lastReturn)}  eval ${fmt(p.lastEvalReturn)}  ETA ${formatDuration(eta)}`;
  return { bar: `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%`, text };
}

export class ProgressReporter {
  private lastDraw = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly plainEverySeconds = 10,
  ) {}

  get isTTY(): boolean {
    return this.stream.isTTY === true;
  }

  update(p: ProgressState, force = false): void {
    const now = performance.now();
    const every = this.isTTY ? 200 : this.plainEverySeconds * 1000;
    if (!force && now - this.lastDraw < every) return;
    this.lastDraw = now;
    const { bar, text } = formatProgress(p);
    if (this.isTTY) this.stream.write(`\r\x1b[2K${bar} ${text}`);
    else this.stream.write(`progress: ${text}\n`);
  }

  /** Print a line without tearing the bar. */
  line(message: string): void {
    if (this.isTTY) this.stream.write(`\r\x1b[2K${message}\n`);
    else this.stream.write(`${message}\n`);
    this.lastDraw = 0;
  }

  finish(p: ProgressState): void {
    if (this.isTTY) {
      this.update(p, true);
      this.stream.write('\n');
    } else {
      this.line(`progress: ${formatProgress(p).text}`);
    }
  }
}
