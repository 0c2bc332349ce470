import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MainModule, MjModel } from 'mujoco';
import { findMjcfAssets, type MjcfFileReference } from './mjcfAssets.js';
import { mujocoErrorText } from './mujocoModule.js';

let nextDirectory = 0;

/**
 * Compile an MJCF file from the host file system. MuJoCo-wasm only sees its own virtual file
 * system, so the file and every file it references (includes, meshes, textures: see
 * mjcfAssets.ts) are copied there under their host paths (below a fresh directory, so relative
 * references resolve as on the host), compiled, and removed again. Errors name the user's files.
 */
export function loadModelFile(mujoco: MainModule, file: string): MjModel {
  const hostPath = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(hostPath, 'utf8');
  } catch (err) {
    throw new Error(`cannot read MJCF model ${hostPath}: ${(err as Error).message}`);
  }
  if (text.trim() === '') throw new Error(`MJCF model ${hostPath} is empty`);
  const assets = findMjcfAssets(hostPath);
  const vfsRoot = `/sacbridge-models/${process.pid}-${nextDirectory++}`;
  const vfs = (host: string): string => path.posix.join(vfsRoot, host.split(path.sep).join('/'));
  const written: string[] = [];
  const writeFile = (vfsPath: string, data: string | Uint8Array): void => {
    mujoco.FS.mkdirTree(path.posix.dirname(vfsPath), 0o777);
    mujoco.FS.writeFile(vfsPath, data);
    written.push(vfsPath);
  };
  try {
    writeFile(vfs(hostPath), text);
    const copied = new Set<string>([hostPath]);
    for (const f of assets.files) {
      if (!f.exists || copied.has(f.hostPath)) continue;
      copied.add(f.hostPath);
      const data = readFileSync(f.hostPath);
      writeFile(vfs(f.hostPath), data);
      // An absolute reference is looked up at that absolute path.
      if (path.isAbsolute(f.ref)) writeFile(f.hostPath.split(path.sep).join('/'), data);
    }
    let model: MjModel | null;
    try {
      model = mujoco.MjModel.mj_loadXML(vfs(hostPath));
    } catch (err) {
      throw new Error(`MuJoCo cannot load model ${hostPath}: ${hostPaths(mujocoErrorText(mujoco, err), vfsRoot)}${missingNote(assets.files)}`);
    }
    // Some builds report XML syntax errors by returning null (the text goes to stdout).
    if (model === null || model === undefined) {
      throw new Error(`MuJoCo cannot load model ${hostPath}: mj_loadXML returned no model (XML syntax error?)${missingNote(assets.files)}`);
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
    removeEmptyDirectories(mujoco, vfsRoot);
  }
}

/** MuJoCo's message names files by their virtual paths: show the host paths instead. */
function hostPaths(message: string, vfsRoot: string): string {
  return message.split(`${vfsRoot}/`).join('/').split(vfsRoot).join('');
}

function missingNote(files: readonly MjcfFileReference[]): string {
  const missing = files.filter((f) => !f.exists);
  if (missing.length === 0) return '';
  return `; missing: ${missing.map((f) => `${f.hostPath} (<${f.tag} ${f.tag === 'texture' ? '' : 'file='}'${f.ref}'> at ${f.from}:${f.line})`).join(', ')}`;
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
