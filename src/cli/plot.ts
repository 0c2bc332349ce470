import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { readCurves } from '../plot/records.js';
import { renderLearningCurves } from '../plot/svg.js';
import { writeFileAtomic } from '../util/atomicFile.js';
import { parseFlags, UsageError, type FlagSpecs } from './args.js';
import type { Command } from './command.js';

const flags: FlagSpecs = {
  out: { kind: 'string', value: 'FILE', help: 'output file, .svg or .png (default RUN_DIR/learning-curves.svg; PNG needs rsvg-convert or ImageMagick)' },
};

/** The formats `--out` may name, by file extension; anything else is refused rather than written as SVG. */
const FORMATS = ['.svg', '.png'] as const;

/** The format a file name asks for, or null when sacbridge cannot write it. */
export function plotFormat(file: string): (typeof FORMATS)[number] | null {
  const ext = extname(file).toLowerCase();
  return (FORMATS as readonly string[]).includes(ext) ? (ext as (typeof FORMATS)[number]) : null;
}

/**
 * `sacbridge plot RUN_DIR`: the learning curves (episode and evaluation return, losses,
 * temperature) from the run's metrics JSONL files, as SVG, or PNG rendered from the SVG by
 * rsvg-convert (librsvg2-bin) or ImageMagick's `convert` when installed.
 */
export const plotCommand: Command = {
  name: 'plot',
  summary: 'draw the learning curves of a run directory (train --out DIR, or STATE_DIR/run) to SVG or PNG',
  usage: 'plot RUN_DIR [--out FILE]',
  flags,
  async run(argv) {
    const { flags: f, positionals } = parseFlags(argv, flags);
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'plot: RUN_DIR is missing' : `plot: unexpected argument '${positionals[1]}'`);
    const runDir = positionals[0]!;
    const out = f.out as string | undefined;
    if (out !== undefined && plotFormat(out) === null) {
      throw new UsageError(`--out ${out}: cannot write '${extname(out) || '(no extension)'}' files; name a ${FORMATS.join(' or ')} file`);
    }
    if (!existsSync(runDir)) {
      process.stderr.write(`sacbridge plot: ${runDir}: no such file or directory\n`);
      return 66; // EX_NOINPUT
    }
    const curves = readCurves(runDir);
    if (curves.records === 0) {
      process.stderr.write(`sacbridge plot: ${runDir}: no metrics records found (*.jsonl)\n`);
      return 65; // EX_DATAERR
    }
    const dir = statSync(runDir).isDirectory() ? runDir : resolve(runDir, '..');
    const target = out ?? join(dir, 'learning-curves.svg');
    const svg = renderLearningCurves(curves, basename(resolve(dir)));
    if (plotFormat(target) === '.png') {
      const svgPath = target.replace(/\.png$/i, '.svg');
      await writeFileAtomic(svgPath, svg);
      // librsvg's rsvg-convert renders SVG well; ImageMagick's convert delegates to it or to its own reader.
      const tries: [string, string[]][] = [
        ['rsvg-convert', ['-o', target, svgPath]],
        ['convert', ['-density', '110', svgPath, target]],
      ];
      const failures: string[] = [];
      let done = false;
      for (const [cmd, args] of tries) {
        const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
        if (!r.error && r.status === 0 && existsSync(target)) {
          done = true;
          break;
        }
        failures.push(`${cmd}: ${r.error?.message ?? r.stderr.toString().trim().split('\n')[0]}`);
      }
      if (!done) {
        process.stderr.write(`sacbridge plot: wrote ${svgPath}, but could not render the PNG (install librsvg2-bin or ImageMagick): ${failures.join('; ')}\n`);
        return 69; // EX_UNAVAILABLE
      }
    } else {
      await writeFileAtomic(target, svg);
    }
    process.stdout.write(
      `${target}: ${curves.returns.x.length} episode returns${curves.robotReturns.x.length ? `, ${curves.robotReturns.x.length} robot episode returns` : ''}, ${curves.evalReturns.x.length} evaluations, ${curves.losses.length} loss series, ${curves.temperature.x.length} temperature points` +
        (curves.skipped ? ` (${curves.skipped} unreadable lines skipped)` : '') +
        '\n',
    );
    return 0;
  },
};
