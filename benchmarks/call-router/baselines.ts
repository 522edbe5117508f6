/**
 * The same-run baselines of the call-router benchmark:
 *
 * - `playOnce`: the floor under "200 OK → first RTP": an rtpengine call set
 *   up the way the router's legs are (offer with the party's SDP, answer
 *   with the platform's discard-address SDP, the B2BUA's ng defaults), then
 *   ng `play media` of a telephony WAV, timed to the first RTP packet at the
 *   party's socket. No SIP, no router, no cache.
 * - `fetchOnce`: a `fetch()` POST of an instruction document from this
 *   process to the same app server, timed to the body's end: what the
 *   router's document fetch costs without the router.
 */
import dgram from 'node:dgram';
import { RtpengineMediaEngine } from '../../media/engine/index.js';
import { platformSdp } from '../../media/leg/platform-sdp.js';
import type { NgClient } from '../../media/ng/client.js';

export interface PlaySample {
  ok: boolean;
  error: string | undefined;
  /** play media sent → first RTP, ms. */
  ms: number | undefined;
}

let seq = 0;

export async function playOnce(ng: NgClient, o: { rtpAddress: string; file: string; timeoutMs: number; listenMs: number }): Promise<PlaySample> {
  const n = ++seq;
  const callId = `cr-base-${process.pid}-${n}`;
  const partyTag = `party-${n}`;
  const engine = new RtpengineMediaEngine(ng);
  const sock = dgram.createSocket('udp4');
  let firstNs: bigint | undefined;
  let onFirst: (() => void) | undefined;
  sock.on('message', (m) => {
    if (firstNs !== undefined || m.length < 12) return;
    firstNs = process.hrtime.bigint();
    onFirst?.();
  });
  sock.on('error', () => undefined);
  let created = false;
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, o.rtpAddress, () => resolve());
    });
    const port = sock.address().port;
    const partySdp = ['v=0', `o=bench 1 1 IN IP4 ${o.rtpAddress}`, 's=-', `c=IN IP4 ${o.rtpAddress}`, 't=0 0', `m=audio ${port} RTP/AVP 0 8 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=ptime:20', 'a=sendrecv', ''].join('\r\n');
    await engine.offer(callId, partyTag, partySdp);
    created = true;
    await engine.answer(callId, partyTag, `platform-${n}`, platformSdp());
    const got = new Promise<void>((resolve) => {
      onFirst = resolve;
      setTimeout(resolve, o.timeoutMs).unref();
    });
    const sentNs = process.hrtime.bigint();
    await ng.command('play media', { 'call-id': callId, 'from-tag': partyTag, file: o.file });
    await got;
    if (firstNs === undefined) return { ok: false, error: 'no RTP after play media', ms: undefined };
    await new Promise((r) => setTimeout(r, o.listenMs));
    return { ok: true, error: undefined, ms: Number(firstNs - sentNs) / 1e6 };
  } catch (e) {
    return { ok: false, error: (e as Error).message, ms: undefined };
  } finally {
    if (created) await engine.delete(callId).catch(() => undefined);
    sock.close();
  }
}

export async function fetchOnce(url: string, from: string, timeoutMs: number): Promise<{ ok: boolean; ms: number | undefined }> {
  // The same parameters the router sends (values of a typical call).
  const body = new URLSearchParams({
    AccountSid: 'AC00000000000000000000000000000000',
    ApiVersion: '2010-04-01',
    CallSid: 'CA00000000000000000000000000000000',
    CallStatus: 'ringing',
    Called: '+17770100001',
    Caller: from,
    Direction: 'inbound',
    From: from,
    To: '+17770100001',
  }).toString();
  const started = process.hrtime.bigint();
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.text();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    return { ok: res.ok, ms: res.ok ? ms : undefined };
  } catch {
    return { ok: false, ms: undefined };
  }
}
