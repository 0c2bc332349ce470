import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MujocoPlant } from '../plant/mujoco/mujocoPlant.js';
import { sceneFromModel, type Scene } from '../ui/scene.js';
import { startUiServer } from '../ui/server.js';
import { parseFlags, UsageError, type FlagSpecs } from './args.js';
import { CHECKPOINT_FLAGS, openCheckpointEnv } from './checkpointPolicy.js';
import type { Command } from './command.js';

const flags: FlagSpecs = {
  host: { kind: 'string', value: 'ADDR', help: 'listen address (default 127.0.0.1)' },
  port: { kind: 'int', value: 'N', min: 0, help: 'TCP port (default 9466; 0 = any free port)' },
  model: CHECKPOINT_FLAGS.model!,
  'gym-models': CHECKPOINT_FLAGS['gym-models']!,
};

/**
 * `sacbridge view RUN_DIR`: the web UI for a finished (or running) run directory: its curves from
 * metrics.jsonl, its evaluation replays and the robot drawn from the checkpoint's MJCF. Serves
 * until Ctrl-C / SIGTERM.
 */
export const viewCommand: Command = {
  name: 'view',
  summary: 'serve the web UI (curves, replays, 3D view) for a run directory',
  usage: 'view RUN_DIR [--port N] [--host ADDR]',
  flags,
  async run(argv) {
    const { flags: f, positionals } = parseFlags(argv, flags);
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'view: RUN_DIR is missing' : `view: unexpected argument '${positionals[1]}'`);
    const runDir = positionals[0]!;
    if (!existsSync(join(runDir, 'metrics.jsonl')) && !existsSync(join(runDir, 'checkpoints'))) {
      process.stderr.write(`sacbridge view: ${runDir} is not a run directory (no metrics.jsonl or checkpoints/ in it)\n`);
      return 66; // EX_NOINPUT
    }
    // The model comes from the run's checkpoint; without one the page shows curves only.
    let scene: Scene | null = null;
    if (existsSync(join(runDir, 'checkpoints'))) {
      try {
        const { env } = await openCheckpointEnv({ ...f, checkpoint: runDir }, 0);
        if (env.plant instanceof MujocoPlant) scene = sceneFromModel(env.plant.mujoco, env.plant.model);
        await env.plant.close();
      } catch (err) {
        process.stderr.write(`sacbridge view: no 3D view: ${(err as Error).message}\n`);
      }
    }
    const server = await startUiServer({ runDir, scene: () => scene }, (f.host as string | undefined) ?? '127.0.0.1', (f.port as number | undefined) ?? 9466);
    process.stdout.write(`${server.url}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    return 0;
  },
};
