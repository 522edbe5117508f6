/**
 * Reading and writing the header fields a dialog is made of (Call-ID,
 * From/To with tags, Contact). Parse failures surface as the message
 * layer's SipParseError (a MeshError with code BAD_REQUEST).
 */
import { MeshError } from '../../../regions/core/errors.js';
import { formatNameAddr, parseNameAddr, parseUri } from '../message/index.js';
import type { SipMessage } from '../message/types.js';

export function requireHeader(msg: SipMessage, name: string): string {
  const v = msg.headers.get(name);
  if (v === undefined) throw new MeshError('BAD_REQUEST', `missing ${name} header`);
  return v;
}

/** URI of the first Contact, parsed once to reject garbage; undefined when absent. */
export function firstContactUri(msg: SipMessage): string | undefined {
  const first = msg.headers.getList('Contact')[0];
  if (first === undefined) return undefined;
  const uri = parseNameAddr(first).uri;
  parseUri(uri);
  return uri;
}

/** From/To value with its tag removed: the dialog's local or remote URI (RFC 3261 §12.1.1). */
export function withoutTag(value: string): string {
  const na = parseNameAddr(value);
  na.params.delete('tag');
  return formatNameAddr(na);
}

/** A stored local/remote URI with the dialog's tag added back (RFC 3261 §12.2.1.1). */
export function withTag(nameAddr: string, tag: string): string {
  const na = parseNameAddr(nameAddr);
  na.params.set('tag', tag);
  return formatNameAddr(na);
}

export function isSipsUri(uri: string): boolean {
  return parseUri(uri).scheme === 'sips';
}
