import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mainThreadScheduling, setMainThreadScheduling } from '../../src/control/realtime.js';

function canSetFifo(): string | false {
  if (process.platform !== 'linux') return 'Linux only';
  try {
    setMainThreadScheduling('fifo', 1);
    setMainThreadScheduling('other');
    return false;
  } catch (e) {
    return `no permission for SCHED_FIFO here: ${(e as Error).message}`;
  }
}
const skip = canSetFifo();
if (skip) console.log(`# realtime test skipped: ${skip}`);

test('the control thread can be put under SCHED_FIFO and back', { skip }, () => {
  assert.deepEqual(mainThreadScheduling(), { policy: 'other', priority: 0 });
  setMainThreadScheduling('fifo', 7);
  try {
    assert.deepEqual(mainThreadScheduling(), { policy: 'fifo', priority: 7 });
  } finally {
    setMainThreadScheduling('other');
  }
  assert.deepEqual(mainThreadScheduling(), { policy: 'other', priority: 0 });
  assert.throws(() => setMainThreadScheduling('fifo', 100), /priority must be an integer in \[1, 99\]/);
});
