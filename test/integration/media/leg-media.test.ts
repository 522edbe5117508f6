/**
 * LegMedia against a real rtpengine (127.0.18.1, userspace, --dtmf-log-dest
 * at a DtmfEvents listener) with raw UDP sockets — and SIPp for one DTMF
 * test — as the parties. Each leg is set up the way the B2BUA does it:
 * inbound = offer from the party, answer from the platform with the discard
 * SDP; outbound = offer from the platform, answer from the party.
 */
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRtpengine } from '../../../infra/rtpengine.js';
import type { ManagedProcess } from '../../../infra/process.js';
import { parseWav } from '../../../media/central/wav.js';
import { DtmfEvents } from '../../../media/leg/dtmf-events.js';
import { LegMedia } from '../../../media/leg/leg-media.js';
import { platformSdp, sdpAudioTarget } from '../../../media/leg/platform-sdp.js';
import type { MediaEndpoint } from '../../../regions/core/leg-media.js';
import { RtpengineMediaEngine } from '../../../media/engine/index.js';
import { NgClient } from '../../../media/ng/client.js';
import { startSipp } from '../../support/sipp.js';
import { LOG_DIR, rtpPeer, type RtpPeer } from './helpers.js';

const NODE = '127.0.18.1';
const NG_PORT = 22240;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The party's SDP: G.711 and telephone-event, like a phone. */
function phoneSdp(address: string, port: number): string {
  return [
    'v=0', `o=phone 1 1 IN IP4 ${address}`, 's=-', `c=IN IP4 ${address}`, 't=0 0',
    `m=audio ${port} RTP/AVP 0 8 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=ptime:20', 'a=sendrecv', '',
  ].join('\r\n');
}

interface Received {
  at: number;
  pt: number;
  ssrc: number;
  payload: Buffer;
}

interface Party {
  peer: RtpPeer;
  /** Where the party sends its RTP (rtpengine's party-facing port). */
  target: MediaEndpoint;
  received: Received[];
  media: LegMedia;
  callId: string;
  sdp: string;
}

/** A 20 ms PCMU packet; payload byte `fill`. */
function audioPacket(seq: number, ts: number, ssrc: number, fill = 0x55): Buffer {
  const p = Buffer.alloc(172, fill);
  p[0] = 0x80;
  p[1] = 0;
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE(ts >>> 0, 4);
  p.writeUInt32BE(ssrc >>> 0, 8);
  return p;
}

/** Send real-time paced 20 ms audio from `party` until `stop()`; returns the number sent. */
function talk(party: Party, ssrc: number): { stop: () => Promise<number> } {
  let running = true;
  let sent = 0;
  const loop = (async () => {
    const start = performance.now();
    while (running) {
      party.peer.socket.send(audioPacket(sent, sent * 160, ssrc), party.target.port, party.target.address);
      sent++;
      await sleep(Math.max(0, start + sent * 20 - performance.now()));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return sent;
    },
  };
}

/** RFC 4733 digit from a raw party: 6 updates + 3 end packets, one timestamp. */
async function pressKey(party: Party, event: number, seqStart: number, ts: number, ssrc: number): Promise<number> {
  let seq = seqStart;
  for (let i = 0; i < 9; i++) {
    const end = i >= 6;
    const p = Buffer.alloc(16);
    p[0] = 0x80;
    p[1] = 101 | (i === 0 ? 0x80 : 0);
    p.writeUInt16BE(seq++ & 0xffff, 2);
    p.writeUInt32BE(ts >>> 0, 4);
    p.writeUInt32BE(ssrc, 8);
    p[12] = event;
    p[13] = (end ? 0x80 : 0) | 10;
    p.writeUInt16BE(160 * Math.min(i + 1, 6), 14);
    party.peer.socket.send(p, party.target.port, party.target.address);
    await sleep(20);
  }
  return seq;
}

describe('LegMedia on rtpengine', () => {
  let node: ManagedProcess;
  let ng: NgClient;
  let dtmf: DtmfEvents;
  let workDir: string;
  let wav2s: string;
  let n = 0;
  const parties: Party[] = [];

  beforeAll(async () => {
    dtmf = await DtmfEvents.listen({ address: NODE, port: 0 });
    node = await startRtpengine({
      id: 'it-leg', interfaceAddress: NODE, ngPort: NG_PORT, portMin: 41000, portMax: 41499,
      logFile: join(LOG_DIR, 'leg-media.log'), dtmfLogDest: dtmf.logDest,
    });
    ng = new NgClient({ address: NODE, port: NG_PORT, timeoutMs: 2000 });
    workDir = mkdtempSync(join(tmpdir(), 'leg-media-it-'));
    wav2s = join(workDir, 'tone-2s.wav');
    execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', wav2s, 'synth', '2', 'sine', '440']);
  });

  afterAll(async () => {
    for (const p of parties) {
      await p.media.close();
      await ng.delete({ callId: p.callId }).catch(() => undefined);
      await p.peer.close();
    }
    await ng?.close();
    await node?.stop();
    await dtmf?.close();
  });

  /** A leg as the B2BUA leaves it: party ↔ rtpengine ↔ platform side at the discard address. */
  async function newLeg(offerer: 'party' | 'platform', partyAddress: string): Promise<Party> {
    const callId = `it-leg-${Date.now()}-${++n}`;
    const peer = await rtpPeer(partyAddress);
    const received: Received[] = [];
    peer.socket.on('message', (m: Buffer) => received.push({ at: performance.now(), pt: (m[1] ?? 0) & 0x7f, ssrc: m.readUInt32BE(8), payload: m.subarray(12) }));
    const sdp = phoneSdp(peer.address, peer.port);
    const opts = { replace: ['origin', 'session-connection'] as ('origin' | 'session-connection')[], ice: 'remove' as const };
    let target: MediaEndpoint | undefined;
    let platformEndpoint: MediaEndpoint | undefined;
    if (offerer === 'party') {
      const o = await ng.offer({ ...opts, callId, fromTag: 'party', sdp });
      const a = await ng.answer({ ...opts, callId, fromTag: 'party', toTag: 'plat', sdp: platformSdp() });
      platformEndpoint = sdpAudioTarget(o.sdp);
      target = sdpAudioTarget(a.sdp);
    } else {
      const o = await ng.offer({ ...opts, callId, fromTag: 'plat', sdp: platformSdp() });
      const a = await ng.answer({ ...opts, callId, fromTag: 'plat', toTag: 'party', sdp });
      target = sdpAudioTarget(o.sdp);
      platformEndpoint = sdpAudioTarget(a.sdp);
    }
    if (target === undefined || platformEndpoint === undefined) throw new Error('rtpengine returned SDP without audio');
    const media = new LegMedia({
      engine: new RtpengineMediaEngine(ng), callId, partyTag: 'party', platformTag: 'plat', offerer, partySdp: () => sdp, platformEndpoint,
      dtmf, recordingsDir: join(workDir, 'recordings'), rtpAddress: NODE,
    });
    const party: Party = { peer, target, received, media, callId, sdp };
    parties.push(party);
    return party;
  }

  async function partyFacingPort(callId: string): Promise<number | undefined> {
    const q = await ng.query(callId);
    return q.tags.party?.medias[0]?.streams[0]?.localPort;
  }

  it('plays a 2 s WAV to the party: ~100 packets of 20 ms over ~2 s', async () => {
    const a = await newLeg('party', '127.0.18.2');
    const started = performance.now();
    await a.media.play(wav2s, 2000);
    const playedMs = performance.now() - started;
    await sleep(300); // the tail still in flight
    const audio = a.received.filter((r) => r.pt === 0 || r.pt === 8);
    const spanMs = (audio.at(-1)?.at ?? 0) - (audio[0]?.at ?? 0);
    expect(playedMs).toBeGreaterThanOrEqual(1990);
    expect(playedMs).toBeLessThan(2200);
    expect(audio.length).toBeGreaterThanOrEqual(90);
    expect(audio.length).toBeLessThanOrEqual(110);
    expect(spanMs).toBeGreaterThan(1800);
    expect(spanMs).toBeLessThan(2200);
  });

  it('stops playback early when the signal aborts', async () => {
    const a = await newLeg('party', '127.0.18.3');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 500);
    const started = performance.now();
    await a.media.play(wav2s, 2000, ac.signal);
    expect(performance.now() - started).toBeLessThan(700);
    await sleep(150);
    const atStop = a.received.length;
    await sleep(1200);
    expect(a.received.length - atStop).toBeLessThanOrEqual(1);
    expect(atStop).toBeGreaterThan(15); // it did play for ~500 ms
    expect(atStop).toBeLessThan(45);
  });

  it('reports digits the party sends as RFC 2833 events, in order, once each', async () => {
    const a = await newLeg('party', '127.0.18.4');
    const digits: string[] = [];
    const off = a.media.onDigit((d) => digits.push(d));
    // Junk at the DTMF listener first: counted, dropped, and the listener keeps working.
    const invalidBefore = dtmf.stats().invalid;
    const junk = dgram.createSocket('udp4');
    const at = dtmf.endpoint;
    if (at === undefined) throw new Error('DTMF listener not bound');
    for (const j of ['not json', '{"type":"DTMF","callid":5}', 'x'.repeat(6000), JSON.stringify({ type: 'DTMF', callid: a.callId, source_tag: 'party', event: 42 })]) {
      await new Promise<void>((r) => junk.send(j, at.port, at.address, () => r()));
    }
    junk.close();
    await sleep(100);
    expect(dtmf.stats().invalid - invalidBefore).toBe(4);
    const ssrc = 0x1234;
    let seq = 0;
    let ts = 0;
    for (let i = 0; i < 10; i++) {
      a.peer.socket.send(audioPacket(seq++, (ts += 160), ssrc), a.target.port, a.target.address);
      await sleep(20);
    }
    for (const event of [1, 11, 5, 5, 10]) {
      seq = await pressKey(a, event, seq, (ts += 160), ssrc);
      ts += 9 * 160;
      for (let i = 0; i < 3; i++) {
        a.peer.socket.send(audioPacket(seq++, (ts += 160), ssrc), a.target.port, a.target.address);
        await sleep(20);
      }
    }
    await sleep(300);
    off();
    expect(digits).toEqual(['1', '#', '5', '5', '*']);
  });

  it('reports digits of SIPp playing the Debian RFC 2833 captures', async () => {
    const callId = `it-leg-sipp-${Date.now()}`;
    const sippAddress = '127.0.18.6';
    const mediaPort = 26000;
    const partySdp = phoneSdp(sippAddress, mediaPort);
    const opts = { replace: ['origin', 'session-connection'] as ('origin' | 'session-connection')[], ice: 'remove' as const };
    const o = await ng.offer({ ...opts, callId, fromTag: 'party', sdp: partySdp });
    const an = await ng.answer({ ...opts, callId, fromTag: 'party', toTag: 'plat', sdp: platformSdp() });
    const toRtpengine = sdpAudioTarget(an.sdp);
    const platformEndpoint = sdpAudioTarget(o.sdp);
    if (toRtpengine === undefined || platformEndpoint === undefined) throw new Error('no audio in SDP');
    const media = new LegMedia({ engine: new RtpengineMediaEngine(ng), callId, partyTag: 'party', platformTag: 'plat', offerer: 'party', partySdp: () => partySdp, platformEndpoint, dtmf, recordingsDir: workDir });
    const digits: string[] = [];
    media.onDigit((d) => digits.push(d));

    // SIPp answers our INVITE (whose SDP is rtpengine's party-facing port) and plays 1, 2, # at it.
    const scenario = join(workDir, 'uas-dtmf.xml');
    writeFileSync(scenario, sippDtmfScenario(['1', '2', 'pound']));
    const sipp = await startSipp({ scenario, localAddress: sippAddress, localPort: 5070, mediaPort, timeoutMs: 30_000 });
    const sip = dgram.createSocket('udp4');
    try {
      await sipp.ready;
      await new Promise<void>((r) => sip.bind(0, '127.0.18.7', () => r()));
      const responses: string[] = [];
      sip.on('message', (m) => responses.push(m.toString('latin1')));
      const me = sip.address();
      const sipCallId = `sipp-dtmf-${Date.now()}`;
      const invite = sipRequest('INVITE', 1, sipCallId, me, sippAddress, undefined, phoneSdp(toRtpengine.address, toRtpengine.port));
      sip.send(invite, 5070, sippAddress);
      const ok = await waitForValue(() => responses.find((r) => r.startsWith('SIP/2.0 200')), 5000);
      const toTag = /^To:.*;tag=([^;\s]+)/im.exec(ok)?.[1];
      sip.send(sipRequest('ACK', 1, sipCallId, me, sippAddress, toTag), 5070, sippAddress);
      await waitForValue(() => (digits.length >= 3 ? true : undefined), 8000).catch(() => undefined);
      sip.send(sipRequest('BYE', 2, sipCallId, me, sippAddress, toTag), 5070, sippAddress);
      await sleep(200);
    } finally {
      sip.close();
      await sipp.stop(500);
      await media.close();
      await ng.delete({ callId }).catch(() => undefined);
    }
    expect(digits).toEqual(['1', '2', '#']);
  });

  it('sends digits to the party as telephone-event packets', async () => {
    const a = await newLeg('party', '127.0.18.5');
    await a.media.sendDigits('1#');
    await sleep(200);
    const events = a.received.filter((r) => r.pt === 101);
    const ends = events.filter((r) => ((r.payload[1] ?? 0) & 0x80) !== 0);
    // Distinct key presses in arrival order (each end packet is sent three times, RFC 4733 §2.5.1.4).
    const keys = events.map((r) => r.payload[0]).filter((e, i, all) => i === 0 || e !== all[i - 1]);
    expect(keys).toEqual([1, 11]);
    expect(ends.length).toBe(6);
    expect(ends.every((r) => r.payload.readUInt16BE(2) === 800)).toBe(true);
  });

  it.each([
    ['two inbound legs', 'party', 'party'],
    ['an inbound and an outbound leg', 'party', 'platform'],
  ] as const)('bridges %s: RTP both ways for 10 s on unchanged ports; unbridge stops it', async (_name, offA, offB) => {
    const a = await newLeg(offA, '127.0.18.8');
    const b = await newLeg(offB, '127.0.18.9');
    const portsBefore = [await partyFacingPort(a.callId), await partyFacingPort(b.callId)];
    await a.media.connectMedia(b.media.mediaEndpoint());
    await b.media.connectMedia(a.media.mediaEndpoint());
    expect([await partyFacingPort(a.callId), await partyFacingPort(b.callId)]).toEqual(portsBefore);

    const fromA = (r: Received): boolean => r.ssrc === 0xa;
    const fromB = (r: Received): boolean => r.ssrc === 0xb;
    const ta = talk(a, 0xa);
    const tb = talk(b, 0xb);
    const perSecond: [number, number][] = [];
    for (let s = 0; s < 10; s++) {
      await sleep(1000);
      perSecond.push([b.received.filter(fromA).length, a.received.filter(fromB).length]);
    }
    const sentA = await ta.stop();
    const sentB = await tb.stop();
    await sleep(200);
    const gotAtB = b.received.filter(fromA).length;
    const gotAtA = a.received.filter(fromB).length;
    expect(gotAtB).toBeGreaterThanOrEqual(sentA * 0.98);
    expect(gotAtA).toBeGreaterThanOrEqual(sentB * 0.98);
    // Flowing all along: every second brought ~50 packets each way.
    const steps = perSecond.map(([x, y], i) => [x - (perSecond[i - 1]?.[0] ?? 0), y - (perSecond[i - 1]?.[1] ?? 0)]);
    for (const [x, y] of steps.slice(1)) {
      expect(x).toBeGreaterThan(40);
      expect(y).toBeGreaterThan(40);
    }

    await a.media.connectMedia(undefined);
    await b.media.connectMedia(undefined);
    expect([await partyFacingPort(a.callId), await partyFacingPort(b.callId)]).toEqual(portsBefore);
    const beforeA = a.received.length;
    const beforeB = b.received.length;
    const ta2 = talk(a, 0xa);
    const tb2 = talk(b, 0xb);
    await sleep(1000);
    expect(await ta2.stop()).toBeGreaterThan(40);
    await tb2.stop();
    await sleep(200);
    expect(b.received.length - beforeB).toBe(0);
    expect(a.received.length - beforeA).toBe(0);
  }, 60_000);

  it('sends digits into a bridged leg without diverting its party’s audio from the peer', async () => {
    const a = await newLeg('party', '127.0.18.12');
    const b = await newLeg('platform', '127.0.18.13');
    await a.media.connectMedia(b.media.mediaEndpoint());
    await b.media.connectMedia(a.media.mediaEndpoint());
    // B stays silent, so nothing but our telephone-event packets reaches A's platform side: rtpengine
    // must keep sending A's audio where the SDP says (the `asymmetric` flag), not to our sender.
    const t = talk(a, 0xd);
    await sleep(200);
    await a.media.sendDigits('9');
    const afterDigits = b.received.filter((r) => r.ssrc === 0xd).length;
    await sleep(1000);
    await t.stop();
    expect(a.received.filter((r) => r.pt === 101 && r.payload[0] === 9).length).toBe(7);
    expect(b.received.filter((r) => r.ssrc === 0xd).length - afterDigits).toBeGreaterThan(40);
  });

  it('records what the party says across a bridge and unbridge: WAV duration within 10 % of the time recorded', async () => {
    const a = await newLeg('party', '127.0.18.10');
    const b = await newLeg('platform', '127.0.18.11');
    const t = talk(a, 0xc);
    await sleep(300);
    const handle = await a.media.startRecording();
    const started = performance.now();
    await sleep(1000);
    // The renegotiations of a bridge must not disturb the fork (a recorded Dial).
    await a.media.connectMedia(b.media.mediaEndpoint());
    await b.media.connectMedia(a.media.mediaEndpoint());
    await sleep(1000);
    expect(b.received.filter((r) => r.ssrc === 0xc).length).toBeGreaterThan(40);
    await a.media.connectMedia(undefined);
    await b.media.connectMedia(undefined);
    await sleep(1000);
    const stopAt = performance.now();
    const result = await handle.stop();
    const elapsed = stopAt - started;
    await t.stop();
    expect(await handle.stop()).toEqual(result); // idempotent
    expect(isAbsolute(result.path)).toBe(true);
    expect(Math.abs(result.durationMs - elapsed)).toBeLessThanOrEqual(elapsed * 0.1);
    const wav = parseWav(readFileSync(result.path));
    expect(wav).toMatchObject({ sampleRate: 8000, channels: 1, bitsPerSample: 16 });
    expect(result.bytes).toBe(44 + wav.dataBytes);
    expect(Math.abs(wav.durationSec * 1000 - result.durationMs)).toBeLessThan(1);
  });
});

/** A SIPp UAS that answers one INVITE and plays the given Debian dtmf_2833_<key>.pcap captures in turn. */
function sippDtmfScenario(keys: string[]): string {
  const plays = keys
    .map((k) => `  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_${k}.pcap"/></action></nop>\n  <pause milliseconds="500"/>`)
    .join('\n');
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uas-dtmf">
  <recv request="INVITE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
    ]]>
  </send>
  <recv request="ACK"/>
${plays}
  <recv request="BYE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
</scenario>
`;
}

function sipRequest(method: string, cseq: number, callId: string, me: { address: string; port: number }, host: string, toTag: string | undefined, sdp?: string): Buffer {
  const body = sdp ?? '';
  const lines = [
    `${method} sip:dtmf@${host}:5070 SIP/2.0`,
    `Via: SIP/2.0/UDP ${me.address}:${me.port};branch=z9hG4bK-${method}-${cseq}-${callId}`,
    'Max-Forwards: 70',
    `From: <sip:test@${me.address}:${me.port}>;tag=leg-it`,
    `To: <sip:dtmf@${host}:5070>${toTag === undefined ? '' : `;tag=${toTag}`}`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq} ${method}`,
    `Contact: <sip:test@${me.address}:${me.port}>`,
    ...(body === '' ? [] : ['Content-Type: application/sdp']),
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

async function waitForValue<T>(get: () => T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`nothing within ${timeoutMs} ms`);
    await sleep(20);
  }
}
