import type { ModelInfo } from '../../plant/modelInfo.js';
import type { CompiledTaskSpec } from './compileTask.js';

/** The text `sacbridge tasks --describe FILE` prints: observation layout, reward, termination, reset. */
export function describeTask(task: CompiledTaskSpec, model: ModelInfo, file: string): string {
  const lines: string[] = [];
  lines.push(`task ${task.name} (${file})`);
  lines.push(`  ${task.description}`);
  lines.push(`model ${model.file}`);
  lines.push(`control period ${round(model.timestep * task.frameSkip)} s (${task.frameSkip} x ${model.timestep} s), time limit ${task.episodeSteps} ticks (truncation)`);
  lines.push(`action (${model.nu}, in [-1, 1], scaled onto ctrlrange): ${model.actuators.map((a, i) => `${a.name || `actuator#${i}`} [${a.low}, ${a.high}]`).join(', ')}`);
  lines.push('');
  lines.push(`observation (${task.observationSize} values):`);
  lines.push(...table(['term', 'slice', 'source', 'units', 'transform'], task.layout.map((s) => [s.term, `[${s.from}, ${s.to})`, s.source, s.units, s.transform])));
  lines.push('');
  lines.push('reward = sum of weight * value over the terms (each term logged as weight * value):');
  lines.push(...table(['term', 'weight', 'type', 'value'], task.rewards.map((r) => [r.name, String(r.weight), r.kind, r.detail])));
  lines.push('');
  lines.push(task.terminations.length === 0 ? 'termination: none (episodes end at the time limit)' : 'termination (any):');
  lines.push(...(task.terminations.length === 0 ? [] : table(['term', 'type', 'condition'], task.terminations.map((t) => [t.name, t.kind, t.detail]))));
  lines.push('');
  lines.push(task.reset.length === 0 ? 'reset (simulator): the model\'s initial state' : 'reset (simulator):');
  for (const r of task.reset) lines.push(`  ${r}`);
  lines.push(`plant signals read: ${task.signals.map((s) => `${s.name} (${s.size})`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function round(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]): string => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}`.trimEnd();
  return [fmt(head), ...rows.map(fmt)];
}
