/**
 * The SIP transport layer (RFC 3261 §18): one UDP socket and one TCP server
 * on the same address and port, and optionally a WebSocket server (RFC 7118,
 * `ws` or `wss`) on its own port; incoming bytes → parsed messages, outgoing
 * messages → the right socket. Stamps received/rport on requests (§18.2.1,
 * RFC 3581), routes responses (§18.2.2), discards responses not meant for us
 * (§18.1.2), answers unparseable requests statelessly with 400 when it can.
 * It never throws on network input: everything bad is counted and dropped.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server } from 'node:net';
import { isMeshError, MeshError } from '../../../regions/core/errors.js';
import { literalLookup } from '../../../regions/core/literal-lookup.js';
import {
  createResponse,
  generateTag,
  getTag,
  isSipParseError,
  parseSipMessage,
  parseVia,
  serializeSipMessage,
} from '../message/index.js';
import type { Endpoint, SipLimits, SipMessage, SipRequest, SipResponse } from '../message/types.js';
import { DEFAULT_SIP_LIMITS } from '../message/types.js';
import type { SentMessage } from '../transaction/types.js';
import { countDrop, countRejected, newTransportCounters, type DropReason, type TransportCounters } from './counters.js';
import { DEFAULT_SIP_PORT, stripBrackets } from './endpoint.js';
import { TcpConnections, type TcpOptions } from './tcp-connections.js';
import type { SipTransport, TransportListener, TransportName } from './types.js';
import { WsServer, type WsConnectionInfo, type WsOptions } from './websocket/ws-server.js';
import { responseDestination, stampTopVia } from './via-rules.js';

export { DROP_REASONS, type DropReason, type TransportCounters } from './counters.js';
export type { SipTransport, TransportListener, TransportName } from './types.js';
export type { WsConnectionInfo, WsOptions } from './websocket/ws-server.js';

/** Connection events of the WebSocket transport: what a registrar needs to drop a client's bindings with its connection. */
export interface ConnectionListener {
  onClosed(info: WsConnectionInfo): void;
}

export interface SipTransportOptions {
  /** Local IP to bind and to announce in Via sent-by. */
  address: string;
  /** Port for both UDP and TCP; 0 picks a free one (UDP first, then TCP on the same number). */
  port: number;
  /** UDP and/or TCP. Default both; may be empty when `websocket` is set. */
  transports?: ('UDP' | 'TCP')[];
  /** Message size limits. Default DEFAULT_SIP_LIMITS. */
  limits?: SipLimits;
  tcp?: TcpOptions;
  /** Also listen for SIP over WebSocket (RFC 7118) on `websocket.port` (default 5066); `wss` with `tls`. */
  websocket?: WsOptions;
  /**
   * UDP socket receive buffer, bytes (SO_RCVBUF; the kernel caps it at
   * net.core.rmem_max). Default 4 MiB: datagrams that arrive while the event
   * loop is busy (a GC pause, a burst) wait here; once the buffer is full the
   * kernel drops them and the peers' retransmissions cost 500 ms or more each.
   * The kernel default (about 200 KB) overflowed at 300 calls/s on a busy host.
   */
  udpReceiveBufferBytes?: number;
}

export const DEFAULT_UDP_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** UDP cannot carry more than this in one datagram. */
const MAX_UDP_PAYLOAD = 65507;

export class SipTransportLayer implements SipTransport {
  readonly counters: TransportCounters = newTransportCounters();
  private listener: TransportListener | undefined;
  private readonly connectionListeners: ConnectionListener[] = [];
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly address: string,
    readonly port: number,
    private readonly limits: SipLimits,
    private readonly udp: UdpSocket | undefined,
    private readonly tcpServer: Server | undefined,
    private readonly tcp: TcpConnections | undefined,
    private readonly ws: WsServer | undefined,
  ) {}

  /** Bind the sockets. Rejects with MeshError TRANSPORT_ERROR when a bind fails. */
  static async start(opts: SipTransportOptions): Promise<SipTransportLayer> {
    const transports = opts.transports ?? ['UDP', 'TCP'];
    if (transports.length === 0 && opts.websocket === undefined) {
      throw new MeshError('CONFIG_INVALID', 'no SIP transport enabled');
    }
    const limits = opts.limits ?? DEFAULT_SIP_LIMITS;
    let port = opts.port;
    let udp: UdpSocket | undefined;
    let server: Server | undefined;
    let layer: SipTransportLayer | undefined;
    // Events arrive only after start; the layer routes them once constructed.
    const route = (): SipTransportLayer | undefined => layer;
    try {
      if (transports.includes('UDP')) {
        udp = createSocket({ type: isIPv6(opts.address) ? 'udp6' : 'udp4', lookup: literalLookup });
        const u = udp;
        await new Promise<void>((resolve, reject) => {
          u.once('error', reject);
          u.bind({ address: opts.address, port, exclusive: true }, () => {
            u.off('error', reject);
            resolve();
          });
        });
        port = u.address().port;
        try {
          u.setRecvBufferSize(opts.udpReceiveBufferBytes ?? DEFAULT_UDP_RECEIVE_BUFFER_BYTES);
        } catch {
          // Refused by the system: the kernel's default buffer stays (see udpReceiveBufferBytes).
        }
        u.on('error', () => {
          const l = route();
          if (l) l.counters.sendErrors++;
        });
        u.on('message', (buf, rinfo) => {
          route()?.receive(buf, { transport: 'UDP', address: rinfo.address, port: rinfo.port });
        });
      }
      let tcp: TcpConnections | undefined;
      if (transports.includes('TCP')) {
        tcp = new TcpConnections(
          opts.address,
          limits,
          {
            onMessage: (buf, source) => route()?.receive(buf, source),
            onFramingError: (_source, e) => {
              const l = route();
              if (l) {
                l.counters.received++;
                if (isSipParseError(e) && e.status === 513) l.counters.oversized++;
                countDrop(l.counters, 'framing');
              }
            },
            onConnectionCountChanged: (n) => {
              const l = route();
              if (l) l.counters.tcpConnections = n;
            },
            onRejected: () => {
              const l = route();
              if (l) l.counters.tcpRejected++;
            },
          },
          opts.tcp,
        );
        const t = tcp;
        server = createServer((socket) => t.accept(socket));
        const s = server;
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen({ host: opts.address, port, exclusive: true }, () => {
            s.off('error', reject);
            resolve();
          });
        });
        const addr = s.address();
        if (addr !== null && typeof addr === 'object') port = addr.port;
        s.on('error', () => undefined);
      }
      let ws: WsServer | undefined;
      if (opts.websocket !== undefined) {
        ws = await WsServer.listen(
          opts.address,
          limits.maxMessageBytes,
          {
            onMessage: (buf, source) => route()?.receive(buf, source),
            onProtocolError: (_source, e) => {
              const l = route();
              if (l) {
                l.counters.received++;
                if (e.closeCode === 1009) l.counters.oversized++;
                countDrop(l.counters, 'framing');
              }
            },
            onOpened: () => {
              const l = route();
              if (l) l.counters.wsConnections = l.ws?.size ?? 0;
            },
            onClosed: (info) => {
              const l = route();
              if (l === undefined) return;
              l.counters.wsConnections = l.ws?.size ?? 0;
              for (const c of l.connectionListeners) {
                try {
                  c.onClosed(info);
                } catch {
                  // A listener's bug must not stop the others.
                }
              }
            },
            onRefused: (why) => {
              const l = route();
              if (l) l.counters.wsRefused[why]++;
            },
          },
          opts.websocket,
        );
        if (transports.length === 0) port = ws.port;
      }
      layer = new SipTransportLayer(opts.address, port, limits, udp, server, tcp, ws);
      return layer;
    } catch (e) {
      udp?.close();
      server?.close();
      if (isMeshError(e) && (e.code === 'CONFIG_INVALID' || opts.websocket !== undefined)) throw e;
      throw new MeshError('TRANSPORT_ERROR', `cannot bind SIP transport on ${opts.address}:${opts.port}`, { cause: e });
    }
  }

  setListener(l: TransportListener): void {
    this.listener = l;
  }

  /** Also told when a WebSocket connection closes (the registrar drops its bindings). */
  addConnectionListener(l: ConnectionListener): void {
    this.connectionListeners.push(l);
  }

  get transports(): TransportName[] {
    const t: TransportName[] = [];
    if (this.udp) t.push('UDP');
    if (this.tcp) t.push('TCP');
    if (this.ws) t.push(this.ws.transport);
    return t;
  }

  /** The UDP socket's receive buffer as the kernel granted it (Linux reports twice the bytes asked for); 0 without UDP. */
  get udpReceiveBufferBytes(): number {
    try {
      return this.udp?.getRecvBufferSize() ?? 0;
    } catch {
      return 0;
    }
  }


  /** Our address and port on `transport`: WS/WSS on the WebSocket port. */
  localEndpoint(transport: TransportName): Endpoint {
    return { transport, address: this.address, port: this.portFor(transport) };
  }

  private portFor(transport: string): number {
    return (transport === 'WS' || transport === 'WSS') && this.ws !== undefined ? this.ws.port : this.port;
  }

  /** The WebSocket connection a message came from, while it is open (RFC 7118: a client is reachable only over it). */
  connection(source: Endpoint): WsConnectionInfo | undefined {
    if (source.transport !== 'WS' && source.transport !== 'WSS') return undefined;
    return this.ws?.info(source.address, source.port);
  }

  /** Limits of the WebSocket transport, for operators (/metrics); undefined when it does not run. */
  get websocketLimits(): { maxConnections: number } | undefined {
    return this.ws === undefined ? undefined : { maxConnections: this.ws.maxConnections };
  }

  /** Host part for Via sent-by / Contact: IPv6 literals in brackets. */
  get sentByHost(): string {
    return isIPv6(this.address) ? `[${this.address}]` : this.address;
  }

  // ---- incoming ----------------------------------------------------------

  /** One datagram or one framed stream message. */
  receive(buf: Buffer, source: Endpoint): void {
    if (this.closed) return;
    // RFC 5626 §3.5.1 keep-alives (CRLF) on UDP are not messages.
    if (source.transport === 'UDP' && isOnlyWhitespace(buf)) return;
    if ((source.transport === 'WS' || source.transport === 'WSS') && isOnlyWhitespace(buf)) {
      // RFC 5626 §4.4.1 as browser libraries use it on WebSocket: a double-CRLF ping gets a single-CRLF pong.
      if (buf.length >= 4) this.ws?.send(source.address, source.port, CRLF, () => undefined);
      return;
    }
    this.counters.received++;
    let msg: SipMessage;
    try {
      msg = parseSipMessage(buf, this.limits);
    } catch (e) {
      if (isSipParseError(e) && e.status === 513) this.counters.oversized++;
      // An ACK is never answered (RFC 3261 §17.2.3), not even a malformed one.
      if (isSipParseError(e) && e.partial !== undefined && e.partial.method !== 'ACK') {
        this.rejectBadRequest(e.partial, e.status, e.reason, source);
      } else {
        this.drop('unparseable');
      }
      return;
    }
    if (msg.type === 'request') {
      // §18.2.1: the parser checked every Via, so this fails only on a bug; never deliver an unanswerable request.
      if (stampTopVia(msg, source) === undefined) {
        this.drop('no-via');
        return;
      }
      this.deliver(() => this.listener?.onRequest(msg, source));
    } else {
      if (!this.isOurSentBy(msg)) {
        this.drop('not-our-response');
        return;
      }
      this.deliver(() => this.listener?.onResponse(msg, source));
    }
  }

  private deliver(fn: () => void): void {
    try {
      fn();
    } catch {
      // The layer above must not take the socket down with it.
      this.drop('handler-error');
    }
  }

  private drop(reason: DropReason): void {
    countDrop(this.counters, reason);
  }

  /** §18.1.2: a response whose top Via sent-by is not ours is discarded. */
  private isOurSentBy(res: SipResponse): boolean {
    const top = res.headers.getList('Via')[0];
    if (top === undefined) return false;
    try {
      const via = parseVia(top);
      return (
        stripBrackets(via.host).toLowerCase() === this.address.toLowerCase() &&
        (via.port ?? DEFAULT_SIP_PORT) === this.portFor(via.transport)
      );
    } catch {
      return false;
    }
  }

  /**
   * Stateless 400 (or the status the parser suggests) with the parser's
   * reason phrase (RFC 3261 §8.2.6). The response copies the request's Via
   * values as they came (§8.2.6.2). When the top Via cannot be read, §18.2.2
   * has no address to use, so the answer goes back to the packet's source
   * address and port, which is where RFC 3581 `rport` would send it too
   * (RFC 4475 §3.1.2.1, §3.3.1 ask for a 400, not silence).
   */
  private rejectBadRequest(partial: SipRequest, status: number, reason: string, source: Endpoint): void {
    // Without any Via a response has none to carry (§8.2.6.2), and the sender could not match it.
    if (partial.headers.getAll('Via').length === 0) {
      this.drop('no-via');
      return;
    }
    const via = stampTopVia(partial, source);
    let res: SipResponse;
    try {
      const hasTag = getTag(partial.headers.get('To') ?? '') !== undefined;
      res = createResponse(partial, status, reason, hasTag ? {} : { toTag: generateTag() });
    } catch {
      this.drop('unroutable');
      return;
    }
    countRejected(this.counters, status);
    if (via !== undefined) this.sendResponse(res, source);
    else this.sendTo(serializeSipMessage(res), source);
  }

  // ---- outgoing ----------------------------------------------------------

  /** Over UDP returns what it sent (see `sendResponse`), for a `resend` without the message. */
  sendRequest(req: SipRequest, dest: Endpoint, onError?: (e: Error) => void): SentMessage | undefined {
    const bytes = serializeSipMessage(req);
    this.sendTo(bytes, dest, onError);
    return dest.transport === 'UDP' ? { bytes, dest } : undefined;
  }

  /**
   * §18.2.2: on TCP the connection the request came on, if still open; else
   * (and on UDP) `received`/`rport` from the top Via, else its sent-by.
   */
  sendResponse(res: SipResponse, source: Endpoint, onError?: (e: Error) => void): SentMessage | undefined {
    const top = res.headers.getList('Via')[0];
    let dest: Endpoint;
    if (source.transport === 'TCP' && this.tcp?.has(source.address, source.port)) {
      dest = source;
    } else if (source.transport === 'WS' || source.transport === 'WSS') {
      // RFC 7118 §5: only the connection the request came on reaches a WebSocket client; sendTo fails when it is gone.
      dest = source;
    } else {
      if (top === undefined) {
        this.drop('unroutable');
        onError?.(new MeshError('BAD_REQUEST', 'response has no Via'));
        return undefined;
      }
      try {
        dest = responseDestination(parseVia(top), source.transport);
      } catch (e) {
        this.drop('unroutable');
        onError?.(e instanceof Error ? e : new MeshError('BAD_REQUEST', 'bad Via'));
        return undefined;
      }
      // §18.2.2: for TCP, a new connection goes to the received address and the sent-by port
      // (rport is only meaningful for the connection that is now gone).
      if (source.transport === 'TCP') {
        const via = parseVia(top);
        dest = { transport: 'TCP', address: dest.address, port: via.port ?? DEFAULT_SIP_PORT };
      }
    }
    const bytes = serializeSipMessage(res);
    this.sendTo(bytes, dest, onError);
    return dest.transport === 'UDP' ? { bytes, dest } : undefined;
  }

  resend(sent: SentMessage, onError?: (e: Error) => void): void {
    this.sendTo(typeof sent.bytes === 'string' ? Buffer.from(sent.bytes, 'latin1') : sent.bytes, sent.dest, onError);
  }

  private sendTo(buf: Buffer, dest: Endpoint, onError?: (e: Error) => void): void {
    const fail = (e: Error): void => {
      this.counters.sendErrors++;
      onError?.(e);
    };
    if (this.closed) {
      fail(new MeshError('CLOSED', 'SIP transport closed'));
      return;
    }
    if (dest.transport === 'UDP') {
      if (this.udp === undefined) return fail(new MeshError('TRANSPORT_ERROR', 'UDP is not enabled'));
      if (buf.length > MAX_UDP_PAYLOAD) return fail(new MeshError('TOO_LARGE', 'message too large for UDP'));
      this.counters.sent++;
      try {
        this.udp.send(buf, dest.port, dest.address, (err) => {
          if (err) fail(err);
        });
      } catch (e) {
        // Bad port/address arguments throw synchronously.
        fail(e instanceof Error ? e : new MeshError('TRANSPORT_ERROR', 'UDP send failed'));
      }
      return;
    }
    if (dest.transport === 'WS' || dest.transport === 'WSS') {
      if (this.ws === undefined || this.ws.transport !== dest.transport) return fail(new MeshError('TRANSPORT_ERROR', `${dest.transport} is not enabled`));
      if (!this.ws.has(dest.address, dest.port)) {
        return fail(new MeshError('TRANSPORT_ERROR', `no open ${dest.transport} connection from ${dest.address}:${dest.port}: a WebSocket client is reachable only over its own connection (RFC 7118 §5)`));
      }
      this.counters.sent++;
      this.ws.send(dest.address, dest.port, buf, fail);
      return;
    }
    if (this.tcp === undefined) return fail(new MeshError('TRANSPORT_ERROR', 'TCP is not enabled'));
    this.counters.sent++;
    this.tcp.send(dest.address, dest.port, buf, fail);
  }

  /** Close sockets and connections. Idempotent; resolves when the server socket is closed. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.tcp?.close();
    const udpDone = new Promise<void>((resolve) => {
      if (!this.udp) return resolve();
      try {
        this.udp.close(() => resolve());
      } catch {
        resolve();
      }
    });
    const tcpDone = new Promise<void>((resolve) => {
      if (!this.tcpServer) return resolve();
      this.tcpServer.close(() => resolve());
    });
    const wsDone = this.ws?.close() ?? Promise.resolve();
    this.closing = Promise.all([udpDone, tcpDone, wsDone]).then(() => undefined);
    return this.closing;
  }
}

const CRLF = Buffer.from('\r\n');

function isOnlyWhitespace(buf: Buffer): boolean {
  for (const b of buf) if (b !== 0x0d && b !== 0x0a && b !== 0x20 && b !== 0x09) return false;
  return true;
}
