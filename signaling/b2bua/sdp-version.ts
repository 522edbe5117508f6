/**
 * The o= session version of SDP we send. RFC 3264 §8: each new offer in a
 * session carries a session version above the previous one's; a party may
 * ignore an offer whose version did not grow as "no change". After a
 * re-anchor the new media node knows nothing of the versions the old one
 * wrote, so we raise them ourselves.
 */

/** `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>` (RFC 4566 §5.2). */
const ORIGIN = /^o=(\S+) (\S+) (\d+) (.*)$/m;

/** The session version of `sdp`'s o= line, or undefined when it has none we can read. */
export function sdpSessionVersion(sdp: string): bigint | undefined {
  const m = ORIGIN.exec(sdp);
  return m === null ? undefined : BigInt(m[3] as string);
}

/**
 * `sdp` with its o= session version raised to one above `previous`'s, when it
 * is not above it already. Versions are arbitrary-precision decimal (RFC 4566
 * §5.2 allows 64 bits), hence bigint. SDP without a readable o= line is returned as is.
 */
export function withSessionVersionAbove(sdp: string, previous: string | undefined): string {
  if (previous === undefined) return sdp;
  const prev = sdpSessionVersion(previous);
  const cur = sdpSessionVersion(sdp);
  if (prev === undefined || cur === undefined || cur > prev) return sdp;
  return sdp.replace(ORIGIN, (_all, user: string, id: string, _v: string, rest: string) => `o=${user} ${id} ${(prev + 1n).toString()} ${rest}`);
}
