/**
 * Where a client's INVITE goes (ClientCalls.route) and what the access-token
 * authenticator answers, with a table authenticator and resolver stand-ins
 * (pure logic: the store and the real resolver are in the integration suites).
 */
import { describe, expect, it } from 'vitest';
import type { ResolvedAccessToken } from '../../../../regions/auth/token-resolver.js';
import { refuse } from '../../../../regions/auth/token-refusal.js';
import type { AppBinding } from '../../../../signaling/calls/app-resolver.js';
import type { ClientAuthenticator } from '../../../../signaling/clients/authenticator.js';
import { ClientCalls, readCallParams, type ClientApplications } from '../../../../signaling/clients/client-calls.js';
import { accessTokenAuthenticator } from '../../../../signaling/clients/token-authenticator.js';
import { parseSipMessage } from '../../../../signaling/sip/message/parser.js';
import type { Endpoint, SipRequest } from '../../../../signaling/sip/message/types.js';

const ACCOUNT = 'AC' + 'a'.repeat(32);
const APP = 'AP' + 'b'.repeat(32);
const WS: Endpoint = { transport: 'WS', address: '127.0.0.9', port: 40000 };
const PEER: Endpoint = { transport: 'UDP', address: '127.0.2.1', port: 5060 };

function request(method: string, headers: string[] = []): SipRequest {
  const text = [
    `${method} sip:+15550001@127.0.1.1 SIP/2.0`,
    'Via: SIP/2.0/WS x.invalid;branch=z9hG4bK-1',
    'From: <sip:alice@127.0.1.1>;tag=1',
    'To: <sip:+15550001@127.0.1.1>',
    'Call-ID: c1',
    `CSeq: 1 ${method}`,
    ...headers,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return parseSipMessage(Buffer.from(text)) as SipRequest;
}

const binding = { accountSid: ACCOUNT, authToken: 't', applicationSid: APP, app: { url: 'http://x/voice', method: 'POST', timeoutMs: 5000 }, statusCallback: undefined } as AppBinding;
const apps = (homeRegion: string): ClientApplications => ({ resolveApplication: () => Promise.resolve({ kind: 'app', binding, homeRegion }) });
const alice: ClientAuthenticator = { authenticate: () => Promise.resolve({ ok: true, accountSid: ACCOUNT, identity: 'alice', outgoing: { applicationSid: APP, params: { team: 'blue' } } }) };
const connections = { connection: (s: Endpoint) => (s.transport === 'WS' ? { endpoint: s, token: undefined } : undefined) };

describe('ClientCalls.route', () => {
  it('runs the application at home with the grant params over the call params', async () => {
    const calls = new ClientCalls(alice, apps('us-east'), connections, { region: 'us-east', nodeId: 'n1' });
    const r = await calls.route(request('INVITE', ['X-team: red', 'X-Foo: bar', 'X-Mesh-Call-Sid: CA1']), WS, false);
    expect(r).toMatchObject({ kind: 'app', caller: { identity: 'alice', params: { team: 'blue', Foo: 'bar' } } });
    expect(calls.counters.local).toBe(1);
  });

  it('forwards to another home with the token and the call params; a peer-forwarded one runs here', async () => {
    const calls = new ClientCalls(alice, apps('eu-west'), connections, { region: 'us-east', nodeId: 'n1' });
    const r = await calls.route(request('INVITE', ['Authorization: Bearer abc.def.ghi', 'X-Foo: bar']), WS, false);
    expect(r).toEqual({ kind: 'forward', homeRegion: 'eu-west', headers: [['X-Mesh-Client', 'alice'], ['Authorization', 'Bearer abc.def.ghi'], ['X-Foo', 'bar']] });
    const fromPeer = await calls.route(request('INVITE', ['X-Mesh-Client: alice']), PEER, true);
    expect(fromPeer.kind).toBe('app');
    expect(calls.isClientInvite(request('INVITE'), PEER, true)).toBe(false);
    expect(calls.isClientInvite(request('INVITE', ['X-Mesh-Client: alice']), PEER, false)).toBe(false);
  });

  it('refuses without an outgoing grant, a gone application, and a slow authenticator (503)', async () => {
    const noGrant: ClientAuthenticator = { authenticate: () => Promise.resolve({ ok: true, accountSid: ACCOUNT, identity: 'alice' }) };
    expect(await new ClientCalls(noGrant, apps('us-east'), connections, { region: 'us-east', nodeId: 'n1' }).route(request('INVITE'), WS, false)).toMatchObject({ kind: 'refused', status: 403 });
    const gone: ClientApplications = { resolveApplication: () => Promise.resolve({ kind: 'refused', reason: 'application AP… is not an application of account AC…' }) };
    const r = await new ClientCalls(alice, gone, connections, { region: 'us-east', nodeId: 'n1' }).route(request('INVITE'), WS, false);
    expect(r).toMatchObject({ kind: 'refused', status: 403, reason: 'Outgoing Application Not Available' });
    const slow: ClientAuthenticator = { authenticate: () => new Promise(() => {}) };
    const s = await new ClientCalls(slow, apps('us-east'), connections, { region: 'us-east', nodeId: 'n1', timeoutMs: 20 }).route(request('INVITE'), WS, false);
    expect(s).toMatchObject({ kind: 'refused', status: 503 });
  });

  it('bounds the call parameters', () => {
    const many = Array.from({ length: 40 }, (_, i) => `X-P${i}: v`);
    expect(Object.keys(readCallParams(request('INVITE', many)))).toHaveLength(16);
    expect(readCallParams(request('INVITE', [`X-Big: ${'v'.repeat(2000)}`, 'X-Mesh-Edge-Region: eu-west']))).toEqual({});
  });
});

describe('accessTokenAuthenticator', () => {
  const resolved = (o: { incoming: boolean; outgoing: boolean }): ResolvedAccessToken =>
    ({
      ok: true,
      account: { sid: ACCOUNT },
      keyAccountSid: ACCOUNT,
      claims: { keySid: 'SK1', accountSid: ACCOUNT, identity: 'alice', expiresAt: 0, voice: { incomingAllow: o.incoming, ...(o.outgoing ? { outgoing: { applicationSid: APP, params: { a: '1' } } } : {}) } },
    }) as unknown as ResolvedAccessToken;

  it('asks REGISTER for the incoming grant and INVITE for the outgoing one', async () => {
    const conn = { remote: WS, token: 'tok' };
    const outOnly = accessTokenAuthenticator({ resolve: () => Promise.resolve(resolved({ incoming: false, outgoing: true })) });
    expect(await outOnly.authenticate(request('REGISTER'), conn)).toMatchObject({ ok: false, status: 403, reason: 'Access Token Refused (missing-grant)' });
    expect(await outOnly.authenticate(request('INVITE'), conn)).toMatchObject({ ok: true, identity: 'alice', outgoing: { applicationSid: APP, params: { a: '1' } } });
    const inOnly = accessTokenAuthenticator({ resolve: () => Promise.resolve(resolved({ incoming: true, outgoing: false })) });
    expect(await inOnly.authenticate(request('INVITE'), conn)).toMatchObject({ ok: false, status: 403 });
  });

  it('maps refusals to their status (503 without a secrets key) and asks for a token when none is presented', async () => {
    const unavailable = accessTokenAuthenticator({ resolve: () => Promise.resolve(refuse('tokens-unavailable', 'no secrets key')) });
    expect(await unavailable.authenticate(request('REGISTER'), { remote: WS, token: 'tok' })).toEqual({ ok: false, status: 503, reason: 'Access Token Refused (tokens-unavailable)', detail: 'no secrets key' });
    expect(await unavailable.authenticate(request('REGISTER'), { remote: WS })).toMatchObject({ ok: false, status: 401, reason: 'Access Token Required' });
  });
});
