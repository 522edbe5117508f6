import { describe, expect, it } from 'vitest';
import { forkBranch } from '../../../../media/fork/fork-branch.js';
import { buildSubscribeAnswer, parseSubscribeOffer } from '../../../../media/fork/subscribe-sdp.js';
import { RtpengineMediaEngine, type MediaEngine } from '../../../../media/engine/index.js';
import type { NgClientLike } from '../../../../media/ng/client.js';
import { MeshError } from '../../../../regions/core/errors.js';

/** Shape of rtpengine 10.5's `subscribe request` SDP for two from-tags (as observed on this machine). */
const OFFER = [
  'v=0', 'o=- 77 77 IN IP4 127.0.11.4', 's=rtpengine', 't=0 0',
  'm=audio 53030 RTP/AVP 0 101', 'c=IN IP4 127.0.11.4', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendonly', 'a=rtcp:53031',
  'm=audio 53042 RTP/AVP 96 8', 'c=IN IP4 127.0.11.4', 'a=rtpmap:96 opus/48000/2', 'a=sendonly', '',
].join('\r\n');

describe('subscription SDP', () => {
  it('parses one stream per m= line with its address and encodings', () => {
    const m = parseSubscribeOffer(OFFER);
    expect(m).toHaveLength(2);
    expect(m[0]).toMatchObject({ port: 53030, address: '127.0.11.4', payloadTypes: [0, 101] });
    expect(m[0]?.encodings.get(101)).toBe('TELEPHONE-EVENT');
    expect(m[1]?.encodings.get(8)).toBe('PCMA'); // static payload type without rtpmap
  });

  it('answers each m= line with a recvonly line to its target, choosing an accepted codec (RFC 3264 §6)', () => {
    const sdp = buildSubscribeAnswer(parseSubscribeOffer(OFFER), [{ address: '127.0.11.30', port: 54800 }, { address: '127.0.11.31', port: 54802 }], ['PCMU', 'PCMA'], 5);
    // Every offered payload type is echoed, the chosen one first (rtpengine 10.5 refuses an answer that drops one).
    expect(sdp).toContain('m=audio 54800 RTP/AVP 0 101\r\nc=IN IP4 127.0.11.30\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=recvonly');
    expect(sdp).toContain('m=audio 54802 RTP/AVP 8 96\r\nc=IN IP4 127.0.11.31\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:96 opus/48000/2\r\na=recvonly');
    expect(() => buildSubscribeAnswer(parseSubscribeOffer(OFFER), [{ address: '127.0.11.30', port: 1 }], ['PCMU'], 1)).toThrow(/2 streams/);
    expect(() => buildSubscribeAnswer(parseSubscribeOffer(OFFER), [{ address: 'a', port: 1 }, { address: 'b', port: 2 }], ['PCMU'], 1)).toThrow(/none of PCMU/);
  });

  it('rejects offers without audio or with other transports', () => {
    expect(() => parseSubscribeOffer('v=0\r\ns=-\r\n')).toThrow(/no audio/);
    expect(() => parseSubscribeOffer('v=0\r\nm=video 1 RTP/AVP 96\r\n')).toThrow(/non-audio/);
  });
});

/** The rtpengine MediaEngine over a fake ng client, so the ng commands it sends can be checked. */
function fakeNg(replies: Record<string, Record<string, unknown> | Error>): { ng: MediaEngine; sent: { name: string; dict: Record<string, unknown> }[] } {
  const sent: { name: string; dict: Record<string, unknown> }[] = [];
  const ng = {
    command: async (name: string, dict: Record<string, unknown> = {}) => {
      sent.push({ name, dict });
      const r = replies[name];
      if (r instanceof Error) throw r;
      return r ?? { result: 'ok' };
    },
  } as unknown as NgClientLike;
  return { ng: new RtpengineMediaEngine(ng), sent };
}

describe('forkBranch', () => {
  const single = OFFER.split('m=audio 53042')[0] as string;

  it('sends subscribe request then subscribe answer with the subscription to-tag; stop() unsubscribes once', async () => {
    const { ng, sent } = fakeNg({ 'subscribe request': { result: 'ok', sdp: single, 'to-tag': 'sub-1' } });
    const h = await forkBranch(ng, { callId: 'c1', fromTags: ['ft'], targets: [{ address: '127.0.11.30', port: 54800 }] });
    expect(sent.map((s) => s.name)).toEqual(['subscribe request', 'subscribe answer']);
    expect(sent[0]?.dict).toEqual({ 'call-id': 'c1', 'from-tags': ['ft'] });
    expect(sent[1]?.dict).toMatchObject({ 'call-id': 'c1', 'to-tag': 'sub-1' });
    expect(String(sent[1]?.dict.sdp)).toContain('m=audio 54800 RTP/AVP 0');
    expect(h.streams).toEqual([{ fromTag: 'ft', target: { address: '127.0.11.30', port: 54800 }, source: { address: '127.0.11.4', port: 53030 }, payloadType: 0 }]);
    await Promise.all([h.stop(), h.stop()]);
    expect(sent.filter((s) => s.name === 'unsubscribe')).toEqual([{ name: 'unsubscribe', dict: { 'call-id': 'c1', 'to-tag': 'sub-1' } }]);
  });

  it('unsubscribes when the answer fails, and treats an unknown call on stop as done', async () => {
    const failing = fakeNg({ 'subscribe request': { result: 'ok', sdp: single, 'to-tag': 'sub-2' }, 'subscribe answer': new MeshError('BAD_GATEWAY', 'rtpengine subscribe answer failed: x') });
    await expect(forkBranch(failing.ng, { callId: 'c', fromTags: ['ft'], targets: [{ address: 'a', port: 1 }] })).rejects.toMatchObject({ code: 'BAD_GATEWAY' });
    expect(failing.sent.map((s) => s.name)).toEqual(['subscribe request', 'subscribe answer', 'unsubscribe']);
    const gone = fakeNg({ 'subscribe request': { result: 'ok', sdp: single, 'to-tag': 's' }, unsubscribe: new MeshError('BAD_GATEWAY', 'rtpengine unsubscribe failed: Unknown call-ID') });
    const h = await forkBranch(gone.ng, { callId: 'c', fromTags: ['ft'], targets: [{ address: 'a', port: 1 }] });
    await expect(h.stop()).resolves.toBeUndefined();
  });
});
