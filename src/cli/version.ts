import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/packageRoot.js';

/** The version in sacbridge's package.json, read at run time so it is the installed package's. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
