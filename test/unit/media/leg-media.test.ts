import { afterEach, describe, expect, it, vi } from 'vitest';
import { RtpengineMediaEngine } from '../../../media/engine/index.js';
import type { NgClientLike } from '../../../media/ng/client.js';
import type { NgAnswerParams, NgOfferParams } from '../../../media/ng/types.js';
import { DtmfEvents } from '../../../media/leg/dtmf-events.js';
import { LegMedia, type LegMediaOptions } from '../../../media/leg/leg-media.js';
import { sdpAudioTarget } from '../../../media/leg/platform-sdp.js';
import type { CallLeg } from '../../../signaling/router/leg.js';
import { isMeshError, MeshError } from '../../../regions/core/errors.js';

type Call =
  | { kind: 'offer'; p: NgOfferParams }
  | { kind: 'answer'; p: NgAnswerParams }
  | { kind: 'command'; name: string; dict: Record<string, unknown> };

const PARTY_SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.5\r\ns=-\r\nc=IN IP4 127.0.0.5\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\n';
const rtpengineSdp = (port: number): string => `v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0 101\r\n`;

function fakeNg(commandReply: (name: string) => Record<string, unknown> | Error = () => ({ result: 'ok' })): { ng: NgClientLike; calls: Call[] } {
  const calls: Call[] = [];
  const ng: NgClientLike = {
    ping: async () => undefined,
    probe: async () => 1,
    offer: async (p) => {
      calls.push({ kind: 'offer', p });
      // offer from the party: the platform-facing port (inbound legs); from the platform: the party-facing one.
      return { sdp: rtpengineSdp(p.fromTag === 'party' ? 30000 : 30020), raw: {} };
    },
    answer: async (p) => {
      calls.push({ kind: 'answer', p });
      // answer to the party's offer: party-facing; to the platform's offer: the platform-facing port (outbound legs).
      return { sdp: rtpengineSdp(p.fromTag === 'party' ? 30020 : 30010), raw: {} };
    },
    delete: async () => undefined,
    query: async () => {
      throw new Error('not used');
    },
    list: async () => [],
    command: async (name, dict = {}) => {
      calls.push({ kind: 'command', name, dict });
      const r = commandReply(name);
      if (r instanceof Error) throw r;
      return r;
    },
    stats: () => ({ address: '127.0.0.2', port: 2223, pending: 0, retransmits: 0, unmatchedReplies: 0, commands: [] }),
    close: async () => undefined,
  };
  return { ng, calls };
}

function leg(over: Partial<LegMediaOptions> = {}): { media: LegMedia; calls: Call[]; dtmf: DtmfEvents } {
  const { ng, calls } = fakeNg();
  const dtmf = new DtmfEvents();
  const media = new LegMedia({
    engine: new RtpengineMediaEngine(ng), callId: 'call-1', partyTag: 'party', platformTag: 'plat', offerer: 'party', partySdp: () => PARTY_SDP,
    platformEndpoint: { address: '127.0.0.2', port: 30000 }, dtmf, recordingsDir: '/tmp/leg-unit', ...over,
  });
  return { media, calls, dtmf };
}

afterEach(() => vi.useRealTimers());

describe('LegMedia', () => {
  it('fits the router contract (compile-time check)', () => {
    const ops: Pick<CallLeg, 'play' | 'sendDigits' | 'onDigit' | 'startRecording' | 'mediaEndpoint' | 'connectMedia'> = leg().media;
    expect(ops.mediaEndpoint()).toEqual({ address: '127.0.0.2', port: 30000 });
  });

  it('plays to the party and resolves after the duration rtpengine reports', async () => {
    vi.useFakeTimers();
    const { ng, calls } = fakeNg(() => ({ result: 'ok', duration: 2000 }));
    const { media } = leg({ engine: new RtpengineMediaEngine(ng) });
    let done = false;
    const p = media.play('/m/a.wav', 5000).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(1999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(calls).toEqual([{ kind: 'command', name: 'play media', dict: { 'call-id': 'call-1', 'from-tag': 'party', file: '/m/a.wav' } }]);
  });

  it('stops playback when the signal aborts and resolves', async () => {
    vi.useFakeTimers();
    const { ng, calls } = fakeNg(() => ({ result: 'ok' }));
    const { media } = leg({ engine: new RtpengineMediaEngine(ng) });
    const ac = new AbortController();
    const p = media.play('/m/a.wav', 2000, ac.signal);
    await vi.advanceTimersByTimeAsync(300);
    ac.abort();
    await p;
    expect(calls.map((c) => (c.kind === 'command' ? c.name : c.kind))).toEqual(['play media', 'stop media']);
  });

  it('rejects when rtpengine refuses to play, and does nothing when already aborted', async () => {
    const { ng, calls } = fakeNg(() => new MeshError('BAD_GATEWAY', 'rtpengine play media failed: Unknown call-ID'));
    const { media } = leg({ engine: new RtpengineMediaEngine(ng) });
    await expect(media.play('/m/a.wav', 1000)).rejects.toThrow(/Unknown call-ID/);
    await media.play('/m/a.wav', 1000, AbortSignal.abort());
    expect(calls).toHaveLength(1);
  });

  it('bridges an inbound leg: party re-offers its SDP, the platform answers toward the peer with port-latching + asymmetric', async () => {
    const { media, calls } = leg();
    await media.connectMedia({ address: '127.0.0.3', port: 31000 });
    expect(calls).toHaveLength(2);
    const [offer, answer] = calls;
    expect(offer).toMatchObject({ kind: 'offer', p: { callId: 'call-1', fromTag: 'party', sdp: PARTY_SDP, extra: { 'to-tag': 'plat' } } });
    expect(answer).toMatchObject({ kind: 'answer', p: { callId: 'call-1', fromTag: 'party', toTag: 'plat', flags: ['port-latching', 'asymmetric'] } });
    expect(answer?.kind === 'answer' && sdpAudioTarget(answer.p.sdp)).toEqual({ address: '127.0.0.3', port: 31000 });
    expect(media.connectedTo).toEqual({ address: '127.0.0.3', port: 31000 });
    await media.connectMedia(undefined);
    const unbridge = calls[3];
    expect(unbridge?.kind === 'answer' && sdpAudioTarget(unbridge.p.sdp)).toEqual({ address: '127.0.0.1', port: 9 });
    expect(media.connectedTo).toBeUndefined();
  });

  it('bridges an outbound leg the mirror way: the platform offers, the party SDP answers', async () => {
    const { media, calls } = leg({ offerer: 'platform', platformEndpoint: { address: '127.0.0.2', port: 30010 } });
    await media.connectMedia({ address: '127.0.0.3', port: 31000 });
    const [offer, answer] = calls;
    expect(offer).toMatchObject({ kind: 'offer', p: { fromTag: 'plat', flags: ['port-latching', 'asymmetric'], extra: { 'to-tag': 'party' } } });
    expect(offer?.kind === 'offer' && sdpAudioTarget(offer.p.sdp)).toEqual({ address: '127.0.0.3', port: 31000 });
    expect(answer).toMatchObject({ kind: 'answer', p: { fromTag: 'plat', toTag: 'party', sdp: PARTY_SDP } });
    expect(media.mediaEndpoint()).toEqual({ address: '127.0.0.2', port: 30010 });
  });

  it('runs renegotiations one at a time, in call order, with rising SDP versions', async () => {
    const { media, calls } = leg();
    await Promise.all([media.connectMedia({ address: '127.0.0.3', port: 31000 }), media.connectMedia(undefined), media.connectMedia({ address: '127.0.0.4', port: 32000 })]);
    const answers = calls.filter((c): c is Extract<Call, { kind: 'answer' }> => c.kind === 'answer');
    expect(calls.map((c) => c.kind)).toEqual(['offer', 'answer', 'offer', 'answer', 'offer', 'answer']);
    expect(answers.map((a) => sdpAudioTarget(a.p.sdp)?.port)).toEqual([31000, 9, 32000]);
    const versions = answers.map((a) => Number(/^o=- \d+ (\d+)/m.exec(a.p.sdp)?.[1]));
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    expect(new Set(versions).size).toBe(3);
  });

  it('refuses a bad peer endpoint before talking to rtpengine', async () => {
    const { media, calls } = leg();
    await expect(media.connectMedia({ address: 'peer', port: 1 })).rejects.toThrow(/not an IP address/);
    expect(calls).toHaveLength(0);
  });

  it('routes the party’s digits (not the platform’s) to onDigit listeners until unsubscribed', () => {
    const { media, dtmf } = leg();
    const got: string[] = [];
    const off = media.onDigit((d) => got.push(d));
    const report = (tag: string, event: number): string => JSON.stringify({ callid: 'call-1', source_tag: tag, type: 'DTMF', event, duration: 100 });
    dtmf.handleDatagram(report('party', 4));
    dtmf.handleDatagram(report('plat', 7));
    off();
    dtmf.handleDatagram(report('party', 5));
    expect(got).toEqual(['4']);
  });

  it('rejects digit strings with other characters without sending anything', async () => {
    const { media, calls } = leg();
    const e = await media.sendDigits('12x').catch((x: unknown) => x);
    expect(isMeshError(e, 'BAD_REQUEST')).toBe(true);
    expect(calls).toHaveLength(0);
  });

  it('after close() every operation fails with CLOSED and listeners are dropped', async () => {
    const { media, dtmf } = leg();
    media.onDigit(() => undefined);
    await Promise.all([media.close(), media.close()]);
    expect(dtmf.stats().subscriptions).toBe(0);
    await expect(media.play('/m/a.wav', 10)).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(media.sendDigits('1')).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(media.connectMedia(undefined)).rejects.toMatchObject({ code: 'CLOSED' });
    expect(() => media.onDigit(() => undefined)).toThrow(/closed/);
  });

  it('validates its options', () => {
    expect(() => leg({ partyTag: 'plat' })).toThrow(/must differ/);
    expect(() => leg({ callId: '' })).toThrow(/callId/);
    expect(() => leg({ platformEndpoint: { address: '127.0.0.2', port: 0 } })).toThrow(/out of range/);
    expect(() => leg({ rtpAddress: 'localhost' })).toThrow(/IPv4/);
  });
});
