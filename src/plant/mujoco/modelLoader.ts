import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { MainModule, MjModel } from 'mujoco';
import { mujocoErrorText } from './mujocoModule.js';

let nextDirectory = 0;

/**
 * Compile an MJCF file from the host file system. MuJoCo-wasm only sees its own virtual file
 * system, so the file and the files it references (includes, meshes, textures) are copied
 * into a fresh directory there, compiled, and removed again.
 * Errors carry MuJoCo's message and the file name.
 */
export function loadModelFile(mujoco: MainModule, file: string): MjModel {
  const hostPath = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(hostPath, 'utf8');
  } catch (err) {
    throw new Error(`cannot read MJCF model ${hostPath}: ${(err as Error).message}`);
  }
  const hostDir = path.dirname(hostPath);
  const vfsDir = `/sacbridge-models/${process.pid}-${nextDirectory++}`;
  const vfsMain = `${vfsDir}/${path.basename(hostPath)}`;
  const written: string[] = [];
  const writeFile = (vfsPath: string, data: string | Uint8Array): void => {
    mujoco.FS.mkdirTree(path.posix.dirname(vfsPath), 0o777);
    mujoco.FS.writeFile(vfsPath, data);
    written.push(vfsPath);
  };
  try {
    writeFile(vfsMain, text);
    copyReferencedFiles(text, hostDir, vfsDir, writeFile, new Set([hostPath]));
    let model: MjModel | null;
    try {
      model = mujoco.MjModel.mj_loadXML(vfsMain);
    } catch (err) {
      throw new Error(`MuJoCo cannot load model ${hostPath}: ${mujocoErrorText(mujoco, err)}`);
    }
    // Some builds report XML syntax errors by returning null (the text goes to stdout).
    if (model === null || model === undefined) {
      throw new Error(`MuJoCo cannot load model ${hostPath}: mj_loadXML returned no model (XML syntax error?)`);
    }
    return model;
  } finally {
    for (const f of written) {
      try {
        mujoco.FS.unlink(f);
      } catch {
        // Already gone: nothing to free.
      }
    }
    removeEmptyDirectories(mujoco, vfsDir);
  }
}

/** Remove `dir` and the now-empty directories under it from the virtual file system. */
function removeEmptyDirectories(mujoco: MainModule, dir: string): void {
  try {
    for (const entry of mujoco.FS.readdir(dir) as string[]) {
      if (entry !== '.' && entry !== '..') removeEmptyDirectories(mujoco, `${dir}/${entry}`);
    }
    mujoco.FS.rmdir(dir);
  } catch {
    // Not a directory or not empty: leave it.
  }
}

/**
 * Mirror every existing file named by a `file="..."` attribute (relative to the model's
 * directory or to the compiler's meshdir/texturedir/assetdir) into the virtual directory;
 * included MJCF files are scanned in turn.
 */
function copyReferencedFiles(
  xml: string,
  hostDir: string,
  vfsDir: string,
  writeFile: (vfsPath: string, data: string | Uint8Array) => void,
  seen: Set<string>,
): void {
  const assetDirs = [''];
  for (const m of xml.matchAll(/\b(?:meshdir|texturedir|assetdir)\s*=\s*"([^"]*)"/g)) assetDirs.push(m[1]);
  for (const m of xml.matchAll(/\bfile\s*=\s*"([^"]+)"/g)) {
    const ref = m[1];
    for (const dir of assetDirs) {
      const rel = path.isAbsolute(ref) ? ref : path.join(dir, ref);
      const host = path.isAbsolute(rel) ? rel : path.join(hostDir, rel);
      if (seen.has(host) || !existsSync(host)) continue;
      seen.add(host);
      const vfsPath = path.isAbsolute(rel) ? rel : path.posix.join(vfsDir, rel.split(path.sep).join('/'));
      if (host.toLowerCase().endsWith('.xml')) {
        const included = readFileSync(host, 'utf8');
        writeFile(vfsPath, included);
        copyReferencedFiles(included, hostDir, vfsDir, writeFile, seen);
      } else {
        writeFile(vfsPath, readFileSync(host));
      }
    }
  }
}
