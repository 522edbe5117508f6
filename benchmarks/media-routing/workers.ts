/**
 * Worker threads for the benchmark's sender and links, so sending, relaying
 * and receiving each get their own event loop (a burst of sends must not
 * delay the receive timestamps). Workers run TypeScript through tsx's
 * register API, since a worker does not inherit the parent's `--import tsx`.
 */
import { Worker } from 'node:worker_threads';

export interface BenchWorker {
  /** Post a message and wait for the first reply of `replyType` (or fail after `timeoutMs`). */
  request<T>(message: Record<string, unknown>, replyType: string, timeoutMs?: number): Promise<T>;
  /** Terminate the thread. Idempotent. */
  close(): Promise<void>;
}

export function startWorker(file: URL, workerData: unknown): BenchWorker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const source = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(file.href)}); })`;
  const worker = new Worker(source, { eval: true, workerData });
  let failure: Error | undefined;
  worker.on('error', (e) => {
    failure = e;
  });
  let closing: Promise<void> | undefined;
  return {
    request<T>(message: Record<string, unknown>, replyType: string, timeoutMs = 60_000): Promise<T> {
      if (failure !== undefined) return Promise.reject(failure);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`worker did not answer "${String(message.type)}" within ${timeoutMs} ms`)), timeoutMs);
        const onMessage = (m: { type?: string }): void => {
          if (m.type === replyType) finish(undefined, m as T);
        };
        const onError = (e: Error): void => finish(e);
        const finish = (e: Error | undefined, v?: T): void => {
          clearTimeout(timer);
          worker.off('message', onMessage);
          worker.off('error', onError);
          if (e !== undefined) reject(e);
          else resolve(v as T);
        };
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.postMessage(message);
      });
    },
    close(): Promise<void> {
      closing ??= worker.terminate().then(() => undefined);
      return closing;
    },
  };
}
