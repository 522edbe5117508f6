/**
 * Plain HTTP servers on loopback addresses for the webhook destination
 * policy tests: one port, several addresses (127.0.0.1, 127.0.0.2, …), so a
 * host name resolving to either reaches the same port, and each server
 * records what reached it. Handlers answer by path.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hit {
  address: string;
  method: string;
  path: string;
  body: string;
  headers: IncomingMessage['headers'];
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export interface Origins {
  port: number;
  hits: Hit[];
  /** Handlers by path (any address). Unknown paths get 404. */
  routes: Map<string, Handler>;
  /** `http://<address>:<port>` */
  url(address: string, path?: string): string;
  hitsOn(address: string): Hit[];
  close(): Promise<void>;
}

export async function startOrigins(addresses: readonly string[]): Promise<Origins> {
  const hits: Hit[] = [];
  const routes = new Map<string, Handler>();
  const servers: Server[] = [];
  let port = 0;
  for (const address of addresses) {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        hits.push({ address, method: req.method ?? '', path, body, headers: req.headers });
        const h = routes.get(path);
        if (h === undefined) {
          res.writeHead(404).end('not here');
          return;
        }
        h(req, res, body);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => resolve());
    });
    port = (server.address() as AddressInfo).port;
    servers.push(server);
  }
  return {
    port,
    hits,
    routes,
    url: (address, path = '/') => `http://${address.includes(':') ? `[${address}]` : address}:${port}${path}`,
    hitsOn: (address) => hits.filter((h) => h.address === address),
    close: async () => {
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}

export const redirectTo = (location: string, status = 302): Handler => (_req, res) => {
  res.writeHead(status, { Location: location }).end();
};

export const respond = (status: number, body: string | Buffer, headers: Record<string, string> = {}): Handler => (_req, res) => {
  res.writeHead(status, headers).end(body);
};
