import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { MeshError } from '../regions/core/errors.js';

/**
 * A child process we own (rtpengine, redis, our own nodes): started, polled
 * until ready, stopped with SIGTERM then SIGKILL. Output is appended to a log
 * file and the last few KiB are kept in memory so a start failure can say why.
 * Children still running when this process exits are SIGKILLed, so a crashed
 * test run does not leave daemons holding our ports.
 */

export interface SpawnManagedOptions {
  /** Name used in errors and logs, e.g. `rtpengine us-east-1`. */
  name: string;
  command: string;
  args: string[];
  /** stdout and stderr are appended here. Default: kept only in the in-memory tail. */
  logFile?: string;
  /** Extra environment, merged over this process's environment. */
  env?: Record<string, string>;
  /** Polled every `readyPollMs` until it resolves true; a throw counts as not ready. */
  isReady?: () => Promise<boolean>;
  /**
   * Ready once the child has printed this text (stdout or stderr), e.g. a
   * standby signaling node's `STANDBY` line. With `isReady` too, both must hold.
   */
  readyOutput?: string;
  /** Give up (and stop the child) after this long. Default 10000 ms. */
  readyTimeoutMs?: number;
  /** Interval between readiness polls. Default 50 ms. */
  readyPollMs?: number;
  /** Working directory. Default: this process's. */
  cwd?: string;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** SIGTERM, then SIGKILL after `timeoutMs` (default 5000); resolves when the child has exited. Idempotent. */
  stop(timeoutMs?: number): Promise<void>;
  /** Send a signal (e.g. SIGKILL in failure tests). No-op once exited. */
  kill(signal: NodeJS.Signals): void;
  /** Resolves with the exit code, or null when a signal ended the child. Never rejects. */
  readonly exited: Promise<number | null>;
  isRunning(): boolean;
  /** The last bytes of the child's output (for error messages). */
  logTail(): string;
}

const TAIL_BYTES = 4096;
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous; kill() is.
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export async function spawnManaged(opts: SpawnManagedOptions): Promise<ManagedProcess> {
  installExitHook();
  const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
  const readyPollMs = opts.readyPollMs ?? 50;

  let log: WriteStream | undefined;
  if (opts.logFile !== undefined) {
    mkdirSync(dirname(opts.logFile), { recursive: true });
    log = createWriteStream(opts.logFile, { flags: 'a' });
    log.on('error', () => undefined); // a full disk must not crash the supervisor
    log.write(`--- ${new Date().toISOString()} start ${opts.name}: ${opts.command} ${opts.args.join(' ')}\n`);
  }
  let tail = '';
  // Latched: the marker may scroll out of the tail before the next readiness poll.
  let markerSeen = opts.readyOutput === undefined;
  const onOutput = (chunk: Buffer): void => {
    log?.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
    if (!markerSeen && tail.includes(opts.readyOutput!)) markerSeen = true;
  };

  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: { ...process.env, ...(opts.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);

  let running = true;
  let spawnError: Error | undefined;
  const exited = new Promise<number | null>((resolve) => {
    const finish = (code: number | null): void => {
      if (!running) return;
      running = false;
      live.delete(child);
      log?.end();
      resolve(code);
    };
    child.once('error', (e) => {
      spawnError = e;
      finish(null);
    });
    child.once('exit', (code) => {
      // Let buffered output arrive before closing the log.
      setImmediate(() => finish(code));
    });
  });

  let stopping: Promise<void> | undefined;
  const managed: ManagedProcess = {
    name: opts.name,
    pid: child.pid ?? -1,
    exited,
    isRunning: () => running,
    logTail: () => tail,
    kill(signal) {
      if (!running) return;
      try {
        child.kill(signal);
      } catch {
        // raced with exit
      }
    },
    stop(timeoutMs = 5000) {
      if (stopping === undefined) {
        stopping = (async () => {
          if (!running) return;
          managed.kill('SIGTERM');
          let timer: NodeJS.Timeout | undefined;
          const timedOut = await Promise.race([
            exited.then(() => false),
            new Promise<boolean>((r) => { timer = setTimeout(() => r(true), timeoutMs); }),
          ]);
          clearTimeout(timer);
          if (timedOut) managed.kill('SIGKILL');
          await exited;
        })();
      }
      return stopping;
    },
  };

  // A missing binary is reported by an 'error' event after spawn() returns:
  // wait for the outcome before asking isReady, which may already say yes.
  await new Promise<void>((resolve) => {
    child.once('spawn', () => resolve());
    void exited.then(() => resolve());
  });

  // Poll readiness until ready, exited, or timed out.
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (!running) {
      const code = await exited;
      const why = spawnError !== undefined ? `failed to start: ${spawnError.message}` : `exited with code ${code} before it was ready`;
      throw new MeshError('INTERNAL', `${opts.name} ${why}; log tail:\n${tail.slice(-1500)}`, {
        detail: { process: opts.name, exitCode: code, logFile: opts.logFile },
        cause: spawnError,
      });
    }
    let ready = markerSeen;
    try {
      if (ready && opts.isReady !== undefined) ready = await opts.isReady();
    } catch {
      ready = false;
    }
    if (ready && running) return managed;
    if (Date.now() >= deadline) {
      await managed.stop(2000);
      throw new MeshError('UPSTREAM_TIMEOUT', `${opts.name} was not ready within ${readyTimeoutMs} ms; log tail:\n${tail.slice(-1500)}`, {
        detail: { process: opts.name, logFile: opts.logFile },
      });
    }
    await Promise.race([new Promise((r) => setTimeout(r, readyPollMs)), exited]);
  }
}
