import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuWakeupLatencyRequest, cpuWakeupLatencyProblem, effectiveCpuWakeupLatencyUs } from '../../src/control/cpuWakeupLatency.js';
import { currentThreadId, fifoSchedulingProblem, mainThreadScheduling, setMainThreadScheduling } from '../../src/control/realtime.js';
import { Worker } from 'node:worker_threads';

const skip = process.platform !== 'linux' ? 'Linux only' : (fifoSchedulingProblem(7) ?? false);
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

const noPmQos = cpuWakeupLatencyProblem() ?? false;
if (noPmQos) console.log(`# cpu wake-up latency test skipped: ${noPmQos}`);

test('a cpu wake-up latency request holds while open and is dropped on release', { skip: noPmQos }, () => {
  const before = effectiveCpuWakeupLatencyUs();
  const request = CpuWakeupLatencyRequest.hold(3);
  try {
    assert.equal(request.held, true);
    assert.ok(effectiveCpuWakeupLatencyUs() <= 3, `the kernel enforces ${effectiveCpuWakeupLatencyUs()} µs while 3 µs is requested`);
  } finally {
    request.release();
  }
  request.release();
  assert.equal(request.held, false);
  assert.equal(effectiveCpuWakeupLatencyUs(), before);
});

test('a cpu wake-up latency request that cannot be made says what and where', () => {
  assert.throws(() => CpuWakeupLatencyRequest.hold(-1), /whole number of microseconds >= 0, got -1/);
  assert.throws(() => CpuWakeupLatencyRequest.hold(1.5), /got 1\.5/);
  const missing = join(tmpdir(), `sacbridge-no-such-dir-${process.pid}`, 'cpu_dma_latency');
  assert.throws(() => CpuWakeupLatencyRequest.hold(0, missing), (e: Error) => e.message.includes(missing) && /ENOENT/.test(e.message));
});

test('currentThreadId: the process id on the main thread, another id in a worker', async () => {
  assert.equal(currentThreadId(), process.pid);
  const url = new URL('../../src/control/realtime.js', import.meta.url).href;
  const worker = new Worker(`import(${JSON.stringify(url)}).then((m) => require('node:worker_threads').parentPort.postMessage(m.currentThreadId()))`, { eval: true });
  const tid = await new Promise<number>((resolve, reject) => worker.once('message', resolve).once('error', reject));
  await worker.terminate();
  assert.ok(Number.isInteger(tid) && tid !== process.pid, `worker thread id ${tid}`);
});

test('fifoSchedulingProblem names what is wrong and leaves the thread as it was', { skip }, () => {
  assert.equal(fifoSchedulingProblem(7), null);
  assert.deepEqual(mainThreadScheduling(), { policy: 'other', priority: 0 });
  assert.match(fifoSchedulingProblem(100) ?? '', /priority must be an integer in \[1, 99\], got 100/);
});
