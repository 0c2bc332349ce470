import { pino, type Logger, type DestinationStream } from 'pino';
import type { LoggingConfig } from '../config/schema.js';

export type { Logger };

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLOURS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields every record carries that the pretty line shows in its own place, or not at all. */
const FRAMING = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

function formatValue(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/**
 * One JSON record as a line a person reads: `12:03:04.567 INFO  message key=value ...`.
 * Anything that is not a pino record is passed through unchanged.
 */
export function prettyLine(json: string, colour: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = typeof rec.level === 'number' ? rec.level : 30;
  const time = typeof rec.time === 'number' ? new Date(rec.time).toISOString().slice(11, 23) : '';
  const name = LEVEL_NAMES[level] ?? String(level);
  const lvl = colour ? `\x1b[${LEVEL_COLOURS[level] ?? '0'}m${name}\x1b[0m` : name;
  const extras: string[] = [];
  let stack = '';
  for (const [k, v] of Object.entries(rec)) {
    if (FRAMING.has(k)) continue;
    if (k === 'err' && typeof v === 'object' && v !== null && typeof (v as { stack?: unknown }).stack === 'string') {
      stack = '\n    ' + String((v as { stack: string }).stack).split('\n').join('\n    ');
      continue;
    }
    extras.push(`${k}=${formatValue(v)}`);
  }
  return `${time} ${lvl} ${String(rec.msg ?? '')}${extras.length ? ' ' + extras.join(' ') : ''}${stack}\n`;
}

/** A pino destination that writes pretty lines to `out` (synchronously, so nothing is lost on exit). */
export function prettyDestination(fd: number, colour: boolean): DestinationStream {
  const sink = pino.destination({ dest: fd, sync: true });
  return {
    write(chunk: string): void {
      for (const line of chunk.split('\n')) if (line !== '') sink.write(prettyLine(line, colour));
    },
  };
}

export function wantsPretty(pretty: LoggingConfig['pretty'], isTTY: boolean): boolean {
  return pretty === 'always' || (pretty === 'auto' && isTTY);
}

/**
 * The daemon's logger: JSON lines on stdout (journald keeps them as they are), or pretty lines
 * when stdout is a terminal (`logging.pretty`). Writes are synchronous: a daemon logs little and
 * the last lines before an exit matter most.
 */
export function createLogger(cfg: LoggingConfig, fd = 1): Logger {
  const isTTY = fd === 1 ? process.stdout.isTTY === true : false;
  const pretty = wantsPretty(cfg.pretty, isTTY);
  const dest = pretty ? prettyDestination(fd, isTTY) : pino.destination({ dest: fd, sync: true });
  return pino({ level: cfg.level, base: { pid: process.pid }, name: 'sacbridge' }, dest);
}
