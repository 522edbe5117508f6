/**
 * Run a helper program (sox, ffmpeg, espeak-ng) with a time limit, optional
 * stdin, and bounded stderr capture. Arguments are passed as an array, never
 * through a shell.
 *
 * The programs are started from a worker thread: starting a process blocks
 * the starting thread until the child has exec'd (libuv reports a failed exec
 * synchronously), 10–30 ms for sox or espeak-ng on this machine, and on the
 * main thread that would stall every call the node carries. The worker is
 * created on first use, unref'd, and replaced if it ever dies.
 */
import { Worker } from 'node:worker_threads';
import { MeshError } from '../../regions/core/errors.js';

export interface RunOptions {
  timeoutMs: number;
  stdin?: string | Buffer;
}

interface Request {
  id: number;
  cmd: string;
  args: string[];
  stdin: string | Uint8Array;
  timeoutMs: number;
}

type Reply = { id: number; outcome: 'ok' } | { id: number; outcome: 'exit'; code: number | null; stderr: string } | { id: number; outcome: 'timeout' } | { id: number; outcome: 'start-failed'; message: string };

/** The worker's code: plain JavaScript, so it runs the same under tsx, vitest and the built dist/. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { spawn } = require('node:child_process');
parentPort.on('message', (r) => {
  let settled = false;
  let stderr = '';
  const reply = (m) => { if (settled) return; settled = true; clearTimeout(timer); parentPort.postMessage({ id: r.id, ...m }); };
  let child;
  try {
    child = spawn(r.cmd, r.args, { stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (e) {
    reply({ outcome: 'start-failed', message: String(e && e.message) });
    return;
  }
  const timer = setTimeout(() => { child.kill('SIGKILL'); reply({ outcome: 'timeout' }); }, r.timeoutMs);
  child.stderr.on('data', (d) => { if (stderr.length < 4096) stderr += d.toString('utf8'); });
  child.on('error', (e) => reply({ outcome: 'start-failed', message: String(e && e.message) }));
  child.on('close', (code) => reply(code === 0 ? { outcome: 'ok' } : { outcome: 'exit', code, stderr }));
  child.stdin.on('error', () => undefined);
  child.stdin.end(typeof r.stdin === 'string' ? r.stdin : Buffer.from(r.stdin));
});
`;

class ProgramRunner {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, (r: Reply) => void>();
  private nextId = 1;

  run(req: Omit<Request, 'id'>): Promise<Reply> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<Reply>((resolve) => {
      this.pending.set(id, resolve);
      worker.ref(); // keep the process alive while a program runs
      worker.postMessage({ ...req, id });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    w.on('message', (r: Reply) => {
      const resolve = this.pending.get(r.id);
      this.pending.delete(r.id);
      if (this.pending.size === 0) w.unref();
      resolve?.(r);
    });
    const fail = (message: string): void => {
      if (this.worker === w) this.worker = undefined;
      for (const [id, resolve] of this.pending) resolve({ id, outcome: 'start-failed', message });
      this.pending.clear();
    };
    w.on('error', (e) => fail(`program runner failed: ${e.message}`));
    w.on('exit', (code) => fail(`program runner exited with ${code}`));
    this.worker = w;
    return w;
  }
}

const runner = new ProgramRunner();

export async function runProgram(cmd: string, args: string[], o: RunOptions): Promise<void> {
  const r = await runner.run({ cmd, args, stdin: o.stdin ?? '', timeoutMs: o.timeoutMs });
  switch (r.outcome) {
    case 'ok':
      return;
    case 'timeout':
      throw new MeshError('REQUEST_TIMEOUT', `${cmd} took longer than ${o.timeoutMs} ms`);
    case 'start-failed':
      throw new MeshError('INTERNAL', `${cmd} could not start: ${r.message}`);
    case 'exit':
      throw new MeshError('UNSUPPORTED_MEDIA_TYPE', `${cmd} exited with ${r.code}: ${r.stderr.trim().slice(0, 500)}`);
  }
}
