/**
 * control_loop benchmark: the fixed-rate loop at 500 Hz and 1 kHz while the learner keeps a worker
 * thread busy, with robot traffic on the (in-memory) ROS graph. Each tick does what a
 * fine-tuning tick does: read the RosPlant's signals, poll for new weights, the FastPolicy's
 * sampled action (2x256 actor), the SafetyLayer, publish the command, push the transition.
 *
 * The learner is the real one by default: src/finetune/sacLearner.ts, SAC on HalfCheetah shapes
 * (obs 17, act 6, 2x256, batch 256) restored from a fresh agent, batches mixed from a sim replay
 * of random transitions and the robot's, owing updates all the time (the worst case for the
 * control thread). `learner: 'synthetic'` swaps in the GEMM stand-in (src/learner/syntheticLearner.ts)
 * to tell the learner's cost from the loop's.
 *
 * Run alone: `node dist/bench/controlLoop.js [seconds] [sleep|yield] [fifoPriority] [sac|synthetic]` prints the JSON.
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { FakeRosGraph } from '../src/plant/ros/testing/fakeRclnodejs.js';
import { RosPlant } from '../src/plant/ros/rosPlant.js';
import { SafetyLayer } from '../src/safety/safetyLayer.js';
import { ControlLoop } from '../src/control/controlLoop.js';
import { fifoSchedulingProblem, setMainThreadScheduling } from '../src/control/realtime.js';
import { CpuWakeupLatencyRequest, cpuWakeupLatencyProblem } from '../src/control/cpuWakeupLatency.js';
import type { LoopStats } from '../src/control/controlLoop.js';
import { LearnerHost } from '../src/learner/learnerHost.js';
import { FastPolicy } from '../src/agent/fastPolicy.js';
import { ReplayBuffer } from '../src/agent/replayBuffer.js';
import { SoftActorCritic } from '../src/agent/sac.js';
import { initCompute } from '../src/compute/backend.js';
import type { SacLearnerOptions } from '../src/finetune/sacLearner.js';
import { Rng } from '../src/util/rng.js';
import { DAEMON_NODE_FLAGS } from './nodeFlags.js';

export interface ControlLoopFigures {
  rate_hz: number;
  learner: 'sac' | 'synthetic';
  wait: 'sleep' | 'yield';
  seconds: number;
  ticks: number;
  late_fraction: number;
  late_threshold_us: number;
  missed_slots: number;
  jitter_us_p50: number;
  jitter_us_p99: number;
  jitter_us_max: number;
  tick_work_us_mean: number;
  /** CPU time of the main (control) thread per wall second, from /proc (null where unavailable). */
  main_thread_cpu_cores: number | null;
  /** SCHED_FIFO priority of the control thread during the run (0: normal scheduling). */
  fifo_priority: number;
  /** The CPU wake-up latency request held during the run, µs (-1: none). */
  cpu_wakeup_latency_us: number;
  /** Process CPU (all threads) in cores. */
  process_cpu_cores: number;
  learner_updates_per_s: number;
  learner_update_ms: number;
  ring_dropped: number;
  ros_messages_dropped: number;
  /** Main-thread GC pauses during the measurement. */
  gc_count: number;
  gc_pause_ms_max: number;
  gc_pause_ms_total: number;
}

export interface ControlLoopBenchOptions {
  rates?: number[];
  /** The busy learner: the real SAC learner module (default) or the synthetic GEMM load. */
  learner?: 'sac' | 'synthetic';
  seconds?: number;
  /** Synthetic learner cost: GEMM edge and GEMMs per update (default 128 x 6 ≈ a few ms). */
  gemmSize?: number;
  gemmsPerUpdate?: number;
  spinUs?: number;
  wait?: 'sleep' | 'yield';
  /**
   * Run the control thread (only it: the learner worker is started first) under SCHED_FIFO at
   * this priority via chrt, as a deployment would (systemd CPUSchedulingPolicy=fifo). 0 = off.
   */
  fifoPriority?: number;
  /**
   * Hold a CPU wake-up latency request of this many µs (/dev/cpu_dma_latency) during the run, as
   * `realtime.cpuWakeupLatencyUs` does in the daemon. -1 = off.
   */
  cpuWakeupLatencyUs?: number;
}

/** utime + stime of the main thread, seconds (Linux /proc), or null. */
function mainThreadCpuSeconds(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}


const OBS = 17, ACT = 6, HIDDEN = [256, 256];

/** The busy learner's module and options: SAC from a fresh HalfCheetah-shaped agent, or the GEMM stand-in. */
async function learnerSetup(o: Required<ControlLoopBenchOptions>): Promise<{ module: string; options: Record<string, unknown>; policy: FastPolicy }> {
  await initCompute();
  const agent = new SoftActorCritic(OBS, ACT, { hidden: HIDDEN }, 1);
  const policy = new FastPolicy(agent.actorWeights(), new Rng(2));
  if (o.learner === 'synthetic') {
    agent.dispose();
    return { module: fileURLToPath(new URL('../src/learner/syntheticLearner.js', import.meta.url)), options: { gemmSize: o.gemmSize, gemmsPerUpdate: o.gemmsPerUpdate }, policy };
  }
  const sim = new ReplayBuffer({ capacity: 20_000, observationSize: OBS, actionSize: ACT, shared: true });
  const robot = new ReplayBuffer({ capacity: 20_000, observationSize: OBS, actionSize: ACT, shared: true });
  const rng = new Rng(3), ob = new Float32Array(OBS), a = new Float32Array(ACT), next = new Float32Array(OBS);
  for (let i = 0; i < 20_000; i++) {
    rng.fillNormal(ob); rng.fillNormal(next);
    for (let j = 0; j < ACT; j++) a[j] = rng.range(-1, 1);
    sim.add(ob, a, rng.normal(), next, false);
  }
  const options: SacLearnerOptions = { agent: agent.exportState(), simReplay: sim.handle(), robotReplay: robot.handle(), robotFraction: 0.5, normalizer: null, seed: 4 };
  agent.dispose();
  return { module: fileURLToPath(new URL('../src/finetune/sacLearner.js', import.meta.url)), options: options as unknown as Record<string, unknown>, policy };
}

async function runRate(rate: number, o: Required<ControlLoopBenchOptions>): Promise<ControlLoopFigures> {
  const graph = new FakeRosGraph();
  const rcl = graph.module();
  await rcl.init();
  const joints = Array.from({ length: 8 }, (_, i) => `j${i}`);
  const plant = RosPlant.open(rcl, {
    nodeName: 'sacbridge_bench',
    controlPeriod: 1 / rate,
    observations: [
      { type: 'sensor_msgs/msg/JointState', topic: '/joint_states', joints, signals: { position: 'q', velocity: 'qd' } },
      { type: 'sensor_msgs/msg/Imu', topic: '/imu', signals: { angularVelocity: 'gyro' } },
    ],
    command: { type: 'std_msgs/msg/Float64MultiArray', topic: '/cmd', low: new Array(ACT).fill(-1), high: new Array(ACT).fill(1) },
    estop: { topic: '/estop' },
    reset: { mode: 'operator', timeout: 1 },
  });
  const safety = new SafetyLayer({ low: new Array(ACT).fill(-1), high: new Array(ACT).fill(1), maxDelta: 0.2, watchdog: { maxAge: 0.05, action: 'hold' }, ageOf: (s) => plant.signalAge(s) });
  const updates: number[] = [];
  const learner = await learnerSetup(o);
  const policy = learner.policy;
  const host = await LearnerHost.start({
    module: learner.module,
    options: learner.options,
    observationSize: OBS, actionSize: ACT,
    actor: { observationSize: OBS, hiddenSizes: HIDDEN, actionSize: ACT, normalizer: false },
    ringCapacity: 1 << 16,
    // Always owe updates: the worker never idles, the worst case for the control thread.
    schedule: { updatesPerTransition: 1000, learningStarts: 1, publishEvery: 1, metricsEvery: 1_000_000 },
  });
  // The robot: joint states and IMU at the control rate, as a ros2_control broadcaster would.
  const robot = new rcl.Node('robot');
  const jsPub = robot.createPublisher('sensor_msgs/msg/JointState', '/joint_states', { qos: rcl.QoS.profileSensorData });
  const imuPub = robot.createPublisher('sensor_msgs/msg/Imu', '/imu', { qos: rcl.QoS.profileSensorData });
  robot.spin();
  const position = new Float64Array(joints.length), velocity = new Float64Array(joints.length);
  const feed = setInterval(() => {
    for (let i = 0; i < joints.length; i++) { position[i] = Math.sin(performance.now() / 1000 + i); velocity[i] = Math.cos(i); }
    jsPub.publish({ header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, name: joints, position, velocity, effort: [] });
    imuPub.publish({ angular_velocity: { x: 0, y: 0, z: 0.1 } } as never);
  }, 1);

  const obs = new Float32Array(OBS), prev = new Float32Array(OBS), action = new Float32Array(ACT), cmd = new Float64Array(ACT);
  const loop = new ControlLoop({
    rateHz: rate,
    spinUs: o.spinUs,
    wait: o.wait,
    onTick: () => {
      const s = plant.read();
      const q = s.get('q') as Float64Array, qd = s.get('qd') as Float64Array, g = s.get('gyro') as Float64Array;
      for (let i = 0; i < 8; i++) { obs[i] = q[i]; obs[8 + i] = qd[i]; }
      obs[16] = g[2];
      const fresh = host.weights.poll();
      if (fresh !== null) policy.swap(fresh.weights, fresh.version);
      policy.act(obs, false, action);
      for (let i = 0; i < ACT; i++) cmd[i] = action[i];
      const stop = safety.filter(cmd, s);
      plant.write(cmd);
      if (stop === null && !safety.learningPaused) host.transitions.push(prev, action, 0, obs, false);
      prev.set(obs);
    },
  });
  if (o.fifoPriority > 0) setMainThreadScheduling('fifo', o.fifoPriority);
  const wakeup = o.cpuWakeupLatencyUs >= 0 ? CpuWakeupLatencyRequest.hold(o.cpuWakeupLatencyUs) : null;
  // Settle: first messages in, learner running, JIT warm.
  for (let i = 0; i < 200 && plant.maxAge() > 0.01; i++) await new Promise((r) => setTimeout(r, 5));
  loop.start();
  await new Promise((r) => setTimeout(r, 1000));
  loop.resetStats();
  const u0 = host.stats().updates;
  const cpu0 = process.cpuUsage();
  const gc = { count: 0, max: 0, total: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) { gc.count++; gc.total += e.duration; gc.max = Math.max(gc.max, e.duration); }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  const thread0 = mainThreadCpuSeconds();
  const t0 = performance.now();
  const dropped0 = graph.stats.dropped;
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  const st: LoopStats = loop.stats();
  const elapsed = (performance.now() - t0) / 1000;
  const thread1 = mainThreadCpuSeconds();
  gcObserver.disconnect();
  const cpu = process.cpuUsage(cpu0);
  const u = host.stats().updates - u0;
  updates.push(u);
  const ringDropped = host.stats().ringDropped;
  await loop.stop();
  if (o.fifoPriority > 0) setMainThreadScheduling('other');
  wakeup?.release();
  clearInterval(feed);
  await host.stop();
  await plant.close();
  robot.destroy();
  return {
    rate_hz: rate,
    learner: o.learner,
    wait: o.wait,
    seconds: Number(elapsed.toFixed(2)),
    ticks: st.ticks,
    late_fraction: st.lateFraction,
    late_threshold_us: st.lateThresholdUs,
    missed_slots: st.missedSlots,
    jitter_us_p50: st.jitterUsP50,
    jitter_us_p99: st.jitterUsP99,
    jitter_us_max: Math.round(st.jitterUsMax),
    tick_work_us_mean: Number(st.tickUsMean.toFixed(1)),
    main_thread_cpu_cores: thread0 === null || thread1 === null ? null : Number(((thread1 - thread0) / elapsed).toFixed(2)),
    fifo_priority: o.fifoPriority,
    cpu_wakeup_latency_us: o.cpuWakeupLatencyUs,
    process_cpu_cores: Number(((cpu.user + cpu.system) / 1e6 / elapsed).toFixed(2)),
    learner_updates_per_s: Number((u / elapsed).toFixed(1)),
    learner_update_ms: Number((u > 0 ? (elapsed * 1000) / u : 0).toFixed(2)),
    ring_dropped: ringDropped,
    ros_messages_dropped: graph.stats.dropped - dropped0,
    gc_count: gc.count,
    gc_pause_ms_max: Number(gc.max.toFixed(2)),
    gc_pause_ms_total: Number(gc.total.toFixed(1)),
  };
}

/** The daemon's V8 flags, or SACBRIDGE_BENCH_NODE_FLAGS (for experiments). */
export const CONTROL_NODE_FLAGS: readonly string[] = process.env.SACBRIDGE_BENCH_NODE_FLAGS?.split(' ').filter((f) => f.length > 0) ?? DAEMON_NODE_FLAGS;

/**
 * The `control_loop` figures: one entry per rate, each measured in a fresh child process started
 * with CONTROL_NODE_FLAGS (so the figures do not depend on how the bench runner was started).
 * SCHED_FIFO priority 20 for the control thread and a 0 µs wake-up latency request are used by
 * default where this process may.
 */
export async function controlLoopBench(options: ControlLoopBenchOptions = {}): Promise<{ control_loop: (ControlLoopFigures & { node_flags: string[]; load_average_1m: number })[] }> {
  const o: Required<ControlLoopBenchOptions> = {
    rates: [500, 1000], learner: 'sac', seconds: 10, gemmSize: 128, gemmsPerUpdate: 6, spinUs: 200, wait: 'sleep',
    fifoPriority: fifoSchedulingProblem(20) === null ? 20 : 0, cpuWakeupLatencyUs: cpuWakeupLatencyProblem() === null ? 0 : -1, ...options,
  };
  const out: (ControlLoopFigures & { node_flags: string[]; load_average_1m: number })[] = [];
  for (const rate of o.rates) {
    const load = loadavg()[0];
    const json = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [...CONTROL_NODE_FLAGS, fileURLToPath(import.meta.url), '--child', JSON.stringify({ ...o, rates: [rate] })],
        { maxBuffer: 1 << 20, timeout: (o.seconds + 60) * 1000 },
        (err, stdout, stderr) => (err ? reject(new Error(`control loop bench at ${rate} Hz failed: ${err.message}\n${stderr}`)) : resolve(stdout)));
    });
    out.push({ ...(JSON.parse(json) as ControlLoopFigures), node_flags: [...CONTROL_NODE_FLAGS], load_average_1m: Number(load.toFixed(2)) });
  }
  return { control_loop: out };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv[2] === '--child') {
    const o = JSON.parse(process.argv[3]) as Required<ControlLoopBenchOptions>;
    console.log(JSON.stringify(await runRate(o.rates[0], o)));
  } else {
    // node dist/bench/controlLoop.js [seconds] [sleep|yield] [fifoPriority] [sac|synthetic]
    const seconds = Number(process.argv[2] ?? 10);
    const wait = (process.argv[3] ?? 'sleep') as 'sleep' | 'yield';
    const fifo = process.argv[4] === undefined || process.argv[4] === '-' ? {} : { fifoPriority: Number(process.argv[4]) };
    const learner = (process.argv[5] ?? 'sac') as 'sac' | 'synthetic';
    console.log(JSON.stringify(await controlLoopBench({ seconds, wait, learner, ...fifo }), null, 2));
  }
}
