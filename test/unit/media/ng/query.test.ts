import { describe, expect, it } from 'vitest';
import { parseQueryReply } from '../../../../media/ng/query.js';
import { NgLatencyRecorder } from '../../../../media/ng/latency.js';

const stream = (port: number, flag: 'RTP' | 'RTCP', packets: number, peer: string) => ({
  'local port': port,
  endpoint: { family: 'IPv4', address: peer, port: 40000 },
  'advertised endpoint': { family: 'IPv4', address: peer, port: 40000 },
  flags: [flag, 'filled'],
  stats: { packets, bytes: packets * 172, errors: 0 },
});

// Shape of an rtpengine 10.5 `query` reply (subscribers instead of "in dialogue with", no stats_out).
const REPLY = {
  result: 'ok',
  created: 1795449380,
  tags: {
    ta: {
      tag: 'ta',
      subscribers: [{ tag: 'tb', type: 'offer/answer' }],
      medias: [{ index: 1, type: 'audio', protocol: 'RTP/AVP', streams: [stream(46010, 'RTP', 5, '127.0.8.50'), stream(46011, 'RTCP', 2, '127.0.8.50')] }],
    },
    tb: {
      tag: 'tb',
      'in dialogue with': 'ta',
      medias: [{ index: 1, type: 'audio', protocol: 'RTP/AVP', streams: [
        { ...stream(46000, 'RTP', 7, '127.0.8.51'), stats_out: { packets: 5, bytes: 860, errors: 0 } },
      ] }],
    },
  },
  totals: { RTP: { packets: 12, bytes: 2064, errors: 0 }, RTCP: { packets: 2, bytes: 344, errors: 0 } },
};

describe('parseQueryReply', () => {
  it('gives per-tag RTP counters, excluding RTCP streams', () => {
    const q = parseQueryReply('x1', REPLY);
    expect(Object.keys(q.tags).sort()).toEqual(['ta', 'tb']);
    expect(q.tags.ta?.rtp.in).toEqual({ packets: 5, bytes: 860, errors: 0 });
    expect(q.tags.ta?.rtp.out).toBeUndefined();
    expect(q.tags.tb?.rtp.in.packets).toBe(7);
    expect(q.tags.tb?.rtp.out?.packets).toBe(5);
    expect(q.tags.ta?.inDialogueWith).toBe('tb');
    expect(q.tags.tb?.inDialogueWith).toBe('ta');
    expect(q.tags.ta?.medias[0]?.streams[0]).toMatchObject({ localPort: 46010, endpoint: { address: '127.0.8.50', port: 40000 } });
    expect(q.totals?.rtp.packets).toBe(12);
    expect(q.totals?.rtcp.packets).toBe(2);
    expect(q.created).toBe(1795449380);
  });

  it('tolerates missing and unknown keys', () => {
    const q = parseQueryReply('x2', { result: 'ok', tags: { t: { medias: [{ streams: [{ flags: ['RTP'] }] }], novel: 1 } } });
    expect(q.tags.t?.tag).toBe('t');
    expect(q.tags.t?.rtp.in).toEqual({ packets: 0, bytes: 0, errors: 0 });
    expect(q.totals).toBeUndefined();
  });

  it('rejects a reply without tags', () => {
    expect(() => parseQueryReply('x3', { result: 'ok' })).toThrow(expect.objectContaining({ code: 'BAD_GATEWAY' }) as unknown as Error);
  });
});

describe('NgLatencyRecorder', () => {
  it('keeps cumulative buckets, percentiles over a bounded ring, and outcome counts', () => {
    const r = new NgLatencyRecorder(4);
    for (const ms of [0.5, 3, 30, 3000]) r.record('offer', 'ok', ms);
    r.record('offer', 'timeout', 1000);
    r.record('offer', 'error', 7);
    const [s] = r.snapshot();
    expect(s).toMatchObject({ command: 'offer', ok: 4, errors: 1, timeouts: 1 });
    // buckets ≤1,≤2,≤5,≤10,≤25,≤50,…,+Inf (cumulative); the timeout has no latency sample.
    expect(s?.buckets).toEqual([1, 1, 2, 3, 3, 4, 4, 4, 4, 4, 4, 5]);
    // Ring of 4: the 0.5 ms sample was overwritten by 7 ms.
    expect(s?.maxMs).toBe(3000);
    expect(s?.p50Ms).toBe(7);
    expect(s?.sumMs).toBeCloseTo(3040.5);
  });
});
