import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuWakeupLatencyRequest, cpuWakeupLatencyProblem, effectiveCpuWakeupLatencyUs } from '../../src/control/cpuWakeupLatency.js';
import { allowedCpus, cpuListProblem, currentThreadId, fifoSchedulingProblem, mainThreadScheduling, parseCpuList, setMainThreadScheduling } from '../../src/control/realtime.js';
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

test('parseCpuList and cpuListProblem read Linux CPU lists and name what is wrong', () => {
  assert.deepEqual(parseCpuList('0'), [0]);
  assert.deepEqual(parseCpuList('2-3,6,3'), [2, 3, 6]);
  for (const bad of ['', '1,', 'a', '3-1', '1 2', '-1']) assert.equal(parseCpuList(bad), null, bad);
  assert.match(cpuListProblem('x') ?? '', /"x" is not a CPU list/);
  const allowed = allowedCpus();
  assert.ok(allowed.length >= 1);
  assert.equal(cpuListProblem(String(allowed[0])), null);
  assert.match(cpuListProblem('4095') ?? '', /CPU 4095 is not among the CPUs this process may use/);
});

test('setCurrentThreadAffinity pins the calling thread only (a worker here), and refuses a CPU that is not there', { skip: process.platform !== 'linux' ? 'Linux only' : false }, async () => {
  const before = allowedCpus(process.pid);
  const cpu = before[before.length - 1];
  const url = new URL('data:text/javascript,' + encodeURIComponent(`
    import { parentPort, workerData } from 'node:worker_threads';
    const { setCurrentThreadAffinity, allowedCpus } = await import(workerData.module);
    setCurrentThreadAffinity(String(workerData.cpu), 'a test worker');
    let refused = '';
    try { setCurrentThreadAffinity('4095', 'a test worker'); } catch (e) { refused = e.message; }
    parentPort.postMessage({ pinned: allowedCpus(), refused });
  `));
  const module = new URL('../../src/control/realtime.js', import.meta.url).href;
  const worker = new Worker(url, { workerData: { module, cpu } });
  const reply = await new Promise<{ pinned: number[]; refused: string }>((resolve, reject) => worker.once('message', resolve).once('error', reject));
  await worker.terminate();
  assert.deepEqual(reply.pinned, [cpu]);
  assert.match(reply.refused, /cannot pin a test worker: CPU 4095 is not among/);
  assert.deepEqual(allowedCpus(process.pid), before, 'the main thread keeps its CPUs');
});
