/**
 * Raw SIP for tests: send exact bytes over UDP or TCP and collect whatever
 * comes back within a bounded wait, plus builders for well-formed and
 * deliberately malformed messages (truncated, oversized, bad Content-Length,
 * missing Via, garbage) to probe a parser and transport from outside.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { MeshError } from '../../regions/core/errors.js';

export interface Address {
  address: string;
  port: number;
}

/** Largest UDP payload over IPv4 (65535 - 8 UDP header - 20 IP header). */
export const MAX_UDP_PAYLOAD = 65_507;
/** Cap on what one probe collects, so a misbehaving peer cannot balloon a test. */
const MAX_COLLECT_BYTES = 4 * 1024 * 1024;

/**
 * Send one datagram from `from.address` (ephemeral port unless `from.port`)
 * and return every datagram received on that socket within `waitMs`.
 */
export async function sendUdp(
  bytes: Buffer,
  to: Address,
  from: { address: string; port?: number } | undefined,
  waitMs: number,
): Promise<Buffer[]> {
  if (bytes.length > MAX_UDP_PAYLOAD) {
    throw new MeshError('TOO_LARGE', `${bytes.length} bytes do not fit one UDP datagram (max ${MAX_UDP_PAYLOAD})`);
  }
  const sock = createSocket('udp4');
  const received: Buffer[] = [];
  let total = 0;
  sock.on('message', (msg) => {
    if (total + msg.length > MAX_COLLECT_BYTES) return;
    total += msg.length;
    received.push(msg);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(from?.port ?? 0, from?.address ?? '127.0.0.1', () => {
        sock.off('error', reject);
        resolve();
      });
    });
    // ICMP port-unreachable surfaces as an 'error' on a later receive; it just means "no answer".
    sock.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      sock.send(bytes, to.port, to.address, (err) => (err ? reject(err) : resolve()));
    });
    await new Promise((r) => setTimeout(r, waitMs));
    return received;
  } finally {
    sock.close();
  }
}

export interface TcpProbeResult {
  /** Bytes received, split into SIP messages (by Content-Length); an incomplete tail is the last element. */
  responses: Buffer[];
  /** The peer closed (FIN or RST) before waitMs elapsed. */
  closedByPeer: boolean;
  /** Socket error seen, if any (ECONNRESET, EPIPE, ECONNREFUSED...). */
  error: string | undefined;
}

/**
 * Connect, write `bytes`, and collect what the peer sends within `waitMs`
 * (or until it closes). Never rejects on a peer's close or reset: that is a
 * result. Rejects only when the connection cannot be made within `waitMs`.
 */
export async function sendTcp(
  bytes: Buffer,
  to: Address,
  waitMs: number,
  from?: { address: string },
): Promise<TcpProbeResult> {
  const sock = connect({ host: to.address, port: to.port, localAddress: from?.address });
  const chunks: Buffer[] = [];
  let total = 0;
  let closedByPeer = false;
  let ourClose = false;
  let error: string | undefined;
  sock.on('data', (c: Buffer) => {
    if (total + c.length > MAX_COLLECT_BYTES) return;
    total += c.length;
    chunks.push(c);
  });
  const closed = new Promise<void>((resolve) => {
    sock.once('close', () => {
      if (!ourClose) closedByPeer = true;
      resolve();
    });
  });
  sock.on('error', (err: NodeJS.ErrnoException) => {
    error = err.code ?? err.message;
  });
  sock.on('end', () => {
    if (!ourClose) closedByPeer = true;
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new MeshError('REQUEST_TIMEOUT', `TCP connect to ${to.address}:${to.port} timed out`)), waitMs);
      sock.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
      sock.once('error', (err) => {
        clearTimeout(t);
        reject(new MeshError('TRANSPORT_ERROR', `TCP connect to ${to.address}:${to.port} failed`, { cause: err }));
      });
    });
    sock.write(bytes);
    await Promise.race([closed, new Promise((r) => setTimeout(r, waitMs))]);
    return { responses: splitSipStream(Buffer.concat(chunks)), closedByPeer, error };
  } finally {
    ourClose = true;
    sock.destroy();
  }
}

/** Split a byte stream into SIP messages using each one's Content-Length (RFC 3261 §18.3). */
export function splitSipStream(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let rest = buf;
  for (;;) {
    // Keep-alive CRLFs between messages (RFC 5626 §3.5.1) are not messages.
    let skip = 0;
    while (skip + 1 < rest.length && rest[skip] === 0x0d && rest[skip + 1] === 0x0a) skip += 2;
    rest = rest.subarray(skip);
    if (rest.length === 0) return out;
    const headerEnd = rest.indexOf('\r\n\r\n');
    if (headerEnd < 0) break;
    const head = rest.subarray(0, headerEnd).toString('latin1');
    const m = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)/im.exec(head);
    const bodyLen = m?.[1] === undefined ? 0 : Number(m[1]);
    const end = headerEnd + 4 + bodyLen;
    if (end > rest.length) break;
    out.push(rest.subarray(0, end));
    rest = rest.subarray(end);
  }
  out.push(rest);
  return out;
}

/** Status code of a response; undefined for a request or garbage. */
export function statusCodeOf(msg: Buffer): number | undefined {
  const m = /^SIP\/2\.0 (\d{3}) /.exec(msg.subarray(0, 64).toString('latin1'));
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

export interface RequestSpec {
  method?: string;
  /** Default `sip:${user}@${to.address}:${to.port}`. */
  requestUri?: string;
  user?: string;
  to: Address;
  /** Sent-by of the Via and the From/Contact host. */
  from: Address;
  callId?: string;
  cseq?: number;
  branch?: string;
  fromTag?: string;
  transport?: 'UDP' | 'TCP';
  /** Added after the standard headers, e.g. ['Supported: timer']. */
  extraHeaders?: string[];
  body?: string;
  contentType?: string;
}

let counter = 0;
function unique(): string {
  counter += 1;
  return `${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** Standard headers of a request as lines (no request line, no Content-Length). */
function headerLines(spec: RequestSpec): string[] {
  const method = spec.method ?? 'INVITE';
  const user = spec.user ?? 'test';
  const transport = spec.transport ?? 'UDP';
  const lines = [
    `Via: SIP/2.0/${transport} ${spec.from.address}:${spec.from.port};branch=${spec.branch ?? `z9hG4bK-${unique()}`}`,
    `Max-Forwards: 70`,
    `From: <sip:raw@${spec.from.address}:${spec.from.port}>;tag=${spec.fromTag ?? unique()}`,
    `To: <sip:${user}@${spec.to.address}:${spec.to.port}>`,
    `Call-ID: ${spec.callId ?? `raw-${unique()}`}`,
    `CSeq: ${spec.cseq ?? 1} ${method}`,
    `Contact: <sip:raw@${spec.from.address}:${spec.from.port};transport=${transport.toLowerCase()}>`,
  ];
  if (spec.body !== undefined && spec.body !== '') lines.push(`Content-Type: ${spec.contentType ?? 'application/sdp'}`);
  return [...lines, ...(spec.extraHeaders ?? [])];
}

function requestLine(spec: RequestSpec): string {
  const user = spec.user ?? 'test';
  return `${spec.method ?? 'INVITE'} ${spec.requestUri ?? `sip:${user}@${spec.to.address}:${spec.to.port}`} SIP/2.0`;
}

function assemble(first: string, headers: string[], body: string, contentLength: string | undefined): Buffer {
  const all = contentLength === undefined ? headers : [...headers, `Content-Length: ${contentLength}`];
  return Buffer.from(`${first}\r\n${all.join('\r\n')}\r\n\r\n${body}`, 'utf8');
}

/** A well-formed request (Content-Length matches the body). */
export function buildRequest(spec: RequestSpec): Buffer {
  const body = spec.body ?? '';
  return assemble(requestLine(spec), headerLines(spec), body, String(Buffer.byteLength(body)));
}

/** A small G.711 SDP offer for raw INVITEs. */
export function sdpOffer(address: string, port: number): string {
  return [
    'v=0',
    `o=raw 1 1 IN IP4 ${address}`,
    's=-',
    `c=IN IP4 ${address}`,
    't=0 0',
    `m=audio ${port} RTP/AVP 0 8 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

/** The first `keepBytes` bytes of a valid request (default: half, so it ends inside the headers). */
export function truncatedRequest(spec: RequestSpec, keepBytes?: number): Buffer {
  const full = buildRequest(spec);
  return full.subarray(0, keepBytes ?? Math.floor(full.indexOf('\r\n\r\n') / 2));
}

/**
 * A request of `totalBytes` (default 70 000, over 65 535), padded in the body
 * (with a correct Content-Length) or in one long X-Padding header.
 */
export function oversizedRequest(
  spec: RequestSpec,
  opts: { totalBytes?: number; where?: 'body' | 'header' } = {},
): Buffer {
  const totalBytes = opts.totalBytes ?? 70_000;
  const base = buildRequest({ ...spec, body: '' });
  if ((opts.where ?? 'body') === 'header') {
    const pad = Math.max(0, totalBytes - base.length - 'X-Padding: \r\n'.length);
    return buildRequest({ ...spec, body: '', extraHeaders: [...(spec.extraHeaders ?? []), `X-Padding: ${'a'.repeat(pad)}`] });
  }
  // The body's length changes Content-Length's digits and adds Content-Type; size the padding after one pass.
  let body = '';
  for (let i = 0; i < 3; i += 1) {
    const current = buildRequest({ ...spec, body, contentType: 'text/plain' }).length;
    body = 'x'.repeat(Math.max(0, body.length + totalBytes - current));
  }
  return buildRequest({ ...spec, body, contentType: 'text/plain' });
}

export type BadContentLength = 'larger' | 'negative' | 'non-numeric' | 'smaller' | 'missing';

/**
 * A request with a body whose Content-Length lies: 'larger' than the body
 * (+100), 'smaller' (-5), 'negative' (-1), 'non-numeric' ('abc'), or 'missing'
 * (legal on UDP per RFC 3261 §18.3, fatal for framing on TCP).
 */
export function badContentLengthRequest(spec: RequestSpec, kind: BadContentLength): Buffer {
  const body = spec.body ?? sdpOffer(spec.from.address, 40000);
  const len = Buffer.byteLength(body);
  const value: Record<BadContentLength, string | undefined> = {
    larger: String(len + 100),
    smaller: String(Math.max(0, len - 5)),
    negative: '-1',
    'non-numeric': 'abc',
    missing: undefined,
  };
  return assemble(requestLine(spec), headerLines({ ...spec, body }), body, value[kind]);
}

/** A request without any Via header (RFC 3261 §8.1.1: Via is mandatory). */
export function missingViaRequest(spec: RequestSpec): Buffer {
  const body = spec.body ?? '';
  const headers = headerLines(spec).filter((h) => !/^via:/i.test(h));
  return assemble(requestLine(spec), headers, body, String(Buffer.byteLength(body)));
}

/** `length` pseudo-random bytes from `seed` (deterministic, so a failure reproduces). */
export function garbageBytes(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i += 1) {
    // xorshift32
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
