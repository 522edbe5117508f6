/**
 * The app-edge benchmark's emulated region border for UDP services whose
 * peers are not known in advance (rtpengine's RTP ports, an ng port used by
 * several clients): a port-preserving static NAT with a one-way delay per
 * remote peer.
 *
 * For every fronted port `p`, a socket on `listenAddress:p` faces the world.
 * Each remote source gets its own upstream socket (on `upstreamAddress`, any
 * port) that talks to `targetAddress:p`; the target's answers to that socket
 * go back out of `listenAddress:p` to that source. Both directions of a flow
 * are delayed by `delayFor(source)` — the link delay when the source sits in
 * another region, 0 when it is in the fronted region — so a packet crosses a
 * region link at most once, whichever address rtpengine learns to send to
 * (the SDP's advertised address or the upstream socket it received from).
 *
 * `regions/link/udp-delay-relay.ts` carries one near peer per relay; a
 * rtpengine port's peer (caller or another region's rtpengine) and the
 * clients of an ng port are only known when they send, hence this class.
 * Each direction of a flow is a FIFO on one timer (never reordered, never
 * early; Node timers may fire up to ~1 ms late). Bounded: at most
 * `maxFlows` sources per port and `maxQueued` datagrams per direction.
 */
import dgram from 'node:dgram';

/** The region of an IPv4 address by its /24 block (`127.0.61.` → region), or undefined. */
export function regionOfAddress(address: string, blocks: Readonly<Record<string, string>>): string | undefined {
  const dot = address.lastIndexOf('.');
  if (dot < 0) return undefined;
  const block = address.slice(0, dot + 1);
  for (const [region, prefix] of Object.entries(blocks)) if (prefix === block) return region;
  return undefined;
}

/**
 * One-way delay between a source and a service of region `to`: the link's
 * delay when the source belongs to another known region, else 0 (same region,
 * or an address of no region, e.g. the benchmark's own tools on 127.0.0.1).
 */
export function linkDelayFor(source: string, to: string, blocks: Readonly<Record<string, string>>, delayMs: number): number {
  const from = regionOfAddress(source, blocks);
  return from === undefined || from === to ? 0 : delayMs;
}

export interface RegionNatOptions {
  listenAddress: string;
  targetAddress: string;
  /** Ports fronted (the same port on the target). */
  ports: readonly number[];
  /** Local address of the upstream sockets. */
  upstreamAddress: string;
  /** One-way delay (ms) of a flow with this remote source, both directions. */
  delayFor: (sourceAddress: string) => number;
  /** Most sources per fronted port. Default 8. */
  maxFlows?: number;
  /** Most datagrams waiting per direction of a flow. Default 2048. */
  maxQueued?: number;
}

export interface RegionNatStats {
  forwarded: number;
  dropped: number;
  flows: number;
}

/** A FIFO of delayed sends on one timer: each item is due `delayMs` after it was pushed, and never before the one ahead of it. */
class DelayLine {
  private readonly queue: { dueAt: number; send: () => void }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly max: number) {}

  /** False when the line is full (the datagram is dropped). */
  push(delayMs: number, send: () => void): boolean {
    if (delayMs <= 0 && this.queue.length === 0) {
      send();
      return true;
    }
    if (this.queue.length >= this.max) return false;
    const last = this.queue[this.queue.length - 1];
    this.queue.push({ dueAt: Math.max(performance.now() + delayMs, last?.dueAt ?? 0), send });
    if (this.timer === undefined) this.arm();
    return true;
  }

  private arm(): void {
    const head = this.queue[0];
    if (head === undefined) return;
    this.timer = setTimeout(() => this.fire(), Math.max(0, head.dueAt - performance.now()));
  }

  private fire(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.queue.length > 0 && (this.queue[0] as { dueAt: number }).dueAt <= now) (this.queue.shift() as { send: () => void }).send();
    this.arm();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}

interface Flow {
  upstream: dgram.Socket;
  toTarget: DelayLine;
  toSource: DelayLine;
}

export class RegionNat {
  private readonly listeners: dgram.Socket[] = [];
  private readonly flows = new Map<string, Flow>();
  private forwarded = 0;
  private dropped = 0;
  private closed = false;

  private constructor(private readonly o: RegionNatOptions) {}

  static async start(o: RegionNatOptions): Promise<RegionNat> {
    const nat = new RegionNat(o);
    try {
      for (const p of o.ports) nat.listeners.push(await nat.listen(p));
    } catch (e) {
      await nat.close();
      throw new Error(`region NAT ${o.listenAddress} → ${o.targetAddress}: ${(e as Error).message}`, { cause: e });
    }
    return nat;
  }

  stats(): RegionNatStats {
    return { forwarded: this.forwarded, dropped: this.dropped, flows: this.flows.size };
  }

  private async listen(port: number): Promise<dgram.Socket> {
    const s = dgram.createSocket('udp4');
    await bind(s, this.o.listenAddress, port);
    let flowsHere = 0;
    s.on('error', () => undefined);
    s.on('message', (msg, from) => {
      const key = `${port}|${from.address}:${from.port}`;
      let flow = this.flows.get(key);
      if (flow === undefined) {
        if (this.closed || flowsHere >= (this.o.maxFlows ?? 8)) {
          this.dropped++;
          return;
        }
        flowsHere++;
        const upstream = dgram.createSocket('udp4');
        const delay = this.o.delayFor(from.address);
        const max = this.o.maxQueued ?? 2048;
        const f: Flow = { upstream, toTarget: new DelayLine(max), toSource: new DelayLine(max) };
        upstream.on('error', () => undefined);
        upstream.on('message', (back, rinfo) => {
          if (rinfo.address !== this.o.targetAddress || rinfo.port !== port) return void this.dropped++;
          if (!f.toSource.push(delay, () => this.send(s, back, from.port, from.address))) this.dropped++;
        });
        // Bound synchronously on first use below; datagrams sent before the bind completes are queued by Node.
        upstream.bind(0, this.o.upstreamAddress);
        this.flows.set(key, f);
        flow = f;
      }
      const f = flow;
      if (!f.toTarget.push(this.o.delayFor(from.address), () => this.send(f.upstream, msg, port, this.o.targetAddress))) this.dropped++;
    });
    return s;
  }

  private send(s: dgram.Socket, msg: Buffer, port: number, address: string): void {
    if (this.closed) return;
    this.forwarded++;
    s.send(msg, port, address);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.flows.values()) {
      f.toTarget.close();
      f.toSource.close();
    }
    const all = [...this.listeners, ...[...this.flows.values()].map((f) => f.upstream)];
    this.flows.clear();
    await Promise.all(all.map((s) => new Promise<void>((r) => {
      try {
        s.close(() => r());
      } catch {
        r();
      }
    })));
  }
}

function bind(s: dgram.Socket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, address, () => {
      s.off('error', reject);
      resolve();
    });
  });
}
