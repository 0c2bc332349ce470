import type { StateDir, DaemonState } from './stateDir.js';

/**
 * The daemon's state record (phase, counters, last checkpoint) as held in memory and as last
 * written to the state directory. The start-up, the phase changes and the checkpoints all update
 * it; this is where they meet.
 */
export class StateRecord {
  private value: DaemonState;

  constructor(
    private readonly dir: StateDir,
    initial: DaemonState,
  ) {
    this.value = initial;
  }

  get current(): DaemonState {
    return this.value;
  }

  /** Write `next` to both the disk and memory; throws (and keeps the old record) when the write fails. */
  save(next: DaemonState): void {
    this.value = this.dir.saveState(next);
  }

  /** Keep `next` in memory only: it reaches the disk with the next save. */
  hold(next: DaemonState): void {
    this.value = next;
  }
}
