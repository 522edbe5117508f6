/**
 * Run a helper program (sox, ffmpeg, espeak-ng) with a time limit, optional
 * stdin, and bounded stderr capture. Arguments are passed as an array, never
 * through a shell.
 */
import { spawn } from 'node:child_process';
import { MeshError } from '../../regions/core/errors.js';

export interface RunOptions {
  timeoutMs: number;
  stdin?: string | Buffer;
}

export async function runProgram(cmd: string, args: string[], o: RunOptions): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    let settled = false;
    const done = (e?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e === undefined) resolve();
      else reject(e);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done(new MeshError('REQUEST_TIMEOUT', `${cmd} took longer than ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString('utf8');
    });
    child.on('error', (e) => done(new MeshError('INTERNAL', `${cmd} could not start: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      if (code === 0) done();
      else done(new MeshError('UNSUPPORTED_MEDIA_TYPE', `${cmd} exited with ${code}: ${stderr.trim().slice(0, 500)}`));
    });
    child.stdin.on('error', () => undefined); // EPIPE when the program exits early; 'close' reports it.
    child.stdin.end(o.stdin ?? '');
  });
}
