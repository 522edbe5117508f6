/**
 * Browser clients register over SIP over WebSocket (RFC 7118) with a real
 * signaling node (real Redis, a real rtpengine), a WebSocket client of our
 * own (test/support/ws-client.ts) and the table authenticator standing in
 * for the access-token verifier: REGISTER → 200 and a binding in Redis with
 * the node's region and the connection; no token → 401 with a Bearer
 * challenge; a bad one → 403 with its reason; too short Expires → 423;
 * Expires 0 and a closed connection remove the binding; the node reaches a
 * `.invalid` contact over the registration's connection. 127.0.37.10–19.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSignalingNode, type SignalingNode } from '../../../../infra/signaling-node.js';
import { nodeMetricsSnapshot } from '../../../../infra/node-metrics.js';
import { silentLogger } from '../../../../regions/core/log.js';
import { listClientRegistrations } from '../../../../regions/store/client-registrations.js';
import { parseSipMessage, SipHeaders } from '../../../../signaling/sip/message/index.js';
import type { SipRequest, SipResponse } from '../../../../signaling/sip/message/types.js';
import { tableAuthenticator } from '../../../support/client-authenticator.js';
import { clearKeys } from '../../../support/redis-keys.js';
import { waitUntil } from '../../../support/wait.js';
import { connectWs, type WsClient } from '../../../support/ws-client.js';
import { TEST_REDIS_URL } from '../../global-setup.js';
import { startMediaSet, testRegionConfig, type MediaSet } from '../b2bua/harness.js';

const PREFIX = `it-clients-${process.pid}:`;
const SIG = { address: '127.0.37.10', port: 5060 };
const CLIENT_ADDR = '127.0.37.12';
const MEDIA = [{ id: 'cl-media-1', address: '127.0.37.11', ngPort: 2223, rtpPortMin: 44000, rtpPortMax: 44099, capabilities: ['relay'] }];
const ACCOUNT = 'AC' + '1'.repeat(32);
const WS_PORT = 5066;

let seq = 0;
function register(o: { user: string; contact?: string; expires?: number; contactExpires?: number; contactParams?: string; auth?: string }): string {
  seq++;
  const contact = o.contact ?? `sip:k${seq}@df7jal23ls0d.invalid;transport=ws`;
  return [
    `REGISTER sip:${SIG.address} SIP/2.0`,
    `Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-reg-${seq};rport`,
    'Max-Forwards: 69',
    `To: <sip:${o.user}@${SIG.address}>`,
    `From: <sip:${o.user}@${SIG.address}>;tag=t${seq}`,
    `Call-ID: reg-${process.pid}-${seq}`,
    `CSeq: ${seq} REGISTER`,
    `Contact: <${contact}>${o.contactParams ?? ''}${o.contactExpires !== undefined ? `;expires=${o.contactExpires}` : ''}`,
    ...(o.expires !== undefined ? [`Expires: ${o.expires}`] : []),
    ...(o.auth !== undefined ? [`Authorization: ${o.auth}`] : []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Send and wait for the final response to it (by CSeq). */
async function exchange(c: WsClient, text: string): Promise<SipResponse> {
  const cseq = /^CSeq: (.*)$/m.exec(text)![1];
  const before = c.messages.length;
  c.send(text);
  let found: SipResponse | undefined;
  await waitUntil(() => {
    for (const m of c.messages.slice(before)) {
      const msg = parseSipMessage(m.data);
      if (msg.type === 'response' && msg.headers.get('CSeq') === cseq && msg.status >= 200) found = msg;
    }
    return found !== undefined;
  }, 3000, `response to ${cseq}`);
  return found!;
}

describe('client registrations over SIP over WebSocket', () => {
  let media: MediaSet;
  let node: SignalingNode;
  const clients: WsClient[] = [];
  const auth = tableAuthenticator({ 'tok-alice': { accountSid: ACCOUNT, identity: 'alice' }, 'tok-bob': { accountSid: ACCOUNT, identity: 'bob' }, 'tok-carol': { accountSid: ACCOUNT, identity: 'carol' } });
  const connect = async (path = '/'): Promise<WsClient> => {
    const c = await connectWs({ host: SIG.address, port: WS_PORT, localAddress: CLIENT_ADDR, path });
    clients.push(c);
    return c;
  };
  const bindings = (identity: string) => listClientRegistrations(node.redis, PREFIX, ACCOUNT, identity);

  beforeAll(async () => {
    await clearKeys(TEST_REDIS_URL, PREFIX);
    const logDir = mkdtempSync(join(tmpdir(), 'mesh-clients-'));
    const config = testRegionConfig({ keyPrefix: PREFIX, nodeId: 'cl-sig-1', sip: SIG, mediaNodes: MEDIA }, logDir);
    media = await startMediaSet(MEDIA, logDir);
    node = await startSignalingNode(config, silentLogger, { clientAuthenticator: auth });
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await node?.close();
    await media?.close();
    await clearKeys(TEST_REDIS_URL, PREFIX);
  });

  it('listens on ws://<sip address>:5066 by default with subprotocol sip', async () => {
    expect(node.stack.transports).toEqual(['UDP', 'TCP', 'WS']);
    expect(node.stack.localEndpoint('WS')).toEqual({ transport: 'WS', address: SIG.address, port: WS_PORT });
    const c = await connect();
    expect(c.protocol).toBe('sip');
  });

  it('answers a REGISTER without a token 401 with a Bearer challenge, and a bad token 403 with its reason', async () => {
    const c = await connect();
    const none = await exchange(c, register({ user: 'alice', expires: 300 }));
    expect(none.status).toBe(401);
    expect(none.reason).toBe('Access Token Required');
    expect(none.headers.get('WWW-Authenticate')).toBe('Bearer realm="us-east"');
    const bad = await exchange(c, register({ user: 'alice', expires: 300, auth: 'Bearer not-a-token' }));
    expect(bad.status).toBe(403);
    expect(bad.reason).toBe('Access Token Invalid');
    expect(await bindings('alice')).toEqual([]);
  });

  it('binds client:alice to the connection (Bearer header), with region and node, and 423s a too short Expires', async () => {
    const c = await connect();
    const contact = 'sip:x7f2@df7jal23ls0d.invalid;transport=ws';
    const brief = await exchange(c, register({ user: 'alice', contact, expires: 10, auth: 'Bearer tok-alice' }));
    expect(brief.status).toBe(423);
    expect(brief.headers.get('Min-Expires')).toBe('60');
    const ok = await exchange(c, register({ user: 'alice', contact, expires: 300, auth: 'Bearer tok-alice' }));
    expect(ok.status).toBe(200);
    expect(ok.headers.getAll('Contact')).toEqual([`<${contact}>;expires=300`]);
    const [b, ...rest] = await bindings('alice');
    expect(rest).toEqual([]);
    expect(b).toMatchObject({ accountSid: ACCOUNT, identity: 'alice', contact, region: 'us-east', nodeId: 'cl-sig-1', transport: 'WS', webrtc: false, connection: { address: CLIENT_ADDR, port: c.localPort } });
    expect(b!.expiresAtMs - Date.now()).toBeGreaterThan(290_000);
    // A longer Expires is cut to the configured maximum (3600 s).
    const long = await exchange(c, register({ user: 'alice', contact, expires: 99999, auth: 'Bearer tok-alice' }));
    expect(long.headers.getAll('Contact')).toEqual([`<${contact}>;expires=3600`]);
    expect(await bindings('alice')).toHaveLength(1);

    // Expires 0 removes it.
    const gone = await exchange(c, register({ user: 'alice', contact, expires: 0, auth: 'Bearer tok-alice' }));
    expect(gone.status).toBe(200);
    expect(gone.headers.getAll('Contact')).toEqual([]);
    expect(await bindings('alice')).toEqual([]);
    expect(node.registrar?.counters.unregistered).toBe(1);
  });

  it('records a Contact with +sip.ice (RFC 5768) as a WebRTC client, and 400s a malformed value', async () => {
    const c = await connect();
    const contact = 'sip:ice1@df7jal23ls0d.invalid;transport=ws';
    const ok = await exchange(c, register({ user: 'carol', contact, expires: 300, contactParams: ';+sip.ice;reg-id=1', auth: 'Bearer tok-carol' }));
    expect(ok.status).toBe(200);
    expect(await bindings('carol')).toMatchObject([{ contact, webrtc: true }]);
    // Re-registered without the tag (the same Contact URI): the same binding, plain now.
    expect((await exchange(c, register({ user: 'carol', contact, expires: 300, auth: 'Bearer tok-carol' }))).status).toBe(200);
    expect(await bindings('carol')).toMatchObject([{ contact, webrtc: false }]);
    const bad = await exchange(c, register({ user: 'carol', contact, expires: 300, contactParams: ';+sip.ice=yes', auth: 'Bearer tok-carol' }));
    expect(bad.status).toBe(400);
    expect(bad.reason).toMatch(/\+sip\.ice/);
    expect((await exchange(c, register({ user: 'carol', contact, expires: 0, auth: 'Bearer tok-carol' }))).status).toBe(200);
  });

  it('takes the token from the WebSocket URL, reaches the .invalid contact over that connection, and drops the binding when the connection closes', async () => {
    const c = await connect('/?access_token=tok-bob');
    const contact = 'sip:b0b@abcdef.invalid;transport=ws';
    const ok = await exchange(c, register({ user: 'bob', contact }));
    expect(ok.status).toBe(200);
    expect(ok.headers.getAll('Contact')).toEqual([`<${contact}>;expires=600`]);
    const [b] = await bindings('bob');
    expect(b).toBeDefined();

    // RFC 7118 §5: a request to the client goes over the connection of its registration.
    const statuses: number[] = [];
    const options: SipRequest = {
      type: 'request',
      method: 'OPTIONS',
      uri: contact,
      version: 'SIP/2.0',
      headers: new SipHeaders([
        ['From', `<sip:platform@${SIG.address}>;tag=opt1`],
        ['To', `<${contact}>`],
        ['Call-ID', `opt-${process.pid}`],
        ['CSeq', '1 OPTIONS'],
        ['Content-Length', '0'],
      ]),
      body: Buffer.alloc(0),
    };
    const before = c.messages.length;
    node.stack.sendRequest(options, { transport: b!.transport, ...b!.connection }, { onFinal: (r) => statuses.push(r.status), onTimeout: () => statuses.push(408), onTransportError: () => statuses.push(503) });
    await waitUntil(() => c.messages.slice(before).some((m) => m.data.toString().startsWith('OPTIONS ')), 3000, 'OPTIONS at the client');
    const got = c.messages.slice(before).map((m) => m.data.toString()).find((t) => t.startsWith('OPTIONS '))!;
    expect(got).toMatch(new RegExp(`^Via: SIP/2.0/WS ${SIG.address.replace(/\./g, '\\.')}:${WS_PORT};`, 'm'));
    // The client answers on the same connection, copying the headers it must.
    const keep = got.split('\r\n').filter((l) => /^(via|from|call-id|cseq):/i.test(l));
    c.send(['SIP/2.0 200 OK', ...keep, `To: <${contact}>;tag=cl`, 'Content-Length: 0', '', ''].join('\r\n'));
    await waitUntil(() => statuses.length === 1, 3000, 'response at the node');
    expect(statuses).toEqual([200]);

    const snap = nodeMetricsSnapshot(node);
    expect(snap.websocket).toMatchObject({ maxConnections: 1024, bindings: 1 });
    expect(snap.websocket!.connections).toBeGreaterThanOrEqual(1);

    c.destroy();
    await waitUntil(async () => (await bindings('bob')).length === 0, 3000, 'binding removed with its connection');
    expect(node.registrar?.counters.connectionClosed).toBe(1);
    expect(node.registrar?.activeBindings).toBe(0);
  });

  it('keeps a binding that moved to a new connection when the old connection closes', async () => {
    const first = await connect('/?access_token=tok-bob');
    const contact = 'sip:mover@moving.invalid;transport=ws';
    expect((await exchange(first, register({ user: 'bob', contact, expires: 300 }))).status).toBe(200);
    const second = await connect('/?access_token=tok-bob');
    expect((await exchange(second, register({ user: 'bob', contact, expires: 300 }))).status).toBe(200);
    first.destroy();
    await first.closed;
    await new Promise((r) => setTimeout(r, 200));
    const [b] = await bindings('bob');
    expect(b?.connection.port).toBe(second.localPort);
    second.destroy();
    await waitUntil(async () => (await bindings('bob')).length === 0, 3000, 'binding removed with the second connection');
  });
});
