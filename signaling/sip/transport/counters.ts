/**
 * What the transport layer counts: traffic, what it drops (by reason) and
 * what it refuses statelessly (by status). Reasons are a closed list and
 * statuses come only from the parser's suggestions (400, 505, 513, 416), so
 * every map here has a small, fixed key set: safe as metric labels.
 */

/** Why input was discarded without an answer. */
export const DROP_REASONS = [
  /** Not a SIP message we can read, and no request readable enough to answer. */
  'unparseable',
  /** A request with no Via at all: a response has nowhere to go (§18.2.2) and no Via to carry (§8.2.6.2). */
  'no-via',
  /** A response whose top Via sent-by is not ours (RFC 3261 §18.1.2). */
  'not-our-response',
  /** Bytes on a TCP connection that could not be framed, or a WebSocket protocol violation; the connection is closed. */
  'framing',
  /** The layer above threw while handling a message. */
  'handler-error',
  /** An answer we built could not be sent (no usable destination). */
  'unroutable',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

export interface TransportCounters {
  /** Messages (datagrams or framed stream messages) received. */
  received: number;
  sent: number;
  /** Input discarded: the sum of `droppedByReason`. */
  dropped: number;
  droppedByReason: Record<DropReason, number>;
  /** Unparseable requests answered statelessly (the sum of `rejected`). */
  badRequests: number;
  /** Those answers by SIP status: 400, or what the parser suggests (505, 513, 416). */
  rejected: Record<string, number>;
  /** Messages over `maxMessageBytes` (datagrams, or stream messages the framer refused), answered or not. */
  oversized: number;
  /** Open TCP connections (gauge). */
  tcpConnections: number;
  /** TCP connections refused because the limit was reached. */
  tcpRejected: number;
  sendErrors: number;
  /** Open WebSocket connections (gauge, RFC 7118). */
  wsConnections: number;
  /** WebSocket connections refused: over the connection limit, a bad upgrade, or an upgrade not finished in time. */
  wsRefused: Record<'limit' | 'handshake' | 'timeout', number>;
}

export function newTransportCounters(): TransportCounters {
  const droppedByReason = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  return {
    received: 0,
    sent: 0,
    dropped: 0,
    droppedByReason,
    badRequests: 0,
    rejected: {},
    oversized: 0,
    tcpConnections: 0,
    tcpRejected: 0,
    sendErrors: 0,
    wsConnections: 0,
    wsRefused: { limit: 0, handshake: 0, timeout: 0 },
  };
}

export function countDrop(c: TransportCounters, reason: DropReason): void {
  c.dropped++;
  c.droppedByReason[reason]++;
}

export function countRejected(c: TransportCounters, status: number): void {
  c.badRequests++;
  const key = String(status);
  c.rejected[key] = (c.rejected[key] ?? 0) + 1;
}
