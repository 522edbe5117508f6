/**
 * A raw SIP peer for the RFC 4475 torture run: sends exact bytes (the
 * archive's files, untouched) over UDP or TCP and collects every response,
 * so a test can say which answer, if any, a torture message got.
 *
 * Responses to a UDP request go to the top Via's `received` address and its
 * sent-by port, 5060 by default (RFC 3261 §18.2.2); the corpus names 5060
 * and 5050 (quotbal), so the peer listens on both of its address's ports.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { SipStreamFramer } from '../../../../signaling/sip/message/index.js';
import { waitUntil } from '../../../support/wait.js';

export interface Address {
  address: string;
  port: number;
}

/**
 * A response read leniently: the node copies From, To, Call-ID and CSeq
 * from the request into its answer (RFC 3261 §8.2.6.2), so the answer to a
 * malformed request carries the same malformed values; a strict parser
 * would discard the very answer the test looks for.
 */
export interface LooseResponse {
  status: number;
  reason: string;
  /** Header values by lower-case long name (compact forms expanded), unfolded, in order. */
  headers: Map<string, string[]>;
  get(name: string): string | undefined;
}

export interface Received {
  res: LooseResponse;
  transport: 'UDP' | 'TCP';
}

/** RFC 3261 §7.3.3 compact forms that appear in answers. */
const COMPACT: Record<string, string> = { i: 'call-id', v: 'via', f: 'from', t: 'to', l: 'content-length', k: 'supported', m: 'contact', c: 'content-type' };

/** A status line and header fields, or undefined when `buf` is not a response. */
export function readResponse(buf: Buffer): LooseResponse | undefined {
  const text = headerText(buf);
  const lines = text.split('\r\n');
  const m = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(lines[0] ?? '');
  if (m === null) return undefined;
  const headers = new Map<string, string[]>();
  let last: { name: string; index: number } | undefined;
  for (const line of lines.slice(1)) {
    if (/^[ \t]/.test(line) && last !== undefined) {
      const list = headers.get(last.name)!;
      list[last.index] = `${list[last.index]} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const raw = line.slice(0, colon).trim().toLowerCase();
    const name = COMPACT[raw] ?? raw;
    const list = headers.get(name) ?? [];
    list.push(line.slice(colon + 1).trim());
    headers.set(name, list);
    last = { name, index: list.length - 1 };
  }
  return { status: Number(m[1]), reason: m[2] ?? '', headers, get: (n) => headers.get(n.toLowerCase())?.[0] };
}

/** Most responses kept: a misbehaving node cannot balloon the test. */
const MAX_KEPT = 10_000;

/** The Call-ID of a raw message (first one; long or compact form), or undefined. */
export function rawCallId(raw: Buffer): string | undefined {
  return /^(?:call-id|i)[ \t]*:[ \t]*(\S+)[ \t]*\r?$/im.exec(headerText(raw))?.[1];
}

/** The first Via line's value (not unfolded), or undefined. */
export function rawTopVia(raw: Buffer): string | undefined {
  return /^(?:via|v)[ \t]*:(.*)$/im.exec(headerText(raw))?.[1]?.trim();
}

/** The branch of the raw message's first Via, or undefined. */
export function rawTopBranch(raw: Buffer): string | undefined {
  const via = rawTopVia(raw);
  return via === undefined ? undefined : /branch[ \t]*=[ \t]*([^;,\s]+)/i.exec(via)?.[1];
}

/** The method of the raw message's CSeq, or undefined. */
export function rawCSeqMethod(raw: Buffer): string | undefined {
  return /^cseq[ \t]*:[ \t]*\S+[ \t]+(\S+)/im.exec(headerText(raw))?.[1];
}

function headerText(raw: Buffer): string {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  return end < 0 ? text : text.slice(0, end);
}

/** Does `res` answer the raw request (same Call-ID; without one, same top-Via branch)? */
export function answers(res: LooseResponse, raw: Buffer): boolean {
  const callId = rawCallId(raw);
  if (callId !== undefined) return res.get('Call-ID') === callId;
  const branch = rawTopBranch(raw);
  const top = res.get('Via');
  return branch !== undefined && top !== undefined && top.includes(`branch=${branch}`);
}

export class TorturePeer {
  readonly received: Received[] = [];
  private readonly tcpSockets = new Set<Socket>();

  private constructor(
    readonly address: string,
    private readonly udp: UdpSocket[],
  ) {}

  static async start(address: string, ports: number[]): Promise<TorturePeer> {
    const socks: UdpSocket[] = [];
    const peer = new TorturePeer(address, socks);
    for (const port of ports) {
      const s = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(port, address, () => {
          s.off('error', reject);
          resolve();
        });
      });
      s.on('message', (buf) => peer.keep(buf, 'UDP'));
      socks.push(s);
    }
    return peer;
  }

  /** Send from the first UDP socket (port 5060 in the torture run). */
  sendUdp(bytes: Buffer, to: Address): Promise<void> {
    return new Promise((resolve, reject) => this.udp[0]!.send(bytes, to.port, to.address, (e) => (e ? reject(e) : resolve())));
  }

  /** Open a TCP connection from our address, write `bytes`, keep what comes back on it. */
  async sendTcp(bytes: Buffer, to: Address): Promise<void> {
    const sock = connect({ host: to.address, port: to.port, localAddress: this.address });
    this.tcpSockets.add(sock);
    const framer = new SipStreamFramer();
    sock.on('data', (chunk: Buffer) => {
      try {
        for (const m of framer.push(chunk)) this.keep(m, 'TCP');
      } catch {
        sock.destroy();
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => this.tcpSockets.delete(sock));
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    sock.write(bytes);
  }

  /** Responses so far that answer `raw`. */
  answersTo(raw: Buffer, transport?: 'UDP' | 'TCP'): LooseResponse[] {
    return this.received.filter((r) => (transport === undefined || r.transport === transport) && answers(r.res, raw)).map((r) => r.res);
  }

  /** The first final response to `raw`, waiting up to `ms`; undefined when none came. */
  async finalTo(raw: Buffer, ms: number, transport?: 'UDP' | 'TCP'): Promise<LooseResponse | undefined> {
    const find = (): LooseResponse | undefined => this.answersTo(raw, transport).find((r) => r.status >= 200);
    try {
      await waitUntil(() => find() !== undefined, ms, 'final response');
    } catch {
      return undefined;
    }
    return find();
  }

  close(): void {
    for (const s of this.udp) s.close();
    for (const s of this.tcpSockets) s.destroy();
  }

  private keep(buf: Buffer, transport: 'UDP' | 'TCP'): void {
    if (this.received.length >= MAX_KEPT) return;
    const res = readResponse(buf);
    if (res !== undefined) this.received.push({ res, transport });
  }
}
