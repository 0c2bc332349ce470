/**
 * The daemon's phases as an explicit state machine.
 *
 * Forward path:   idle -> sim_training -> evaluating -> armed -> real_finetune
 *   - evaluating -> sim_training   (evaluation done, gate not passed or more training to do)
 *   - real_finetune -> evaluating  (periodic evaluation on the robot)
 *   - armed -> sim_training        (disarm: back to simulation)
 *   - sim_training / real_finetune -> idle (the training budget is spent)
 * Interruptions, from every working phase:
 *   - `pause`  -> paused;  `resume` returns to the phase that was paused.
 *   - `estop`  -> estop (also from paused); `clear` returns to `idle` when the e-stop came from
 *     the robot phases (armed, real_finetune), because a robot must be re-armed deliberately;
 *     from any other phase it returns to that phase.
 *   - `stop`   -> stopping, from every phase; terminal.
 * The phase to return to is part of the state (`resumeTo`), so it survives a restart.
 */

export const PHASES = ['idle', 'sim_training', 'evaluating', 'armed', 'real_finetune', 'paused', 'estop', 'stopping'] as const;
export type Phase = (typeof PHASES)[number];

/** Phases of the forward path (where work happens). */
export type WorkPhase = 'idle' | 'sim_training' | 'evaluating' | 'armed' | 'real_finetune';
const WORK_PHASES: readonly Phase[] = ['idle', 'sim_training', 'evaluating', 'armed', 'real_finetune'];

export type PhaseEvent =
  | 'start_training' // idle -> sim_training
  | 'evaluate' // sim_training | real_finetune -> evaluating
  | 'continue_training' // evaluating -> sim_training
  | 'arm' // evaluating -> armed (gate passed, or operator)
  | 'disarm' // armed -> sim_training
  | 'go_real' // armed -> real_finetune
  | 'finish' // sim_training | real_finetune | evaluating -> idle
  | 'pause'
  | 'resume'
  | 'estop'
  | 'clear'
  | 'stop';

export const PHASE_EVENTS: readonly PhaseEvent[] = [
  'start_training', 'evaluate', 'continue_training', 'arm', 'disarm', 'go_real', 'finish', 'pause', 'resume', 'estop', 'clear', 'stop',
];

export interface PhaseState {
  readonly phase: Phase;
  /** Where `resume` / `clear` go back to; null outside paused and estop. */
  readonly resumeTo: WorkPhase | null;
}

export const INITIAL_PHASE: PhaseState = { phase: 'idle', resumeTo: null };

const FORWARD: Readonly<Partial<Record<PhaseEvent, Partial<Record<Phase, WorkPhase>>>>> = {
  start_training: { idle: 'sim_training' },
  evaluate: { sim_training: 'evaluating', real_finetune: 'evaluating' },
  continue_training: { evaluating: 'sim_training' },
  arm: { evaluating: 'armed' },
  disarm: { armed: 'sim_training' },
  go_real: { armed: 'real_finetune' },
  finish: { sim_training: 'idle', real_finetune: 'idle', evaluating: 'idle' },
};

export type TransitionResult = { ok: true; state: PhaseState } | { ok: false; reason: string };

function isWork(p: Phase): p is WorkPhase {
  return WORK_PHASES.includes(p);
}

/** The pure transition function: the next state, or why the event is refused in this state. */
export function transition(state: PhaseState, event: PhaseEvent): TransitionResult {
  const { phase } = state;
  const refuse = (why: string): TransitionResult => ({ ok: false, reason: `'${event}' is not allowed in phase '${phase}': ${why}` });
  if (phase === 'stopping') return refuse('the daemon is stopping');
  switch (event) {
    case 'stop':
      return { ok: true, state: { phase: 'stopping', resumeTo: null } };
    case 'estop':
      if (phase === 'estop') return refuse('already in e-stop');
      // From paused, the e-stop remembers the phase that was paused.
      return { ok: true, state: { phase: 'estop', resumeTo: phase === 'paused' ? state.resumeTo : (phase as WorkPhase) } };
    case 'clear': {
      if (phase !== 'estop') return refuse('only an e-stop can be cleared');
      const back = state.resumeTo ?? 'idle';
      const to: WorkPhase = back === 'armed' || back === 'real_finetune' ? 'idle' : back;
      return { ok: true, state: { phase: to, resumeTo: null } };
    }
    case 'pause':
      if (!isWork(phase)) return refuse('only a working phase can be paused');
      return { ok: true, state: { phase: 'paused', resumeTo: phase } };
    case 'resume':
      if (phase !== 'paused') return refuse('only a paused daemon resumes');
      return { ok: true, state: { phase: state.resumeTo ?? 'idle', resumeTo: null } };
    default: {
      if (!isWork(phase)) return refuse(`resume or clear first`);
      const to = FORWARD[event]?.[phase];
      if (to === undefined) return refuse('not an edge of the state machine');
      return { ok: true, state: { phase: to, resumeTo: null } };
    }
  }
}

export interface PhaseChange {
  readonly from: PhaseState;
  readonly to: PhaseState;
  readonly event: PhaseEvent;
  /** Who asked: 'daemon', 'control-api', 'ros', 'signal', ... */
  readonly source: string;
  readonly reason: string;
  /** Wall-clock time of the transition (ms since the epoch). */
  readonly at: number;
  /** Number of transitions so far, this one included (persists across restarts). */
  readonly seq: number;
}

export type PhaseListener = (change: PhaseChange) => void;

export interface PhaseHooks {
  /** Persist the new state before anyone hears of it (atomic write in the state directory). */
  persist(state: PhaseState, seq: number): void;
  log(change: PhaseChange): void;
}

/**
 * Holds the current phase; every accepted transition is persisted, logged, then published to
 * the listeners (the ZeroMQ telemetry subscribes with `onChange`). A listener that throws is
 * reported through `log`, never allowed to undo the transition.
 */
export class PhaseMachine {
  private current: PhaseState;
  private seq: number;
  private readonly listeners = new Set<PhaseListener>();

  constructor(
    initial: PhaseState,
    initialSeq: number,
    private readonly hooks: PhaseHooks,
    private readonly onListenerError: (err: unknown) => void = () => undefined,
  ) {
    this.current = initial;
    this.seq = initialSeq;
  }

  get state(): PhaseState {
    return this.current;
  }

  get phase(): Phase {
    return this.current.phase;
  }

  get transitions(): number {
    return this.seq;
  }

  /** Subscribe to transitions; returns the unsubscribe function. */
  onChange(listener: PhaseListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Apply an event. Returns the change, or throws PhaseError when the event is refused. */
  apply(event: PhaseEvent, source: string, reason = ''): PhaseChange {
    const r = transition(this.current, event);
    if (!r.ok) throw new PhaseError(r.reason);
    const change: PhaseChange = { from: this.current, to: r.state, event, source, reason, at: Date.now(), seq: this.seq + 1 };
    this.hooks.persist(r.state, change.seq);
    this.current = r.state;
    this.seq = change.seq;
    this.hooks.log(change);
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (err) {
        this.onListenerError(err);
      }
    }
    return change;
  }

  /** Like apply, but returns null instead of throwing when the event is not allowed. */
  tryApply(event: PhaseEvent, source: string, reason = ''): PhaseChange | null {
    return transition(this.current, event).ok ? this.apply(event, source, reason) : null;
  }
}

export class PhaseError extends Error {
  override name = 'PhaseError';
}

export function isPhase(v: unknown): v is Phase {
  return typeof v === 'string' && (PHASES as readonly string[]).includes(v);
}

export function isPhaseState(v: unknown): v is PhaseState {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return isPhase(s.phase) && (s.resumeTo === null || (isPhase(s.resumeTo) && WORK_PHASES.includes(s.resumeTo)));
}

/** The event that takes `state` to `target` in one transition, or null when none does. */
export function eventTo(state: PhaseState, target: Phase): PhaseEvent | null {
  for (const e of PHASE_EVENTS) {
    const r = transition(state, e);
    if (r.ok && r.state.phase === target) return e;
  }
  return null;
}
