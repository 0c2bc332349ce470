import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Start `server` listening; resolves to the bound port (port 0 picks a free one), rejects on a bind error. */
export async function listenHttp(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Close `server`, ending open connections (keep-alive, WebSocket) at once. */
export function closeHttp(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}
