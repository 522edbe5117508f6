/**
 * Starts and stops the delay relays of a link plan (`link-delays.ts`): a
 * `UdpDelayRelay` for SIP over UDP and media branches, a `DelayRelay` for
 * SIP over TCP and region links. All or nothing: when one relay cannot bind,
 * the ones already up are closed and the error names the relay.
 * `followLinkCuts` applies the operator's link cut drills (regions/store/link-cuts.ts)
 * to a running relay set.
 */
import { MeshError } from '../regions/core/errors.js';
import { silentLogger, type Logger } from '../regions/core/log.js';
import { DelayRelay } from '../regions/link/delay-relay.js';
import { UdpDelayRelay } from '../regions/link/udp-delay-relay.js';
import type { LinkPair } from '../regions/store/link-cuts.js';
import type { LinkRelayKind, LinkRelayPlan, LinkRelaySpec } from './link-delays.js';

/** Largest SIP datagram relayed (UDP's limit over IPv4); an INVITE with SDP is far over RTP's 2 KiB default. */
const MAX_SIP_DATAGRAM = 65507;

export interface RunningLinkRelay {
  readonly spec: LinkRelaySpec;
  readonly relay: DelayRelay | UdpDelayRelay;
}

export interface RunningLinkRelays {
  readonly plan: LinkRelayPlan;
  readonly relays: readonly RunningLinkRelay[];
  /** Cut (true) or restore (false) every relay from `from` to `to` (failover drills). */
  setBlocked(from: string, to: string, blocked: boolean): void;
  /** New one-way delay for traffic from now on, on every relay or those from `from` to `to`. */
  setDelay(ms: number, from?: string, to?: string): void;
  /** What the relays carried so far, per ordered region pair and kind (`summarizeRelayTraffic`). */
  traffic(): LinkRelayTraffic[];
  /** Close every relay. Idempotent. */
  close(): Promise<void>;
}

/** Counters of one relay: datagrams for UDP relays, connections for TCP ones. */
export interface RelayCounters {
  readonly spec: LinkRelaySpec;
  readonly udp?: { toTarget: number; toNear: number; dropped: number };
  readonly tcp?: { accepted: number; refused: number };
}

/** Traffic of every relay of one kind and protocol from one region to another. */
export interface LinkRelayTraffic {
  readonly from: string;
  readonly to: string;
  readonly kind: LinkRelayKind;
  readonly protocol: 'udp' | 'tcp';
  /** Relays of this kind between the pair. */
  readonly relays: number;
  /** UDP: datagrams delivered towards `to`, back towards `from`, and dropped (any reason). */
  readonly datagrams?: { toTarget: number; toNear: number; dropped: number };
  /** TCP: connections relayed and refused. */
  readonly connections?: { accepted: number; refused: number };
  /** Listen ports that carried anything (UDP) or accepted a connection (TCP), ascending. */
  readonly activePorts: readonly number[];
}

/** Pure: per-relay counters → one line per (from, to, kind, protocol), in the order first seen. */
export function summarizeRelayTraffic(counters: readonly RelayCounters[]): LinkRelayTraffic[] {
  interface Group {
    spec: LinkRelaySpec;
    relays: number;
    datagrams: { toTarget: number; toNear: number; dropped: number };
    connections: { accepted: number; refused: number };
    ports: Set<number>;
  }
  const groups = new Map<string, Group>();
  for (const c of counters) {
    const s = c.spec;
    const key = `${s.from}|${s.to}|${s.kind}|${s.protocol}`;
    const g = groups.get(key) ?? { spec: s, relays: 0, datagrams: { toTarget: 0, toNear: 0, dropped: 0 }, connections: { accepted: 0, refused: 0 }, ports: new Set<number>() };
    groups.set(key, g);
    g.relays++;
    const u = c.udp ?? { toTarget: 0, toNear: 0, dropped: 0 };
    const t = c.tcp ?? { accepted: 0, refused: 0 };
    g.datagrams.toTarget += u.toTarget;
    g.datagrams.toNear += u.toNear;
    g.datagrams.dropped += u.dropped;
    g.connections.accepted += t.accepted;
    g.connections.refused += t.refused;
    if (u.toTarget + u.toNear + u.dropped + t.accepted + t.refused > 0) g.ports.add(s.listen.port);
  }
  return [...groups.values()].map((g) => ({
    from: g.spec.from,
    to: g.spec.to,
    kind: g.spec.kind,
    protocol: g.spec.protocol,
    relays: g.relays,
    ...(g.spec.protocol === 'udp' ? { datagrams: g.datagrams } : { connections: g.connections }),
    activePorts: [...g.ports].sort((a, b) => a - b),
  }));
}

export async function startLinkRelays(plan: LinkRelayPlan): Promise<RunningLinkRelays> {
  const running: RunningLinkRelay[] = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= Promise.all(running.map((r) => r.relay.close())).then(() => undefined));
  try {
    for (const spec of plan.relays) running.push({ spec, relay: await startOne(spec) });
  } catch (e) {
    await close();
    throw e;
  }
  return {
    plan,
    relays: running,
    setBlocked(from, to, blocked) {
      for (const r of running) if (r.spec.from === from && r.spec.to === to) r.relay.setBlocked(blocked);
    },
    setDelay(ms, from, to) {
      for (const r of running) if ((from === undefined || r.spec.from === from) && (to === undefined || r.spec.to === to)) r.relay.setDelay(ms);
    },
    traffic: () => summarizeRelayTraffic(running.map(countersOf)),
    close,
  };
}

function countersOf(r: RunningLinkRelay): RelayCounters {
  if (r.relay instanceof UdpDelayRelay) {
    const s = r.relay.stats();
    const d = s.dropped;
    return { spec: r.spec, udp: { toTarget: s.forwarded.toTarget, toNear: s.forwarded.toNear, dropped: d.queueFull + d.tooLarge + d.blocked + d.strangers + d.noPeer } };
  }
  return { spec: r.spec, tcp: { accepted: r.relay.accepted, refused: r.relay.refused } };
}

async function startOne(spec: LinkRelaySpec): Promise<DelayRelay | UdpDelayRelay> {
  const what = `${spec.kind} ${spec.protocol} relay ${spec.from}→${spec.to} on ${spec.listen.address}:${spec.listen.port}`;
  try {
    if (spec.protocol === 'udp') {
      const relay = new UdpDelayRelay({
        listenHost: spec.listen.address,
        listenPort: spec.listen.port,
        targetHost: spec.target.address,
        targetPort: spec.target.port,
        localAddress: spec.source.address,
        localPort: spec.source.port,
        delayMs: spec.delayMs,
        ...(spec.near !== undefined ? { near: { ...spec.near } } : {}),
        ...(spec.kind === 'sip' ? { maxDatagramBytes: MAX_SIP_DATAGRAM } : {}),
      });
      try {
        await relay.start();
      } catch (e) {
        await relay.close();
        throw e;
      }
      return relay;
    }
    const relay = new DelayRelay({
      listenHost: spec.listen.address,
      listenPort: spec.listen.port,
      targetHost: spec.target.address,
      targetPort: spec.target.port,
      localAddress: spec.source.address,
      delayMs: spec.delayMs,
      ...(spec.near !== undefined ? { allowFrom: [spec.near.address] } : {}),
    });
    try {
      await relay.listen();
    } catch (e) {
      await relay.close();
      throw e;
    }
    return relay;
  } catch (e) {
    throw new MeshError('TRANSPORT_ERROR', `${what}: ${(e as Error).message}`, { cause: e });
  }
}

export interface LinkCutFollower {
  /** Pairs (`a|b`, a < b) whose relays this follower has cut, as last applied. */
  readonly applied: ReadonlySet<string>;
  /** Stop polling; the relays keep their state. Idempotent. */
  close(): void;
}

/**
 * Polls the cut links (`read`, e.g. `listLinkCuts` on Redis) every `intervalMs`
 * and cuts or restores the relays of both ordered pairs of each link that
 * changed. Only pairs this follower cut are restored by it. A failed read
 * keeps the last applied state; the outage is logged once, and its end too.
 */
export function followLinkCuts(
  running: RunningLinkRelays,
  opts: { read: () => Promise<readonly LinkPair[]>; intervalMs?: number; log?: Logger },
): LinkCutFollower {
  const log = opts.log ?? silentLogger;
  const interval = opts.intervalMs ?? 500;
  const applied = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let failing = false;
  const set = (pair: string, blocked: boolean): void => {
    const [a = '', b = ''] = pair.split('|');
    running.setBlocked(a, b, blocked);
    running.setBlocked(b, a, blocked);
    if (blocked) applied.add(pair);
    else applied.delete(pair);
    log.info(blocked ? 'link cut by drill: relays drop everything both ways' : 'link restored by drill', { a, b });
  };
  const tick = async (): Promise<void> => {
    try {
      const want = new Set((await opts.read()).map(([a, b]) => `${a}|${b}`));
      if (failing) log.info('link cuts readable again; following them');
      failing = false;
      if (closed) return;
      for (const p of want) if (!applied.has(p)) set(p, true);
      for (const p of [...applied]) if (!want.has(p)) set(p, false);
    } catch (e) {
      if (!failing) log.warn('link cuts unreadable; relays keep their last applied state', { error: (e as Error).message });
      failing = true;
    } finally {
      if (!closed) timer = setTimeout(() => void tick(), interval).unref();
    }
  };
  void tick();
  return {
    applied,
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}
