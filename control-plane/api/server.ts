/** Serves a hono app over HTTP/1.1 (node:http) with an idempotent close(). */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface ServeOptions {
  hostname: string;
  /** 0 = ephemeral. */
  port: number;
  /** Per-request socket idle timeout; default 30 s. */
  requestTimeoutMs?: number;
}

export function startHttpServer(app: { fetch: (req: Request) => Response | Promise<Response> }, opts: ServeOptions): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: opts.hostname, port: opts.port }, (info: AddressInfo) => {
      let closing: Promise<void> | undefined;
      resolve({
        url: `http://${opts.hostname}:${info.port}`,
        port: info.port,
        close: () =>
          (closing ??= new Promise<void>((done) => {
            (server as Server).close(() => done());
            (server as Server).closeAllConnections();
          })),
      });
    }) as Server;
    server.requestTimeout = opts.requestTimeoutMs ?? 30_000;
    server.headersTimeout = Math.min(server.requestTimeout, 10_000);
    server.once('error', reject);
  });
}
