import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { MeshError, isMeshError } from '../../regions/core/errors.js';
import type { CircuitBreaker } from '../../regions/core/circuit-breaker.js';
import { literalLookup } from '../../regions/core/literal-lookup.js';
import { bencodeDecode, bencodeEncode, isBencodeDict, type BencodeInput } from './bencode.js';
import { NgLatencyRecorder, type NgCommandStats } from './latency.js';
import { answerToNg, offerToNg } from './params.js';
import { parseQueryReply } from './query.js';
import type { NgAnswerParams, NgOfferParams, NgQueryResult, NgSdpResult } from './types.js';

/**
 * Client of rtpengine's ng control protocol over UDP: each request is
 * `<cookie> <bencoded dict>` and the reply echoes the cookie. UDP may lose
 * either datagram, so a request is resent with the *same* cookie every
 * `retransmitMs`; rtpengine caches replies by cookie, so a resent offer is
 * not executed twice. One socket per rtpengine.
 */

export interface NgClientOptions {
  /** rtpengine's ng address (IPv4 or IPv6 literal). */
  address: string;
  /** rtpengine's ng UDP port. */
  port: number;
  /** Time to wait for a reply before failing with UPSTREAM_TIMEOUT. Default 1000 ms. */
  timeoutMs?: number;
  /** Resend interval with the same cookie while no reply came. Default 250 ms. */
  retransmitMs?: number;
  /** Most requests awaiting a reply at once; more fail with SERVICE_UNAVAILABLE. Default 4096. */
  maxPending?: number;
  /** Largest reply accepted, in bytes. Default 65535 (one UDP datagram). */
  maxReplyBytes?: number;
  /** Breaker for this rtpengine: timeouts count as failures, any reply as success. */
  breaker?: CircuitBreaker;
}

/** The commands the rest of the platform needs; `NgClient` implements it, unit tests may fake it. */
export interface NgClientLike {
  ping(opts?: { timeoutMs?: number }): Promise<void>;
  probe(timeoutMs?: number): Promise<number>;
  offer(p: NgOfferParams): Promise<NgSdpResult>;
  answer(p: NgAnswerParams): Promise<NgSdpResult>;
  delete(p: { callId: string; fromTag?: string }): Promise<void>;
  query(callId: string): Promise<NgQueryResult>;
  list(limit?: number): Promise<string[]>;
  command(name: string, dict?: Record<string, BencodeInput | undefined>): Promise<Record<string, unknown>>;
  stats(): NgClientStats;
  close(): Promise<void>;
}

export interface NgClientStats {
  address: string;
  port: number;
  pending: number;
  /** Requests resent because no reply came within retransmitMs. */
  retransmits: number;
  /** Datagrams that matched no pending cookie (late replies, strays). */
  unmatchedReplies: number;
  commands: NgCommandStats[];
}

interface Pending {
  command: string;
  packet: Buffer;
  startedAt: number;
  resolve: (reply: Record<string, unknown>) => void;
  reject: (e: unknown) => void;
  retransmitTimer: NodeJS.Timeout;
  timeoutTimer: NodeJS.Timeout;
}

type NgDict = Record<string, BencodeInput | undefined>;

export class NgClient implements NgClientLike {
  readonly address: string;
  readonly port: number;
  private readonly timeoutMs: number;
  private readonly retransmitMs: number;
  private readonly maxPending: number;
  private readonly maxReplyBytes: number;
  private readonly breaker: CircuitBreaker | undefined;
  private readonly socket: dgram.Socket;
  private readonly pending = new Map<string, Pending>();
  private readonly latency = new NgLatencyRecorder();
  /** Random per-client prefix so cookies differ across restarts (rtpengine's cache outlives us). */
  private readonly cookiePrefix = randomBytes(6).toString('hex');
  private seq = 0;
  private retransmits = 0;
  private unmatched = 0;
  private closing: Promise<void> | undefined;

  constructor(opts: NgClientOptions) {
    const family = isIP(opts.address);
    if (family === 0) throw new MeshError('CONFIG_INVALID', `ng address "${opts.address}" is not an IP literal`);
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
      throw new MeshError('CONFIG_INVALID', `ng port ${opts.port} is out of range`);
    }
    this.address = opts.address;
    this.port = opts.port;
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.retransmitMs = opts.retransmitMs ?? 250;
    this.maxPending = opts.maxPending ?? 4096;
    this.maxReplyBytes = opts.maxReplyBytes ?? 65535;
    this.breaker = opts.breaker;
    this.socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', lookup: literalLookup });
    this.socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    // Errors on an unconnected UDP socket are per-send; they surface through send callbacks.
    this.socket.on('error', () => undefined);
    // Pending requests hold their own timers; an idle client must not keep the process alive.
    this.socket.unref();
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /** ng `ping`, through the breaker. */
  async ping(opts: { timeoutMs?: number } = {}): Promise<void> {
    const reply = await this.request('ping', {}, { timeoutMs: opts.timeoutMs });
    if (reply.result !== 'pong') throw new MeshError('BAD_GATEWAY', `ng ping: unexpected result "${String(reply.result)}"`);
  }

  /**
   * Health probe: an ng `ping` that ignores an open breaker (it is how we learn
   * the node is back) but reports its outcome to it. Resolves with the RTT in ms.
   */
  async probe(timeoutMs = this.timeoutMs): Promise<number> {
    const started = performance.now();
    try {
      const reply = await this.send('ping', {}, timeoutMs);
      if (reply.result !== 'pong') throw new MeshError('BAD_GATEWAY', `ng ping: unexpected result "${String(reply.result)}"`);
      this.breaker?.recordSuccess();
      return performance.now() - started;
    } catch (e) {
      if (!isMeshError(e, 'CLOSED')) this.breaker?.recordFailure();
      throw e;
    }
  }

  async offer(p: NgOfferParams): Promise<NgSdpResult> {
    const reply = await this.request('offer', offerToNg(p));
    return { sdp: requireSdp('offer', reply), raw: reply };
  }

  async answer(p: NgAnswerParams): Promise<NgSdpResult> {
    const reply = await this.request('answer', answerToNg(p));
    return { sdp: requireSdp('answer', reply), raw: reply };
  }

  async delete(p: { callId: string; fromTag?: string }): Promise<void> {
    await this.request('delete', { 'call-id': p.callId, 'from-tag': p.fromTag });
  }

  async query(callId: string): Promise<NgQueryResult> {
    const reply = await this.request('query', { 'call-id': callId });
    return parseQueryReply(callId, reply);
  }

  /** ng `list`: Call-IDs of active calls, at most `limit` (rtpengine's default 32). */
  async list(limit?: number): Promise<string[]> {
    const reply = await this.request('list', { limit });
    const calls = reply.calls;
    if (!Array.isArray(calls)) throw new MeshError('BAD_GATEWAY', 'ng list: reply has no "calls" list');
    return calls.filter((c): c is string => typeof c === 'string');
  }

  /** Any ng command (subscribe request, start recording, play media, …); resolves with the raw reply. */
  async command(name: string, dict: NgDict = {}): Promise<Record<string, unknown>> {
    return this.request(name, dict);
  }

  stats(): NgClientStats {
    return {
      address: this.address,
      port: this.port,
      pending: this.pending.size,
      retransmits: this.retransmits,
      unmatchedReplies: this.unmatched,
      commands: this.latency.snapshot(),
    };
  }

  /** Idempotent: rejects pending requests with CLOSED and closes the socket. */
  close(): Promise<void> {
    if (this.closing === undefined) {
      for (const [cookie, p] of this.pending) {
        this.settle(cookie, p);
        p.reject(new MeshError('CLOSED', `ng client ${this.address}:${this.port} closed with "${p.command}" pending`));
      }
      this.closing = new Promise<void>((resolve) => {
        try {
          this.socket.close(() => resolve());
        } catch {
          resolve(); // never bound: nothing to close
        }
      });
    }
    return this.closing;
  }

  // ------------------------------------------------------------ internals

  /** Send through the breaker and turn `result: error` into BAD_GATEWAY. */
  private async request(command: string, dict: NgDict, opts: { timeoutMs?: number | undefined } = {}): Promise<Record<string, unknown>> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    // Any reply, even `result: error`, proves the rtpengine is alive: only
    // transport failures count against the breaker.
    const reply = this.breaker === undefined
      ? await this.send(command, dict, timeoutMs)
      : await this.breaker.run(() => this.send(command, dict, timeoutMs));
    if (reply.result === 'error') {
      const reason = typeof reply['error-reason'] === 'string' ? reply['error-reason'] : 'unknown error';
      throw new MeshError('BAD_GATEWAY', `rtpengine ${command} failed: ${reason}`, {
        detail: { command, errorReason: reason, node: `${this.address}:${this.port}` },
      });
    }
    return reply;
  }

  private send(command: string, dict: NgDict, timeoutMs: number): Promise<Record<string, unknown>> {
    if (this.closing !== undefined) {
      return Promise.reject(new MeshError('CLOSED', `ng client ${this.address}:${this.port} is closed`));
    }
    if (this.pending.size >= this.maxPending) {
      this.latency.record(command, 'error', Number.NaN);
      return Promise.reject(new MeshError('SERVICE_UNAVAILABLE', `ng client ${this.address}:${this.port}: ${this.maxPending} requests pending`, { retryAfter: 1 }));
    }
    let body: Buffer;
    try {
      // `command` first: an object spread followed by more keys makes V8 build a new hidden class
      // for every object, allocated in the old generation (benchmarks/README.md, session 8).
      body = bencodeEncode({ command, ...dict });
    } catch (e) {
      return Promise.reject(new MeshError('BAD_REQUEST', `ng ${command}: cannot encode request: ${(e as Error).message}`, { cause: e }));
    }
    this.seq = (this.seq + 1) % Number.MAX_SAFE_INTEGER;
    const cookie = `${this.cookiePrefix}_${this.seq.toString(36)}`;
    const packet = Buffer.concat([Buffer.from(`${cookie} `, 'latin1'), body]);
    if (packet.length > 65507) {
      return Promise.reject(new MeshError('TOO_LARGE', `ng ${command}: request of ${packet.length} bytes does not fit a UDP datagram`));
    }
    return new Promise((resolve, reject) => {
      const startedAt = performance.now();
      const p: Pending = {
        command,
        packet,
        startedAt,
        resolve,
        reject,
        retransmitTimer: setInterval(() => {
          this.retransmits += 1;
          this.transmit(cookie, p);
        }, this.retransmitMs),
        timeoutTimer: setTimeout(() => {
          this.settle(cookie, p);
          this.latency.record(command, 'timeout', performance.now() - startedAt);
          reject(new MeshError('UPSTREAM_TIMEOUT', `rtpengine ${this.address}:${this.port} did not answer "${command}" within ${timeoutMs} ms`, {
            detail: { command, node: `${this.address}:${this.port}` },
          }));
        }, timeoutMs),
      };
      this.pending.set(cookie, p);
      this.transmit(cookie, p);
    });
  }

  private transmit(cookie: string, p: Pending): void {
    this.socket.send(p.packet, this.port, this.address, (err) => {
      if (err === null || err === undefined || this.pending.get(cookie) !== p) return;
      this.settle(cookie, p);
      this.latency.record(p.command, 'error', Number.NaN);
      p.reject(new MeshError('TRANSPORT_ERROR', `ng ${p.command} to ${this.address}:${this.port}: ${err.message}`, { cause: err }));
    });
  }

  private settle(cookie: string, p: Pending): void {
    clearInterval(p.retransmitTimer);
    clearTimeout(p.timeoutTimer);
    this.pending.delete(cookie);
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (rinfo.port !== this.port) {
      this.unmatched += 1;
      return;
    }
    const space = msg.indexOf(0x20);
    if (space <= 0) {
      this.unmatched += 1;
      return;
    }
    const cookie = msg.toString('latin1', 0, space);
    const p = this.pending.get(cookie);
    if (p === undefined) {
      // A reply to a retransmission of something already answered, or a stray.
      this.unmatched += 1;
      return;
    }
    this.settle(cookie, p);
    const elapsed = performance.now() - p.startedAt;
    if (msg.length - space - 1 > this.maxReplyBytes) {
      this.latency.record(p.command, 'error', elapsed);
      p.reject(new MeshError('BAD_GATEWAY', `ng ${p.command}: reply of ${msg.length} bytes exceeds ${this.maxReplyBytes}`));
      return;
    }
    let decoded: unknown;
    try {
      decoded = bencodeDecode(msg.subarray(space + 1), { maxBytes: this.maxReplyBytes });
    } catch (e) {
      this.latency.record(p.command, 'error', elapsed);
      p.reject(e);
      return;
    }
    if (!isBencodeDict(decoded)) {
      this.latency.record(p.command, 'error', elapsed);
      p.reject(new MeshError('BAD_GATEWAY', `ng ${p.command}: reply is not a dictionary`));
      return;
    }
    this.latency.record(p.command, decoded.result === 'error' ? 'error' : 'ok', elapsed);
    p.resolve(decoded);
  }
}

function requireSdp(command: string, reply: Record<string, unknown>): string {
  const sdp = reply.sdp;
  if (typeof sdp !== 'string' || sdp.length === 0) throw new MeshError('BAD_GATEWAY', `ng ${command}: reply has no SDP`);
  return sdp;
}
