/**
 * The web UI's event stream: phase changes (with their reason: an e-stop says why), safety events
 * of the robot phase (the safety layer's counters that grew, with its last reason: clamps, rate
 * limits, stale signals, workspace exits, refused observations). (The acting policy's version is
 * in the status, shown in the page's header.) Kept in memory (the newest KEPT) for pages that connect later, and pushed over
 * the WebSocket as they happen.
 */
export interface UiEvent {
  readonly kind: 'phase' | 'safety';
  readonly text: string;
  /** ISO time. */
  readonly time: string;
  readonly data?: Record<string, unknown>;
}

export const EVENTS_KEPT = 200;

export class UiEvents {
  private readonly kept: UiEvent[] = [];
  private readonly listeners = new Set<(e: UiEvent) => void>();

  push(kind: UiEvent['kind'], text: string, data?: Record<string, unknown>): UiEvent {
    const e: UiEvent = { kind, text, time: new Date().toISOString(), ...(data === undefined ? {} : { data }) };
    this.kept.push(e);
    if (this.kept.length > EVENTS_KEPT) this.kept.splice(0, this.kept.length - EVENTS_KEPT);
    for (const l of this.listeners) l(e);
    return e;
  }

  recent(): readonly UiEvent[] {
    return this.kept;
  }

  /** Calls `listener` with every later event; returns the unsubscribe function. */
  subscribe(listener: (e: UiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
}

/** The safety layer's report as the job's status carries it. */
export interface SafetyReport {
  counters: Record<string, number>;
  lastReason: string | null;
}

/**
 * What grew between two safety reports ("rateLimited +3"), the ticks counter left out; null when
 * nothing did. A report after a fresh session (counters lower than before) counts from zero.
 */
export function safetyChange(before: SafetyReport | null, now: SafetyReport): { grew: Record<string, number>; reason: string | null } | null {
  const restarted = before !== null && Object.entries(now.counters).some(([k, v]) => v < (before.counters[k] ?? 0));
  const base = before === null || restarted ? {} : before.counters;
  const grew: Record<string, number> = {};
  for (const [k, v] of Object.entries(now.counters)) {
    if (k === 'ticks' || typeof v !== 'number') continue;
    const d = v - (base[k] ?? 0);
    if (d > 0) grew[k] = d;
  }
  if (Object.keys(grew).length === 0) return null;
  const newReason = now.lastReason !== null && (before === null || restarted || now.lastReason !== before.lastReason) ? now.lastReason : null;
  return { grew, reason: newReason };
}

/** "safety: rateLimited +3, workspace +1 (workspace: qpos[0] ...)" */
export function safetyText(change: { grew: Record<string, number>; reason: string | null }): string {
  const list = Object.entries(change.grew).map(([k, d]) => `${k} +${d}`).join(', ');
  return `safety: ${list}${change.reason === null ? '' : ` (${change.reason})`}`;
}

/** Turns what grew in the robot's safety report between two looks into safety events. */
export class SafetyWatch {
  private last: SafetyReport | null = null;

  constructor(private readonly events: UiEvents) {}

  observe(report: SafetyReport | null): void {
    if (report !== null) {
      const change = safetyChange(this.last, report);
      if (change !== null) this.events.push('safety', safetyText(change), { ...change.grew, ...(change.reason === null ? {} : { reason: change.reason }) });
    }
    this.last = report;
  }
}
