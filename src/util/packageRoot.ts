import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

/**
 * The sacbridge package directory: the nearest ancestor of this module with sacbridge's
 * package.json. Works from src/ (ts) and dist/src/ (compiled) alike.
 */
export function packageRoot(): string {
  if (root !== null) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'sacbridge') {
      root = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find sacbridge's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
