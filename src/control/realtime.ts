/**
 * Real-time scheduling and CPU pinning for the control thread (and the policy server's thread).
 * Node has no API for either, so this runs `chrt -p` / `taskset -p` on the thread's kernel id
 * (the main thread's is the process id on Linux). Call it after the learner worker has started:
 * threads created afterwards inherit the policy. Needs CAP_SYS_NICE, or a LimitRTPRIO= at least the priority
 * (systemd/realtime.conf).
 *
 * Measured (bench/controlLoop.ts, 2 cores under a load average of ~13): late ticks drop from
 * ~50% to ~0.2-0.4% with SCHED_FIFO 20 on the control thread.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

export type SchedulingPolicy = 'fifo' | 'other';

/** Put the main thread under SCHED_FIFO at `priority` (1-99), or back to SCHED_OTHER. Throws with chrt's message on failure. */
export function setMainThreadScheduling(policy: SchedulingPolicy, priority = 20): void {
  setThreadScheduling(process.pid, policy, priority, 'the control thread');
}

/**
 * The same for the calling thread, main or worker (Linux: its id from /proc/thread-self).
 * Threads it starts afterwards inherit the policy: a worker that sets it before creating its
 * ZeroMQ context gets a real-time I/O thread too.
 */
export function setCurrentThreadScheduling(policy: SchedulingPolicy, priority: number, what: string): void {
  setThreadScheduling(currentThreadId(), policy, priority, what);
}

/**
 * The same for threads by kernel id (e.g. the DDS threads rclnodejs started: on a loaded machine
 * a real-time control thread still waits for samples its normal-priority receive threads deliver).
 */
export function setThreadsScheduling(tids: readonly number[], policy: SchedulingPolicy, priority: number, what: string): void {
  for (const tid of tids) {
    try {
      setThreadScheduling(tid, policy, priority, `${what} (thread ${tid})`);
    } catch (e) {
      // A thread that ended meanwhile needs nothing.
      if (existsSync(`/proc/self/task/${tid}`)) throw e;
    }
  }
}

/**
 * The kernel ids of this process's threads that a native library started (DDS receive, event and
 * delivery threads: Cyclone's recv, recvUC, tev, dq.user...): every thread but Node's own
 * (named like the process: main, V8, libuv, workers) and ZeroMQ's (ZMQbg/...). Linux: /proc/self/task.
 */
export function nativeLibraryThreadIds(): number[] {
  const name = (tid: string): string => {
    try {
      return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const own = new Set(['node', name(String(process.pid))]);
  return readdirSync('/proc/self/task')
    .filter((t) => {
      const n = name(t);
      return n !== '' && !own.has(n) && !/^(ZMQ|libuv|V8|node)/i.test(n);
    })
    .map(Number);
}

/** The kernel's id of the calling thread (equal to the pid on the main thread). */
export function currentThreadId(): number {
  const link = readlinkSync('/proc/thread-self'); // "<pid>/task/<tid>"
  return Number(link.slice(link.lastIndexOf('/') + 1));
}

function setThreadScheduling(tid: number, policy: SchedulingPolicy, priority: number, what: string): void {
  if (policy === 'fifo' && !(Number.isInteger(priority) && priority >= 1 && priority <= 99)) {
    throw new Error(`realtime: FIFO priority must be an integer in [1, 99], got ${priority}`);
  }
  const args = policy === 'fifo' ? ['-f', '-p', String(priority), String(tid)] : ['-o', '-p', '0', String(tid)];
  try {
    execFileSync('chrt', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = String((e as { stderr?: Buffer }).stderr ?? '').trim();
    throw new Error(`realtime: cannot set ${policy} scheduling on ${what} (chrt ${args.join(' ')}): ${stderr || (e as Error).message}`);
  }
}

/**
 * Pin the calling thread to `cpus` (a Linux CPU list such as "1" or "2-3,6"), with `taskset -p`
 * on its kernel id. Threads it starts afterwards inherit the mask, as with the policy above.
 * Measured (policy server round trip, 2 cores, real-time settings): p99 185-225 µs unpinned,
 * 129-139 µs with the serving thread on a CPU of its own, the client on the other; p99.9 rose
 * from 0.5-0.6 to 1.1-1.4 ms (a pinned thread waits when its CPU is taken instead of moving).
 */
export function setCurrentThreadAffinity(cpus: string, what: string): void {
  const problem = cpuListProblem(cpus);
  if (problem !== null) throw new Error(`realtime: cannot pin ${what}: ${problem}`);
  const tid = currentThreadId();
  try {
    execFileSync('taskset', ['-p', '-c', cpus, String(tid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = String((e as { stderr?: Buffer }).stderr ?? '').trim();
    throw new Error(`realtime: cannot pin ${what} to CPUs ${cpus} (taskset -p -c ${cpus} ${tid}): ${stderr || (e as Error).message}`);
  }
}

/** The CPUs a Linux CPU list names ("0-2,5" -> [0, 1, 2, 5]), or null when it is not one. */
export function parseCpuList(list: string): number[] | null {
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(list)) return null;
  const cpus = new Set<number>();
  for (const part of list.split(',')) {
    const [lo, hi = lo] = part.split('-').map(Number);
    if (hi < lo || hi > 4095) return null;
    for (let c = lo; c <= hi; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** The CPUs this thread may run on (its affinity mask, from /proc). */
export function allowedCpus(tid = currentThreadId()): number[] {
  const status = readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
  const line = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status);
  return parseCpuList(line?.[1] ?? '') ?? [];
}

/**
 * Why `cpus` cannot be a thread's affinity here (not a CPU list, or CPUs outside the process's
 * own mask, e.g. systemd's CPUAffinity=), or null.
 */
export function cpuListProblem(cpus: string): string | null {
  const wanted = parseCpuList(cpus);
  if (wanted === null) return `${JSON.stringify(cpus)} is not a CPU list (e.g. "1" or "2-3,6")`;
  const allowed = new Set(allowedCpus(process.pid));
  const missing = wanted.filter((c) => !allowed.has(c));
  if (missing.length > 0) return `CPU ${missing.join(', ')} is not among the CPUs this process may use (${[...allowed].join(', ')})`;
  return null;
}

/**
 * Why this process may not run a thread SCHED_FIFO at `priority`, or null when it may. Tried on
 * the calling thread and undone at once.
 */
export function fifoSchedulingProblem(priority = 1): string | null {
  try {
    setCurrentThreadScheduling('fifo', priority, 'this thread');
  } catch (err) {
    return (err as Error).message;
  }
  setCurrentThreadScheduling('other', 0, 'this thread');
  return null;
}

/** The main thread's scheduling policy and real-time priority, from /proc (Linux). */
export function mainThreadScheduling(): { policy: SchedulingPolicy | 'unknown'; priority: number } {
  return threadScheduling(process.pid);
}

/** A thread's scheduling policy and real-time priority (the calling thread's by default). */
export function threadScheduling(tid = currentThreadId()): { policy: SchedulingPolicy | 'unknown'; priority: number } {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 40 (rt_priority) and 41 (policy), counted from 1 over the whole line; f starts at field 3.
  const rtPriority = Number(f[37]), policy = Number(f[38]);
  return { policy: policy === 1 ? 'fifo' : policy === 0 ? 'other' : 'unknown', priority: rtPriority };
}
