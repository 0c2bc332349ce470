/**
 * The layers of docs/architecture.md, checked on the import statements of src/: no file imports
 * a directory of a higher layer, and no import circle exists between files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../src/util/packageRoot.js';

/** Lowest first; a directory may import its own layer and those below it. Keep in step with docs/architecture.md. */
const LAYERS: readonly (readonly string[])[] = [
  ['util'],
  ['compute', 'theory'],
  ['agent'],
  ['learner', 'control'],
  ['zmq'],
  ['plant'],
  ['task'],
  ['safety', 'env'],
  ['train'],
  ['finetune'],
  ['config'],
  ['log'],
  ['wiring'],
  ['ui'],
  ['daemon', 'metrics'],
  ['plot', 'export'],
  ['cli', 'api'],
];

type Graph = Map<string, Set<string>>;

function rank(dir: string): number {
  const i = LAYERS.findIndex((l) => l.includes(dir));
  if (i < 0) throw new Error(`src/${dir}/ is in no layer of test/architecture.test.ts (add it there and to docs/architecture.md)`);
  return i;
}

const dirOf = (file: string): string => file.split('/')[0]!;

/** Imports that run up the layers, as "from -> to". */
function upwardImports(g: Graph): string[] {
  const bad: string[] = [];
  for (const [from, tos] of g) for (const to of tos) if (rank(dirOf(to)) > rank(dirOf(from))) bad.push(`${from} -> ${to}`);
  return bad.sort();
}

/** Every import circle found by a depth-first search, as file lists. */
function circles(g: Graph): string[][] {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (u: string): void => {
    state.set(u, 1);
    stack.push(u);
    for (const v of g.get(u) ?? []) {
      if (state.get(v) === 1) found.push([...stack.slice(stack.indexOf(v)), v]);
      else if (state.get(v) === undefined) visit(v);
    }
    stack.pop();
    state.set(u, 2);
  };
  for (const u of [...g.keys()].sort()) if (state.get(u) === undefined) visit(u);
  return found;
}

/** src/'s relative imports (type-only ones too: they are arrows of the design all the same). */
function sourceGraph(): Graph {
  const src = path.join(packageRoot(), 'src');
  const g: Graph = new Map();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
        const from = path.relative(src, full);
        const tos = new Set<string>();
        for (const m of readFileSync(full, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?from\s+'(\.{1,2}\/[^']+)'/g)) {
          tos.add(path.relative(src, path.resolve(path.dirname(full), m[1]!)).replace(/\.js$/, '.ts'));
        }
        g.set(from, tos);
      }
    }
  };
  walk(src);
  return g;
}

test('architecture: no import runs up the layers and no import circle exists in src/', () => {
  const g = sourceGraph();
  assert.ok(g.size > 50, `read ${g.size} files under src/`);
  assert.deepEqual(upwardImports(g), []);
  assert.deepEqual(circles(g), []);
});

test('architecture: the checks find an upward import and a circle when there is one', () => {
  const g: Graph = new Map([
    ['plant/a.ts', new Set(['env/b.ts'])],
    ['env/b.ts', new Set(['env/c.ts'])],
    ['env/c.ts', new Set(['env/b.ts', 'plant/a.ts'])],
  ]);
  assert.deepEqual(upwardImports(g), ['plant/a.ts -> env/b.ts']);
  assert.deepEqual(circles(g), [
    ['env/b.ts', 'env/c.ts', 'env/b.ts'],
    ['env/b.ts', 'env/c.ts', 'plant/a.ts', 'env/b.ts'],
  ]);
});
