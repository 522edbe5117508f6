/**
 * What the page dials and the digits it sends. Pure.
 *
 * A number is dialled as `sip:+15551234567@<domain>`, a client as
 * `client:<identity>` in the Request-URI's user part, percent-escaped by the
 * SIP library as RFC 3261 §19.1.2 requires of `:` (`sip:client%3Aalice@…`);
 * the signaling node reads the user part unescaped, the way `To=client:alice`
 * reads in the API.
 */
import { IDENTITY } from './token.js';

export type DialTarget = { ok: true; kind: 'number' | 'client'; user: string } | { ok: false; reason: string };

/** Phone numbers: E.164 (`+` and up to 15 digits) or a short code / local number of digits. */
const E164 = /^\+[1-9][0-9]{1,14}$/;
const DIGITS = /^[0-9*#]{1,32}$/;

/** Reads what the user typed: a number (spaces, dots, dashes and brackets dropped) or `client:<identity>`. */
export function readDialTarget(text: string): DialTarget {
  const t = text.trim();
  if (t === '') return { ok: false, reason: 'nothing to dial: type a number (+15551234567) or client:<identity>' };
  if (/^client:/i.test(t)) {
    const identity = t.slice('client:'.length);
    if (!IDENTITY.test(identity)) return { ok: false, reason: `client:${identity} is not a client identity (letters, digits, _ . @ + -, at most 121)` };
    return { ok: true, kind: 'client', user: `client:${identity}` };
  }
  const compact = t.replace(/[\s.\-()]/g, '');
  if (E164.test(compact) || DIGITS.test(compact)) return { ok: true, kind: 'number', user: compact };
  return { ok: false, reason: `${t.slice(0, 40)} is neither a phone number (+15551234567) nor client:<identity>` };
}

/** DTMF the page sends (RFC 4733 events 0-15). */
export const DTMF_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'] as const;

export function isDtmfKey(key: string): boolean {
  return /^[0-9*#A-Da-d]$/.test(key);
}
