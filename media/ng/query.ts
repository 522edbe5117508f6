import { MeshError } from '../../regions/core/errors.js';
import type { NgCounters, NgEndpoint, NgQueryMedia, NgQueryResult, NgQueryStream, NgQueryTag } from './types.js';

/**
 * Turn an ng `query` reply into typed per-leg counters. The reply layout is
 * rtpengine's (`tags.<tag>.medias[].streams[].stats`); keys we do not know
 * are ignored so a newer rtpengine does not break us, and missing counters
 * read as zero.
 */
export function parseQueryReply(callId: string, reply: Record<string, unknown>): NgQueryResult {
  const tagsRaw = reply.tags;
  if (!isRecord(tagsRaw)) throw new MeshError('BAD_GATEWAY', `ng query ${callId}: reply has no "tags" dictionary`);
  const tags: Record<string, NgQueryTag> = Object.create(null) as Record<string, NgQueryTag>;
  for (const [key, value] of Object.entries(tagsRaw)) {
    if (!isRecord(value)) continue;
    tags[key] = parseTag(key, value);
  }
  const totals = isRecord(reply.totals)
    ? { rtp: counters(reply.totals.RTP), rtcp: counters(reply.totals.RTCP) }
    : undefined;
  return { callId, created: num(reply.created), tags, totals, raw: reply };
}

function parseTag(key: string, t: Record<string, unknown>): NgQueryTag {
  const medias: NgQueryMedia[] = (Array.isArray(t.medias) ? t.medias : []).filter(isRecord).map((m) => ({
    index: num(m.index) ?? 0,
    type: str(m.type) ?? '',
    protocol: str(m.protocol) ?? '',
    streams: (Array.isArray(m.streams) ? m.streams : []).filter(isRecord).map(parseStream),
  }));
  const rtpIn = zero();
  let rtpOut: NgCounters | undefined;
  for (const m of medias) {
    for (const s of m.streams) {
      // RTCP streams carry control traffic; "did media flow" is about RTP.
      if (s.flags.includes('RTCP') && !s.flags.includes('RTP')) continue;
      add(rtpIn, s.in);
      if (s.out !== undefined) add((rtpOut ??= zero()), s.out);
    }
  }
  return {
    tag: str(t.tag) ?? key,
    label: str(t.label),
    inDialogueWith: str(t['in dialogue with']) ?? firstOfferAnswerPeer(t.subscribers),
    medias,
    rtp: { in: rtpIn, out: rtpOut },
  };
}

function parseStream(s: Record<string, unknown>): NgQueryStream {
  return {
    localPort: num(s['local port']),
    endpoint: endpoint(s.endpoint),
    advertisedEndpoint: endpoint(s['advertised endpoint']),
    in: counters(s.stats),
    out: isRecord(s.stats_out) ? counters(s.stats_out) : undefined,
    flags: (Array.isArray(s.flags) ? s.flags : []).filter((f): f is string => typeof f === 'string'),
  };
}

function firstOfferAnswerPeer(subs: unknown): string | undefined {
  if (!Array.isArray(subs)) return undefined;
  for (const s of subs) {
    if (isRecord(s) && s.type === 'offer/answer') return str(s.tag);
  }
  return undefined;
}

function endpoint(v: unknown): NgEndpoint | undefined {
  if (!isRecord(v)) return undefined;
  const address = str(v.address);
  const port = num(v.port);
  if (address === undefined || port === undefined) return undefined;
  return { family: str(v.family) ?? '', address, port };
}

function counters(v: unknown): NgCounters {
  if (!isRecord(v)) return zero();
  return { packets: num(v.packets) ?? 0, bytes: num(v.bytes) ?? 0, errors: num(v.errors) ?? 0 };
}

function zero(): NgCounters {
  return { packets: 0, bytes: 0, errors: 0 };
}

function add(into: NgCounters, c: NgCounters): void {
  into.packets += c.packets;
  into.bytes += c.bytes;
  into.errors += c.errors;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
