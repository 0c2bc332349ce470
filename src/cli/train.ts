import { basename, resolve } from 'node:path';
import { initCompute, type BackendChoice } from '../compute/backend.js';
import { checkTask, DEFAULT_TASK } from '../task/registry.js';
import { isTaskFile } from '../task/taskFile.js';
import { createEnv } from '../wiring/envFactory.js';
import { existingRunProblem } from '../train/runDir.js';
import { Trainer } from '../train/trainer.js';
import { ConfigError, EX_CONFIG, loadConfig } from '../config/load.js';
import { PRESET_NAMES } from '../config/presets.js';
import { configSource } from './configSource.js';
import { envInfo, sacHyperparameters, safetyFilterFor, simEnvOptions, updateCores } from '../wiring/configOptions.js';
import { BACKEND_FLAG, parseFlags, UsageError, type FlagSpecs } from './args.js';
import type { Command } from './command.js';
import { ProgressReporter } from './progress.js';
import { replayRecording } from '../ui/replay.js';

const flags: FlagSpecs = {
  task: { kind: 'string', value: 'NAME|FILE', help: `task to train: a name (default ${DEFAULT_TASK}; see 'sacbridge tasks'), a task file (.json) or a task module (.mjs)` },
  steps: { kind: 'int', value: 'N', min: 1, help: 'total env steps (default 50000)' },
  seed: { kind: 'int', value: 'S', min: 0, help: 'random seed (default 0)' },
  out: { kind: 'string', value: 'DIR', help: 'run directory for metrics.jsonl and checkpoints/ (default runs/<task>-s<seed>)' },
  resume: { kind: 'boolean', help: "continue from the run directory's checkpoint" },
  preset: { kind: 'string', value: 'NAME', choices: PRESET_NAMES, help: `hyperparameter preset (${PRESET_NAMES.join(', ')}; same as --rl.preset): fills every rl.* key not given` },
  variant: { kind: 'string', value: 'v1|v2', choices: ['v1', 'v2'], help: 'SAC variant (default v2: learned temperature, no V network; same as --rl.variant)' },
  model: { kind: 'string', value: 'FILE', help: "MJCF file instead of the task's default model" },
  'gym-models': { kind: 'string', value: 'DIR', help: "directory of Gymnasium's MJCF files (needed by the *-v5 tasks)" },
  'learning-starts': { kind: 'int', value: 'N', min: 0, help: 'random-action steps before updates begin (default 5000; same as --rl.learningStarts)' },
  'batch-size': { kind: 'int', value: 'N', min: 1, help: 'minibatch size (default 256; same as --rl.batchSize)' },
  'eval-every': { kind: 'int', value: 'N', min: 0, help: 'evaluate every N steps, 0 = never (default 5000)' },
  'eval-episodes': { kind: 'int', value: 'N', min: 1, help: 'episodes per evaluation (default 5)' },
  'checkpoint-every': { kind: 'int', value: 'N', min: 0, help: 'checkpoint every N steps, 0 = only at the end (default 10000)' },
  config: { kind: 'string', value: 'FILE', help: "a daemon configuration: its rl.*, sim.* and safety.* apply as in the daemon (the flags above override them); without it the schema's defaults and the plant's own command range" },
  backend: BACKEND_FLAG,
  'rl.<key>': { kind: 'string', value: 'VALUE', help: "any hyperparameter key, e.g. --rl.criticLr 1e-3 (environment: SACBRIDGE_RL_<KEY>; the same keys as the daemon's); 'sacbridge config docs' lists them" },
};

/** Train's own flags that are names for rl.* keys. */
const RL_ALIASES: Record<string, string> = { preset: 'rl.preset', variant: 'rl.variant', 'learning-starts': 'rl.learningStarts', 'batch-size': 'rl.batchSize' };

/**
 * Split train's arguments: `--config FILE` and `--rl.* VALUE` go to the configuration loader (the
 * same keys, environment variables and checks as the daemon), the rest are train's own flags.
 */
function splitArgs(argv: readonly string[]): { own: string[]; config: string[] } {
  const own: string[] = [];
  const config: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.startsWith('--') ? a.slice(2).split('=')[0]! : '';
    if (name === 'config' || name.startsWith('rl.')) {
      config.push(a);
      if (!a.includes('=') && i + 1 < argv.length) config.push(argv[++i]!);
    } else {
      own.push(a);
    }
  }
  return { own, config };
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train SAC on a simulated task',
  usage: 'train [--task NAME|FILE] [--steps N] [--seed S] [--out DIR] [--resume] [--preset NAME] [--config FILE] [--rl.<key> VALUE ...] ...',
  flags,
  async run(argv) {
    const split = splitArgs(argv);
    const { flags: f, positionals } = parseFlags(split.own, flags);
    if (positionals.length > 0) throw new UsageError(`train: unexpected argument '${positionals[0]}'`);
    // The daemon's configuration loader: --config FILE (or $SACBRIDGE_CONFIG), SACBRIDGE_RL_*
    // variables, --rl.* flags and train's own names for rl.* keys.
    const aliasArgs = Object.entries(RL_ALIASES).flatMap(([flag, key]) => (f[flag] !== undefined ? [`--${key}=${String(f[flag])}`] : []));
    let loaded;
    // Only --config names a file here ($SACBRIDGE_CONFIG is the daemon's).
    const { SACBRIDGE_CONFIG: _daemonFile, ...env } = process.env;
    const source = configSource([...split.config, ...aliasArgs], env);
    try {
      loaded = loadConfig(source);
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`sacbridge train: ${err.message}\n`);
        return EX_CONFIG;
      }
      throw err;
    }
    const file = source.file;
    const config = loaded.config;
    const given = (f.task as string | undefined) ?? (file === undefined ? DEFAULT_TASK : config.sim.task);
    // A task file is named by its absolute path: checkpoints and `eval` find it from anywhere.
    const task = isTaskFile(given) ? resolve(given) : given;
    const modelPath = f.model !== undefined ? resolve(f.model as string) : undefined;
    // A task file with an error never starts a run (and leaves no run directory).
    try {
      await checkTask(task, { modelPath });
    } catch (err) {
      throw new UsageError(`--task ${given}: ${(err as Error).message}`);
    }
    const seed = (f.seed as number | undefined) ?? (file === undefined ? 0 : config.sim.seed);
    const steps = (f.steps as number | undefined) ?? 50_000;
    const runDir = resolve((f.out as string | undefined) ?? `runs/${isTaskFile(given) ? basename(given).replace(/\.[^.]+$/, '') : task}-s${seed}`);
    // A second run into the first's directory would retire its checkpoints and mix the metrics.
    const taken = f.resume === true ? null : existingRunProblem(runDir);
    if (taken !== null) throw new UsageError(taken);
    const hp = sacHyperparameters(config.rl);
    // A buffer larger than the run only costs memory. (A resumed run keeps its checkpoint's.)
    if (f.resume !== true && loaded.origins['rl.bufferSize'] === 'default') hp.bufferSize = Math.min(hp.bufferSize!, steps);
    // The safety layer bounds commands as in the daemon (defaults: the plant's range, no rate limit).
    const envOptions = {
      ...(file === undefined ? { filterFor: safetyFilterFor(config.safety) } : simEnvOptions(config.sim, config.safety)),
      ...(modelPath !== undefined ? { modelPath } : {}),
      ...(f['gym-models'] !== undefined ? { gymnasiumModelDir: resolve(f['gym-models'] as string) } : {}),
    };

    const compute = await initCompute((f.backend as BackendChoice | undefined) ?? 'auto');
    const progress = new ProgressReporter();
    progress.line(`sacbridge train: task ${task}, seed ${seed}, ${steps} steps, run directory ${runDir}; tfjs ${compute.backend} (${compute.reason})`);
    for (const w of loaded.warnings) progress.line(`WARNING: ${w}`);
    const set = Object.entries(loaded.origins).filter(([k, o]) => k.startsWith('rl.') && o !== 'default');
    if (set.length > 0) progress.line(`hyperparameters: ${set.map(([k, o]) => `${k}=${JSON.stringify(config.rl[k.slice(3) as keyof typeof config.rl])} (${o})`).join(', ')}`);
    const trainer = await Trainer.create({
      task,
      seed,
      runDir,
      makeEnv: (s) => createEnv(task, { seed: s, ...envOptions }),
      hyperparameters: hp,
      resume: f.resume === true,
      evalEvery: (f['eval-every'] as number | undefined) ?? 5000,
      evalEpisodes: (f['eval-episodes'] as number | undefined) ?? 5,
      checkpointEvery: (f['checkpoint-every'] as number | undefined) ?? 10_000,
      envInfo: envInfo(task, envOptions, config.safety),
      warn: (m) => progress.line(m),
      updateCores: updateCores(config.compute),
    });
    if (f.resume === true) {
      progress.line(trainer.counters.steps > 0 ? `resumed at step ${trainer.counters.steps} (${trainer.counters.updates} updates)` : `no checkpoint in ${trainer.checkpointDir}: starting a new run`);
    }
    // The first episode of each evaluation round, for `sacbridge view RUN_DIR` and its 3D view.
    trainer.onEvaluationEpisode(replayRecording(runDir, task, (m) => progress.line(m)));
    trainer.onMetrics((r) => {
      if (r.type === 'eval') progress.line(`eval at step ${r.step}: mean return ${r.mean_return.toFixed(2)} ± ${r.std_return.toFixed(2)} over ${r.returns.length} episodes`);
    });

    const stop = new AbortController();
    let signalled: NodeJS.Signals | null = null;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (signalled !== null) process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
      signalled = sig;
      progress.line(`${sig}: stopping after this step and writing a checkpoint (again to quit at once)`);
      stop.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const state = () => ({ steps: trainer.counters.steps, total: steps, stepsPerSecond: trainer.rate, lastReturn: trainer.lastReturn, lastEvalReturn: trainer.lastEvalReturn });
    const timer = setInterval(() => progress.update(state()), 200);
    trainer.onMetrics((r) => {
      if (r.type === 'episode') progress.update(state());
    });
    try {
      await trainer.run(steps, stop.signal);
      clearInterval(timer);
      progress.finish(state());
      const path = await trainer.checkpoint();
      progress.line(`checkpoint ${path}`);
      progress.line(`metrics ${runDir}/metrics.jsonl`);
    } finally {
      clearInterval(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await trainer.close();
    }
    return signalled === 'SIGINT' ? 130 : 0;
  },
};
