/**
 * The benchmark's caller: a small SIP UAC over UDP (messages parsed with
 * signaling/sip) and one RTP socket per call, in one thread, so the arrival
 * of the 200 OK and of the first RTP packet are read on one clock
 * (`process.hrtime.bigint()`, in the socket's 'message' handler before any
 * parsing).
 *
 * A call: INVITE with SDP (G.711, the RTP socket's address) → 2xx → ACK →
 * wait for the first RTP packet → listen `listenMs` more → BYE → 200.
 * A BYE from the platform is answered and ends the call. No
 * retransmissions: on loopback a lost datagram is rare, and a call that gets
 * no answer within its time limits counts as failed.
 */
import dgram from 'node:dgram';
import { getTag, parseNameAddr, parseSipMessage, type SipMessage } from '../../signaling/sip/message/index.js';

export interface UacOptions {
  sip: { address: string; port: number };
  rtpAddress: string;
  target: { address: string; port: number };
}

export interface CallTiming {
  /** The From user, the key the app server and the node probe see. */
  from: string;
  /** The SIP Call-ID (also the ng call-id of the leg's rtpengine session). */
  callId: string;
  ok: boolean;
  error: string | undefined;
  inviteNs: bigint;
  okNs: bigint | undefined;
  firstRtpNs: bigint | undefined;
  /** RTP packets received before the BYE. */
  packets: number;
  firstPayloadType: number | undefined;
}

interface PendingCall {
  callId: string;
  from: string;
  fromTag: string;
  dialed: string;
  timing: CallTiming;
  rtp: dgram.Socket;
  onOk: ((res: SipMessage) => void) | undefined;
  onFirstRtp: (() => void) | undefined;
  onByeDone: (() => void) | undefined;
  remoteEnded: boolean;
}

export interface PlaceCallOptions {
  dialed: string;
  from: string;
  /** Time allowed for the 2xx and, after it, for the first RTP packet. */
  timeoutMs: number;
  /** Packets keep being counted this long after the first one, before the BYE. */
  listenMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class BenchUac {
  private readonly calls = new Map<string, PendingCall>();
  private seq = 0;
  private readonly runId = `${process.pid}-${Date.now().toString(36)}`;

  private constructor(
    private readonly o: UacOptions,
    private readonly sock: dgram.Socket,
  ) {
    sock.on('message', (msg) => {
      const at = process.hrtime.bigint();
      let m: SipMessage;
      try {
        m = parseSipMessage(msg);
      } catch {
        return; // not SIP we can read: ignore
      }
      this.onSip(m, at);
    });
    sock.on('error', () => undefined); // ICMP errors of earlier sends: that call times out
  }

  static async open(o: UacOptions): Promise<BenchUac> {
    const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(o.sip.port, o.sip.address, () => {
        s.off('error', reject);
        resolve();
      });
    });
    return new BenchUac(o, s);
  }

  async close(): Promise<void> {
    for (const c of this.calls.values()) c.rtp.close();
    this.calls.clear();
    await new Promise<void>((r) => this.sock.close(() => r()));
  }

  /** Place one call and resolve with its timings; never rejects. */
  async call(p: PlaceCallOptions): Promise<CallTiming> {
    const n = ++this.seq;
    const callId = `cr-${this.runId}-${n}@${this.o.sip.address}`;
    const rtp = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 18 });
    await new Promise<void>((resolve, reject) => {
      rtp.once('error', reject);
      rtp.bind(0, this.o.rtpAddress, () => {
        rtp.off('error', reject);
        resolve();
      });
    });
    rtp.on('error', () => undefined);
    const timing: CallTiming = { from: p.from, callId, ok: false, error: undefined, inviteNs: 0n, okNs: undefined, firstRtpNs: undefined, packets: 0, firstPayloadType: undefined };
    const call: PendingCall = { callId, from: p.from, fromTag: `t${n}-${this.runId}`, dialed: p.dialed, timing, rtp, onOk: undefined, onFirstRtp: undefined, onByeDone: undefined, remoteEnded: false };
    rtp.on('message', (msg) => {
      const at = process.hrtime.bigint();
      if (msg.length < 12) return;
      if (timing.firstRtpNs === undefined) {
        timing.firstRtpNs = at;
        timing.firstPayloadType = msg[1]! & 0x7f;
        call.onFirstRtp?.();
      }
      timing.packets++;
    });
    this.calls.set(callId, call);
    try {
      const okP = new Promise<SipMessage | undefined>((resolve) => {
        call.onOk = resolve;
        setTimeout(() => resolve(undefined), p.timeoutMs).unref();
      });
      timing.inviteNs = process.hrtime.bigint();
      this.send(this.request(call, 'INVITE', `sip:${p.dialed}@${this.o.target.address}:${this.o.target.port}`, 1, `<sip:${p.dialed}@${this.o.target.address}:${this.o.target.port}>`, this.sdp(rtp.address().port)));
      const ok = await okP;
      if (ok === undefined || ok.type !== 'response') {
        timing.error = 'no 2xx to the INVITE';
        return timing;
      }
      if (ok.status >= 300) {
        timing.error = `INVITE answered ${ok.status}`;
        return timing;
      }
      const to = ok.headers.get('To') ?? '';
      const contact = parseNameAddr(ok.headers.get('Contact') ?? `<sip:${this.o.target.address}:${this.o.target.port}>`).uri;
      this.send(this.request(call, 'ACK', contact, 1, to));
      if (timing.firstRtpNs === undefined) {
        await new Promise<void>((resolve) => {
          call.onFirstRtp = resolve;
          setTimeout(resolve, p.timeoutMs).unref();
        });
      }
      if (timing.firstRtpNs === undefined) timing.error = 'no RTP after the 2xx';
      else await sleep(p.listenMs);
      if (!call.remoteEnded) {
        const byeDone = new Promise<void>((resolve) => {
          call.onByeDone = resolve;
          setTimeout(resolve, 2000).unref();
        });
        this.send(this.request(call, 'BYE', contact, 2, to));
        await byeDone;
      }
      timing.ok = timing.error === undefined;
      return timing;
    } catch (e) {
      timing.error = (e as Error).message;
      return timing;
    } finally {
      this.calls.delete(callId);
      rtp.close();
    }
  }

  private onSip(m: SipMessage, at: bigint): void {
    const call = this.calls.get(m.headers.get('Call-ID') ?? '');
    if (call === undefined) return;
    if (m.type === 'request') {
      if (m.method === 'BYE') {
        call.remoteEnded = true;
        this.send(this.response(m, 200, 'OK'));
      } else if (m.method !== 'ACK') {
        this.send(this.response(m, 200, 'OK'));
      }
      return;
    }
    const method = (m.headers.get('CSeq') ?? '').trim().split(/\s+/)[1];
    if (method === 'INVITE' && m.status >= 200) {
      if (call.timing.okNs === undefined) {
        call.timing.okNs = at;
        call.onOk?.(m);
      } else if (m.status < 300) {
        // A retransmitted 2xx: our ACK was lost (RFC 3261 §13.2.2.4), send it again.
        const contact = parseNameAddr(m.headers.get('Contact') ?? '<sip:x>').uri;
        this.send(this.request(call, 'ACK', contact, 1, m.headers.get('To') ?? ''));
      }
    } else if (method === 'BYE' && m.status >= 200) {
      call.onByeDone?.();
    }
  }

  private send(text: string): void {
    this.sock.send(Buffer.from(text, 'latin1'), this.o.target.port, this.o.target.address);
  }

  private sdp(port: number): string {
    const a = this.o.rtpAddress;
    return ['v=0', `o=bench 1 1 IN IP4 ${a}`, 's=-', `c=IN IP4 ${a}`, 't=0 0', `m=audio ${port} RTP/AVP 0 8 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=ptime:20', 'a=sendrecv', ''].join('\r\n');
  }

  private request(call: PendingCall, method: string, ruri: string, cseq: number, to: string, body = ''): string {
    const local = `${this.o.sip.address}:${this.o.sip.port}`;
    // The ACK of a 2xx is its own transaction (RFC 3261 §17.1.1.3): a fresh branch like any request.
    const branch = `z9hG4bK-${call.fromTag}-${method}-${cseq}`;
    return [
      `${method} ${ruri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${local};branch=${branch}`,
      'Max-Forwards: 70',
      `From: <sip:${call.from}@${local}>;tag=${call.fromTag}`,
      `To: ${to}`,
      `Call-ID: ${call.callId}`,
      `CSeq: ${cseq} ${method}`,
      `Contact: <sip:${call.from}@${local}>`,
      ...(body === '' ? [] : ['Content-Type: application/sdp']),
      `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
      '',
      body,
    ].join('\r\n');
  }

  private response(req: SipMessage, status: number, reason: string): string {
    const h = req.headers;
    const to = h.get('To') ?? '';
    return [
      `SIP/2.0 ${status} ${reason}`,
      ...h.getAll('Via').map((v) => `Via: ${v}`),
      `From: ${h.get('From') ?? ''}`,
      `To: ${getTag(to) === undefined ? `${to};tag=bench` : to}`,
      `Call-ID: ${h.get('Call-ID') ?? ''}`,
      `CSeq: ${h.get('CSeq') ?? ''}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  }
}
