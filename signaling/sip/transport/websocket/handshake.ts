/**
 * The opening handshake of a WebSocket server (RFC 6455 §4.2) for SIP
 * (RFC 7118 §4): the HTTP/1.1 upgrade request is read with a size bound,
 * checked, and answered with 101 and `Sec-WebSocket-Protocol: sip`, or
 * refused with an HTTP status and a reason naming what is wrong. A client
 * that does not offer the `sip` subprotocol is refused (RFC 7118 §4.1: the
 * server must not accept without it).
 */
import { createHash } from 'node:crypto';

/** §1.3: the GUID appended to the client's key. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const SIP_SUBPROTOCOL = 'sip';
/** Query parameter a browser may carry its access token in (a browser cannot set headers on a WebSocket). */
export const ACCESS_TOKEN_PARAM = 'access_token';
/** Longest access token taken from the URL. */
const MAX_TOKEN_CHARS = 4096;

export interface UpgradeRequest {
  method: string;
  /** Request target as sent (path and query). */
  target: string;
  /** Header values by lower-case name; repeated headers joined with ", ". */
  headers: Map<string, string>;
}

export type HandshakeResult =
  | { ok: true; response: string; token: string | undefined }
  | { ok: false; status: number; reason: string; headers?: [string, string][] };

export class HandshakeError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'HandshakeError';
  }
}

/** Index just past the blank line ending the request head, or -1 if it is not complete yet. */
export function endOfHead(buf: Buffer): number {
  const i = buf.indexOf('\r\n\r\n');
  return i < 0 ? -1 : i + 4;
}

/**
 * True once the first bytes received cannot begin an HTTP request line
 * (a method token of at most 16 capital letters, then a space): binary junk
 * or a TLS hello on a plain `ws` port is refused at once rather than held
 * until the upgrade timeout.
 */
export function cannotBeHttp(start: Buffer): boolean {
  const n = Math.min(start.length, 17);
  for (let i = 0; i < n; i++) {
    const b = start[i]!;
    if (b === 0x20) return i === 0;
    if (b < 0x41 || b > 0x5a) return true;
  }
  return n === 17;
}

/** Parse a request head (up to and including the blank line). Throws HandshakeError 400. */
export function parseUpgradeHead(head: Buffer): UpgradeRequest {
  const text = head.toString('latin1');
  const lines = text.split('\r\n');
  const requestLine = lines[0] ?? '';
  const m = /^([A-Z]+) (\S+) HTTP\/(\d\.\d)$/.exec(requestLine);
  if (m === null) throw new HandshakeError(400, 'malformed HTTP request line');
  if (m[3] !== '1.1') throw new HandshakeError(400, 'HTTP/1.1 required for a WebSocket upgrade');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HandshakeError(400, 'malformed HTTP header line');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { method: m[1]!, target: m[2]!, headers };
}

/** Comma-separated header tokens, lower-cased. */
function tokens(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t.length > 0);
}

/** `Sec-WebSocket-Accept` for a client key (§4.2.2 step 5.4). */
export function websocketAccept(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

/** Check an upgrade request and build the 101 answer, or say why it is refused (§4.2.1, RFC 7118 §4.1). */
export function answerUpgrade(req: UpgradeRequest): HandshakeResult {
  if (req.method !== 'GET') return { ok: false, status: 405, reason: 'WebSocket upgrade must be a GET', headers: [['Allow', 'GET']] };
  if (!req.headers.has('host')) return { ok: false, status: 400, reason: 'Host header missing' };
  if (!tokens(req.headers.get('upgrade')).includes('websocket')) {
    return { ok: false, status: 426, reason: 'this endpoint speaks SIP over WebSocket only: Upgrade: websocket required', headers: [['Upgrade', 'websocket']] };
  }
  if (!tokens(req.headers.get('connection')).includes('upgrade')) return { ok: false, status: 400, reason: 'Connection: Upgrade required' };
  if (req.headers.get('sec-websocket-version') !== '13') {
    return { ok: false, status: 426, reason: 'Sec-WebSocket-Version 13 required', headers: [['Sec-WebSocket-Version', '13']] };
  }
  const key = req.headers.get('sec-websocket-key') ?? '';
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) return { ok: false, status: 400, reason: 'Sec-WebSocket-Key must be 16 bytes in base64' };
  if (!tokens(req.headers.get('sec-websocket-protocol')).includes(SIP_SUBPROTOCOL)) {
    return { ok: false, status: 400, reason: 'Sec-WebSocket-Protocol must offer "sip" (RFC 7118)' };
  }
  let token: string | undefined;
  try {
    token = new URL(req.target, 'ws://client.invalid').searchParams.get(ACCESS_TOKEN_PARAM) ?? undefined;
  } catch {
    return { ok: false, status: 400, reason: 'malformed request target' };
  }
  if (token !== undefined && (token.length === 0 || token.length > MAX_TOKEN_CHARS)) {
    return { ok: false, status: 400, reason: `access_token must be 1 to ${MAX_TOKEN_CHARS} characters` };
  }
  const response = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${websocketAccept(key)}`,
    `Sec-WebSocket-Protocol: ${SIP_SUBPROTOCOL}`,
    '',
    '',
  ].join('\r\n');
  return { ok: true, response, token };
}

/** An HTTP refusal that closes the connection; the reason is the body, plain text. */
export function refusalResponse(status: number, reason: string, headers: [string, string][] = []): string {
  const body = `${reason}\n`;
  return [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...headers.map(([n, v]) => `${n}: ${v}`),
    '',
    body,
  ].join('\r\n');
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  426: 'Upgrade Required',
  431: 'Request Header Fields Too Large',
  503: 'Service Unavailable',
};
