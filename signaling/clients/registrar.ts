/**
 * The registrar of browser and app clients (RFC 3261 §10.3, RFC 7118 §5,
 * issue 13): a REGISTER over WebSocket, once the authenticator says whose it
 * is, binds `client:<identity>` in the account to the connection it came on.
 * Bindings live in the shared store (regions/store/client-registrations.ts)
 * with this node's region and id, and end with the first of: the
 * registration's Expires (bounded to [minExpires, maxExpires]), an
 * unregister (Expires 0), or the connection closing.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../regions/core/log.js';
import {
  deleteClientRegistration,
  listClientRegistrations,
  purgeNodeClientRegistrations,
  registrationOwner,
  removeClientRegistration,
  saveClientRegistration,
  type ClientRegistration,
} from '../../regions/store/client-registrations.js';
import { createResponse, parseCSeq, parseNameAddr, parseUri, splitHeaderList } from '../sip/message/index.js';
import type { Endpoint, SipRequest } from '../sip/message/types.js';
import type { ServerTransaction } from '../sip/transaction/types.js';
import type { ClientAuthenticator } from './authenticator.js';
import { contactDoesIce } from './contact-features.js';
import { sipWarning } from '../calls/inbound-app.js';

export interface RegistrarOptions {
  region: string;
  nodeId: string;
  keyPrefix: string;
  /** Shortest Expires accepted (other than 0); shorter gets 423 + Min-Expires (§10.3 step 7). Default 60 s. */
  minExpiresSeconds?: number;
  /** Longest Expires granted; longer is cut to it. Default 3600 s. */
  maxExpiresSeconds?: number;
  /** Expires when the REGISTER names none. Default 600 s. */
  defaultExpiresSeconds?: number;
  /** Most live bindings of one identity; a new one beyond gets 403. Default 10. */
  maxBindingsPerIdentity?: number;
  /** Time for the authenticator and for each store operation. Default 2000 ms. */
  timeoutMs?: number;
}

/** What the registrar needs from the SIP stack. */
export interface RegistrarTransport {
  connection(source: Endpoint): { endpoint: Endpoint; token: string | undefined } | undefined;
  onConnectionClosed(listener: (info: { endpoint: Endpoint }) => void): void;
}

export interface RegistrarCounters {
  /** Bindings added or refreshed. */
  registered: number;
  /** Bindings removed by Expires 0. */
  unregistered: number;
  /** Bindings removed because their connection closed. */
  connectionClosed: number;
  /** REGISTERs refused, by SIP status. */
  refused: Record<string, number>;
}

/** Longest Contact URI kept. */
const MAX_CONTACT_CHARS = 512;
/** Most Contacts in one REGISTER. */
const MAX_CONTACTS = 4;
/** Longest identity (the `client:` name) accepted from an authenticator. */
const MAX_IDENTITY_CHARS = 256;

interface LocalBinding {
  accountSid: string;
  identity: string;
  bindingId: string;
  owner: string;
  connKey: string;
  /** The registered Contact (the Request-URI of requests to the client). */
  contact: string;
  /** The connection that alone reaches the client. */
  endpoint: Endpoint;
  timer: NodeJS.Timeout;
}

class Refusal {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly headers: [string, string][] = [],
  ) {}
}

export class ClientRegistrar {
  readonly counters: RegistrarCounters = { registered: 0, unregistered: 0, connectionClosed: 0, refused: {} };
  /** Bindings this node holds, by binding key; and binding keys by connection. */
  private readonly bindings = new Map<string, LocalBinding>();
  private readonly byConnection = new Map<string, Set<string>>();
  private readonly minExpires: number;
  private readonly maxExpires: number;
  private readonly defaultExpires: number;
  private readonly maxPerIdentity: number;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(
    transport: RegistrarTransport,
    private readonly redis: Redis,
    private readonly authenticator: ClientAuthenticator,
    private readonly log: Logger,
    private readonly opts: RegistrarOptions,
  ) {
    this.minExpires = opts.minExpiresSeconds ?? 60;
    this.maxExpires = opts.maxExpiresSeconds ?? 3600;
    this.defaultExpires = Math.min(this.maxExpires, Math.max(this.minExpires, opts.defaultExpiresSeconds ?? 600));
    this.maxPerIdentity = opts.maxBindingsPerIdentity ?? 10;
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.transport = transport;
    transport.onConnectionClosed((info) => void this.connectionClosed(info.endpoint));
  }

  private readonly transport: RegistrarTransport;

  /** Bindings held by this node's connections now. */
  get activeBindings(): number {
    return this.bindings.size;
  }

  /**
   * Where a binding this node holds is reached: its Contact and connection;
   * undefined when the binding is not (or no longer) on one of this node's
   * connections. A call forwarded by a mesh peer for the binding goes there
   * (clients/mesh-delivery.ts).
   */
  reachable(accountSid: string, identity: string, bindingId: string): { contact: string; endpoint: Endpoint } | undefined {
    const b = this.bindings.get(`${accountSid}|${identity}|${bindingId}`);
    return b === undefined ? undefined : { contact: b.contact, endpoint: b.endpoint };
  }

  /** Remove what a previous process of this node left (its connections are gone). */
  async purgeStale(): Promise<number> {
    return this.withTimeout(purgeNodeClientRegistrations(this.redis, this.opts.keyPrefix, this.opts.nodeId), 'purge');
  }

  /** A REGISTER over WebSocket; every path answers it. */
  handle(req: SipRequest, tx: ServerTransaction, source: Endpoint): void {
    this.register(req, source).then(
      (res) => tx.respond(res),
      (e: unknown) => {
        if (e instanceof Refusal) {
          this.counters.refused[e.status] = (this.counters.refused[e.status] ?? 0) + 1;
          tx.respond(createResponse(req, e.status, e.reason, { headers: e.headers }));
          return;
        }
        this.log.warn('client REGISTER failed', { error: e as Error });
        this.counters.refused['503'] = (this.counters.refused['503'] ?? 0) + 1;
        tx.respond(createResponse(req, 503, 'Registrar Unavailable', { headers: [['Retry-After', '5']] }));
      },
    );
  }

  private async register(req: SipRequest, source: Endpoint): Promise<ReturnType<typeof createResponse>> {
    if (this.closed) throw new Refusal(503, 'Node Shutting Down', [['Retry-After', '5']]);
    const conn = this.transport.connection(source);
    if (conn === undefined || (source.transport !== 'WS' && source.transport !== 'WSS')) {
      throw new Refusal(403, 'Clients Register Over WebSocket Only');
    }
    const contacts = this.readContacts(req);
    const expiresHeader = readExpires(req.headers.get('Expires'), 'Expires header');

    const auth = await this.withTimeout(this.authenticator.authenticate(req, { token: conn.token, remote: conn.endpoint }), 'authentication');
    if (!auth.ok) {
      throw new Refusal(auth.status, reasonPhrase(auth.reason), authRefusalHeaders(auth, this.opts.region, this.opts.nodeId));
    }
    const { accountSid, identity } = auth;
    if (identity.length === 0 || identity.length > MAX_IDENTITY_CHARS || /[\x00-\x1f\x7f]/.test(identity)) {
      throw new Refusal(403, 'Identity Not Acceptable');
    }
    const callId = req.headers.get('Call-ID') ?? '';
    const cseq = parseCSeq(req.headers.get('CSeq') ?? '').seq;

    if (contacts === '*') {
      // §10.3 step 6: `*` only with Expires 0: remove every binding of the identity.
      if (expiresHeader !== 0) throw new Refusal(400, 'Contact * Requires Expires 0');
      const all = await this.withTimeout(listClientRegistrations(this.redis, this.opts.keyPrefix, accountSid, identity), 'store read');
      for (const b of all) await this.unbind(b, true);
      return this.ok(req, []);
    }
    const now = Date.now();
    const existing = await this.withTimeout(listClientRegistrations(this.redis, this.opts.keyPrefix, accountSid, identity), 'store read');
    const existingIds = new Set(existing.map((b) => b.bindingId));
    const owner = registrationOwner(this.opts.nodeId, conn.endpoint.transport, conn.endpoint.address, conn.endpoint.port);
    const changes: { id: string; contact: string; expires: number; webrtc: boolean }[] = [];
    for (const c of contacts) {
      const expires = c.expires ?? expiresHeader ?? this.defaultExpires;
      if (expires !== 0 && expires < this.minExpires) {
        throw new Refusal(423, 'Interval Too Brief', [['Min-Expires', String(this.minExpires)]]);
      }
      changes.push({ id: bindingId(c.uri), contact: c.uri, expires: Math.min(expires, this.maxExpires), webrtc: c.webrtc });
    }
    const added = changes.filter((c) => c.expires > 0 && !existingIds.has(c.id)).length;
    if (added > 0 && existing.length + added > this.maxPerIdentity) {
      throw new Refusal(403, `Too Many Registrations (limit ${this.maxPerIdentity})`);
    }
    for (const c of changes) {
      if (c.expires === 0) {
        const b = existing.find((e) => e.bindingId === c.id);
        if (b !== undefined) await this.unbind(b, true);
        continue;
      }
      const reg: ClientRegistration = {
        accountSid,
        identity,
        bindingId: c.id,
        contact: c.contact,
        region: this.opts.region,
        nodeId: this.opts.nodeId,
        transport: conn.endpoint.transport as 'WS' | 'WSS',
        webrtc: c.webrtc,
        connection: { address: conn.endpoint.address, port: conn.endpoint.port },
        owner,
        callId,
        cseq,
        registeredAtMs: now,
        expiresAtMs: now + c.expires * 1000,
      };
      await this.withTimeout(saveClientRegistration(this.redis, this.opts.keyPrefix, reg), 'store write');
      this.holdLocally(reg, c.expires);
      this.counters.registered++;
    }
    const current = await this.withTimeout(listClientRegistrations(this.redis, this.opts.keyPrefix, accountSid, identity), 'store read');
    return this.ok(req, current);
  }

  /** 200 with every current binding and its remaining time (§10.3 step 8). */
  private ok(req: SipRequest, current: ClientRegistration[]): ReturnType<typeof createResponse> {
    const now = Date.now();
    const headers: [string, string][] = current.map((b) => ['Contact', `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAtMs - now) / 1000))}`]);
    return createResponse(req, 200, 'OK', { headers });
  }

  private readContacts(req: SipRequest): '*' | { uri: string; expires: number | undefined; webrtc: boolean }[] {
    const raw = req.headers.getAll('Contact').flatMap((v) => splitHeaderList(v));
    if (raw.length === 1 && raw[0]!.trim() === '*') return '*';
    if (raw.length > MAX_CONTACTS) throw new Refusal(400, `Too Many Contacts (limit ${MAX_CONTACTS})`);
    return raw.map((v) => {
      let na;
      try {
        na = parseNameAddr(v);
        const uri = parseUri(na.uri);
        if (uri.scheme !== 'sip' && uri.scheme !== 'sips') throw new Refusal(400, 'Contact Must Be A SIP URI');
      } catch (e) {
        if (e instanceof Refusal) throw e;
        throw new Refusal(400, 'Malformed Contact');
      }
      if (na.uri.length > MAX_CONTACT_CHARS) throw new Refusal(400, 'Contact Too Long');
      const e = na.params.get('expires');
      let webrtc: boolean;
      try {
        webrtc = contactDoesIce(na.params);
      } catch (err) {
        throw new Refusal(400, (err as Error).message);
      }
      return { uri: na.uri, expires: e === undefined ? undefined : readExpires(e ?? '', 'Contact expires'), webrtc };
    });
  }

  private holdLocally(reg: ClientRegistration, expiresSeconds: number): void {
    const key = `${reg.accountSid}|${reg.identity}|${reg.bindingId}`;
    const connKey = `${reg.connection.address}:${reg.connection.port}`;
    this.dropLocal(key);
    // The store's TTL ends the binding there; this only forgets it here.
    const timer = setTimeout(() => this.dropLocal(key), expiresSeconds * 1000);
    timer.unref();
    const endpoint: Endpoint = { transport: reg.transport, address: reg.connection.address, port: reg.connection.port };
    this.bindings.set(key, { accountSid: reg.accountSid, identity: reg.identity, bindingId: reg.bindingId, owner: reg.owner, connKey, contact: reg.contact, endpoint, timer });
    let set = this.byConnection.get(connKey);
    if (set === undefined) this.byConnection.set(connKey, (set = new Set()));
    set.add(key);
  }

  private dropLocal(key: string): LocalBinding | undefined {
    const b = this.bindings.get(key);
    if (b === undefined) return undefined;
    clearTimeout(b.timer);
    this.bindings.delete(key);
    const set = this.byConnection.get(b.connKey);
    set?.delete(key);
    if (set?.size === 0) this.byConnection.delete(b.connKey);
    return b;
  }

  /** Expires 0 from the client: remove it wherever it is connected. */
  private async unbind(b: ClientRegistration, byClient: boolean): Promise<void> {
    await this.withTimeout(deleteClientRegistration(this.redis, this.opts.keyPrefix, b), 'store write');
    this.dropLocal(`${b.accountSid}|${b.identity}|${b.bindingId}`);
    if (byClient) this.counters.unregistered++;
  }

  /** RFC 7118 §5: a binding is unreachable once its connection is gone, so it goes with it. */
  private async connectionClosed(endpoint: Endpoint): Promise<void> {
    const connKey = `${endpoint.address}:${endpoint.port}`;
    const held = this.byConnection.get(connKey);
    if (held === undefined) return;
    for (const key of [...held]) {
      const b = this.dropLocal(key);
      if (b === undefined) continue;
      try {
        if (await this.withTimeout(removeClientRegistration(this.redis, this.opts.keyPrefix, { ...b, nodeId: this.opts.nodeId }), 'store write')) {
          this.counters.connectionClosed++;
        }
      } catch (e) {
        // The binding's TTL ends it in the store.
        this.log.warn('could not remove a closed connection\'s client binding', { identity: b.identity, error: e as Error });
      }
    }
  }

  private async withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Refusal(503, `Registrar ${what} timed out`, [['Retry-After', '5']])), this.timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stop taking REGISTERs and forget local timers (the store's bindings end with their connections or TTLs). Idempotent. */
  close(): void {
    this.closed = true;
    for (const b of this.bindings.values()) clearTimeout(b.timer);
    this.bindings.clear();
    this.byConnection.clear();
  }
}

/** Binding id: one per Contact URI (§10.3 step 7 matches bindings by URI). */
function bindingId(contactUri: string): string {
  return createHash('sha256').update(contactUri).digest('hex').slice(0, 32);
}

/** A delta-seconds value (§20.19, §20.10 expires param), bounded. */
function readExpires(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (!/^\d{1,10}$/.test(t)) throw new Refusal(400, `Invalid ${what}`);
  return Math.min(Number(t), 2 ** 31 - 1);
}

/**
 * Headers of an authentication refusal: a 401 names the Bearer scheme the client must use
 * (RFC 8898 §2.3, RFC 6750 §3), a 503 when to retry, and what is wrong goes in a Warning
 * (RFC 3261 §20.43). Shared with client INVITEs (client-calls.ts).
 */
export function authRefusalHeaders(auth: { status: number; detail?: string }, region: string, agent: string): [string, string][] {
  const headers: [string, string][] = [];
  if (auth.status === 401) headers.push(['WWW-Authenticate', `Bearer realm="${region}"`]);
  if (auth.status === 503) headers.push(['Retry-After', '30']);
  if (auth.detail !== undefined) headers.push(['Warning', sipWarning(agent, auth.detail)]);
  return headers;
}

/** A reason phrase that cannot break the status line: printable, at most 120 characters. */
export function reasonPhrase(reason: string): string {
  const clean = reason.replace(/[\x00-\x1f\x7f]/g, ' ').trim().slice(0, 120);
  return clean.length > 0 ? clean : 'Forbidden';
}
