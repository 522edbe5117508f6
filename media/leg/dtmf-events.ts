/**
 * Digits the parties press, as rtpengine reports them. Started with
 * `--dtmf-log-dest=IP:PORT`, rtpengine sends one UDP datagram of JSON per
 * RFC 4733 event it relays, when the event's end packet arrives
 * (rtpengine 10.5, daemon/dtmf.c):
 *
 *   {"callid":"c1","source_tag":"caller","tags":["plat","caller"],"type":"DTMF",
 *    "timestamp":1795456528,"source_ip":"127.0.18.2","event":1,"duration":120,"volume":10}
 *
 * `timestamp` is rtpengine's wall clock in whole seconds, `duration` is in
 * ms, `event` is the RFC 4733 §3.2 code (0-9, 10 '*', 11 '#', 12-15 A-D).
 *
 * `DtmfEvents` listens for those datagrams and hands each digit to the
 * subscribers of its (call-id, source tag). Input is untrusted: datagrams
 * are size-capped, the JSON is validated, and anything bad is counted and
 * dropped; a listener that throws is counted too and never reaches the socket.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { MeshError } from '../../regions/core/errors.js';
import { eventToDigit } from './rfc4733.js';

export interface DtmfDigitEvent {
  callId: string;
  /** rtpengine tag of the party that pressed the key. */
  sourceTag: string;
  /** '0'-'9', '*', '#', 'A'-'D'. */
  digit: string;
  /** RFC 4733 event code. */
  event: number;
  durationMs: number;
  /** Power level, -dBm0 (RFC 4733 §2.3.4); undefined when not reported. */
  volume: number | undefined;
  /** Where the RTP came from, as rtpengine saw it. */
  sourceIp: string | undefined;
}

export type DtmfListener = (e: DtmfDigitEvent) => void;

/** What a leg needs from the digit source: `DtmfEvents` implements it, unit tests may fake it. */
export interface DtmfSubscriber {
  /** Call `listener` for every digit `sourceTag` presses in call `callId`; returns the unsubscribe function (idempotent). */
  subscribe(callId: string, sourceTag: string, listener: DtmfListener): () => void;
}

export type DtmfParseResult = { ok: true; event: DtmfDigitEvent } | { ok: false; reason: string };

/** Longest call-id or tag accepted (rtpengine has no limit; SIP Call-IDs are short in practice). */
const MAX_ID_CHARS = 256;

/** Parse one rtpengine DTMF log datagram. Never throws. */
export function parseDtmfReport(datagram: Buffer | string, maxBytes = DEFAULT_MAX_DATAGRAM_BYTES): DtmfParseResult {
  const size = typeof datagram === 'string' ? Buffer.byteLength(datagram) : datagram.length;
  if (size > maxBytes) return { ok: false, reason: `datagram of ${size} bytes exceeds ${maxBytes}` };
  let value: unknown;
  try {
    value = JSON.parse(typeof datagram === 'string' ? datagram : datagram.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'not a JSON object' };
  const o = value as Record<string, unknown>;
  if (o.type !== 'DTMF') return { ok: false, reason: `type is ${JSON.stringify(o.type)?.slice(0, 32) ?? 'missing'}, not "DTMF"` };
  const callId = o.callid;
  const sourceTag = o.source_tag;
  if (typeof callId !== 'string' || callId.length === 0 || callId.length > MAX_ID_CHARS) return { ok: false, reason: 'callid missing or invalid' };
  if (typeof sourceTag !== 'string' || sourceTag.length === 0 || sourceTag.length > MAX_ID_CHARS) return { ok: false, reason: 'source_tag missing or invalid' };
  const event = o.event;
  if (typeof event !== 'number' || !Number.isInteger(event)) return { ok: false, reason: 'event missing or not an integer' };
  const digit = eventToDigit(event);
  // Codes above 15 are other telephony events (RFC 4733 §3.2, e.g. 16 = flash), not keys.
  if (digit === undefined) return { ok: false, reason: `event ${event} is not a DTMF key` };
  const duration = o.duration ?? 0;
  if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0) return { ok: false, reason: 'duration is not a non-negative number' };
  const volume = o.volume;
  if (volume !== undefined && (typeof volume !== 'number' || !Number.isFinite(volume))) return { ok: false, reason: 'volume is not a number' };
  const sourceIp = o.source_ip;
  return {
    ok: true,
    event: {
      callId,
      sourceTag,
      digit,
      event,
      durationMs: duration,
      volume: volume as number | undefined,
      sourceIp: typeof sourceIp === 'string' && isIP(sourceIp) !== 0 ? sourceIp : undefined,
    },
  };
}

export const DEFAULT_MAX_DATAGRAM_BYTES = 4096;

export interface DtmfEventsOptions {
  /** Largest datagram accepted; bigger ones are dropped. Default 4096 bytes. */
  maxDatagramBytes?: number;
  /**
   * A report of the same key with the same duration from the same source
   * within this window is the same key press reported twice (RFC 4733
   * §2.5.1.4 sends the end packet three times) and is dropped. A real second
   * press cannot end this soon: tone and pause last 40 ms each at least
   * (ITU-T Q.24). Default 80 ms.
   */
  duplicateWindowMs?: number;
  /** Most (call-id, tag) subscriptions at once; more fail with SERVICE_UNAVAILABLE. Default 100000. */
  maxSubscriptions?: number;
  /** Clock for the duplicate window (ms). Default performance.now. */
  now?: () => number;
  /**
   * Where the digits of a call nobody here listens to go instead (another
   * region's listener: a call whose media is in this region while it runs
   * elsewhere), or undefined. Asked once per call-id while its answer is
   * fresh (`elsewhereCacheMs`); the datagram is passed on as rtpengine sent it.
   * Default: none (such digits are counted as unrouted).
   */
  routeElsewhere?: (callId: string) => Promise<{ address: string; port: number } | undefined>;
  /** How long an answer of `routeElsewhere` is reused, ms. Default 10000. */
  elsewhereCacheMs?: number;
}

export interface DtmfListenOptions extends DtmfEventsOptions {
  /** Address to listen on (rtpengine's --dtmf-log-dest host). */
  address: string;
  /** UDP port; 0 picks a free one. */
  port: number;
}

export interface DtmfEventsStats {
  datagrams: number;
  /** Digits handed to at least one listener. */
  dispatched: number;
  duplicates: number;
  /** Datagrams dropped as malformed (bad JSON, wrong shape, oversized). */
  invalid: number;
  /** Valid digits nobody was subscribed to. */
  unrouted: number;
  /** Digits of calls that run in another region, passed on there (`routeElsewhere`). */
  forwarded: number;
  /** Call-ids whose `routeElsewhere` answer is cached now. */
  elsewhereCached: number;
  /** Listener calls that threw. */
  listenerErrors: number;
  subscriptions: number;
  /** Why the last invalid datagram was dropped. */
  lastInvalidReason: string | undefined;
}

interface Route {
  listeners: Set<DtmfListener>;
  last: { event: number; durationMs: number; at: number } | undefined;
}

export class DtmfEvents implements DtmfSubscriber {
  private readonly routes = new Map<string, Route>();
  private readonly maxDatagramBytes: number;
  private readonly duplicateWindowMs: number;
  private readonly maxSubscriptions: number;
  private readonly now: () => number;
  private socket: dgram.Socket | undefined;
  private closing: Promise<void> | undefined;
  private readonly counters = { datagrams: 0, dispatched: 0, duplicates: 0, invalid: 0, unrouted: 0, forwarded: 0, listenerErrors: 0 };
  /** rtpengine call-id → where its digits go instead (`routeElsewhere`'s answer, chained so digits keep their order). */
  private readonly elsewhere = new Map<string, { to: Promise<{ address: string; port: number } | undefined>; expiresAt: number }>();
  private readonly routeElsewhere: DtmfEventsOptions['routeElsewhere'];
  private readonly elsewhereCacheMs: number;
  private lastInvalidReason: string | undefined;
  private subscriptionCount = 0;

  /** A dispatcher without a socket: feed it with `handleDatagram` (tests), or use `DtmfEvents.listen`. */
  constructor(opts: DtmfEventsOptions = {}) {
    this.maxDatagramBytes = opts.maxDatagramBytes ?? DEFAULT_MAX_DATAGRAM_BYTES;
    this.duplicateWindowMs = opts.duplicateWindowMs ?? 80;
    this.maxSubscriptions = opts.maxSubscriptions ?? 100_000;
    this.now = opts.now ?? (() => performance.now());
    this.routeElsewhere = opts.routeElsewhere;
    this.elsewhereCacheMs = opts.elsewhereCacheMs ?? 10_000;
  }

  /** Bind a UDP listener for rtpengine's DTMF log. */
  static async listen(opts: DtmfListenOptions): Promise<DtmfEvents> {
    const family = isIP(opts.address);
    if (family === 0) throw new MeshError('CONFIG_INVALID', `DTMF event address "${opts.address}" is not an IP literal`);
    if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new MeshError('CONFIG_INVALID', `DTMF event port ${opts.port} is out of range`);
    const events = new DtmfEvents(opts);
    const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(opts.port, opts.address, () => {
        socket.off('error', reject);
        resolve();
      });
    }).catch((e: unknown) => {
      socket.close();
      throw new MeshError('CONFLICT', `cannot listen for DTMF events on ${opts.address}:${opts.port}: ${(e as Error).message}`, { cause: e });
    });
    // Receive errors on a UDP socket concern one datagram; the listener goes on.
    socket.on('error', () => undefined);
    socket.on('message', (msg) => events.handleDatagram(msg));
    events.socket = socket;
    return events;
  }

  /** Where the listener is bound; undefined without a socket. */
  get endpoint(): { address: string; port: number } | undefined {
    if (this.socket === undefined || this.closing !== undefined) return undefined;
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  /** The value for rtpengine's `--dtmf-log-dest` (IPv6 in brackets). */
  get logDest(): string {
    const e = this.endpoint;
    if (e === undefined) throw new MeshError('CLOSED', 'DTMF event listener is not bound');
    return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
  }

  subscribe(callId: string, sourceTag: string, listener: DtmfListener): () => void {
    if (this.closing !== undefined) throw new MeshError('CLOSED', 'DTMF events are closed');
    if (this.subscriptionCount >= this.maxSubscriptions) {
      throw new MeshError('SERVICE_UNAVAILABLE', `${this.maxSubscriptions} DTMF subscriptions open`, { retryAfter: 1 });
    }
    const key = routeKey(callId, sourceTag);
    let route = this.routes.get(key);
    if (route === undefined) {
      route = { listeners: new Set(), last: undefined };
      this.routes.set(key, route);
    }
    // Wrapped, so the same function may subscribe twice and each unsubscribe removes one.
    const entry: DtmfListener = (e) => listener(e);
    route.listeners.add(entry);
    this.subscriptionCount++;
    let done = false;
    return () => {
      if (done || this.closing !== undefined) return;
      done = true;
      this.subscriptionCount--;
      const r = this.routes.get(key);
      if (r === undefined) return;
      r.listeners.delete(entry);
      if (r.listeners.size === 0) this.routes.delete(key);
    };
  }

  /** Handle one datagram from rtpengine. Never throws. */
  handleDatagram(datagram: Buffer | string): void {
    this.counters.datagrams++;
    const parsed = parseDtmfReport(datagram, this.maxDatagramBytes);
    if (!parsed.ok) {
      this.counters.invalid++;
      this.lastInvalidReason = parsed.reason;
      return;
    }
    const e = parsed.event;
    const route = this.routes.get(routeKey(e.callId, e.sourceTag));
    if (route === undefined) {
      if (this.routeElsewhere !== undefined && this.socket !== undefined) this.passOn(e.callId, typeof datagram === 'string' ? Buffer.from(datagram) : datagram);
      else this.counters.unrouted++;
      return;
    }
    const at = this.now();
    const last = route.last;
    if (last !== undefined && last.event === e.event && last.durationMs === e.durationMs && at - last.at < this.duplicateWindowMs) {
      this.counters.duplicates++;
      return;
    }
    route.last = { event: e.event, durationMs: e.durationMs, at };
    this.counters.dispatched++;
    // A copy: a listener that unsubscribes (or subscribes) while we iterate changes nothing here.
    for (const l of [...route.listeners]) {
      try {
        l(e);
      } catch {
        this.counters.listenerErrors++;
      }
    }
  }

  /**
   * A digit of a call that runs in another region: to that region's listener,
   * as rtpengine sent it (duplicates are left to the far end, which drops them).
   */
  private passOn(callId: string, datagram: Buffer): void {
    const at = this.now();
    let entry = this.elsewhere.get(callId);
    if (entry === undefined || entry.expiresAt <= at) {
      this.elsewhere.delete(callId);
      // Bounded like the subscriptions: the oldest answer goes first.
      if (this.elsewhere.size >= this.maxSubscriptions) this.elsewhere.delete(this.elsewhere.keys().next().value as string);
      entry = { to: this.routeElsewhere!(callId).catch(() => undefined), expiresAt: at + this.elsewhereCacheMs };
      this.elsewhere.set(callId, entry);
    }
    entry.to = entry.to.then((to) => {
      const socket = this.socket;
      if (to === undefined || socket === undefined || this.closing !== undefined) {
        this.counters.unrouted++;
      } else {
        this.counters.forwarded++;
        socket.send(datagram, to.port, to.address, () => undefined);
      }
      return to;
    });
  }

  stats(): DtmfEventsStats {
    return { ...this.counters, elsewhereCached: this.elsewhere.size, subscriptions: this.subscriptionCount, lastInvalidReason: this.lastInvalidReason };
  }

  /** Idempotent: drops every subscription and closes the socket. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.routes.clear();
      this.subscriptionCount = 0;
      const socket = this.socket;
      this.closing = socket === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
          try {
            socket.close(() => resolve());
          } catch {
            resolve();
          }
        });
    }
    return this.closing;
  }
}

function routeKey(callId: string, sourceTag: string): string {
  return `${callId}\u0000${sourceTag}`;
}
