/**
 * SDP of an rtpengine media subscription. `subscribe request` answers with
 * an SDP offer (RFC 3264 §5) holding one `a=sendonly` audio m= line per
 * subscribed source (per from-tag); the subscriber answers with one
 * `a=recvonly` m= line per offered one (RFC 3264 §6: same count and order),
 * each naming where that source's RTP must go.
 */
import { MeshError } from '../../regions/core/errors.js';

export interface OfferedMedia {
  /** rtpengine's sending port for this source (informational). */
  port: number;
  /** Connection address of the m= section, or the session one. */
  address: string;
  /** Payload types on the m= line, in preference order. */
  payloadTypes: number[];
  /** rtpmap encoding names by payload type (static ones filled in: 0 PCMU, 8 PCMA). */
  encodings: Map<number, string>;
  /** The offer's rtpmap value by payload type, as written (e.g. `opus/48000/2`), echoed in the answer. */
  rtpmaps: Map<number, string>;
}

const STATIC_ENCODINGS: Record<number, string> = { 0: 'PCMU', 8: 'PCMA' };

export function parseSubscribeOffer(sdp: string): OfferedMedia[] {
  const lines = sdp.split(/\r?\n/);
  let sessionAddress: string | undefined;
  const media: OfferedMedia[] = [];
  for (const line of lines) {
    const m = /^m=audio (\d+) RTP\/AVP ([\d ]+)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) {
      const payloadTypes = m[2].trim().split(/\s+/).map(Number);
      const encodings = new Map<number, string>();
      for (const pt of payloadTypes) if (STATIC_ENCODINGS[pt] !== undefined) encodings.set(pt, STATIC_ENCODINGS[pt]);
      media.push({ port: Number(m[1]), address: sessionAddress ?? '', payloadTypes, encodings, rtpmaps: new Map() });
      continue;
    }
    if (/^m=/.test(line)) throw new MeshError('NOT_ACCEPTABLE_HERE', `subscription offers a non-audio or non-RTP/AVP stream: ${line.trim()}`);
    const c = /^c=IN IP4 (\S+)/.exec(line);
    if (c?.[1] !== undefined) {
      const last = media[media.length - 1];
      if (last === undefined) sessionAddress = c[1];
      else last.address = c[1];
    }
    const rtpmap = /^a=rtpmap:(\d+) (([^/\s]+)\/\S+)/.exec(line.trim());
    const cur = media[media.length - 1];
    if (rtpmap?.[1] !== undefined && rtpmap[2] !== undefined && rtpmap[3] !== undefined && cur !== undefined) {
      cur.encodings.set(Number(rtpmap[1]), rtpmap[3].toUpperCase());
      cur.rtpmaps.set(Number(rtpmap[1]), rtpmap[2]);
    }
  }
  if (media.length === 0) throw new MeshError('BAD_GATEWAY', 'subscription SDP has no audio stream');
  return media;
}

/** Pick the payload type to accept: the first offered one among `accept` encodings. */
export function choosePayloadType(m: OfferedMedia, accept: readonly string[]): { pt: number; encoding: string } {
  for (const pt of m.payloadTypes) {
    const enc = m.encodings.get(pt);
    if (enc !== undefined && accept.includes(enc)) return { pt, encoding: enc };
  }
  throw new MeshError('NOT_ACCEPTABLE_HERE', `subscription offers none of ${accept.join(', ')} (payload types ${m.payloadTypes.join(' ')})`);
}

export function buildSubscribeAnswer(offer: OfferedMedia[], targets: { address: string; port: number }[], accept: readonly string[], sessionId: number): string {
  if (targets.length !== offer.length) {
    throw new MeshError('INTERNAL', `subscription offers ${offer.length} streams but ${targets.length} targets were given`);
  }
  const first = targets[0];
  const lines = ['v=0', `o=- ${sessionId} 1 IN IP4 ${first?.address ?? '0.0.0.0'}`, 's=-', 't=0 0'];
  offer.forEach((m, i) => {
    const t = targets[i] as { address: string; port: number };
    const { pt, encoding } = choosePayloadType(m, accept);
    // rtpengine 10.5 refuses a subscription answer that drops any offered payload type
    // ("Failed to process subscription answer"), so every offered one is echoed, ours first.
    const others = m.payloadTypes.filter((p) => p !== pt);
    lines.push(`m=audio ${t.port} RTP/AVP ${[pt, ...others].join(' ')}`, `c=IN IP4 ${t.address}`, `a=rtpmap:${pt} ${encoding}/8000`);
    for (const p of others) {
      const map = m.rtpmaps.get(p);
      if (map !== undefined) lines.push(`a=rtpmap:${p} ${map}`);
    }
    lines.push('a=recvonly');
  });
  return lines.join('\r\n') + '\r\n';
}
