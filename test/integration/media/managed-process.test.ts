import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnManaged } from '../../../infra/process.js';
import { rtpengineArgs, startRtpengine } from '../../../infra/rtpengine.js';
import { MeshError } from '../../../regions/core/errors.js';
import { LOG_DIR } from './helpers.js';

async function rejection(p: Promise<unknown>): Promise<MeshError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(MeshError);
    return e as MeshError;
  }
  throw new Error('expected a rejection');
}

const NODE = process.execPath;

describe('spawnManaged (real child processes)', () => {
  it('starts when ready, logs output to the file, and stops with SIGTERM (idempotent)', async () => {
    const logFile = join(LOG_DIR, 'sleeper.log');
    let polls = 0;
    const p = await spawnManaged({
      name: 'sleeper', command: NODE, args: ['-e', 'console.log("hello from child"); setInterval(() => {}, 1000)'], logFile,
      isReady: async () => ++polls >= 3,
    });
    expect(p.pid).toBeGreaterThan(0);
    expect(p.isRunning()).toBe(true);
    expect(polls).toBe(3);
    const s1 = p.stop();
    expect(p.stop()).toBe(s1);
    await s1;
    expect(p.isRunning()).toBe(false);
    expect(await p.exited).toBeNull(); // ended by a signal
    expect(readFileSync(logFile, 'utf8')).toContain('hello from child');
    p.kill('SIGKILL'); // no-op once exited
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    const p = await spawnManaged({
      name: 'stubborn', command: NODE, args: ['-e', 'process.on("SIGTERM", () => console.log("ignored")); console.log("armed"); setInterval(() => {}, 1000)'],
      isReady: async () => true,
    });
    // Wait until node has installed its SIGTERM handler (it says so): a fixed pause is too short on a loaded machine.
    const armedBy = Date.now() + 10_000;
    while (!p.logTail().includes('armed') && Date.now() < armedBy) await new Promise((r) => setTimeout(r, 20));
    expect(p.logTail()).toContain('armed');
    const t0 = Date.now();
    await p.stop(300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(p.isRunning()).toBe(false);
    expect(p.logTail()).toContain('ignored');
  });

  it('rejects, naming the process and its log tail, when it exits before being ready', async () => {
    const e = await rejection(spawnManaged({
      name: 'crasher', command: NODE, args: ['-e', 'console.error("fatal: config broken"); process.exit(3)'],
      isReady: async () => false,
    }));
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toContain('crasher exited with code 3 before it was ready');
    expect(e.message).toContain('fatal: config broken');
  });

  it('rejects when the command does not exist', async () => {
    const e = await rejection(spawnManaged({ name: 'ghost', command: '/nonexistent/binary', args: [], isReady: async () => true }));
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toMatch(/ghost failed to start: .*ENOENT/);
  });

  it('stops the child and rejects with UPSTREAM_TIMEOUT when never ready', async () => {
    let pid = 0;
    const e = await rejection(spawnManaged({
      name: 'never-ready', command: NODE, args: ['-e', 'console.log(process.pid); setInterval(() => {}, 1000)'],
      readyTimeoutMs: 400,
      isReady: async () => {
        throw new Error('probe failed');
      },
    }).catch((err: unknown) => {
      pid = Number(String((err as MeshError).message).match(/\n(\d+)/)?.[1] ?? 0);
      throw err;
    }));
    expect(e.code).toBe('UPSTREAM_TIMEOUT');
    expect(e.message).toContain('never-ready was not ready within 400 ms');
    expect(pid).toBeGreaterThan(0);
    expect(() => process.kill(pid, 0)).toThrow(); // gone
  });
});

describe('startRtpengine', () => {
  it('passes the userspace flags', () => {
    const args = rtpengineArgs({ id: 'x', interfaceAddress: '127.0.8.21', ngPort: 2223, portMin: 46500, portMax: 46599 });
    expect(args).toEqual(expect.arrayContaining(['--config-file=none', '--table=-1', '--interface=127.0.8.21',
      '--listen-ng=127.0.8.21:2223', '--port-min=46500', '--port-max=46599', '--foreground', '--log-stderr', '--log-level=5', '--delete-delay=0']));
  });

  it('reports a start failure with the tail of rtpengine\'s own log', async () => {
    const e = await rejection(startRtpengine({ id: 'bad-iface', interfaceAddress: '127.0.8.21', ngPort: 2223, portMin: 46500, portMax: 46599,
      extraArgs: ['--interface=999.1.1.1'] }));
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toContain('rtpengine bad-iface exited with code 255 before it was ready');
    expect(e.message).toContain("Invalid interface specification: '999.1.1.1'");
  });

  it('refuses to start on an ng port that is already taken', async () => {
    const first = await startRtpengine({ id: 'first', interfaceAddress: '127.0.8.21', ngPort: 2223, portMin: 46500, portMax: 46599,
      logFile: join(LOG_DIR, 'first.log') });
    try {
      const e = await rejection(startRtpengine({ id: 'second', interfaceAddress: '127.0.8.21', ngPort: 2223, portMin: 46600, portMax: 46699 }));
      expect(e.code).toBe('CONFLICT');
      expect(e.message).toContain('127.0.8.21:2223 is already in use');
      expect(first.isRunning()).toBe(true);
    } finally {
      await first.stop();
    }
    expect(await first.exited).toBe(0); // rtpengine shuts down cleanly on SIGTERM
  });
});
