import { open, rename, unlink, mkdir } from 'node:fs/promises';
import { openSync, fsyncSync, closeSync, writeSync, renameSync, mkdirSync, unlinkSync, readdirSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

/**
 * Write a file so that a crash at any moment leaves either the old content or the new one,
 * never a torn file: write a temporary file beside it, fsync it, rename over the target,
 * fsync the directory so the rename itself is durable. A write that fails (a full disk)
 * removes its temporary file; one a crash interrupted is found by `isAtomicTemp` and removed
 * by the owner of the directory when it starts again.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dir);
}

/** The temporary file name writeFileAtomic(Sync) uses for `name` matches this. */
export function isAtomicTemp(fileName: string, of?: string): boolean {
  const m = /^\.(.+)\.[0-9]+\.[0-9]+\.tmp$/.exec(fileName);
  return m !== null && (of === undefined || m[1] === of);
}

/** Remove the temporary files interrupted atomic writes left in `dir`; returns their names. */
export function removeAtomicTemps(dir: string): string[] {
  const stale = readdirSync(dir).filter((n) => isAtomicTemp(n));
  for (const n of stale) {
    try {
      unlinkSync(join(dir, n));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return stale;
}

/** Synchronous variant, for shutdown paths where the event loop may not turn again. */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // never created, or already gone
    }
    throw err;
  }
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
