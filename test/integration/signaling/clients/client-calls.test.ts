/**
 * Browser/app clients with access tokens on a real signaling node (real
 * Redis, a real rtpengine), tokens minted by the `twilio` library with a key
 * made through the tenant API, and our WebSocket client (test/support) as the
 * client:
 *
 * - REGISTER: a valid token (Bearer header, or `access_token` in the URL)
 *   binds; an expired one, one signed with the wrong secret and one without
 *   the incoming grant are refused with their reasons (401/401/403 + Warning);
 * - INVITE from the client with a plain-RTP offer runs the token's outgoing
 *   application: 200, the webhook sees From=client:alice, To (the
 *   Request-URI user), the grant's parameters and the call's (X- headers, the
 *   grant winning a clash), the <Say> reaches the client's RTP socket, the
 *   application's end hangs the call up with a BYE over the WebSocket, and the
 *   call record says client:alice;
 * - an INVITE without a token gets 401 with a Bearer challenge, one whose token
 *   has no outgoing grant 403.
 *
 * 127.0.44.0/24.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSignalingNode, type SignalingNode } from '../../../../infra/signaling-node.js';
import { SecretBox } from '../../../../regions/auth/secret-box.js';
import { CallRecordStore } from '../../../../regions/store/call-records.js';
import { keys } from '../../../../regions/store/keys.js';
import { listClientRegistrations } from '../../../../regions/store/client-registrations.js';
import { parseSipMessage } from '../../../../signaling/sip/message/index.js';
import type { SipRequest, SipResponse } from '../../../../signaling/sip/message/types.js';
import { RtpParty } from '../../../support/rtp-party.js';
import { waitFor, waitUntil } from '../../../support/wait.js';
import { connectWs, type WsClient } from '../../../support/ws-client.js';
import { startApiHarness, type ApiHarness } from '../../control-plane/api-harness.js';
import { fileLogger, startMediaSet, testRegionConfig, type MediaSet } from '../b2bua/harness.js';

const { AccessToken } = twilio.jwt;
const PREFIX = `it-client-calls-${process.pid}:`;
const SIG = { address: '127.0.44.1', port: 5060 };
const CLIENT_ADDR = '127.0.44.12';
const MEDIA = [{ id: 'cc-media-1', address: '127.0.44.11', ngPort: 2223, rtpPortMin: 44100, rtpPortMax: 44199, capabilities: ['relay', 'play', 'record'] }];
const WS_PORT = 5066;
const secretsText = randomBytes(32).toString('hex');

interface Key {
  sid: string;
  secret: string;
}

describe('client calls with access tokens over SIP over WebSocket', () => {
  let h: ApiHarness;
  let media: MediaSet;
  let node: SignalingNode;
  let web: ServerType;
  let key: Key;
  let appSid: string;
  let logEnd: () => void;
  const hits: Record<string, string>[] = [];
  const clients: WsClient[] = [];
  let seq = 0;

  const mint = (o: { identity?: string; ttl?: number; secret?: string; outgoing?: boolean; incoming?: boolean; params?: Record<string, string> } = {}): string => {
    const t = new AccessToken(h.account.sid, key.sid, o.secret ?? key.secret, { identity: o.identity ?? 'alice', ttl: o.ttl ?? 600 });
    t.addGrant(
      new AccessToken.VoiceGrant({
        ...(o.outgoing === false ? {} : { outgoingApplicationSid: appSid, outgoingApplicationParams: o.params ?? { team: 'blue' } }),
        ...(o.incoming === false ? {} : { incomingAllow: true }),
      }),
    );
    return t.toJwt();
  };

  const connect = async (path = '/'): Promise<WsClient> => {
    const c = await connectWs({ host: SIG.address, port: WS_PORT, localAddress: CLIENT_ADDR, path });
    clients.push(c);
    return c;
  };

  /** Send a request and wait for its final response (by CSeq). */
  async function exchange(c: WsClient, text: string, timeoutMs = 4000): Promise<SipResponse> {
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
    }, timeoutMs, `response to ${cseq}`);
    return found!;
  }

  function register(o: { auth?: string } = {}): string {
    seq++;
    return [
      `REGISTER sip:${SIG.address} SIP/2.0`,
      `Via: SIP/2.0/WS k2j4.invalid;branch=z9hG4bK-creg-${seq};rport`,
      'Max-Forwards: 69',
      `To: <sip:alice@${SIG.address}>`,
      `From: <sip:alice@${SIG.address}>;tag=r${seq}`,
      `Call-ID: creg-${process.pid}-${seq}`,
      `CSeq: ${seq} REGISTER`,
      `Contact: <sip:c${seq}@k2j4.invalid;transport=ws>`,
      'Expires: 300',
      ...(o.auth !== undefined ? [`Authorization: ${o.auth}`] : []),
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  }

  function invite(o: { to: string; auth?: string; sdpPort: number; extra?: string[]; callId: string }): string {
    const sdp = ['v=0', `o=- 1 1 IN IP4 ${CLIENT_ADDR}`, 's=-', `c=IN IP4 ${CLIENT_ADDR}`, 't=0 0', `m=audio ${o.sdpPort} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', ''].join('\r\n');
    return [
      `INVITE sip:${o.to}@${SIG.address} SIP/2.0`,
      `Via: SIP/2.0/WS k2j4.invalid;branch=z9hG4bK-${o.callId};rport`,
      'Max-Forwards: 70',
      `To: <sip:${o.to}@${SIG.address}>`,
      `From: <sip:alice@${SIG.address}>;tag=f-${o.callId}`,
      `Call-ID: ${o.callId}`,
      'CSeq: 1 INVITE',
      'Contact: <sip:alice@k2j4.invalid;transport=ws>',
      ...(o.auth !== undefined ? [`Authorization: ${o.auth}`] : []),
      ...(o.extra ?? []),
      'Content-Type: application/sdp',
      `Content-Length: ${Buffer.byteLength(sdp)}`,
      '',
      sdp,
    ].join('\r\n');
  }

  beforeAll(async () => {
    const secrets = SecretBox.fromText(secretsText);
    h = await startApiHarness(PREFIX, { secrets });
    const app = new Hono();
    app.all('*', async (c) => {
      const params: Record<string, string> = {};
      if (c.req.method === 'POST') for (const [k, v] of Object.entries(await c.req.parseBody())) params[k] = String(v);
      hits.push(params);
      return c.body('<Response><Say>Hello from the application.</Say></Response>', 200, { 'Content-Type': 'text/xml' });
    });
    web = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => web.once('listening', r));
    const appUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}/voice`;

    const k = await h.req('POST', `/2010-04-01/Accounts/${h.account.sid}/Keys.json`, { form: { FriendlyName: 'browser tokens' } });
    expect(k.status).toBe(201);
    key = { sid: k.body.sid, secret: k.body.secret };
    const a = await h.req('POST', `/2010-04-01/Accounts/${h.account.sid}/Applications.json`, { form: { FriendlyName: 'say', VoiceUrl: appUrl } });
    expect(a.status).toBe(201);
    appSid = a.body.sid;

    const logDir = mkdtempSync(join(tmpdir(), 'mesh-client-calls-'));
    const config = testRegionConfig({ keyPrefix: PREFIX, nodeId: 'cc-sig-1', sip: SIG, mediaNodes: MEDIA, routes: [] }, logDir);
    media = await startMediaSet(MEDIA, logDir, `${SIG.address}:${config.media.dtmfEventPort}`);
    const { log, end } = fileLogger(logDir);
    logEnd = end;
    node = await startSignalingNode({ ...config, secretsKey: secretsText }, log);
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await node?.close();
    await media?.close();
    await new Promise((r) => web?.close(r));
    await h?.close();
    logEnd?.();
  });

  it('registers with a twilio-minted token (Bearer header or access_token in the URL)', async () => {
    const c = await connect();
    const ok = await exchange(c, register({ auth: `Bearer ${mint()}` }));
    expect(ok.status, ok.reason).toBe(200);
    const q = await connect(`/?access_token=${encodeURIComponent(mint())}`);
    const viaQuery = await exchange(q, register());
    expect(viaQuery.status, viaQuery.reason).toBe(200);
    const bound = await listClientRegistrations(node.redis, PREFIX, h.account.sid, 'alice');
    expect(bound.map((b) => b.connection.port).sort()).toEqual([c.localPort, q.localPort].sort());
  });

  it('refuses an expired token, a wrongly signed one and one without the incoming grant, each with its reason', async () => {
    const c = await connect();
    const expired = await exchange(c, register({ auth: `Bearer ${mint({ ttl: -120 })}` }));
    expect(expired.status).toBe(401);
    expect(expired.reason).toBe('Access Token Refused (expired)');
    expect(expired.headers.get('WWW-Authenticate')).toBe('Bearer realm="us-east"');
    expect(expired.headers.get('Warning')).toMatch(/^399 cc-sig-1 ".*exp/);

    const wrongKey = await exchange(c, register({ auth: `Bearer ${mint({ secret: 'not-the-secret-of-this-key-000000' })}` }));
    expect(wrongKey.status).toBe(401);
    expect(wrongKey.reason).toBe('Access Token Refused (bad-signature)');
    expect(wrongKey.headers.get('Warning')).toContain(key.sid);

    const outgoingOnly = await exchange(c, register({ auth: `Bearer ${mint({ incoming: false })}` }));
    expect(outgoingOnly.status).toBe(403);
    expect(outgoingOnly.reason).toBe('Access Token Refused (missing-grant)');

    const none = await exchange(c, register());
    expect(none.status).toBe(401);
    expect(none.reason).toBe('Access Token Required');
    // No token leaks into the answers.
    for (const m of c.messages) expect(m.data.toString()).not.toContain(key.secret);
  });

  it('an INVITE without a token gets 401, one without the outgoing grant 403', async () => {
    const c = await connect();
    const none = await exchange(c, invite({ to: '+15550001', sdpPort: 40000, callId: `cc-none-${process.pid}` }));
    expect(none.status).toBe(401);
    expect(none.headers.get('WWW-Authenticate')).toBe('Bearer realm="us-east"');
    const incomingOnly = await exchange(c, invite({ to: '+15550001', sdpPort: 40000, callId: `cc-in-${process.pid}`, auth: `Bearer ${mint({ outgoing: false })}` }));
    expect(incomingOnly.status).toBe(403);
    expect(incomingOnly.reason).toBe('Access Token Refused (missing-grant)');
    expect(hits).toHaveLength(0);
  });

  it("runs the grant's application: From=client:alice, To, grant and call parameters; the Say reaches the client; BYE at its end", async () => {
    const party = await RtpParty.bind(CLIENT_ADDR);
    try {
      const c = await connect();
      const callId = `cc-call-${process.pid}`;
      const ok = await exchange(
        c,
        invite({ to: '+15550001', sdpPort: party.port, callId, auth: `Bearer ${mint()}`, extra: ['X-Foo: bar', 'X-team: red', 'X-Mesh-Edge-Region: eu-west'] }),
        8000,
      );
      expect(ok.status, ok.reason).toBe(200);
      // A plain-RTP offer gets a plain-RTP answer on the media node.
      const answer = ok.body.toString();
      expect(answer).toMatch(/^m=audio \d+ RTP\/AVP /m);
      expect(answer).toContain(`c=IN IP4 ${MEDIA[0]!.address}`);
      expect(answer).not.toMatch(/a=candidate|a=fingerprint/);
      const toTag = /tag=([^;>\s]+)/.exec(ok.headers.get('To')!)![1];
      const contact = /<([^>]+)>/.exec(ok.headers.get('Contact')!)![1];
      c.send(
        [
          `ACK ${contact} SIP/2.0`,
          `Via: SIP/2.0/WS k2j4.invalid;branch=z9hG4bK-ack-${callId}`,
          'Max-Forwards: 70',
          `To: <sip:+15550001@${SIG.address}>;tag=${toTag}`,
          `From: <sip:alice@${SIG.address}>;tag=f-${callId}`,
          `Call-ID: ${callId}`,
          'CSeq: 1 ACK',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      );

      const params = await waitFor(() => hits.find((p) => p.From === 'client:alice'), 5000, 'the application fetched');
      expect(params).toMatchObject({ From: 'client:alice', Caller: 'client:alice', To: '+15550001', Called: '+15550001', Direction: 'inbound', AccountSid: h.account.sid, Foo: 'bar', team: 'blue' });
      expect(params).not.toHaveProperty('Mesh-Edge-Region');

      // The <Say> plays to the client's RTP socket, then the application ends and the node hangs up.
      const bye = await waitFor(() => {
        for (const m of c.messages) {
          const msg = parseSipMessage(m.data);
          if (msg.type === 'request' && msg.method === 'BYE') return msg;
        }
        return undefined;
      }, 20_000, 'BYE from the node over the WebSocket');
      c.send(okTo(bye));
      expect(party.audio().length, 'RTP packets of the speech').toBeGreaterThan(25);

      const store = new CallRecordStore(h.redis, PREFIX);
      const rec = await waitFor(async () => {
        const sids = await h.redis.zrange(keys(PREFIX).accountCalls(h.account.sid), 0, -1);
        const recs = await store.getMany(sids);
        return recs.find((r) => r?.from === 'client:alice' && r.status === 'completed') ?? undefined;
      }, 5000, 'the completed call record');
      expect(rec).toMatchObject({ from: 'client:alice', to: '+15550001', direction: 'inbound', applicationSid: appSid, region: 'us-east' });
    } finally {
      party.close();
    }
  });
});

/** A 200 OK to an in-dialog request. */
function okTo(req: SipRequest): string {
  const h = (n: string): string => req.headers.get(n) ?? '';
  return ['SIP/2.0 200 OK', ...req.headers.getAll('Via').map((v) => `Via: ${v}`), `From: ${h('From')}`, `To: ${h('To')}`, `Call-ID: ${h('Call-ID')}`, `CSeq: ${h('CSeq')}`, 'Content-Length: 0', '', ''].join('\r\n');
}
