import { existsSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/task/registry.js';

/** Gymnasium's MJCF directory: `shared/mjcf-gymnasium` beside the repository or one of its parents. */
export function gymnasiumModelDir(): string {
  let dir = packageRoot();
  for (;;) {
    const candidate = path.join(dir, 'shared', 'mjcf-gymnasium');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`Gymnasium MJCF not found: expected shared/mjcf-gymnasium beside ${packageRoot()} or one of its parents`);
    dir = parent;
  }
}
