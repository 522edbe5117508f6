/** Shared helpers of the regions integration suites. */
import { waitUntil } from '../../support/wait.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  await waitUntil(cond, timeoutMs, what, 10);
}

export interface ChildServer {
  proc: ChildProcess;
  port: number;
  /** Lines the child printed so far. */
  lines: string[];
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Start fixtures/link-server.ts in a child process and wait for READY. */
export async function startChildServer(host: string, port: number): Promise<ChildServer> {
  const script = fileURLToPath(new URL('./fixtures/link-server.ts', import.meta.url));
  const proc = spawn(process.execPath, ['--import', 'tsx', script, host, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  let buf = '';
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  });
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  try {
    await waitFor(() => lines.some((l) => l.startsWith('READY ')) || proc.exitCode !== null, 15_000, 'child link server READY');
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  const ready = lines.find((l) => l.startsWith('READY '));
  if (ready === undefined) throw new Error(`child link server failed: ${stderr}`);
  return {
    proc,
    port: Number(ready.slice(6)),
    lines,
    kill: async (signal) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      if (signal === 'SIGKILL' || signal === 'SIGTERM') await exited;
    },
  };
}
