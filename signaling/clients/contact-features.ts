/**
 * Feature tags of a registered Contact (RFC 3840 §9): the one read here is
 * `+sip.ice` (RFC 5768 §4.2), which a client that does ICE puts on its
 * REGISTER Contact. WebRTC clients (JsSIP, SIP.js) send it; a plain SIP
 * phone over WebSocket does not. The registrar records it on the binding so
 * that a call to the client offers WebRTC media (ICE, DTLS-SRTP) only to a
 * client that can take it.
 */

/** Longest `+sip.ice` value looked at (a boolean feature tag is `"TRUE"`, `"FALSE"` or `"!TRUE"`). */
const MAX_VALUE_CHARS = 16;

/**
 * Whether the Contact's header parameters (names lowercased, flags null)
 * say the client does ICE. RFC 3840 §9: a boolean feature tag without a
 * value is TRUE; with one, the value is a quoted `"TRUE"`/`"FALSE"`, `!`
 * negating it (§9: `"!TRUE"` is FALSE). Throws a message naming what is
 * wrong for any other value: the registrar answers 400 with it.
 */
export function contactDoesIce(params: ReadonlyMap<string, string | null>): boolean {
  if (!params.has('+sip.ice')) return false;
  const v = params.get('+sip.ice');
  if (v === null || v === undefined) return true;
  if (v.length > MAX_VALUE_CHARS) throw new Error('Contact +sip.ice value too long');
  const m = /^"(!?)(TRUE|FALSE)"$/i.exec(v.trim());
  if (m === null) throw new Error('Contact +sip.ice value must be "TRUE" or "FALSE"');
  const truth = m[2]!.toUpperCase() === 'TRUE';
  return m[1] === '!' ? !truth : truth;
}
