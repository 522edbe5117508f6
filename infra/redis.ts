/**
 * Redis for the embedded default: reuse one already listening at the
 * configured URL, otherwise start `redis-server` with AOF on and its data
 * under the run folder (nothing acknowledged is lost if a process is killed).
 */
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from '../regions/core/log.js';
import { spawnManaged, type ManagedProcess } from './process.js';

/** True when something accepts a TCP connection and answers PING with PONG within timeoutMs. */
export function isRedisReachable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const sock = createConnection({ host, port });
    let buf = '';
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      done(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n')) finish(buf.startsWith('+PONG'));
    });
    sock.on('error', () => finish(false));
  });
}

export interface RedisTarget {
  host: string;
  port: number;
}

export function redisTargetFromUrl(url: string): RedisTarget {
  const u = new URL(url);
  return { host: u.hostname || '127.0.0.1', port: u.port === '' ? 6379 : Number(u.port) };
}

/**
 * Ensure Redis answers at `url`. Returns the process we started, or null when
 * an existing server was reused (then we must not stop it).
 */
export async function ensureRedis(opts: {
  url: string;
  runDir: string;
  /** AOF persistence. Default true (the embedded default); tests may turn it off. */
  appendOnly?: boolean;
}): Promise<ManagedProcess | null> {
  const { host, port } = redisTargetFromUrl(opts.url);
  if (await isRedisReachable(host, port)) return null;
  const dir = resolve(join(opts.runDir, `redis-${port}`));
  mkdirSync(dir, { recursive: true });
  const aof = opts.appendOnly ?? true;
  return spawnManaged({
    name: `redis-${port}`,
    command: 'redis-server',
    args: [
      '--bind', host,
      '--port', String(port),
      '--dir', dir,
      '--appendonly', aof ? 'yes' : 'no',
      '--appendfsync', 'everysec',
      '--save', '',
      '--protected-mode', 'no',
      '--daemonize', 'no',
    ],
    logFile: join(opts.runDir, 'logs', `redis-${port}.log`),
    isReady: () => isRedisReachable(host, port, 300),
    readyTimeoutMs: 10000,
  });
}

/**
 * The Redis client every process of the mesh uses: a timeout on every command,
 * one retry, and reconnection in the background (commands fail fast
 * meanwhile, callers decide what a failure means). Errors are logged at debug
 * level: the callers log what failed for them.
 *
 * No auto-pipelining: V8 promoted every ioredis pipeline, with its commands
 * and their arguments, to the old generation (nearly all of a pipeline's bytes
 * in a test of 40 SETs every 10 ms, none without), so each one waited for a
 * full GC. What must go out in one write (a signaling node's per-call writes)
 * is corked by the WriteBatcher instead.
 */
export function createRedisClient(url: string, opts: { commandTimeoutMs: number; lazyConnect?: boolean }, log: Logger): Redis {
  const redis = new Redis(url, {
    commandTimeout: opts.commandTimeoutMs,
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: opts.lazyConnect ?? false,
  });
  redis.on('error', (e) => log.debug('redis error', { error: e }));
  return redis;
}
