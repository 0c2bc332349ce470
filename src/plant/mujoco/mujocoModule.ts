import load from 'mujoco';
import type { MainModule } from 'mujoco';

/** The MuJoCo build this code is written and tested against (npm `mujoco` 3.1.16 ships it). */
export const EXPECTED_MUJOCO_VERSION = '3.5.1';

let modulePromise: Promise<MainModule> | null = null;

/**
 * The MuJoCo WebAssembly module, loaded once per process on first use. Loading takes a few
 * hundred milliseconds and each instance owns its own heap, so every plant shares this one.
 */
export function loadMujoco(): Promise<MainModule> {
  if (modulePromise === null) {
    // MuJoCo prints warnings and XML errors; keep them off stdout, which carries logs and JSON.
    const toStderr = (text: string): void => {
      process.stderr.write(`mujoco: ${text}\n`);
    };
    modulePromise = load({ print: toStderr, printErr: toStderr }).then((mujoco) => {
      const version = mujoco.mj_versionString();
      if (version !== EXPECTED_MUJOCO_VERSION) {
        throw new Error(`MuJoCo WebAssembly reports version ${version}, sacbridge needs ${EXPECTED_MUJOCO_VERSION} (npm package 'mujoco' as pinned in package.json)`);
      }
      return mujoco;
    });
    // A failed load must not poison later attempts with the same rejected promise.
    modulePromise.catch(() => {
      modulePromise = null;
    });
  }
  return modulePromise;
}

/**
 * MuJoCo's own text for something thrown out of the module. Depending on the call path the
 * build throws a JS Error carrying `mju_error`'s text, an emscripten CppException, or a bare
 * exception pointer (a number) whose message only the module can decode.
 */
export function mujocoErrorText(mujoco: MainModule, thrown: unknown): string {
  if (typeof thrown === 'number' || typeof thrown === 'bigint') {
    const decoded = getExceptionMessage(mujoco, thrown);
    if (decoded !== null) return decoded;
    return `unknown MuJoCo exception ${String(thrown)}`;
  }
  if (thrown instanceof Error) {
    const ptr = (thrown as Error & { excPtr?: number }).excPtr;
    if (thrown.message === '' && ptr !== undefined) {
      return getExceptionMessage(mujoco, ptr) ?? `unknown MuJoCo exception ${ptr}`;
    }
    return thrown.message.trim();
  }
  return String(thrown);
}

/** `Module.getExceptionMessage` is exported by the build but missing from its typings. */
function getExceptionMessage(mujoco: MainModule, ptr: number | bigint): string | null {
  const fn = (mujoco as unknown as { getExceptionMessage?: (p: number | bigint) => [string, string] }).getExceptionMessage;
  if (fn === undefined) return null;
  const [type, message] = fn(ptr);
  return message === '' ? type : `${type}: ${message}`;
}
