import { createServer, type Server } from 'node:http';
import { closeHttp, listenHttp } from '../util/httpListen.js';
import type { Metrics } from './metrics.js';

export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics (Prometheus text) and GET /status (the daemon's status as JSON, for
 * `sacbridge status`). Anything else is 404. Binds where told (loopback by default in the schema).
 */
export async function serveMetrics(metrics: Metrics, host: string, port: number, status: () => unknown): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.text().then(
        (body) => res.writeHead(200, { 'content-type': metrics.contentType }).end(body),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
      );
    } else if (path === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(status()));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /status\n');
    }
  });
  return { host, port: await listenHttp(server, host, port), close: () => closeHttp(server) };
}
