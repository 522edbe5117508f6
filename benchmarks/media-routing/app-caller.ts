/**
 * The app-edge benchmark's caller: a small SIP UAC over UDP (messages parsed
 * with signaling/sip) owning its RTP socket, all on one clock
 * (`process.hrtime.bigint()`, read in the sockets' 'message' handlers before
 * any parsing).
 *
 * A call: INVITE with SDP (G.711 to the RTP socket) → 2xx → ACK → wait for
 * the first RTP packet of the application's audio (`<Say>`/`<Play>`) → wait
 * until that audio has stopped for `quietMs` → send `probeCount` probe
 * packets, one per 20 ms, to the address of the 2xx's SDP, each carrying its
 * send time → collect the probes that come back (the benchmark's echo sits
 * where the application's media leg sends the caller's audio) → `whileUp()`
 * ran meanwhile → BYE.
 *
 * No SIP retransmissions: on loopback a lost datagram is rare, and a call
 * that gets no answer within its time limits counts as failed.
 */
import dgram from 'node:dgram';
import { getTag, parseNameAddr, parseSipMessage, type SipMessage } from '../../signaling/sip/message/index.js';
import { sdpAudioEndpoint } from '../../regions/core/sdp.js';

/** First bytes of a probe's payload: how a probe tells itself apart from the application's audio. */
export const PROBE_MAGIC = 0x50524f42; // "PROB"

/** A probe's payload (160 bytes, one 20 ms µ-law frame): magic, sequence number, send time (ns). */
export function probePayload(seq: number, sentNs: bigint): Buffer {
  const b = Buffer.alloc(160, 0xff);
  b.writeUInt32BE(PROBE_MAGIC, 0);
  b.writeUInt32BE(seq >>> 0, 4);
  b.writeBigUInt64BE(sentNs, 8);
  return b;
}

/** The send time of a probe's payload, or undefined when `payload` is not a probe. */
export function probeSentNs(payload: Buffer): bigint | undefined {
  if (payload.length < 16 || payload.readUInt32BE(0) !== PROBE_MAGIC) return undefined;
  return payload.readBigUInt64BE(8);
}

export interface AppCallTiming {
  callId: string;
  ok: boolean;
  error: string | undefined;
  inviteNs: bigint;
  okNs: bigint | undefined;
  /** First RTP packet that is not a probe: the application's audio. */
  firstAudioNs: bigint | undefined;
  audioPackets: number;
  probesSent: number;
  /** Round trip of each probe that came back, ms. */
  echoRttMs: number[];
}

export interface AppCallOptions {
  dialed: string;
  from: string;
  /** Time allowed for the 2xx and, after it, for the first audio. */
  timeoutMs: number;
  /** The application's audio counts as over after this long without a packet. */
  quietMs: number;
  /** Longest wait for the audio to stop. */
  maxAudioMs: number;
  probeCount: number;
  /** Wait after the last probe for the stragglers. */
  drainMs: number;
  /** Runs while the probes flow (the call is up, its media in place); awaited before the BYE. */
  whileUp?: () => Promise<void>;
}

interface Pending {
  callId: string;
  fromTag: string;
  from: string;
  timing: AppCallTiming;
  onOk: ((m: SipMessage) => void) | undefined;
  onByeDone: (() => void) | undefined;
  remoteEnded: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class AppCaller {
  private readonly calls = new Map<string, Pending>();
  private seq = 0;
  private readonly runId = `${process.pid}-${Date.now().toString(36)}`;

  private constructor(
    private readonly sip: { address: string; port: number },
    private readonly rtpAddress: string,
    private readonly sock: dgram.Socket,
  ) {
    sock.on('message', (msg) => {
      const at = process.hrtime.bigint();
      let m: SipMessage;
      try {
        m = parseSipMessage(msg);
      } catch {
        return;
      }
      this.onSip(m, at);
    });
    sock.on('error', () => undefined);
  }

  static async open(sip: { address: string; port: number }, rtpAddress: string): Promise<AppCaller> {
    const s = dgram.createSocket('udp4');
    await bindSocket(s, sip.address, sip.port);
    return new AppCaller(sip, rtpAddress, s);
  }

  async close(): Promise<void> {
    this.calls.clear();
    await new Promise<void>((r) => this.sock.close(() => r()));
  }

  /** One call to `target` (an edge's signaling node); resolves with its timings, never rejects. */
  async call(target: { address: string; port: number }, p: AppCallOptions): Promise<AppCallTiming> {
    const n = ++this.seq;
    const callId = `ae-${this.runId}-${n}@${this.sip.address}`;
    const timing: AppCallTiming = { callId, ok: false, error: undefined, inviteNs: 0n, okNs: undefined, firstAudioNs: undefined, audioPackets: 0, probesSent: 0, echoRttMs: [] };
    const rtp = dgram.createSocket('udp4');
    let lastAudioNs = 0n;
    try {
      await bindSocket(rtp, this.rtpAddress, 0);
    } catch (e) {
      timing.error = `RTP socket: ${(e as Error).message}`;
      return timing;
    }
    rtp.on('error', () => undefined);
    rtp.on('message', (msg) => {
      const at = process.hrtime.bigint();
      if (msg.length < 12) return;
      const sent = probeSentNs(msg.subarray(12));
      if (sent !== undefined) {
        timing.echoRttMs.push(Number(at - sent) / 1e6);
        return;
      }
      timing.firstAudioNs ??= at;
      lastAudioNs = at;
      timing.audioPackets++;
    });
    const call: Pending = { callId, fromTag: `t${n}-${this.runId}`, from: p.from, timing, onOk: undefined, onByeDone: undefined, remoteEnded: false };
    this.calls.set(callId, call);
    const ruri = `sip:${p.dialed}@${target.address}:${target.port}`;
    try {
      const okP = new Promise<SipMessage | undefined>((resolve) => {
        call.onOk = resolve;
        setTimeout(() => resolve(undefined), p.timeoutMs).unref();
      });
      timing.inviteNs = process.hrtime.bigint();
      this.send(target, this.request(call, 'INVITE', ruri, 1, `<${ruri}>`, this.sdp(rtp.address().port)));
      const ok = await okP;
      if (ok === undefined || ok.type !== 'response') {
        timing.error = 'no final answer to the INVITE';
        return timing;
      }
      if (ok.status >= 300) {
        timing.error = `INVITE answered ${ok.status} ${ok.reason}`;
        return timing;
      }
      const to = ok.headers.get('To') ?? '';
      const contact = parseNameAddr(ok.headers.get('Contact') ?? `<${ruri}>`).uri;
      this.send(target, this.request(call, 'ACK', contact, 1, to));
      const media = sdpAudioEndpoint(ok.body.toString('utf8'));
      if (media === undefined) timing.error = 'no audio endpoint in the 2xx';
      else {
        const deadline = Date.now() + p.timeoutMs;
        while (timing.firstAudioNs === undefined && Date.now() < deadline && !call.remoteEnded) await sleep(5);
        if (timing.firstAudioNs === undefined) timing.error = 'no audio after the 2xx';
        else {
          const audioDeadline = Date.now() + p.maxAudioMs;
          while (Number(process.hrtime.bigint() - lastAudioNs) / 1e6 < p.quietMs && Date.now() < audioDeadline) await sleep(10);
          const up = p.whileUp?.() ?? Promise.resolve();
          await this.probe(rtp, media, p.probeCount, timing);
          await sleep(p.drainMs);
          await up;
          if (timing.echoRttMs.length === 0) timing.error = 'no probe came back';
        }
      }
      if (!call.remoteEnded) {
        const byeDone = new Promise<void>((resolve) => {
          call.onByeDone = resolve;
          setTimeout(resolve, 3000).unref();
        });
        this.send(target, this.request(call, 'BYE', contact, 2, to));
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

  /** One µ-law probe every 20 ms, scheduled on the clock (not drifting). */
  private async probe(rtp: dgram.Socket, to: { address: string; port: number }, count: number, timing: AppCallTiming): Promise<void> {
    const ssrc = Math.floor(Math.random() * 0xffffffff) >>> 0;
    const startSeq = Math.floor(Math.random() * 1000);
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = started + i * 20 - performance.now();
      if (wait > 0) await sleep(wait);
      const h = Buffer.alloc(12);
      h[0] = 0x80;
      h[1] = 0; // PCMU
      h.writeUInt16BE((startSeq + i) & 0xffff, 2);
      h.writeUInt32BE((i * 160) >>> 0, 4);
      h.writeUInt32BE(ssrc, 8);
      rtp.send(Buffer.concat([h, probePayload(i, process.hrtime.bigint())]), to.port, to.address);
      timing.probesSent++;
    }
  }

  private onSip(m: SipMessage, at: bigint): void {
    const call = this.calls.get(m.headers.get('Call-ID') ?? '');
    if (call === undefined) return;
    if (m.type === 'request') {
      if (m.method === 'BYE') call.remoteEnded = true;
      if (m.method !== 'ACK') this.sock.send(Buffer.from(this.response(m, 200, 'OK'), 'latin1'), ...replyTo(m));
      return;
    }
    const method = (m.headers.get('CSeq') ?? '').trim().split(/\s+/)[1];
    if (method === 'INVITE' && m.status >= 200) {
      if (call.onOk !== undefined) {
        const done = call.onOk;
        call.onOk = undefined;
        call.timing.okNs = at;
        done(m);
      }
    } else if (method === 'BYE' && m.status >= 200) {
      call.onByeDone?.();
    }
  }

  private send(target: { address: string; port: number }, text: string): void {
    this.sock.send(Buffer.from(text, 'latin1'), target.port, target.address);
  }

  private sdp(port: number): string {
    const a = this.rtpAddress;
    return ['v=0', `o=bench 1 1 IN IP4 ${a}`, 's=-', `c=IN IP4 ${a}`, 't=0 0', `m=audio ${port} RTP/AVP 0 8 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=ptime:20', 'a=sendrecv', ''].join('\r\n');
  }

  private request(call: Pending, method: string, ruri: string, cseq: number, to: string, body = ''): string {
    const local = `${this.sip.address}:${this.sip.port}`;
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

/** Where to answer a request: its top Via's sent-by (RFC 3261 §18.2.2, no rport on loopback). */
function replyTo(req: SipMessage): [number, string] {
  const via = req.headers.getAll('Via')[0] ?? '';
  const m = /SIP\/2\.0\/UDP\s+([0-9.]+)(?::(\d+))?/i.exec(via);
  return [Number(m?.[2] ?? 5060), m?.[1] ?? '127.0.0.1'];
}

function bindSocket(s: dgram.Socket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, address, () => {
      s.off('error', reject);
      resolve();
    });
  });
}
