import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The files an MJCF model reads, found the way MuJoCo finds them: `<include file>` relative to
 * the main file's directory; meshes (and skins) under the compiler's `meshdir`, textures and
 * height fields under `texturedir` (`assetdir` sets both), each relative to the main file's
 * directory unless absolute. Attributes may use either quote. Pure file-system reading: the
 * MuJoCo loader copies these files into its virtual file system, and anything else that draws
 * a model from its MJCF can use the same answer.
 */

export interface MjcfElement {
  readonly tag: string;
  readonly attributes: ReadonlyMap<string, string>;
  /** 1-based line in its file. */
  readonly line: number;
}

export interface MjcfFileReference {
  /** The element naming it (include, mesh, texture, hfield, skin, model). */
  readonly tag: string;
  /** The attribute value as written. */
  readonly ref: string;
  /** Where MuJoCo will look for it. */
  readonly hostPath: string;
  /** The MJCF file and line that names it. */
  readonly from: string;
  readonly line: number;
  readonly exists: boolean;
}

export interface MjcfAssets {
  /** Absolute path of the main file. */
  readonly main: string;
  /** Every referenced file (includes first, in the order they are met), existing or not. */
  readonly files: readonly MjcfFileReference[];
}

/** Elements and attributes of an XML text (comments, CDATA and processing instructions skipped). */
export function xmlElements(text: string): MjcfElement[] {
  const out: MjcfElement[] = [];
  const tag = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<[?!][\s\S]*?>|<([A-Za-z_][\w.:-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*\/?>/g;
  const attr = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  let line = 1;
  let last = 0;
  for (const m of text.matchAll(tag)) {
    if (m[1] === undefined) continue;
    for (let i = last; i < m.index; i++) if (text.charCodeAt(i) === 10) line++;
    last = m.index;
    const attributes = new Map<string, string>();
    for (const a of (m[2] ?? '').matchAll(attr)) attributes.set(a[1], decodeEntities(a[2] ?? a[3] ?? ''));
    out.push({ tag: m[1], attributes, line });
  }
  return out;
}

function decodeEntities(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'amp') return '&';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    return String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

const CUBE_FACES = ['file', 'fileright', 'fileleft', 'fileup', 'filedown', 'filefront', 'fileback'];

/** Find every file `mainFile` and its includes reference. Unreadable includes are listed with exists = false. */
export function findMjcfAssets(mainFile: string): MjcfAssets {
  const main = path.resolve(mainFile);
  const baseDir = path.dirname(main);
  const files: MjcfFileReference[] = [];
  const parsed: { file: string; elements: MjcfElement[] }[] = [];
  const seen = new Set<string>([main]);
  const visit = (file: string, text: string): void => {
    const elements = xmlElements(text);
    parsed.push({ file, elements });
    for (const e of elements) {
      const ref = e.attributes.get('file');
      if (e.tag !== 'include' || ref === undefined) continue;
      const hostPath = path.resolve(baseDir, ref);
      const exists = existsSync(hostPath);
      files.push({ tag: 'include', ref, hostPath, from: file, line: e.line, exists });
      if (!exists || seen.has(hostPath)) continue;
      seen.add(hostPath);
      visit(hostPath, readFileSync(hostPath, 'utf8'));
    }
  };
  visit(main, readFileSync(main, 'utf8'));

  // The compiler's directories apply to the whole model, whichever file sets them.
  let meshdir: string | undefined;
  let texturedir: string | undefined;
  let assetdir: string | undefined;
  for (const { elements } of parsed) {
    for (const e of elements) {
      if (e.tag !== 'compiler') continue;
      meshdir = e.attributes.get('meshdir') ?? meshdir;
      texturedir = e.attributes.get('texturedir') ?? texturedir;
      assetdir = e.attributes.get('assetdir') ?? assetdir;
    }
  }
  const dirFor = (tag: string): string => {
    const d = tag === 'texture' || tag === 'hfield' ? (texturedir ?? assetdir) : tag === 'mesh' || tag === 'skin' ? (meshdir ?? assetdir) : undefined;
    return path.resolve(baseDir, d ?? '');
  };
  for (const { file, elements } of parsed) {
    for (const e of elements) {
      if (!['mesh', 'texture', 'hfield', 'skin', 'model'].includes(e.tag)) continue;
      for (const key of e.tag === 'texture' ? CUBE_FACES : ['file']) {
        const ref = e.attributes.get(key);
        if (ref === undefined || ref === '') continue;
        const hostPath = path.resolve(dirFor(e.tag), ref);
        files.push({ tag: e.tag, ref, hostPath, from: file, line: e.line, exists: existsSync(hostPath) });
      }
    }
  }
  return { main, files };
}
