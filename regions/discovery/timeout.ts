/** Bounding a backend call in time: discovery must never hang a caller on a slow Redis or Consul. */
import { MeshError } from '../core/errors.js';

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
        reject(e instanceof MeshError ? e : new MeshError('SERVICE_UNAVAILABLE', `${what} failed: ${(e as Error)?.message ?? String(e)}`, { cause: e }));
      },
    );
  });
}
