/**
 * Registrations of browser and app clients (`client:<identity>` in an
 * account, issue 13): where each binding is connected — region, signaling
 * node, and the WebSocket connection on that node that alone reaches it
 * (RFC 7118 §5). The only module that touches the `clientBinding*` keys.
 *
 * A binding is one key with a TTL equal to its Expires, indexed in a sorted
 * set per identity scored by expiry, so a reader sees only live bindings
 * even when the node that wrote one died without cleaning up. Removal on
 * connection close is conditional on the binding's `owner` (node +
 * connection), so a client that re-registered over a new connection (maybe
 * on another node) does not lose its binding when the old connection closes.
 */
import type { Redis } from 'ioredis';
import { keys } from './keys.js';

export interface ClientRegistration {
  accountSid: string;
  identity: string;
  /** Stable per Contact URI (RFC 3261 §10.3: bindings are keyed by contact). */
  bindingId: string;
  /** The Contact URI as registered (often `sip:x@y.invalid;transport=ws`: not reachable by address). */
  contact: string;
  region: string;
  nodeId: string;
  transport: 'WS' | 'WSS';
  /**
   * The client does ICE (its REGISTER Contact carried `+sip.ice`, RFC 5768 §4.2):
   * a WebRTC client, offered ICE + DTLS-SRTP media when called. A record written
   * without it (an older node) reads as false: plain RTP.
   */
  webrtc: boolean;
  /** Remote end of the connection on `nodeId` the client is reachable over. */
  connection: { address: string; port: number };
  /** `nodeId/transport:address:port`: who may remove this binding on connection close. */
  owner: string;
  callId: string;
  cseq: number;
  registeredAtMs: number;
  expiresAtMs: number;
}

export function registrationOwner(nodeId: string, transport: string, address: string, port: number): string {
  return `${nodeId}/${transport}:${address}:${port}`;
}

const nodeMember = (r: Pick<ClientRegistration, 'accountSid' | 'identity' | 'bindingId'>): string => `${r.accountSid}|${encodeURIComponent(r.identity)}|${r.bindingId}`;

/** Write (or refresh) a binding with a TTL of its remaining lifetime. */
export async function saveClientRegistration(redis: Redis, prefix: string, reg: ClientRegistration): Promise<void> {
  const k = keys(prefix);
  const ttlMs = Math.max(1, reg.expiresAtMs - Date.now());
  const index = k.clientBindings(reg.accountSid, reg.identity);
  await redis
    .multi()
    .set(k.clientBinding(reg.accountSid, reg.identity, reg.bindingId), JSON.stringify(reg), 'PX', ttlMs)
    .zadd(index, reg.expiresAtMs, reg.bindingId)
    .zremrangebyscore(index, '-inf', Date.now())
    // The index lives as long as its longest binding could (bounded by the registrar's max Expires).
    .pexpire(index, ttlMs + 60_000, 'GT')
    .pexpire(index, ttlMs + 60_000, 'NX')
    .sadd(k.nodeClientBindings(reg.nodeId), nodeMember(reg))
    .exec();
}

// KEYS: binding, index, node set. ARGV: `"owner":"..."` fragment, bindingId, node member.
const REMOVE_IF_OWNER = `
local v = redis.call('GET', KEYS[1])
redis.call('SREM', KEYS[3], ARGV[3])
if v and string.find(v, ARGV[1], 1, true) then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
return 0`;

/**
 * Remove a binding if `owner` still holds it (connection closed, or Expires 0 on that connection).
 * Resolves true when it was removed.
 */
export async function removeClientRegistration(
  redis: Redis,
  prefix: string,
  b: Pick<ClientRegistration, 'accountSid' | 'identity' | 'bindingId' | 'nodeId' | 'owner'>,
): Promise<boolean> {
  const k = keys(prefix);
  const n = await redis.eval(
    REMOVE_IF_OWNER,
    3,
    k.clientBinding(b.accountSid, b.identity, b.bindingId),
    k.clientBindings(b.accountSid, b.identity),
    k.nodeClientBindings(b.nodeId),
    `"owner":${JSON.stringify(b.owner)}`,
    b.bindingId,
    nodeMember(b),
  );
  return n === 1;
}

/** Remove a binding whoever holds it (REGISTER with Expires 0 from the client itself). */
export async function deleteClientRegistration(redis: Redis, prefix: string, b: Pick<ClientRegistration, 'accountSid' | 'identity' | 'bindingId'>): Promise<void> {
  const k = keys(prefix);
  await redis.multi().del(k.clientBinding(b.accountSid, b.identity, b.bindingId)).zrem(k.clientBindings(b.accountSid, b.identity), b.bindingId).exec();
}

/** Most bindings read for one identity (the registrar keeps fewer). */
const MAX_READ = 100;

/** Live bindings of `client:<identity>` in the account, wherever they are connected. */
export async function listClientRegistrations(redis: Redis, prefix: string, accountSid: string, identity: string): Promise<ClientRegistration[]> {
  const k = keys(prefix);
  const now = Date.now();
  const ids = await redis.zrangebyscore(k.clientBindings(accountSid, identity), now, '+inf', 'LIMIT', 0, MAX_READ);
  if (ids.length === 0) return [];
  const values = await redis.mget(ids.map((id) => k.clientBinding(accountSid, identity, id)));
  const out: ClientRegistration[] = [];
  for (const v of values) {
    if (v === null) continue;
    try {
      const r = JSON.parse(v) as ClientRegistration;
      if (r.expiresAtMs > now) out.push({ ...r, webrtc: r.webrtc === true });
    } catch {
      // A corrupt record is skipped: its TTL removes it.
    }
  }
  return out;
}

/**
 * Remove every binding a node held: at its start (its WebSocket connections
 * died with the previous process, a standby's too). Returns how many went.
 */
export async function purgeNodeClientRegistrations(redis: Redis, prefix: string, nodeId: string): Promise<number> {
  const k = keys(prefix);
  const members = await redis.smembers(k.nodeClientBindings(nodeId));
  let removed = 0;
  for (const m of members) {
    const [accountSid = '', encIdentity = '', bindingId = ''] = m.split('|');
    let identity: string;
    try {
      identity = decodeURIComponent(encIdentity);
    } catch {
      continue;
    }
    const v = await redis.get(k.clientBinding(accountSid, identity, bindingId));
    const ownedHere = v !== null && (JSON.parse(v) as ClientRegistration).nodeId === nodeId;
    if (ownedHere) {
      await deleteClientRegistration(redis, prefix, { accountSid, identity, bindingId });
      removed++;
    }
  }
  await redis.del(k.nodeClientBindings(nodeId));
  return removed;
}
