/**
 * A user-space UDP relay that adds a fixed one-way delay in each direction, to
 * carry RTP between emulated regions on one machine (the kernel here has no
 * netem). The TCP sibling is `DelayRelay`.
 *
 * Two sockets: `listen` faces the near side, `upstream` (bound to
 * `localAddress`) faces `target`. A datagram that arrives on `listen` is sent
 * from `upstream` to the target `delayMs` later; a datagram from the target on
 * `upstream` is sent from `listen` to the near peer. The near peer is learnt
 * from the last source seen on `listen` — the way symmetric RTP (RFC 4961)
 * endpoints and rtpengine learn where to send back. Datagrams from anyone but
 * the target on `upstream` are dropped.
 *
 * Order: each direction is a FIFO and a datagram is due no earlier than the
 * one before it, so lowering the delay never reorders (RTP receivers tolerate
 * reordering, but an emulated link should not invent it). Like netem, a
 * datagram is never delivered before its delay has passed (timers may fire a
 * little late, never early); with a delay of 0 it is sent on at once.
 *
 * `near` pins the near peer instead of learning it: only that endpoint may
 * use the relay, and the target can send to it before it ever sent anything
 * (the inter-region SIP relays of `infra/link-delays.ts`, where the target
 * trusts the relay's source as a peer region's signaling node).
 *
 * Bounded: at most `maxQueuedPackets` wait per direction; more are dropped
 * and counted (tail drop, like a router queue), datagrams above
 * `maxDatagramBytes` are dropped too. `setBlocked(true)` cuts the link: queued
 * datagrams are discarded and new ones dropped until it is restored.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { MeshError } from '../core/errors.js';

export interface UdpDelayRelayOptions {
  /** Address the near side sends to, e.g. 127.0.11.20. */
  listenHost: string;
  /** 0 picks a free port (see start()'s result). Default 0. */
  listenPort?: number;
  targetHost: string;
  targetPort: number;
  /** One-way delay added in each direction, ms. */
  delayMs: number;
  /** Local address of the socket that talks to the target. Default: listenHost. */
  localAddress?: string;
  /** Local port of that socket. Default 0 (any). */
  localPort?: number;
  /** The only near peer: datagrams on `listen` from anyone else are dropped. Default: the last source seen on `listen`. */
  near?: { address: string; port: number };
  /** Most datagrams waiting per direction; more are dropped. Default 4096. */
  maxQueuedPackets?: number;
  /** Largest datagram relayed; larger ones are dropped. Default 2048 (RTP on loopback is far smaller). */
  maxDatagramBytes?: number;
}

export interface UdpDelayRelayStats {
  /** Datagrams delivered near → target and target → near. */
  forwarded: { toTarget: number; toNear: number };
  /** Datagrams dropped: queue full, too large, link blocked, unknown source (either side), no near peer yet. */
  dropped: { queueFull: number; tooLarge: number; blocked: number; strangers: number; noPeer: number };
  queued: { toTarget: number; toNear: number };
}

export interface UdpRelayEndpoints {
  /** Where the near side sends. */
  listen: { address: string; port: number };
  /** Source address the target sees (put this in SDP handed to the target). */
  upstream: { address: string; port: number };
}

interface Queued {
  dueAt: number;
  data: Buffer;
}

/**
 * One timer for every relay of the process: a min-heap of the queues that
 * hold datagrams, keyed by the due time of their head. With hundreds of
 * relays (one per RTP stream in a benchmark) a timer per queue would cost a
 * timer callback per datagram; this costs one per due instant.
 */
class DelayScheduler {
  private readonly heap: { dueAt: number; seq: number; queue: DelayedQueue; generation: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;
  private seq = 0;

  schedule(dueAt: number, queue: DelayedQueue, generation: number): void {
    const h = this.heap;
    h.push({ dueAt, seq: this.seq++, queue, generation });
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
    if (dueAt < this.armedFor) this.arm();
  }

  private arm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    const head = this.heap[0];
    if (head === undefined) {
      this.timer = undefined;
      this.armedFor = Infinity;
      return;
    }
    this.armedFor = head.dueAt;
    this.timer = setTimeout(() => this.fire(), Math.max(0, head.dueAt - performance.now()));
    // Relays' sockets keep the process alive while they are open; the timer alone must not.
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    // Only what is due: a timer that fires early (libuv counts whole milliseconds) re-arms for the rest.
    const horizon = performance.now();
    for (let head = this.heap[0]; head !== undefined && head.dueAt <= horizon; head = this.heap[0]) {
      this.pop();
      head.queue.pump(head.generation, horizon);
    }
    this.arm();
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(l, m)) m = l;
      if (r < h.length && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private less(a: number, b: number): boolean {
    const x = this.heap[a];
    const y = this.heap[b];
    if (x === undefined || y === undefined) return false;
    return x.dueAt < y.dueAt || (x.dueAt === y.dueAt && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    const h = this.heap;
    const t = h[a];
    h[a] = h[b] as (typeof h)[number];
    h[b] = t as (typeof h)[number];
  }
}

const scheduler = new DelayScheduler();

/** One direction: a FIFO, scheduled on the shared scheduler by its head's due time. */
class DelayedQueue {
  private items: Queued[] = [];
  private head = 0;
  private lastDue = 0;
  /** Bumped by clear(): heap entries of an older generation are stale and ignored. */
  private generation = 0;
  private scheduled = false;

  constructor(
    private readonly max: number,
    private readonly deliver: (data: Buffer) => void,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** False when the queue is full (the datagram is dropped by the caller). */
  push(data: Buffer, delayMs: number): boolean {
    if (this.length >= this.max) return false;
    const now = performance.now();
    if (delayMs === 0 && this.length === 0) {
      // Nothing waits ahead of it: a zero-delay link forwards at once instead of after a timer tick.
      this.lastDue = now;
      this.deliver(data);
      return true;
    }
    // Never due before the previous datagram: keeps FIFO order when the delay is lowered.
    const dueAt = Math.max(now + delayMs, this.lastDue);
    this.lastDue = dueAt;
    this.items.push({ dueAt, data });
    if (!this.scheduled) {
      this.scheduled = true;
      scheduler.schedule(dueAt, this, this.generation);
    }
    return true;
  }

  clear(): void {
    this.generation++;
    this.scheduled = false;
    this.items = [];
    this.head = 0;
  }

  /** Called by the scheduler: deliver what is due by `horizon`, then reschedule on the next head. */
  pump(generation: number, horizon: number): void {
    if (generation !== this.generation) return;
    while (this.head < this.items.length) {
      const item = this.items[this.head];
      if (item === undefined || item.dueAt > horizon) break;
      this.head++;
      this.deliver(item.data);
    }
    // Compact occasionally instead of shift() per datagram (O(n) each).
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    const next = this.items[this.head];
    if (next === undefined) {
      this.scheduled = false;
      return;
    }
    scheduler.schedule(next.dueAt, this, this.generation);
  }
}

export class UdpDelayRelay {
  private readonly opts: UdpDelayRelayOptions;
  private readonly listenSocket: dgram.Socket;
  private readonly upstreamSocket: dgram.Socket;
  private readonly toTarget: DelayedQueue;
  private readonly toNear: DelayedQueue;
  private delay: number;
  private blocked = false;
  private near: { address: string; port: number } | undefined;
  private started: Promise<UdpRelayEndpoints> | undefined;
  private closing: Promise<void> | undefined;
  private readonly counters: UdpDelayRelayStats = {
    forwarded: { toTarget: 0, toNear: 0 },
    dropped: { queueFull: 0, tooLarge: 0, blocked: 0, strangers: 0, noPeer: 0 },
    queued: { toTarget: 0, toNear: 0 },
  };

  constructor(opts: UdpDelayRelayOptions) {
    assertDelay(opts.delayMs);
    const hosts = [['listenHost', opts.listenHost], ['targetHost', opts.targetHost], ['localAddress', opts.localAddress ?? opts.listenHost], ['near.address', opts.near?.address ?? opts.listenHost]] as const;
    for (const [key, host] of hosts) {
      if (isIP(host) !== 4) throw new MeshError('CONFIG_INVALID', `udp delay relay: ${key} "${host}" is not an IPv4 literal`);
    }
    if (!Number.isInteger(opts.targetPort) || opts.targetPort < 1 || opts.targetPort > 65535) {
      throw new MeshError('CONFIG_INVALID', `udp delay relay: targetPort ${opts.targetPort} is out of range`);
    }
    if (opts.near !== undefined && (!Number.isInteger(opts.near.port) || opts.near.port < 1 || opts.near.port > 65535)) {
      throw new MeshError('CONFIG_INVALID', `udp delay relay: near.port ${opts.near.port} is out of range`);
    }
    this.opts = opts;
    this.delay = opts.delayMs;
    this.near = opts.near === undefined ? undefined : { ...opts.near };
    const maxQueued = opts.maxQueuedPackets ?? 4096;
    this.listenSocket = dgram.createSocket('udp4');
    this.upstreamSocket = dgram.createSocket('udp4');
    this.toTarget = new DelayedQueue(maxQueued, (d) => {
      this.counters.forwarded.toTarget++;
      // Connected (see start()): no per-datagram address resolution.
      this.upstreamSocket.send(d);
    });
    this.toNear = new DelayedQueue(maxQueued, (d) => {
      const near = this.near;
      if (near === undefined) return;
      this.counters.forwarded.toNear++;
      this.listenSocket.send(d, near.port, near.address);
    });
    // Send errors on UDP (ICMP port unreachable on loopback) are per-datagram; the link just loses it.
    this.listenSocket.on('error', () => undefined);
    this.upstreamSocket.on('error', () => undefined);
    this.listenSocket.on('message', (msg, rinfo) => this.fromNear(msg, rinfo));
    this.upstreamSocket.on('message', (msg, rinfo) => this.fromTarget(msg, rinfo));
  }

  get delayMs(): number {
    return this.delay;
  }

  get isBlocked(): boolean {
    return this.blocked;
  }

  /** Bind both sockets. Idempotent: later calls return the same endpoints. */
  start(): Promise<UdpRelayEndpoints> {
    if (this.closing !== undefined) return Promise.reject(new MeshError('CLOSED', 'udp delay relay is closed'));
    this.started ??= (async () => {
      await bind(this.listenSocket, this.opts.listenPort ?? 0, this.opts.listenHost);
      await bind(this.upstreamSocket, this.opts.localPort ?? 0, this.opts.localAddress ?? this.opts.listenHost);
      // A connected UDP socket: the kernel only delivers datagrams from the target, and
      // sends skip the per-call address lookup (this relay may carry thousands of datagrams a second).
      await connectSocket(this.upstreamSocket, this.opts.targetPort, this.opts.targetHost);
      const l = this.listenSocket.address();
      const u = this.upstreamSocket.address();
      return { listen: { address: l.address, port: l.port }, upstream: { address: u.address, port: u.port } };
    })();
    return this.started;
  }

  /** New one-way delay for datagrams arriving from now on; order is kept either way. */
  setDelay(ms: number): void {
    assertDelay(ms);
    this.delay = ms;
  }

  /** Cut (true) or restore (false) the link. Cutting discards what is queued. */
  setBlocked(blocked: boolean): void {
    this.blocked = blocked;
    if (blocked) {
      this.toTarget.clear();
      this.toNear.clear();
    }
  }

  stats(): UdpDelayRelayStats {
    return {
      forwarded: { ...this.counters.forwarded },
      dropped: { ...this.counters.dropped },
      queued: { toTarget: this.toTarget.length, toNear: this.toNear.length },
    };
  }

  /** Discard queued datagrams and close both sockets. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.toTarget.clear();
      this.toNear.clear();
      // A start() in flight must finish binding before the sockets can be closed cleanly.
      await this.started?.catch(() => undefined);
      await Promise.all([closeSocket(this.listenSocket), closeSocket(this.upstreamSocket)]);
    })();
    return this.closing;
  }

  private fromNear(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const fixed = this.opts.near;
    if (fixed !== undefined && (rinfo.address !== fixed.address || rinfo.port !== fixed.port)) {
      this.counters.dropped.strangers++;
      return;
    }
    if (this.admit(msg)) {
      this.near = { address: rinfo.address, port: rinfo.port };
      if (!this.toTarget.push(msg, this.delay)) this.counters.dropped.queueFull++;
    }
  }

  private fromTarget(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (rinfo.address !== this.opts.targetHost || rinfo.port !== this.opts.targetPort) {
      this.counters.dropped.strangers++;
      return;
    }
    if (!this.admit(msg)) return;
    if (this.near === undefined) {
      this.counters.dropped.noPeer++;
      return;
    }
    if (!this.toNear.push(msg, this.delay)) this.counters.dropped.queueFull++;
  }

  private admit(msg: Buffer): boolean {
    if (this.closing !== undefined) return false;
    if (this.blocked) {
      this.counters.dropped.blocked++;
      return false;
    }
    if (msg.length > (this.opts.maxDatagramBytes ?? 2048)) {
      this.counters.dropped.tooLarge++;
      return false;
    }
    return true;
  }
}

function assertDelay(ms: number): void {
  if (!Number.isFinite(ms) || ms < 0 || ms > 60_000) throw new MeshError('CONFIG_INVALID', `delayMs must be within 0..60000, got ${ms}`);
}

function bind(socket: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(new MeshError('TRANSPORT_ERROR', `udp delay relay cannot bind ${address}:${port}: ${e.message}`, { cause: e }));
    socket.once('error', onError);
    socket.bind(port, address, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

function connectSocket(socket: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.connect(port, address, (err?: Error) => {
      if (err) reject(new MeshError('TRANSPORT_ERROR', `udp delay relay cannot connect to ${address}:${port}: ${err.message}`, { cause: err }));
      else resolve();
    });
  });
}

function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // never bound
    }
  });
}
