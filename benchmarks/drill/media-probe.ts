/**
 * A probe call for the drill's media gap: a tiny SIP UAC over UDP (INVITE with
 * SDP → 2xx → ACK … BYE) with its own RTP socket. It sends 20 ms PCMU packets
 * to the media address of the 2xx's SDP; the callee (SIPp with `-rtp_echo`)
 * echoes them, and every packet that comes back is timestamped. A media node
 * that dies under the call shows as a silence until the B2BUA re-anchors the
 * call: it re-INVITEs the probe with the new node's address, which the probe
 * answers (200 with the same SDP) and sends to from then on.
 *
 * Requests go to the entry signaling address with the Route set of the 2xx's
 * Record-Route in reverse and the Request-URI from its Contact (RFC 3261
 * §12.1.2, §12.2.1.1); answers to the platform's requests go back where the
 * request came from (§18.2.2). INVITE and BYE are retransmitted every 500 ms
 * (a cut region link drops datagrams) until answered or their timeout.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface MediaProbeOptions {
  id: number;
  localAddress: string;
  sipPort: number;
  rtpPort: number;
  target: { address: string; port: number };
  /** Request-URI user part (the dialed number). */
  service: string;
  /** No 2xx within this fails the probe. */
  answerTimeoutMs?: number;
}

interface SipMessage {
  /** Request method, or undefined for a response. */
  method?: string;
  status?: number;
  headers: Map<string, string[]>;
  body: string;
}

const COMPACT: Record<string, string> = { i: 'call-id', m: 'contact', t: 'to', f: 'from', v: 'via', l: 'content-length', c: 'content-type' };
const nowMs = (): number => performance.timeOrigin + performance.now();

export function parseSip(text: string): SipMessage | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = text.slice(0, end).split('\r\n');
  const first = lines[0] ?? '';
  const status = /^SIP\/2\.0 (\d{3}) /.exec(first);
  const request = /^([A-Z]+) \S+ SIP\/2\.0$/.exec(first);
  if (status === null && request === null) return undefined;
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const raw = line.slice(0, colon).trim().toLowerCase();
    const name = COMPACT[raw] ?? raw;
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return { ...(status !== null ? { status: Number(status[1]) } : { method: request![1] }), headers, body: text.slice(end + 4) };
}

/** The audio destination of an SDP body (media-level c= wins over session-level). */
export function sdpAudioTarget(sdp: string): { address: string; port: number } | undefined {
  let address: string | undefined;
  let port: number | undefined;
  let inAudio = false;
  for (const line of sdp.split(/\r?\n/)) {
    const c = /^c=IN IP4 (\S+)/.exec(line);
    if (c !== null && (inAudio || port === undefined)) address = c[1];
    const m = /^m=(\w+) (\d+) /.exec(line);
    if (m !== null) {
      inAudio = m[1] === 'audio' && port === undefined;
      if (inAudio) port = Number(m[2]);
    }
  }
  return address !== undefined && port !== undefined && port > 0 ? { address, port } : undefined;
}

const splitNameAddrs = (values: readonly string[]): string[] => values.flatMap((v) => v.split(/,(?=\s*<)/).map((s) => s.trim()));
const uriOf = (nameAddr: string): string => (/<([^>]+)>/.exec(nameAddr)?.[1] ?? nameAddr.split(';')[0] ?? nameAddr).trim();

async function bindUdp(address: string, port: number): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, address, () => {
      s.off('error', reject);
      resolve();
    });
  });
  s.on('error', () => undefined); // ICMP errors while a link is cut are expected
  return s;
}

export class MediaProbeCall {
  /** Receive time (ms since the epoch) of every RTP packet that came back. */
  readonly arrivals: number[] = [];
  answeredAt: number | undefined;
  /** Media address of the 2xx's SDP: the media node the call was placed on. */
  mediaAddressAtAnswer: string | undefined;
  /** The platform ended the call (BYE) before the probe did. */
  endedByPlatformAt: number | undefined;
  reinvites = 0;
  private remoteRtp: { address: string; port: number } | undefined;
  private rtpTimer: NodeJS.Timeout | undefined;
  private retransmit: NodeJS.Timeout | undefined;
  private readonly callId: string;
  private readonly tag: string;
  private toHeader: string;
  private requestUri: string;
  private routes: string[] = [];
  private ackText: string | undefined;
  private byeDone: (() => void) | undefined;
  private seq = 0;
  private closed = false;

  private constructor(
    private readonly o: MediaProbeOptions,
    private readonly sip: Socket,
    private readonly rtp: Socket,
  ) {
    const run = `${process.pid}-${Date.now().toString(36)}-${o.id}`;
    this.callId = `drill-probe-${run}@${o.localAddress}`;
    this.tag = `dp-${run}`;
    this.requestUri = `sip:${o.service}@${o.target.address}:${o.target.port}`;
    this.toHeader = `<${this.requestUri}>`;
    rtp.on('message', (msg) => {
      if (msg.length >= 12 && msg[0]! >> 6 === 2) this.arrivals.push(nowMs());
    });
    sip.on('message', (msg, rinfo) => this.onSip(msg.toString('latin1'), rinfo));
  }

  /** Bind, place the call and resolve once it is answered and the RTP stream runs. */
  static async start(o: MediaProbeOptions): Promise<MediaProbeCall> {
    const sip = await bindUdp(o.localAddress, o.sipPort);
    let rtp: Socket;
    try {
      rtp = await bindUdp(o.localAddress, o.rtpPort);
    } catch (e) {
      sip.close();
      throw e;
    }
    const call = new MediaProbeCall(o, sip, rtp);
    try {
      await call.invite(o.answerTimeoutMs ?? 10_000);
    } catch (e) {
      call.close();
      throw e;
    }
    return call;
  }

  private sdp(): string {
    const a = this.o.localAddress;
    return ['v=0', `o=drill-probe 1 ${++this.seq} IN IP4 ${a}`, 's=-', `c=IN IP4 ${a}`, 't=0 0', `m=audio ${this.o.rtpPort} RTP/AVP 0 8`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=sendrecv', ''].join('\r\n');
  }

  private request(method: string, cseq: number, body = '', branch = `z9hG4bK-${this.tag}-${method}-${cseq}`): string {
    const local = `${this.o.localAddress}:${this.o.sipPort}`;
    return [
      `${method} ${this.requestUri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${local};branch=${branch};rport`,
      `From: <sip:drill-probe@${local}>;tag=${this.tag}`,
      `To: ${this.toHeader}`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${cseq} ${method}`,
      ...this.routes.map((r) => `Route: ${r}`),
      `Contact: <sip:drill-probe@${local}>`,
      'Max-Forwards: 70',
      ...(body === '' ? [] : ['Content-Type: application/sdp']),
      `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
      '',
      body,
    ].join('\r\n');
  }

  private send(text: string, to = this.o.target): void {
    if (!this.closed) this.sip.send(Buffer.from(text, 'latin1'), to.port, to.address);
  }

  /** Send `text` now and every 500 ms until `stopRetransmit` or `limitMs`. */
  private sendReliably(text: string, limitMs: number): void {
    clearInterval(this.retransmit);
    this.send(text);
    const until = Date.now() + limitMs;
    this.retransmit = setInterval(() => (Date.now() > until ? this.stopRetransmit() : this.send(text)), 500);
  }

  private stopRetransmit(): void {
    clearInterval(this.retransmit);
    this.retransmit = undefined;
  }

  private invite(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.onInviteFinal = undefined;
        this.stopRetransmit();
        reject(new Error(`probe ${this.o.id}: no answer to its INVITE within ${timeoutMs} ms`));
      }, timeoutMs);
      this.onInviteFinal = (status) => {
        clearTimeout(timer);
        this.onInviteFinal = undefined;
        if (status < 300) resolve();
        else reject(new Error(`probe ${this.o.id}: INVITE answered ${status}`));
      };
      this.sendReliably(this.request('INVITE', 1, this.sdp()), timeoutMs);
    });
  }

  private onInviteFinal: ((status: number) => void) | undefined;

  private onSip(text: string, rinfo: RemoteInfo): void {
    const msg = parseSip(text);
    if (msg === undefined || msg.headers.get('call-id')?.[0] !== this.callId) return;
    const method = (msg.headers.get('cseq')?.[0] ?? '').split(/\s+/)[1];
    if (msg.status !== undefined) {
      if (method === 'INVITE') this.onInviteResponse(msg);
      else if (method === 'BYE' && msg.status >= 200) {
        this.stopRetransmit();
        this.byeDone?.();
      }
      return;
    }
    const from = { address: rinfo.address, port: rinfo.port };
    if (msg.method === 'INVITE') {
      // A re-INVITE: the call moved (another media node) or was put on hold.
      const target = sdpAudioTarget(msg.body);
      if (target !== undefined) this.remoteRtp = target;
      this.reinvites++;
      this.send(this.response(msg, 200, 'OK', this.sdp()), from);
    } else if (msg.method === 'BYE') {
      this.endedByPlatformAt ??= nowMs();
      this.send(this.response(msg, 200, 'OK'), from);
      this.stopRtp();
    } else if (msg.method !== 'ACK') {
      this.send(this.response(msg, msg.method === 'OPTIONS' ? 200 : 501, msg.method === 'OPTIONS' ? 'OK' : 'Not Implemented'), from);
    }
  }

  private onInviteResponse(msg: SipMessage): void {
    const status = msg.status!;
    if (status < 200) {
      this.stopRetransmit();
      return;
    }
    if (status >= 300) {
      this.stopRetransmit();
      // RFC 3261 §17.1.1.3: the ACK of a non-2xx final answer reuses the INVITE's branch.
      this.toHeader = msg.headers.get('to')?.[0] ?? this.toHeader;
      this.send(this.request('ACK', 1, '', `z9hG4bK-${this.tag}-INVITE-1`));
      this.onInviteFinal?.(status);
      return;
    }
    if (this.ackText === undefined) {
      this.stopRetransmit();
      this.toHeader = msg.headers.get('to')?.[0] ?? this.toHeader;
      this.requestUri = uriOf(msg.headers.get('contact')?.[0] ?? `<${this.requestUri}>`);
      this.routes = splitNameAddrs(msg.headers.get('record-route') ?? []).reverse();
      this.remoteRtp = sdpAudioTarget(msg.body);
      this.mediaAddressAtAnswer = this.remoteRtp?.address;
      this.ackText = this.request('ACK', 1);
      this.answeredAt = nowMs();
      this.startRtp();
    }
    // A retransmitted 2xx gets the same ACK again (§13.2.2.4).
    this.send(this.ackText);
    this.onInviteFinal?.(status);
  }

  private response(req: SipMessage, status: number, reason: string, body = ''): string {
    const h = (n: string): string[] => req.headers.get(n) ?? [];
    const local = `${this.o.localAddress}:${this.o.sipPort}`;
    return [
      `SIP/2.0 ${status} ${reason}`,
      ...h('via').map((v) => `Via: ${v}`),
      ...h('record-route').map((v) => `Record-Route: ${v}`),
      ...h('from').map((v) => `From: ${v}`),
      ...h('to').map((v) => `To: ${v}`),
      `Call-ID: ${this.callId}`,
      ...h('cseq').map((v) => `CSeq: ${v}`),
      `Contact: <sip:drill-probe@${local}>`,
      ...(body === '' ? [] : ['Content-Type: application/sdp']),
      `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
      '',
      body,
    ].join('\r\n');
  }

  /** 20 ms PCMU packets to the current remote media address, scheduled on the clock. */
  private startRtp(): void {
    const ssrc = (0x5d000000 + this.o.id) >>> 0;
    const started = performance.now();
    let sent = 0;
    const pkt = Buffer.alloc(172, 0xff);
    pkt[0] = 0x80;
    pkt[1] = 0;
    pkt.writeUInt32BE(ssrc, 8);
    const tick = (): void => {
      const due = Math.floor((performance.now() - started) / 20) + 1;
      while (sent < due) {
        pkt.writeUInt16BE(sent & 0xffff, 2);
        pkt.writeUInt32BE((sent * 160) >>> 0, 4);
        if (this.remoteRtp !== undefined && !this.closed) this.rtp.send(pkt, this.remoteRtp.port, this.remoteRtp.address);
        sent++;
      }
      this.rtpTimer = setTimeout(tick, 10);
    };
    tick();
  }

  private stopRtp(): void {
    clearTimeout(this.rtpTimer);
    this.rtpTimer = undefined;
  }

  /** Stop the stream and send BYE (unless the platform ended the call); resolves when answered or after `timeoutMs`. Returns when the probe stopped expecting media. */
  async hangup(timeoutMs = 4000): Promise<number> {
    const endedAt = this.endedByPlatformAt ?? nowMs();
    this.stopRtp();
    if (this.endedByPlatformAt === undefined && this.ackText !== undefined && !this.closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.byeDone = () => {
          clearTimeout(timer);
          resolve();
        };
        this.sendReliably(this.request('BYE', 2), timeoutMs);
      });
    }
    this.close();
    return endedAt;
  }

  /** Idempotent: timers cleared, sockets closed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopRtp();
    this.stopRetransmit();
    this.sip.close();
    this.rtp.close();
  }
}
