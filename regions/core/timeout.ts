/** Bounding a backend call in time: discovery and the batched Redis writes must never hang a caller on a slow Redis, etcd or Consul. */
import { MeshError } from './errors.js';

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new MeshError('UPSTREAM_TIMEOUT', `${what} timed out after ${ms} ms`, { detail: { timeoutMs: ms } })), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        if (e instanceof MeshError) return reject(e);
        const message = (e as Error)?.message ?? String(e);
        // Clients with their own timeout (ioredis commandTimeout, the Consul client's) report it as a plain Error.
        const code = /timed? ?out/i.test(message) ? 'UPSTREAM_TIMEOUT' : 'SERVICE_UNAVAILABLE';
        reject(new MeshError(code, `${what} failed: ${message}`, { cause: e }));
      },
    );
  });
}
