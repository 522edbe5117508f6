/**
 * Map keys for dialogs (RFC 3261 §12: a dialog is identified by Call-ID,
 * local tag and remote tag).
 */
import { getTag } from '../message/index.js';
import type { SipMessage } from '../message/types.js';

/**
 * Stable string key of a dialog. Tags come first and the Call-ID last:
 * a tag is a token and cannot hold `;` (RFC 3261 §25.1), while a Call-ID
 * from a lenient peer might, so this order keeps two different dialogs
 * from ever sharing a key. An absent remote tag (RFC 2543 peer) is ''.
 */
export function dialogKey(callId: string, localTag: string, remoteTag: string | undefined): string {
  return `${localTag};${remoteTag ?? ''};${callId}`;
}

/**
 * Key of the dialog a received message belongs to, or undefined when it
 * cannot belong to one (no Call-ID, or no local tag yet).
 *
 * Who is "local" follows from the message type, not from who created the
 * dialog: on a request we receive, our tag is in To and the peer's in From
 * (RFC 3261 §12.2.2); on a response we receive, our tag is in From and the
 * peer's in To (§12.1.2).
 */
export function dialogKeyForIncoming(msg: SipMessage): string | undefined {
  const callId = msg.headers.get('Call-ID');
  const from = msg.headers.get('From');
  const to = msg.headers.get('To');
  if (callId === undefined || from === undefined || to === undefined) return undefined;
  const fromTag = getTag(from);
  const toTag = getTag(to);
  const [local, remote] = msg.type === 'request' ? [toTag, fromTag] : [fromTag, toTag];
  if (local === undefined || local === '') return undefined;
  // A response must carry the peer's To tag to name a dialog; a request from an
  // RFC 2543 peer may lack a From tag (null remote tag, §12.1.1).
  if (msg.type === 'response' && (remote === undefined || remote === '')) return undefined;
  return dialogKey(callId.trim(), local, remote);
}
