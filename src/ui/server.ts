import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { closeHttp, listenHttp } from '../util/httpListen.js';
import { packageRoot } from '../util/packageRoot.js';
import { SafetyWatch, type SafetyReport, type UiEvents } from './events.js';
import { listReplays, REPLAY_DIR } from './replay.js';
import type { Scene } from './scene.js';

/**
 * The web UI's HTTP and WebSocket server (loopback by default). Serves the page (src/ui/web/,
 * compiled to dist/src/ui/web/), three.js and uPlot from the installed packages (no CDN: robot
 * networks are often offline), and the run's data:
 *
 *   GET /api/scene          the 3D scene (scene.ts), or 404 without a MuJoCo model
 *   GET /api/records        every record of RUN_DIR/metrics.jsonl so far
 *   GET /api/replays        the evaluation replays (names); GET /api/replays/NAME one of them
 *   GET /api/status         the daemon's status (or null for `sacbridge view`)
 *   GET /api/events         the recent events (events.ts): phase changes, safety events
 *   WS  /ws                 pushes {type:'records', records} as metrics.jsonl grows,
 *                           {type:'status', status} every second, {type:'event', event} as
 *                           events happen and {type:'poses', poses, source} (7 numbers per body;
 *                           source: training, evaluation or robot) up to `poseHz` times a
 *                           second while live
 */
export interface UiSources {
  readonly runDir: string;
  /** The scene to draw; null when the run has no MuJoCo model. */
  scene(): Scene | null;
  /** Current body poses of the live plant and what it is ('training', 'evaluation', 'robot'), or null when nothing is live. */
  poses?(): { poses: Float32Array; label?: string } | null;
  status?(): unknown;
  /** Phase changes and safety events; the server adds the safety events it sees in `safety`. */
  readonly events?: UiEvents;
  /** The robot's safety report while fine-tuning (else null), looked at every second. */
  safety?(): SafetyReport | null;
  readonly poseHz?: number;
}

export interface UiServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json' };

/** Files the page may load, by URL prefix: the directory they come from. */
function staticRoots(): Record<string, string> {
  const root = packageRoot();
  const req = createRequire(join(root, 'package.json'));
  return {
    '/app/': join(root, 'dist', 'src', 'ui', 'web'),
    '/page/': join(root, 'src', 'ui', 'web'),
    '/vendor/three/': dirname(req.resolve('three')),
    '/vendor/uplot/': dirname(req.resolve('uplot')),
  };
}

export async function startUiServer(sources: UiSources, host: string, port: number): Promise<UiServer> {
  const roots = staticRoots();
  const metricsFile = join(sources.runDir, 'metrics.jsonl');
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const json = (body: unknown, status = 200): void => void res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
    if (path === '/') return sendFile(res, join(roots['/page/']!, 'index.html'));
    if (path === '/api/scene') {
      const scene = sources.scene();
      return scene === null ? json({ error: 'this run has no MuJoCo model to draw' }, 404) : json(scene);
    }
    if (path === '/api/records') return json((await readRecords(metricsFile, 0)).records);
    if (path === '/api/status') return json(sources.status?.() ?? null);
    if (path === '/api/events') return json(sources.events?.recent() ?? []);
    if (path === '/api/replays') return json(await listReplays(sources.runDir));
    if (path.startsWith('/api/replays/')) {
      const name = path.slice('/api/replays/'.length);
      if (!/^eval-\d+\.json$/.test(name)) return json({ error: `no replay named ${name}` }, 404);
      return sendFile(res, join(sources.runDir, REPLAY_DIR, name));
    }
    for (const [prefix, dir] of Object.entries(roots)) {
      if (!path.startsWith(prefix)) continue;
      const file = normalize(join(dir, path.slice(prefix.length)));
      if (!file.startsWith(dir + sep)) break; // no escaping the directory with ..
      return sendFile(res, file);
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
  }

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').split('?')[0] !== '/ws') {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  // One reader of metrics.jsonl for every client: new complete lines since the last read.
  let offset = (await readRecords(metricsFile, 0)).end;
  const send = (ws: WebSocket, message: unknown): void => {
    if (ws.readyState === ws.OPEN && ws.bufferedAmount < 1 << 20) ws.send(JSON.stringify(message));
  };
  const broadcast = (message: unknown): void => {
    for (const ws of wss.clients) send(ws, message);
  };
  const unsubscribe = sources.events?.subscribe((event) => broadcast({ type: 'event', event }));
  // Watched whether or not a page is open: a page opened later gets the events from /api/events.
  const watch = sources.events === undefined || sources.safety === undefined ? null : new SafetyWatch(sources.events);
  let reading = false;
  const everySecond = setInterval(() => {
    watch?.observe(sources.safety!());
    const status = sources.status?.();
    if (wss.clients.size === 0 || reading) return;
    reading = true;
    readRecords(metricsFile, offset)
      .then((r) => {
        offset = r.end;
        if (r.records.length > 0) broadcast({ type: 'records', records: r.records });
        if (status !== undefined) broadcast({ type: 'status', status });
      })
      .catch(() => undefined)
      .finally(() => (reading = false));
  }, 1000);
  const poseTimer =
    sources.poses === undefined
      ? null
      : setInterval(() => {
          if (wss.clients.size === 0) return;
          const p = sources.poses!();
          if (p !== null) broadcast({ type: 'poses', poses: Array.from(p.poses, (x) => Math.round(x * 1e4) / 1e4), ...(p.label === undefined ? {} : { source: p.label }) });
        }, 1000 / (sources.poseHz ?? 20));

  const bound = await listenHttp(server, host, port);
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${h}:${bound}/`,
    port: bound,
    close: async () => {
      clearInterval(everySecond);
      unsubscribe?.();
      if (poseTimer !== null) clearInterval(poseTimer);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await closeHttp(server);
    },
  };
}

async function sendFile(res: ServerResponse, file: string): Promise<void> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new Error('not a file');
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  createReadStream(file).pipe(res);
}

/** Complete JSON lines of `file` from byte `from`; a torn last line waits for the next read. */
export async function readRecords(file: string, from: number): Promise<{ records: unknown[]; end: number }> {
  let text: string;
  try {
    if (from === 0) text = await readFile(file, 'utf8');
    else {
      const fh = await open(file, 'r');
      try {
        const size = (await fh.stat()).size;
        if (size <= from) return { records: [], end: size < from ? 0 : from }; // a shorter file was replaced: start over
        const buf = Buffer.alloc(size - from);
        await fh.read(buf, 0, buf.length, from);
        text = buf.toString('utf8');
      } finally {
        await fh.close();
      }
    }
  } catch {
    return { records: [], end: from };
  }
  const last = text.lastIndexOf('\n');
  if (last < 0) return { records: [], end: from };
  const records: unknown[] = [];
  for (const line of text.slice(0, last).split('\n')) {
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line));
    } catch {
      // a torn line from a crash: skip it, as `sacbridge plot` does
    }
  }
  return { records, end: from + Buffer.byteLength(text.slice(0, last + 1)) };
}
