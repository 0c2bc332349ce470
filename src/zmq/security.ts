/**
 * Who may talk to sacbridge's sockets. Loopback binds are allowed as they are; a bind on any
 * other interface needs CURVE (server key pair plus a list of allowed client public keys,
 * checked by a ZAP handler) unless the configuration explicitly says `insecure`.
 */
import { open, rename, stat, readFile, readdir, mkdir } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import * as zmq from 'zeromq';
import { fsyncDir } from '../util/atomicFile.js';

export interface CurveKeyPair {
  readonly publicKey: string;
  readonly secretKey: string;
}

/** Server-side CURVE material: the server's key pair and the client public keys it accepts. */
export interface CurveServerKeys {
  readonly server: CurveKeyPair;
  readonly allowedClients: ReadonlySet<string>;
}

/** Client-side CURVE material: the server's public key and the client's own key pair. */
export interface CurveClientKeys {
  readonly serverPublicKey: string;
  readonly client: CurveKeyPair;
}

export interface BindSecurity {
  /** Permit a non-loopback bind without CURVE (plain text, anyone may connect). */
  readonly insecure?: boolean;
  /** CURVE keys; required for a non-loopback bind unless `insecure`. */
  readonly curve?: CurveServerKeys;
}

/** A fresh CURVE key pair (Z85 text, 40 characters each). */
export function curveKeyPair(): CurveKeyPair {
  return zmq.curveKeyPair();
}

const Z85_RE = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

/** True when the endpoint only accepts connections from this host. */
export function isLoopbackEndpoint(endpoint: string): boolean {
  if (endpoint.startsWith('ipc://') || endpoint.startsWith('inproc://')) return true;
  const m = /^tcp:\/\/(.+):([0-9]+|\*)$/.exec(endpoint);
  return m !== null && isLoopbackHost(m[1]);
}

/** True for a host name or address that only this host can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.[0-9]+\.[0-9]+\.[0-9]+$/.test(host);
}

/**
 * Why `endpoint` is not one sacbridge can bind or connect, or null when it is: tcp://HOST:PORT
 * (PORT 1-65535, or * for any free port), ipc://PATH or inproc://NAME. Empty means off.
 */
export function endpointProblem(endpoint: string): string | null {
  if (endpoint === '') return null;
  const tcp = /^tcp:\/\/(.*):([^:\]]*)$/.exec(endpoint);
  if (tcp !== null) {
    const [, host, port] = tcp as unknown as [string, string, string];
    if (host === '' || /\s/.test(host)) return `needs a host before the port (tcp://127.0.0.1:${port || 5555})`;
    if (port === '*') return null;
    if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
      return `port ${JSON.stringify(port)} is not a TCP port: use 1-65535, or * for any free port`;
    }
    return null;
  }
  if (/^tcp:\/\//.test(endpoint)) return 'a tcp endpoint is tcp://HOST:PORT (e.g. tcp://127.0.0.1:5555)';
  if (/^(ipc|inproc):\/\/\S+$/.test(endpoint)) return null;
  return 'must be a ZeroMQ endpoint: tcp://HOST:PORT, ipc://PATH or inproc://NAME (or empty to disable)';
}

// ---------------------------------------------------------------------------------------------
// Key files

async function readPrivateFile(path: string, what: string): Promise<string> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (err) {
    throw new Error(`${what} '${path}' cannot be read: ${(err as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new Error(
      `${what} '${path}' has permissions ${(mode & 0o777).toString(8).padStart(4, '0')}; it must be readable by its owner only (chmod 600 '${path}')`,
    );
  }
  return readFile(path, 'utf8');
}

/** Read a key pair file: JSON {"publicKey": "...", "secretKey": "..."} with mode 0600. */
export async function readCurveKeyPairFile(path: string): Promise<CurveKeyPair> {
  const text = await readPrivateFile(path, 'CURVE key pair file');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`CURVE key pair file '${path}' is not JSON {"publicKey", "secretKey"}: ${(err as Error).message}`);
  }
  const { publicKey, secretKey } = (parsed ?? {}) as Record<string, unknown>;
  for (const [field, v] of [['publicKey', publicKey], ['secretKey', secretKey]] as const) {
    if (typeof v !== 'string' || !Z85_RE.test(v)) {
      throw new Error(`CURVE key pair file '${path}': ${field} must be a 40-character Z85 key`);
    }
  }
  return { publicKey: publicKey as string, secretKey: secretKey as string };
}

/** Read allowed client public keys: one Z85 key per line (then optional text), '# ' comment lines; mode 0600. */
export async function readAllowedClientKeysFile(path: string): Promise<Set<string>> {
  const keys = await readKeyLines(path, true);
  return new Set(keys);
}

async function readKeyLines(path: string, requireSome: boolean): Promise<string[]> {
  const text = await readPrivateFile(path, 'allowed CURVE client keys file');
  const keys: string[] = [];
  text.split('\n').forEach((raw, i) => {
    // Z85 itself uses '#', so a comment is a line starting with '#' and a space (or a bare '#'),
    // or anything after whitespace following the key.
    const line = raw.trim();
    if (line === '' || line === '#' || line.startsWith('# ')) return;
    const key = line.split(/\s/, 1)[0];
    if (!Z85_RE.test(key)) throw new Error(`allowed CURVE client keys file '${path}' line ${i + 1}: not a 40-character Z85 public key`);
    keys.push(key);
  });
  if (requireSome && keys.length === 0) throw new Error(`allowed CURVE client keys file '${path}' lists no keys: no client could connect`);
  return keys;
}

/** Read a key pair from two Z85 text files (the daemon's curvePublicKeyFile / curveSecretKeyFile), both 0600. */
export async function readCurveKeyFiles(publicKeyFile: string, secretKeyFile: string): Promise<CurveKeyPair> {
  const read = async (path: string, what: string): Promise<string> => {
    const key = (await readPrivateFile(path, what)).trim();
    if (!Z85_RE.test(key)) throw new Error(`${what} '${path}' must hold one 40-character Z85 key`);
    return key;
  };
  return { publicKey: await read(publicKeyFile, 'CURVE public key file'), secretKey: await read(secretKeyFile, 'CURVE secret key file') };
}

/** Allowed client keys from every file of a directory (each in the allowed-keys format, 0600). */
export async function readAllowedClientKeysDir(dir: string): Promise<Set<string>> {
  let mode: number;
  let names: string[];
  try {
    mode = (await stat(dir)).mode;
    names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  } catch (err) {
    throw new Error(`allowed CURVE client keys directory '${dir}' cannot be read: ${(err as Error).message}`);
  }
  if ((mode & 0o022) !== 0) {
    throw new Error(`allowed CURVE client keys directory '${dir}' is writable by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); chmod 700 '${dir}'`);
  }
  const keys = new Set<string>();
  for (const name of names) for (const k of await readKeyLines(join(dir, name), false)) keys.add(k);
  if (keys.size === 0) throw new Error(`allowed CURVE client keys directory '${dir}' holds no keys: no client could connect`);
  return keys;
}

export type CurveServerKeyFiles = ({ serverKeyPairFile: string } | { publicKeyFile: string; secretKeyFile: string }) &
  ({ allowedClientKeysFile: string } | { allowedClientKeysDir: string });

/** Load server CURVE material from files, checking permissions and formats. */
export async function loadCurveServerKeys(files: CurveServerKeyFiles): Promise<CurveServerKeys> {
  const server = 'serverKeyPairFile' in files ? await readCurveKeyPairFile(files.serverKeyPairFile) : await readCurveKeyFiles(files.publicKeyFile, files.secretKeyFile);
  const allowedClients = 'allowedClientKeysFile' in files ? await readAllowedClientKeysFile(files.allowedClientKeysFile) : await readAllowedClientKeysDir(files.allowedClientKeysDir);
  return { server, allowedClients };
}

/** Write a text file readable by its owner only, atomically (tmp 0600, fsync, rename). */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await fsyncDir(dir);
}

/** Generate a key pair and write it as a key pair file (mode 0600). */
export async function writeCurveKeyPairFile(path: string, pair: CurveKeyPair = curveKeyPair()): Promise<CurveKeyPair> {
  await writePrivateFile(path, `${JSON.stringify({ publicKey: pair.publicKey, secretKey: pair.secretKey }, null, 2)}\n`);
  return pair;
}

// ---------------------------------------------------------------------------------------------
// ZAP (ZeroMQ RFC 27): one handler per context, answering for every secured socket.

const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
const Z85_CHARS = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

/** Z85-encode a byte string whose length is a multiple of 4 (a binary CURVE key). */
export function z85Encode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let v = ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0;
    let chunk = '';
    for (let k = 0; k < 5; k++) {
      chunk = Z85_CHARS[v % 85] + chunk;
      v = Math.floor(v / 85);
    }
    out += chunk;
  }
  return out;
}

/**
 * Authenticates CURVE clients by public key, per ZAP domain (each secured socket gets its own
 * domain). ZAP is per ZeroMQ context (its inproc endpoint lives there), so there is one handler
 * per context, shared by all servers of that context: `ZapAuthenticator.acquire(context)`.
 * zeromq.js's default context is one libzmq context for the whole process, worker threads
 * included; a worker that serves CURVE sockets of its own (the threaded policy server) gives
 * them a `new zmq.Context()` and its handler lives there.
 */
export class ZapAuthenticator {
  private static readonly running = new Map<zmq.Context, Promise<ZapAuthenticator>>();
  private readonly domains = new Map<string, ReadonlySet<string>>();
  private nextDomain = 0;
  accepted = 0;
  denied = 0;

  private constructor(
    private readonly socket: zmq.Reply,
    private readonly context: zmq.Context,
  ) {}

  /** The handler of `context` (started on first use). */
  static acquire(context: zmq.Context = zmq.context): Promise<ZapAuthenticator> {
    let running = ZapAuthenticator.running.get(context);
    if (running === undefined) {
      running = (async () => {
        const socket = new zmq.Reply({ linger: 0, context });
        // A handler closed just before may still hold the inproc name for a moment.
        for (let attempt = 0; ; attempt++) {
          try {
            await socket.bind(ZAP_ENDPOINT);
            break;
          } catch (err) {
            if ((err as { code?: string }).code !== 'EADDRINUSE' || attempt >= 20) {
              socket.close();
              ZapAuthenticator.running.delete(context);
              throw new Error(`cannot start the ZAP handler on ${ZAP_ENDPOINT}: ${(err as Error).message}`);
            }
            await new Promise((r) => setTimeout(r, 10));
          }
        }
        const auth = new ZapAuthenticator(socket, context);
        void auth.serve();
        return auth;
      })();
      ZapAuthenticator.running.set(context, running);
    }
    return running;
  }

  /** Register the keys a socket accepts; returns the ZAP domain to set on that socket. */
  register(allowedClients: ReadonlySet<string>): string {
    const domain = `sacbridge-${this.nextDomain++}`;
    this.domains.set(domain, allowedClients);
    return domain;
  }

  /** Forget a socket's domain; the handler stops once no domain is left. */
  release(domain: string): void {
    this.domains.delete(domain);
    if (this.domains.size === 0 && ZapAuthenticator.running.has(this.context)) {
      ZapAuthenticator.running.delete(this.context);
      this.socket.close();
    }
  }

  private async serve(): Promise<void> {
    try {
      for await (const frames of this.socket) {
        await this.socket.send(this.answer(frames));
      }
    } catch {
      // socket closed while waiting
    }
  }

  /** ZAP request: version, request id, domain, address, identity, mechanism, credentials... */
  private answer(frames: Buffer[]): (string | Buffer)[] {
    const requestId = frames[1] ?? Buffer.alloc(0);
    const reply = (status: string, text: string, user = ''): (string | Buffer)[] => ['1.0', requestId, status, text, user, Buffer.alloc(0)];
    if (frames.length < 6 || frames[0].toString() !== '1.0') return reply('500', 'malformed ZAP request');
    const allowed = this.domains.get(frames[2].toString());
    const mechanism = frames[5].toString();
    if (allowed === undefined || mechanism !== 'CURVE' || frames.length < 7 || frames[6].length !== 32) {
      this.denied++;
      return reply('400', 'not authorised');
    }
    const key = z85Encode(frames[6]);
    if (!allowed.has(key)) {
      this.denied++;
      return reply('400', 'client key not allowed');
    }
    this.accepted++;
    return reply('200', 'OK', key);
  }
}

/**
 * Apply the security policy to a server socket and bind it. Returns the bound endpoint (with
 * the real port when the endpoint asked for '*') and a release function for close().
 */
export async function bindSecurely(
  socket: zmq.Socket,
  endpoint: string,
  security: BindSecurity | undefined,
  what: string,
): Promise<{ endpoint: string; release: () => void }> {
  let release = (): void => undefined;
  if (security?.curve !== undefined) {
    const auth = await ZapAuthenticator.acquire(socket.context);
    const domain = auth.register(security.curve.allowedClients);
    release = () => auth.release(domain);
    try {
      socket.curveServer = true;
      socket.curveSecretKey = security.curve.server.secretKey;
      socket.zapDomain = domain;
    } catch (err) {
      // Else the ZAP handler would stay up, holding its context (and a worker thread) alive.
      release();
      throw new Error(`${what}: cannot use the CURVE server key: ${(err as Error).message}`);
    }
  } else if (!isLoopbackEndpoint(endpoint) && security?.insecure !== true) {
    throw new Error(
      `${what}: refusing to bind ${endpoint} without CURVE keys: a non-loopback bind needs a server key pair and allowed client keys, or an explicit insecure setting`,
    );
  }
  try {
    await socket.bind(endpoint);
  } catch (err) {
    release();
    throw new Error(`${what}: cannot bind ${endpoint}: ${(err as Error).message}`);
  }
  return { endpoint: socket.lastEndpoint ?? endpoint, release };
}

/** Configure a client socket for CURVE when keys are given. */
export function applyClientCurve(socket: zmq.Socket, curve: CurveClientKeys | undefined): void {
  if (curve === undefined) return;
  socket.curveServerKey = curve.serverPublicKey;
  socket.curvePublicKey = curve.client.publicKey;
  socket.curveSecretKey = curve.client.secretKey;
}
