/**
 * How a call reaches a client registered on another signaling node (issue 13
 * item 4). A client is reachable only over its own WebSocket connection
 * (RFC 7118 §5), which lives on the node it registered with; a node that
 * dials it elsewhere sends the INVITE to that node's region signaling
 * address with `X-Mesh-Client` naming the binding (account, identity,
 * binding id). The receiving node honours the header only from a trusted
 * mesh peer (the same check as `X-Mesh-Edge-Region`, b2bua/new-call.ts) and
 * only for a binding it holds itself (`ClientRegistrar.reachable`), then
 * relays the call over that connection as a B2BUA leg.
 *
 * `X-Mesh-Client-Params` carries `<Client><Parameter>` values to the client
 * (`name=value&…`, percent-encoded like a URL query, so a browser reads it
 * with `URLSearchParams`).
 */
import { isClientIdentity } from '../../regions/core/client-identity.js';

/** Mesh header: the client binding a forwarded INVITE is for. Trusted peers only. */
export const CLIENT_BINDING_HEADER = 'X-Mesh-Client-Binding';
/** Custom parameters for the dialed client (`<Client><Parameter>`). */
export const CLIENT_PARAMS_HEADER = 'X-Mesh-Client-Params';

/** Longest `X-Mesh-Client-Params` value sent or relayed. */
export const MAX_CLIENT_PARAMS_CHARS = 8192;

export interface ClientBindingRef {
  accountSid: string;
  identity: string;
  bindingId: string;
}

/** `AC…;identity=<percent-encoded>;binding=<hex>`. */
export function encodeClientBinding(r: ClientBindingRef): string {
  return `${r.accountSid};identity=${encodeURIComponent(r.identity)};binding=${r.bindingId}`;
}

/** The binding an `X-Mesh-Client` value names, or undefined when it is malformed. */
export function parseClientBinding(v: string): ClientBindingRef | undefined {
  if (v.length > 1024) return undefined;
  const m = /^(AC[0-9a-f]{32});identity=([^;\s]{1,800});binding=([0-9a-f]{1,64})$/.exec(v.trim());
  if (m === null) return undefined;
  let identity: string;
  try {
    identity = decodeURIComponent(m[2]!);
  } catch {
    return undefined;
  }
  return isClientIdentity(identity) ? { accountSid: m[1]!, identity, bindingId: m[3]! } : undefined;
}

/** The params header value, or undefined when there are none (or they would pass the bound: then none go). */
export function encodeClientParams(params: readonly { name: string; value: string }[] | undefined): string | undefined {
  if (params === undefined || params.length === 0) return undefined;
  const v = params.map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(p.value)}`).join('&');
  return v.length <= MAX_CLIENT_PARAMS_CHARS ? v : undefined;
}

/** A received params header fit to relay (one line, bounded, only URL-query characters), else undefined. */
export function relayableClientParams(v: string | undefined): string | undefined {
  if (v === undefined || v.length > MAX_CLIENT_PARAMS_CHARS) return undefined;
  return /^[A-Za-z0-9%&=._~!*'()+-]*$/.test(v) ? v : undefined;
}
