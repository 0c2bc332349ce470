import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { runIfEntry } from '../config/cliArgs.js';
import { readCurves } from '../plot/records.js';
import { renderLearningCurves } from '../plot/svg.js';
import { writeFileAtomic } from '../util/atomicFile.js';

const USAGE = `usage: sacbridge plot RUN_DIR [--out FILE]
Draw the learning curves (episode and evaluation return, losses, temperature) from the run's
metrics JSONL files to FILE (default RUN_DIR/learning-curves.svg). A FILE ending in .png is
rendered from the SVG by rsvg-convert (librsvg2-bin) or ImageMagick's \`convert\` when installed.
`;

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) {
    process.stderr.write(USAGE);
    return argv.length === 0 ? 64 : 0;
  }
  let out: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' || argv[i] === '-o') out = argv[++i];
    else rest.push(argv[i]!);
  }
  const runDir = rest[0];
  if (runDir === undefined || rest.length > 1 || (argv.includes('--out') && out === undefined)) {
    process.stderr.write(USAGE);
    return 64;
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
  if (target.endsWith('.png')) {
    const svgPath = target.replace(/\.png$/, '.svg');
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
    `${target}: ${curves.returns.x.length} episode returns, ${curves.evalReturns.x.length} evaluations, ${curves.losses.length} loss series, ${curves.temperature.x.length} temperature points` +
      (curves.skipped ? ` (${curves.skipped} unreadable lines skipped)` : '') +
      '\n',
  );
  return 0;
}

runIfEntry(import.meta.url, main);
