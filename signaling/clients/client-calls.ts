/**
 * Outgoing calls of browser and app clients (issue 13, item 3): an INVITE a
 * client sends over WebSocket runs the outgoing application of its access
 * token, like a phone call to a number with that application, in the
 * account's home region.
 *
 * This module decides where such an INVITE goes; the B2BUA's new-call path
 * (b2bua/new-call.ts) carries the decision out:
 *
 * - `refused`: no or a bad token (401 + Bearer challenge / 403 / 503, the
 *   reason in the phrase and a Warning), no outgoing grant, the application
 *   gone or not runnable;
 * - `forward`: the account is homed in another region: the INVITE goes there
 *   like a call to a number homed there, its media left at this edge
 *   (`X-Mesh-Media-Node: passthrough`, so the home places the application leg
 *   on a media node of this region), with the token (`Authorization: Bearer`)
 *   and the call's parameters, which the home checks again (`X-Mesh-Client`);
 * - `app`: this is the home: run the application (calls/inbound-app.ts) with
 *   `From=client:<identity>` and the grant's and the call's parameters.
 *
 * The call's parameters are its `X-` headers (`X-Foo: bar` → `Foo=bar`;
 * `X-Mesh-*` excluded), bounded like the grant's; a grant parameter wins over
 * a call parameter of the same name (the grant is the tenant's signed choice),
 * and neither replaces the platform's own (CallSid, From, To, …).
 */
import type { AppBinding } from '../calls/app-resolver.js';
import type { Endpoint, SipRequest } from '../sip/message/types.js';
import { presentedToken, type ClientAuthenticator, type ClientConnection } from './authenticator.js';
import { authRefusalHeaders, reasonPhrase } from './registrar.js';

/** Header a forwarding edge adds: the INVITE is a client's (checked again here, the home). */
export const CLIENT_HEADER = 'X-Mesh-Client';
/** Most call parameters taken from X- headers. */
export const MAX_CALL_PARAMS = 16;
const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const MAX_PARAM_VALUE = 1024;

/** Who is calling, for the application. */
export interface ClientCaller {
  identity: string;
  /** The grant's parameters over the call's (X- headers). */
  params: Record<string, string>;
}

export type ClientInviteRoute =
  | { kind: 'refused'; status: number; reason: string; headers: [string, string][] }
  | { kind: 'forward'; homeRegion: string; headers: [string, string][] }
  | { kind: 'app'; binding: AppBinding; caller: ClientCaller };

/** The outgoing application of a token, with its account's home region (AppResolver.resolveApplication). */
export interface ClientApplications {
  resolveApplication(accountSid: string, applicationSid: string): Promise<{ kind: 'app'; binding: AppBinding; homeRegion: string } | { kind: 'refused'; reason: string }>;
}

export interface ClientCallsOptions {
  region: string;
  nodeId: string;
  /** Time for the authenticator and the application lookup each. Default 2000 ms. */
  timeoutMs?: number;
}

/** What ClientCalls needs of the SIP transport: the WebSocket connection a request came on. */
export interface ClientConnections {
  connection(source: Endpoint): { endpoint: Endpoint; token: string | undefined } | undefined;
}

export interface ClientCallCounters {
  /** Client INVITEs run here. */
  local: number;
  /** Client INVITEs forwarded to the account's home region. */
  forwarded: number;
  /** Refused, by SIP status. */
  refused: Record<string, number>;
}

class Refusal {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly headers: [string, string][] = [],
  ) {}
}

export class ClientCalls {
  readonly counters: ClientCallCounters = { local: 0, forwarded: 0, refused: {} };
  private readonly timeoutMs: number;

  constructor(
    private readonly authenticator: ClientAuthenticator,
    private readonly apps: ClientApplications,
    private readonly connections: ClientConnections,
    private readonly opts: ClientCallsOptions,
  ) {
    this.timeoutMs = opts.timeoutMs ?? 2000;
  }

  /** A client's INVITE: it came over WebSocket, or a trusted peer's edge forwarded one. */
  isClientInvite(req: SipRequest, source: Endpoint, fromPeer: boolean): boolean {
    if (source.transport === 'WS' || source.transport === 'WSS') return true;
    return fromPeer && req.headers.get(CLIENT_HEADER) !== undefined;
  }

  /** Where the INVITE goes; never rejects (a failed lookup is a 503 refusal). */
  async route(req: SipRequest, source: Endpoint, fromPeer: boolean): Promise<ClientInviteRoute> {
    try {
      const r = await this.decide(req, source, fromPeer);
      if (r.kind === 'forward') this.counters.forwarded++;
      else this.counters.local++;
      return r;
    } catch (e) {
      const refusal = e instanceof Refusal ? e : new Refusal(503, 'Client Calls Unavailable', [['Retry-After', '5']]);
      this.counters.refused[refusal.status] = (this.counters.refused[refusal.status] ?? 0) + 1;
      return { kind: 'refused', status: refusal.status, reason: refusal.reason, headers: refusal.headers };
    }
  }

  private async decide(req: SipRequest, source: Endpoint, fromPeer: boolean): Promise<ClientInviteRoute> {
    let conn: ClientConnection;
    if (fromPeer) {
      conn = { remote: source };
    } else {
      const c = this.connections.connection(source);
      if (c === undefined) throw new Refusal(403, 'Clients Call Over WebSocket Only');
      conn = { token: c.token, remote: c.endpoint };
    }
    const auth = await this.bounded(this.authenticator.authenticate(req, conn), 'authentication');
    if (!auth.ok) throw new Refusal(auth.status, reasonPhrase(auth.reason), authRefusalHeaders(auth, this.opts.region, this.opts.nodeId));
    if (auth.outgoing === undefined) throw new Refusal(403, 'Access Token Refused (missing-grant)', authRefusalHeaders({ status: 403, detail: 'token does not allow outgoing calls (grants.voice.outgoing.application_sid)' }, this.opts.region, this.opts.nodeId));
    const found = await this.bounded(this.apps.resolveApplication(auth.accountSid, auth.outgoing.applicationSid), 'application lookup');
    if (found.kind === 'refused') throw new Refusal(403, 'Outgoing Application Not Available', authRefusalHeaders({ status: 403, detail: found.reason }, this.opts.region, this.opts.nodeId));
    const callParams = readCallParams(req);
    if (found.homeRegion !== this.opts.region && !fromPeer) {
      const token = presentedToken(req, conn);
      // The home checks the token again: it trusts the edge's word on nothing but the peer address.
      const headers: [string, string][] = [[CLIENT_HEADER, auth.identity], ['Authorization', `Bearer ${token ?? ''}`]];
      for (const [name, value] of Object.entries(callParams)) headers.push([`X-${name}`, value]);
      return { kind: 'forward', homeRegion: found.homeRegion, headers };
    }
    return { kind: 'app', binding: found.binding, caller: { identity: auth.identity, params: { ...callParams, ...auth.outgoing.params } } };
  }

  private async bounded<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Refusal(503, `Client ${what} timed out`, [['Retry-After', '5']])), this.timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The call's parameters: its X- headers other than the mesh's, bounded in count, name and value. */
export function readCallParams(req: SipRequest): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  for (const { name, value } of req.headers.entries()) {
    if (!/^x-/i.test(name) || /^x-mesh-/i.test(name)) continue;
    const key = name.slice(2);
    if (!PARAM_NAME.test(key) || value.length > MAX_PARAM_VALUE || /[\x00-\x1f\x7f]/.test(value)) continue;
    if (n++ >= MAX_CALL_PARAMS) break;
    out[key] = value;
  }
  return out;
}
