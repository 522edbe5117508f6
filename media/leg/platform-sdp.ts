/**
 * The platform side's SDP inside a leg's rtpengine session. The platform is
 * not a phone: its SDP only tells rtpengine where to send the party's media —
 * to the discard address when the leg stands alone, or to the platform-side
 * port of another leg's session when the two are bridged.
 */
import { isIP } from 'node:net';
import type { SdpDirection } from '../../regions/core/sdp.js';
import { MeshError } from '../../regions/core/errors.js';
import type { MediaEndpoint } from '../../regions/core/leg-media.js';

/**
 * Where the party's media goes while the leg is not bridged: port 9 is the
 * discard service (RFC 863), the usual SDP placeholder for "nothing listens here".
 */
export const DISCARD_ENDPOINT: Readonly<MediaEndpoint> = Object.freeze({ address: '127.0.0.1', port: 9 });

/** RTP payload type the platform side uses for telephone-event (RFC 4733 §7.1.1: dynamic). */
export const PLATFORM_TELEPHONE_EVENT_PT = 101;

export interface PlatformSdpOptions {
  /** o= session id. Default 1. */
  sessionId?: number;
  /** o= version; RFC 3264 §8: a new offer or answer in the same session must raise it. Default 1. */
  sessionVersion?: number;
  /** Media direction (RFC 3264 §6.1). Default sendrecv. */
  direction?: SdpDirection;
}

/**
 * G.711 µ-law and A-law plus telephone-event (RFC 3551 §6, RFC 4733), aimed
 * at `endpoint`, or at the discard address when there is none.
 */
export function platformSdp(endpoint?: MediaEndpoint, opts: PlatformSdpOptions = {}): string {
  const target = endpoint ?? DISCARD_ENDPOINT;
  assertEndpoint(target, 'platformSdp endpoint');
  const family = isIP(target.address) === 6 ? 'IP6' : 'IP4';
  const id = opts.sessionId ?? 1;
  const version = opts.sessionVersion ?? 1;
  return [
    'v=0',
    `o=- ${id} ${version} IN ${family} ${target.address}`,
    's=edge-mesh',
    `c=IN ${family} ${target.address}`,
    't=0 0',
    `m=audio ${target.port} RTP/AVP 0 8 ${PLATFORM_TELEPHONE_EVENT_PT}`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    `a=rtpmap:${PLATFORM_TELEPHONE_EVENT_PT} telephone-event/8000`,
    `a=fmtp:${PLATFORM_TELEPHONE_EVENT_PT} 0-16`,
    'a=ptime:20',
    `a=${opts.direction ?? 'sendrecv'}`,
    '',
  ].join('\r\n');
}

/** Address and port of the first audio stream of an SDP (media c= wins over the session one), or undefined. */
export { sdpAudioEndpoint as sdpAudioTarget } from '../../regions/core/sdp.js';
export { answerDirection } from '../../regions/core/sdp.js';

export function assertEndpoint(e: MediaEndpoint, what: string): void {
  if (isIP(e.address) === 0) throw new MeshError('BAD_REQUEST', `${what}: "${String(e.address).slice(0, 64)}" is not an IP address`);
  if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) throw new MeshError('BAD_REQUEST', `${what}: port ${e.port} is out of range`);
}
