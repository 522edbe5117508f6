/**
 * Transaction matching keys (RFC 3261 §17.1.3, §17.2.3). Every lookup is one
 * Map access with one of these strings; nothing scans the live transactions.
 */
import type { CSeq, Via } from '../message/types.js';

/** RFC 3261 §8.1.1.7: branches from RFC 3261 implementations start with this. */
export const MAGIC_COOKIE = 'z9hG4bK';

/**
 * Client side (§17.1.3): the branch of the top Via of our request plus the CSeq
 * method. The method matters because a CANCEL shares its INVITE's branch (§9.1).
 */
export function clientKey(branch: string, cseqMethod: string): string {
  return `${branch}|${cseqMethod}`;
}

/**
 * Server side (§17.2.3). With a magic-cookie branch: branch + sent-by + method,
 * where ACK counts as INVITE (it belongs to the INVITE transaction when the
 * final was non-2xx). `asMethod` lets a CANCEL look up the INVITE it cancels.
 * Without the cookie (RFC 2543 peers) we fall back to the dialog-ish tuple the
 * RFC lists: Request-URI, From tag, Call-ID, CSeq number and the top Via.
 */
export function serverKey(
  via: Via,
  topViaRaw: string,
  method: string,
  cseq: CSeq,
  uri: string,
  callId: string,
  fromTag: string | undefined,
  asMethod?: string,
): string {
  const m = asMethod ?? (method === 'ACK' ? 'INVITE' : method);
  const branch = via.params.get('branch');
  if (branch !== undefined && branch !== null && branch.startsWith(MAGIC_COOKIE)) {
    return `${branch}|${via.host.toLowerCase()}:${via.port ?? 5060}|${m}`;
  }
  return `2543|${uri}|${fromTag ?? ''}|${callId}|${cseq.seq}|${topViaRaw}|${m}`;
}

/**
 * Key tying an ACK for a 2xx to the INVITE server transaction that sent the
 * 2xx. That ACK is its own transaction with a new branch (§17.1.1.3 does not
 * apply), so it is matched by dialog + CSeq number instead (§13.3.1.4).
 */
export function ackDialogKey(callId: string, cseqSeq: number, fromTag: string | undefined): string {
  return `${callId}|${cseqSeq}|${fromTag ?? ''}`;
}
