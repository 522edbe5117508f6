/**
 * A tiny SIP UAC that places a trickle of calls beside the SIPp load and times
 * INVITE sent → 200 received with process.hrtime. SIPp's own rtd figures are
 * quantized to the kernel tick (4 ms here), too coarse to compare a proxy
 * that adds well under a millisecond; this probe resolves microseconds.
 *
 * Each probe call: INVITE (with SDP) → 2xx → ACK → BYE, all sent to the
 * target, with the Route set taken from the 2xx's Record-Route in reverse
 * (RFC 3261 §12.1.2) and the Request-URI from its Contact (§12.2.1.1).
 * The INVITE is retransmitted until any response arrives, and the BYE until
 * its final response, at T1 = 500 ms doubling (RFC 3261 §17.1.1.2,
 * §17.1.2.2), as SIPp does: a datagram a busy target dropped costs the call
 * 500 ms (which shows in the latency), not the call itself. A call without a
 * final answer within the timeout counts as a failed probe.
 */
import { createSocket, type Socket } from 'node:dgram';

export interface ProbeOptions {
  localAddress: string;
  localPort: number;
  targetAddress: string;
  targetPort: number;
  /** Request-URI user part. */
  service: string;
  ratePerSecond: number;
  durationMs: number;
  /** A call without a final response after this counts as failed. */
  timeoutMs: number;
}

export interface ProbeResult {
  /** INVITE→200 per answered probe call, ms (fractional). */
  inviteTo200Ms: number[];
  placed: number;
  failed: number;
}

interface ProbeCall {
  n: number;
  sentAt: bigint;
  answered: boolean;
  done: boolean;
  timer: NodeJS.Timeout;
  /** The request being retransmitted (INVITE until any response, then BYE until its final). */
  retransmit: { text: string; interval: number; timer: NodeJS.Timeout } | undefined;
}

/** RFC 3261 T1. */
const T1_MS = 500;

interface ParsedResponse {
  status: number;
  headers: Map<string, string[]>;
}

const COMPACT: Record<string, string> = { i: 'call-id', m: 'contact', t: 'to', f: 'from', v: 'via', l: 'content-length' };

function parseResponse(text: string): ParsedResponse | undefined {
  const end = text.indexOf('\r\n\r\n');
  const lines = (end < 0 ? text : text.slice(0, end)).split('\r\n');
  const m = /^SIP\/2\.0 ([0-9]{3}) /.exec(lines[0] ?? '');
  if (m === null) return undefined;
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const raw = line.slice(0, colon).trim().toLowerCase();
    const name = COMPACT[raw] ?? raw;
    const list = headers.get(name) ?? [];
    list.push(line.slice(colon + 1).trim());
    headers.set(name, list);
  }
  return { status: Number(m[1]), headers };
}

/** Header values split at commas that start a new name-addr (RFC 3261 §7.3.1). */
function splitNameAddrs(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(/,(?=\s*<)/).map((s) => s.trim()));
}

function uriOf(nameAddr: string): string {
  const m = /<([^>]+)>/.exec(nameAddr);
  return (m?.[1] ?? nameAddr.split(';')[0] ?? nameAddr).trim();
}

export async function runInviteProbe(o: ProbeOptions): Promise<ProbeResult> {
  const sock: Socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(o.localPort, o.localAddress, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  sock.on('error', () => undefined); // ICMP errors on send are failures of that call only

  const calls = new Map<string, ProbeCall>();
  const samples: number[] = [];
  let failed = 0;
  let placed = 0;
  const local = `${o.localAddress}:${o.localPort}`;
  const target = `${o.targetAddress}:${o.targetPort}`;
  // Unique per run: a peer may still hold the previous run's calls in timewait.
  const runId = `${process.pid}-${Date.now().toString(36)}`;
  const callIdOf = (n: number): string => `probe-${runId}-${n}@${o.localAddress}`;
  const send = (text: string): void => sock.send(Buffer.from(text, 'latin1'), o.targetPort, o.targetAddress);

  const request = (method: string, ruri: string, n: number, cseq: number, to: string, routes: string[], body = ''): string => {
    const lines = [
      `${method} ${ruri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${local};branch=z9hG4bK-probe-${runId}-${n}-${method}-${cseq}`,
      `From: <sip:probe@${local}>;tag=probe-${runId}-${n}`,
      `To: ${to}`,
      `Call-ID: ${callIdOf(n)}`,
      `CSeq: ${cseq} ${method}`,
      ...routes.map((r) => `Route: ${r}`),
      `Contact: <sip:probe@${local}>`,
      'Max-Forwards: 70',
      ...(body === '' ? [] : ['Content-Type: application/sdp']),
      `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
      '',
      body,
    ];
    return lines.join('\r\n');
  };

  const stopRetransmit = (call: ProbeCall): void => {
    if (call.retransmit !== undefined) clearTimeout(call.retransmit.timer);
    call.retransmit = undefined;
  };
  /** Send `text` now and again at T1, 2·T1, 4·T1 … until stopRetransmit (or the call's end). */
  const sendReliably = (call: ProbeCall, text: string): void => {
    stopRetransmit(call);
    send(text);
    const again = (interval: number): NodeJS.Timeout =>
      setTimeout(() => {
        if (call.done || call.retransmit === undefined) return;
        send(text);
        call.retransmit.interval = interval * 2;
        call.retransmit.timer = again(interval * 2);
      }, interval);
    call.retransmit = { text, interval: T1_MS, timer: again(T1_MS) };
  };

  const finish = (call: ProbeCall, ok: boolean): void => {
    if (call.done) return;
    call.done = true;
    clearTimeout(call.timer);
    stopRetransmit(call);
    if (!ok) failed++;
  };

  sock.on('message', (msg) => {
    const r = parseResponse(msg.toString('latin1'));
    if (r === undefined) return; // requests to the probe (none expected) are ignored
    const callId = r.headers.get('call-id')?.[0] ?? '';
    const call = calls.get(callId);
    if (call === undefined || call.done) return;
    const method = (r.headers.get('cseq')?.[0] ?? '').split(/\s+/)[1] ?? '';
    // Any response to the INVITE stops its retransmissions (§17.1.1.2: Proceeding).
    if (method === 'INVITE' && !call.answered && call.retransmit?.text.startsWith('INVITE ') === true) stopRetransmit(call);
    if (method === 'BYE' && r.status >= 200) {
      finish(call, r.status < 300);
      return;
    }
    if (method !== 'INVITE' || r.status < 200 || call.answered) return;
    call.answered = true;
    const to = r.headers.get('to')?.[0] ?? `<sip:${o.service}@${target}>`;
    if (r.status >= 300) {
      // RFC 3261 §17.1.1.3: the ACK of a non-2xx final response reuses the INVITE's branch.
      send(request('ACK', `sip:${o.service}@${target}`, call.n, 1, to, []).replace(/-ACK-1\r\n/, '-INVITE-1\r\n'));
      finish(call, false);
      return;
    }
    samples.push(Number(process.hrtime.bigint() - call.sentAt) / 1e6);
    const contact = uriOf(r.headers.get('contact')?.[0] ?? `<sip:${target}>`);
    const routes = splitNameAddrs(r.headers.get('record-route') ?? []).reverse();
    send(request('ACK', contact, call.n, 1, to, routes));
    sendReliably(call, request('BYE', contact, call.n, 2, to, routes));
  });

  const sdp = ['v=0', `o=probe 1 1 IN IP4 ${o.localAddress}`, 's=-', `c=IN IP4 ${o.localAddress}`, 't=0 0', 'm=audio 7000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
  const placeOne = (): void => {
    const n = ++placed;
    const call: ProbeCall = {
      n,
      sentAt: process.hrtime.bigint(),
      answered: false,
      done: false,
      timer: setTimeout(() => finish(call, false), o.timeoutMs),
      retransmit: undefined,
    };
    calls.set(callIdOf(n), call);
    sendReliably(call, request('INVITE', `sip:${o.service}@${target}`, n, 1, `<sip:${o.service}@${target}>`, [], sdp));
  };

  const total = Math.max(1, Math.floor((o.ratePerSecond * o.durationMs) / 1000));
  const interval = 1000 / o.ratePerSecond;
  const started = Date.now();
  for (let i = 0; i < total; i++) {
    // Pace against the start time so event-loop delays do not stretch the run.
    const wait = started + i * interval - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    placeOne();
  }
  // Let the last calls finish (answer, BYE) or time out.
  const deadline = Date.now() + o.timeoutMs + 500;
  while ([...calls.values()].some((c) => !c.done) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const c of calls.values()) finish(c, false);
  sock.close();
  return { inviteTo200Ms: samples, placed, failed };
}
