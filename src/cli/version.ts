import { readFileSync } from 'node:fs';

/**
 * The version in sacbridge's package.json, read at run time so it is the installed package's
 * (dist/src/cli/ sits three levels below the package root, as src/cli/ sits two below it).
 */
export function packageVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sacbridge' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not at this level
    }
  }
  throw new Error("cannot find sacbridge's package.json above " + new URL('.', import.meta.url).pathname);
}
