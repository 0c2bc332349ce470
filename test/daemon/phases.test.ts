import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INITIAL_PHASE, isPhaseState, PHASE_EVENTS, PHASES, PhaseError, PhaseMachine, transition, type Phase, type PhaseChange, type PhaseEvent, type PhaseState } from '../../src/daemon/phases.js';

function run(events: PhaseEvent[], from: PhaseState = INITIAL_PHASE): PhaseState {
  let s = from;
  for (const e of events) {
    const r = transition(s, e);
    assert.ok(r.ok, `${e} from ${s.phase}: ${r.ok ? '' : r.reason}`);
    s = r.state;
  }
  return s;
}

test('the forward path idle -> sim_training -> evaluating -> armed -> real_finetune', () => {
  const seen: Phase[] = [];
  let s = INITIAL_PHASE;
  for (const e of ['start_training', 'evaluate', 'arm', 'go_real'] as const) {
    s = run([e], s);
    seen.push(s.phase);
  }
  assert.deepEqual(seen, ['sim_training', 'evaluating', 'armed', 'real_finetune']);
  assert.equal(run(['evaluate'], s).phase, 'evaluating');
  assert.equal(run(['start_training', 'evaluate', 'continue_training']).phase, 'sim_training');
  assert.equal(run(['start_training', 'evaluate', 'arm', 'disarm']).phase, 'sim_training');
  assert.equal(run(['start_training', 'finish']).phase, 'idle');
});

test('pause and resume return to the paused phase; e-stop from a robot phase clears to idle', () => {
  const training = run(['start_training']);
  const paused = run(['pause'], training);
  assert.deepEqual(paused, { phase: 'paused', resumeTo: 'sim_training' });
  assert.deepEqual(run(['resume'], paused), { phase: 'sim_training', resumeTo: null });
  // e-stop from paused remembers what was paused
  assert.deepEqual(run(['estop'], paused), { phase: 'estop', resumeTo: 'sim_training' });
  assert.equal(run(['estop', 'clear'], paused).phase, 'sim_training');
  // the robot must be re-armed deliberately
  const real = run(['start_training', 'evaluate', 'arm', 'go_real']);
  assert.equal(run(['estop', 'clear'], real).phase, 'idle');
  assert.equal(run(['pause', 'estop', 'clear'], real).phase, 'idle');
  assert.equal(run(['estop', 'clear'], run(['start_training', 'evaluate', 'arm'])).phase, 'idle');
});

test('refusals say why; stopping is terminal and reachable from everywhere', () => {
  const r = transition(INITIAL_PHASE, 'go_real');
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.reason, /'go_real' is not allowed in phase 'idle'/);
  const estop = run(['estop']);
  const r2 = transition(estop, 'start_training');
  assert.match(r2.ok ? '' : r2.reason, /resume or clear first/);
  assert.equal(transition(estop, 'pause').ok, false);
  assert.equal(transition(run(['pause']), 'pause').ok, false);
  const stopping = run(['stop']);
  for (const e of PHASE_EVENTS) assert.equal(transition(stopping, e).ok, false, e);
});

test('exhaustively: every (state, event) either refuses with a reason or yields a valid state', () => {
  const states: PhaseState[] = [];
  for (const p of PHASES) {
    if (p === 'paused' || p === 'estop') for (const back of ['idle', 'sim_training', 'evaluating', 'armed', 'real_finetune'] as const) states.push({ phase: p, resumeTo: back });
    else states.push({ phase: p, resumeTo: null });
  }
  let accepted = 0;
  for (const s of states) {
    assert.equal(transition(s, 'stop').ok, s.phase !== 'stopping');
    assert.equal(transition(s, 'estop').ok, s.phase !== 'estop' && s.phase !== 'stopping');
    for (const e of PHASE_EVENTS) {
      const r = transition(s, e);
      if (r.ok) {
        accepted++;
        assert.ok(isPhaseState(r.state), `${s.phase} + ${e} gave ${JSON.stringify(r.state)}`);
        assert.equal(r.state.resumeTo !== null, r.state.phase === 'paused' || r.state.phase === 'estop');
      } else assert.ok(r.reason.length > 10);
    }
  }
  assert.ok(accepted > 30);
});

test('PhaseMachine persists before it publishes; a failing listener cannot undo a transition', () => {
  const order: string[] = [];
  const errors: unknown[] = [];
  const m = new PhaseMachine(INITIAL_PHASE, 4, {
    persist: (s, seq) => order.push(`persist ${s.phase} ${seq}`),
    log: (c) => order.push(`log ${c.to.phase}`),
  }, (err) => errors.push(err));
  const got: PhaseChange[] = [];
  m.onChange(() => {
    throw new Error('listener bug');
  });
  const off = m.onChange((c) => got.push(c));
  const c = m.apply('start_training', 'test', 'because');
  assert.deepEqual(order, ['persist sim_training 5', 'log sim_training']);
  assert.equal(c.seq, 5);
  assert.equal(c.source, 'test');
  assert.equal(got.length, 1);
  assert.equal(errors.length, 1);
  assert.equal(m.phase, 'sim_training');
  assert.throws(() => m.apply('go_real', 'test'), PhaseError);
  assert.equal(m.phase, 'sim_training');
  assert.equal(m.tryApply('go_real', 'test'), null);
  off();
  m.apply('pause', 'test');
  assert.equal(got.length, 1);
  assert.equal(m.transitions, 6);
});

test('a failed persist leaves the phase unchanged', () => {
  const m = new PhaseMachine(INITIAL_PHASE, 0, {
    persist: () => {
      throw new Error('disk full');
    },
    log: () => undefined,
  });
  assert.throws(() => m.apply('start_training', 'test'), /disk full/);
  assert.equal(m.phase, 'idle');
  assert.equal(m.transitions, 0);
});
