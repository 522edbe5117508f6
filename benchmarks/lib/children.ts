/**
 * Child processes of a benchmark run, kept in one group so that every one of
 * them is stopped at the end — on success, on error and on Ctrl-C.
 *
 * Each child is spawned as the leader of its own process group, so a signal to
 * the group also reaches the processes it forks (Kamailio forks its workers).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface BenchChild {
  readonly name: string;
  readonly pid: number;
  /** Resolves with the exit code (null when killed by a signal). Never rejects. */
  readonly exited: Promise<number | null>;
  hasExited(): boolean;
  /** SIGTERM to the process group, SIGKILL after graceMs. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** File that receives stdout and stderr; both are discarded when absent. */
  logFile?: string;
  /** Keep stdout out of the log (e.g. SIPp's screen refresh); stderr still goes there. */
  discardStdout?: boolean;
}

const DEFAULT_GRACE_MS = 3000;

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Group already gone; fall back to the single process in case it left the group.
    try {
      process.kill(pid, signal);
    } catch {
      /* already exited */
    }
  }
}

export class ChildGroup {
  private readonly children = new Set<BenchChild>();

  spawn(name: string, command: string, args: readonly string[], opts: SpawnOptions = {}): BenchChild {
    const logFd = opts.logFile === undefined ? undefined : openSync(opts.logFile, 'a');
    const out = logFd === undefined || opts.discardStdout === true ? 'ignore' : logFd;
    const err = logFd ?? 'ignore';
    const proc = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', out, err],
      detached: true,
    });
    if (logFd !== undefined) closeSync(logFd);
    const pid = proc.pid;
    if (pid === undefined) {
      throw new Error(`cannot start ${name}: ${command} did not spawn`);
    }
    let done = false;
    const exited = new Promise<number | null>((resolve) => {
      proc.once('exit', (code) => {
        done = true;
        resolve(code);
      });
      proc.once('error', () => {
        done = true;
        resolve(null);
      });
    });
    let stopping: Promise<void> | undefined;
    const child: BenchChild = {
      name,
      pid,
      exited,
      hasExited: () => done,
      stop: (graceMs = DEFAULT_GRACE_MS) => {
        stopping ??= (async () => {
          if (!done) {
            signalGroup(pid, 'SIGTERM');
            const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
            if ((await Promise.race([exited, timer])) === 'timeout') {
              signalGroup(pid, 'SIGKILL');
              await exited;
            }
          }
          // Workers of a group leader that died first may still linger.
          signalGroup(pid, 'SIGKILL');
          this.children.delete(child);
        })();
        return stopping;
      },
    };
    this.children.add(child);
    return child;
  }

  /**
   * Track a process started elsewhere (e.g. infra's spawnManaged) so that
   * stopAll and killAllNow reach it too.
   */
  adopt(name: string, p: { pid: number; exited: Promise<number | null>; stop(graceMs?: number): Promise<void> }): BenchChild {
    let done = false;
    const exited = p.exited.then((code) => {
      done = true;
      return code;
    });
    const child: BenchChild = {
      name,
      pid: p.pid,
      exited,
      hasExited: () => done,
      stop: async (graceMs = DEFAULT_GRACE_MS) => {
        await p.stop(graceMs);
        this.children.delete(child);
      },
    };
    this.children.add(child);
    return child;
  }

  /** Stop every child still running, in reverse start order. */
  async stopAll(): Promise<void> {
    for (const child of [...this.children].reverse()) await child.stop();
  }

  /** Synchronous last resort for process 'exit': SIGKILL every group. */
  killAllNow(): void {
    for (const child of this.children) signalGroup(child.pid, 'SIGKILL');
    this.children.clear();
  }
}
