/**
 * A user-space TCP relay that adds a fixed one-way delay in each direction, to
 * emulate the distance between regions on one machine (the kernel here has no
 * netem). Every chunk read from one side is written to the other `delayMs`
 * after it arrived (never earlier: a timer that fires early re-arms); since
 * the delay is the same for every chunk, a FIFO per direction keeps byte order. End-of-stream is delayed the same way, so data
 * in flight is delivered before the half-close.
 *
 * Bounded: when more than `maxBufferedBytes` wait in one direction the source
 * socket is paused until the backlog drains (TCP backpressure, not memory).
 * `setBlocked(true)` cuts the link (drops connections, refuses new ones) for
 * failover drills; `setDelay()` changes the delay for new chunks.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { MeshError } from '../core/errors.js';

export interface DelayRelayOptions {
  /** Address to listen on, e.g. 127.0.9.10. */
  listenHost: string;
  /** 0 picks a free port (see listen()'s result). */
  listenPort: number;
  targetHost: string;
  targetPort: number;
  /** One-way delay added in each direction. */
  delayMs: number;
  /** Local address for the connection to the target. Default: any. */
  localAddress?: string;
  /** Backlog per direction above which the source is paused. Default 4 MiB. */
  maxBufferedBytes?: number;
  /** Connect timeout towards the target. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** Most relayed connections at once. Default 256. */
  maxConnections?: number;
  /** Client addresses allowed to connect; others are refused. Default: anyone. */
  allowFrom?: readonly string[];
}

interface Pipe {
  client: Socket;
  upstream: Socket;
  close(): void;
}

export class DelayRelay {
  private readonly opts: DelayRelayOptions;
  private readonly server: Server;
  private readonly pipes = new Set<Pipe>();
  private delay: number;
  private blocked = false;
  private closing: Promise<void> | undefined;
  /** Connections relayed so far. */
  accepted = 0;
  /** Connections refused because their address is not in `allowFrom`. */
  refused = 0;

  constructor(opts: DelayRelayOptions) {
    if (!Number.isFinite(opts.delayMs) || opts.delayMs < 0) throw new MeshError('CONFIG_INVALID', `delayMs must be >= 0, got ${opts.delayMs}`);
    this.opts = opts;
    this.delay = opts.delayMs;
    // Half-open allowed so a FIN is relayed (delayed) instead of closing both ways at once.
    this.server = createServer({ allowHalfOpen: true }, (s) => this.accept(s));
    this.server.maxConnections = opts.maxConnections ?? 256;
  }

  get delayMs(): number {
    return this.delay;
  }

  get activeConnections(): number {
    return this.pipes.size;
  }

  listen(): Promise<{ address: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(new MeshError('TRANSPORT_ERROR', `delay relay cannot listen: ${e.message}`, { cause: e }));
      this.server.once('error', onError);
      this.server.listen(this.opts.listenPort, this.opts.listenHost, () => {
        this.server.off('error', onError);
        const a = this.server.address() as AddressInfo;
        resolve({ address: a.address, port: a.port });
      });
    });
  }

  /** New delay for chunks arriving from now on (earlier ones keep theirs; order is kept either way). */
  setDelay(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new MeshError('CONFIG_INVALID', `delayMs must be >= 0, got ${ms}`);
    this.delay = ms;
  }

  /** Cut (true) or restore (false) the link. Cutting drops every relayed connection. */
  setBlocked(blocked: boolean): void {
    this.blocked = blocked;
    if (blocked) for (const p of [...this.pipes]) p.close();
  }

  /** Stop listening and drop all relayed connections. Idempotent. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closing = new Promise<void>((resolve) => {
      for (const p of [...this.pipes]) p.close();
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
    return this.closing;
  }

  private accept(client: Socket): void {
    if (this.blocked || this.closing !== undefined) {
      client.destroy();
      return;
    }
    const allow = this.opts.allowFrom;
    if (allow !== undefined && !allow.includes(client.remoteAddress ?? '')) {
      this.refused++;
      client.destroy();
      return;
    }
    this.accepted++;
    client.setNoDelay(true);
    const upstream = connect({
      allowHalfOpen: true,
      host: this.opts.targetHost,
      port: this.opts.targetPort,
      ...(this.opts.localAddress === undefined ? {} : { localAddress: this.opts.localAddress }),
    });
    upstream.setNoDelay(true);
    const timers = new Set<NodeJS.Timeout>();
    let closed = false;
    const pipe: Pipe = {
      client,
      upstream,
      close: () => {
        if (closed) return;
        closed = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        client.destroy();
        upstream.destroy();
        this.pipes.delete(pipe);
      },
    };
    this.pipes.add(pipe);
    const connectTimer = setTimeout(() => pipe.close(), this.opts.connectTimeoutMs ?? 2000);
    upstream.once('connect', () => clearTimeout(connectTimer));
    client.on('error', () => pipe.close());
    upstream.on('error', () => pipe.close());
    client.on('close', () => pipe.close());
    upstream.on('close', () => pipe.close());
    // Until upstream connects, chunks from the client wait in the same delayed FIFO;
    // writes to a connecting socket are buffered by Node and sent once it is up.
    this.direction(client, upstream, timers, () => closed);
    this.direction(upstream, client, timers, () => closed);
  }

  /** Delay everything read from `from` before writing it to `to`. */
  private direction(from: Socket, to: Socket, timers: Set<NodeJS.Timeout>, isClosed: () => boolean): void {
    const maxBuffered = this.opts.maxBufferedBytes ?? 4 * 1024 * 1024;
    const fifo: { dueAt: number; chunk: Buffer | null }[] = [];
    let buffered = 0;
    let timer: NodeJS.Timeout | undefined;

    const pump = (): void => {
      timer = undefined;
      if (isClosed()) return;
      const now = performance.now();
      while (fifo.length > 0 && (fifo[0]?.dueAt ?? Infinity) <= now) {
        const item = fifo.shift();
        if (item === undefined) break;
        if (item.chunk === null) {
          to.end();
          return;
        }
        buffered -= item.chunk.length;
        to.write(item.chunk);
      }
      if (buffered <= maxBuffered / 2 && from.isPaused()) from.resume();
      arm();
    };
    const arm = (): void => {
      const head = fifo[0];
      if (timer !== undefined || head === undefined) return;
      timer = setTimeout(() => {
        if (timer !== undefined) timers.delete(timer);
        pump();
      }, Math.max(0, head.dueAt - performance.now()));
      timers.add(timer);
    };

    from.on('data', (chunk: Buffer) => {
      fifo.push({ dueAt: performance.now() + this.delay, chunk });
      buffered += chunk.length;
      if (buffered > maxBuffered) from.pause();
      arm();
    });
    from.on('end', () => {
      fifo.push({ dueAt: performance.now() + this.delay, chunk: null });
      arm();
    });
  }
}
