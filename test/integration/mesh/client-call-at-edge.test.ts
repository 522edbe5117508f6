/**
 * A client's call runs in its account's home region with its media at the
 * edge where the client connected (issue 13, item 3), across two in-process
 * regions with real Redis and rtpengine.
 *
 * The account is homed in eu-west; its client connects to us-east's
 * WebSocket and calls. us-east checks the token, forwards the INVITE to
 * eu-west (token and call parameters along, media left unanchored:
 * passthrough), eu-west checks the token again and runs the application
 * there (call record region eu-west, the webhook sees From=client:alice),
 * and places the leg on us-east's media node: while the call is up only
 * us-east's rtpengine holds a session, and the answer points there.
 *
 * 127.0.46.0/24 (us-east), 127.0.47.0/24 (eu-west).
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
import { startSignalingNode, type SignalingNode } from '../../../infra/signaling-node.js';
import { SecretBox } from '../../../regions/auth/secret-box.js';
import { CallRecordStore } from '../../../regions/store/call-records.js';
import { keys } from '../../../regions/store/keys.js';
import { parseSipMessage } from '../../../signaling/sip/message/index.js';
import type { SipResponse } from '../../../signaling/sip/message/types.js';
import { waitFor, waitUntil } from '../../support/wait.js';
import { connectWs, type WsClient } from '../../support/ws-client.js';
import { startApiHarness, type ApiHarness } from '../control-plane/api-harness.js';
import { fileLogger, startMediaSet, testRegionConfig, type MediaSet } from '../signaling/b2bua/harness.js';

const { AccessToken } = twilio.jwt;
const PREFIX = `it-client-edge-${process.pid}:`;
const REGIONS = ['us-east', 'eu-west'] as const;
type Region = (typeof REGIONS)[number];
const SIG: Record<Region, { address: string; port: number }> = {
  'us-east': { address: '127.0.46.1', port: 5060 },
  'eu-west': { address: '127.0.47.1', port: 5060 },
};
const MEDIA: Record<Region, { id: string; address: string; ngPort: number; rtpPortMin: number; rtpPortMax: number; capabilities: string[] }> = {
  'us-east': { id: 'ce-us-east-media-1', address: '127.0.46.11', ngPort: 2223, rtpPortMin: 46100, rtpPortMax: 46199, capabilities: ['relay', 'play', 'record'] },
  'eu-west': { id: 'ce-eu-west-media-1', address: '127.0.47.11', ngPort: 2223, rtpPortMin: 47100, rtpPortMax: 47199, capabilities: ['relay', 'play', 'record'] },
};
const LINKS = { 'us-east': { 'eu-west': 40 }, 'eu-west': { 'us-east': 40 } };
const CLIENT_ADDR = '127.0.46.12';
const secretsText = randomBytes(32).toString('hex');

describe("a client's call runs at its home with its media at the edge", () => {
  let h: ApiHarness;
  let web: ServerType;
  const nodes = new Map<Region, SignalingNode>();
  const medias: MediaSet[] = [];
  const ends: (() => void)[] = [];
  const hits: Record<string, string>[] = [];
  let sub: { sid: string; authToken: string };
  let token: string;
  let ws: WsClient | undefined;

  beforeAll(async () => {
    h = await startApiHarness(PREFIX, { secrets: SecretBox.fromText(secretsText) });
    const app = new Hono();
    app.post('*', async (c) => {
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(await c.req.parseBody())) params[k] = String(v);
      hits.push(params);
      return c.body('<Response><Pause length="2"/><Say>Goodbye.</Say></Response>', 200, { 'Content-Type': 'text/xml' });
    });
    web = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => web.once('listening', r));
    const appUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}/voice`;

    for (const region of REGIONS) {
      const logDir = mkdtempSync(join(tmpdir(), `mesh-client-edge-${region}-`));
      const config = testRegionConfig(
        {
          keyPrefix: PREFIX,
          region,
          nodeId: `ce-${region}-sig`,
          sip: SIG[region],
          mediaNodes: [MEDIA[region]],
          routes: [],
          mesh: { peers: REGIONS.filter((r) => r !== region).map((r) => ({ region: r, ...SIG[r] })), homeRules: [], linkDelaysMs: LINKS[region], linkMatrixMs: LINKS },
        },
        logDir,
      );
      medias.push(await startMediaSet([MEDIA[region]], logDir, `${SIG[region].address}:${config.media.dtmfEventPort}`));
      const { log, end } = fileLogger(logDir);
      ends.push(end);
      nodes.set(region, await startSignalingNode({ ...config, secretsKey: secretsText }, log));
    }

    // A subaccount homed in eu-west, its API key and application, through the tenant API.
    const created = await h.req('POST', '/2010-04-01/Accounts.json', { form: { FriendlyName: 'eu tenant', HomeRegion: 'eu-west' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    sub = { sid: created.body.sid, authToken: created.body.auth_token };
    const auth: [string, string] = [sub.sid, sub.authToken];
    const k = await h.req('POST', `/2010-04-01/Accounts/${sub.sid}/Keys.json`, { auth, form: { FriendlyName: 'browser' } });
    expect(k.status).toBe(201);
    const a = await h.req('POST', `/2010-04-01/Accounts/${sub.sid}/Applications.json`, { auth, form: { FriendlyName: 'say', VoiceUrl: appUrl } });
    expect(a.status).toBe(201);
    const t = new AccessToken(sub.sid, k.body.sid, k.body.secret, { identity: 'alice', ttl: 600 });
    t.addGrant(new AccessToken.VoiceGrant({ outgoingApplicationSid: a.body.sid, outgoingApplicationParams: { shop: 'paris' } }));
    token = t.toJwt();
    await waitFor(() => REGIONS.every((r) => nodes.get(r)!.mediaPort.placementNodes().filter((n) => n.healthy).length === 2) || undefined, 10_000, 'both media nodes discovered by both regions');
  }, 30_000);

  afterAll(async () => {
    ws?.destroy();
    for (const n of nodes.values()) await n.close();
    for (const m of medias) await m.close();
    await new Promise((r) => web?.close(r));
    await h?.close();
    for (const end of ends) end();
  });

  it('us-east forwards to eu-west, which runs the application with the media on us-east', async () => {
    ws = await connectWs({ host: SIG['us-east'].address, port: 5066, localAddress: CLIENT_ADDR, path: `/?access_token=${encodeURIComponent(token)}` });
    const callId = `ce-${process.pid}`;
    const sdp = ['v=0', `o=- 1 1 IN IP4 ${CLIENT_ADDR}`, 's=-', `c=IN IP4 ${CLIENT_ADDR}`, 't=0 0', 'm=audio 40002 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=sendrecv', ''].join('\r\n');
    ws.send(
      [
        `INVITE sip:+15550003@${SIG['us-east'].address} SIP/2.0`,
        `Via: SIP/2.0/WS z8.invalid;branch=z9hG4bK-${callId};rport`,
        'Max-Forwards: 70',
        `To: <sip:+15550003@${SIG['us-east'].address}>`,
        `From: <sip:alice@${SIG['us-east'].address}>;tag=f-${callId}`,
        `Call-ID: ${callId}`,
        'CSeq: 1 INVITE',
        'Contact: <sip:alice@z8.invalid;transport=ws>',
        'X-Basket: 3',
        'Content-Type: application/sdp',
        `Content-Length: ${Buffer.byteLength(sdp)}`,
        '',
        sdp,
      ].join('\r\n'),
    );
    let ok: SipResponse | undefined;
    await waitUntil(() => {
      for (const m of ws!.messages) {
        const msg = parseSipMessage(m.data);
        if (msg.type === 'response' && msg.status >= 200) ok = msg;
      }
      return ok !== undefined;
    }, 8000, 'final response to the INVITE');
    expect(ok!.status, ok!.reason).toBe(200);
    // The answer points at the edge's media node: the home placed the leg there.
    expect(ok!.body.toString()).toContain(`c=IN IP4 ${MEDIA['us-east'].address}`);
    const sessions = async (r: Region): Promise<number> => (await nodes.get(r)!.media.node(MEDIA[r].id)!.client.list(100)).length;
    expect(await sessions('us-east')).toBe(1);
    expect(await sessions('eu-west')).toBe(0);

    const params = await waitFor(() => hits.find((p) => p.From === 'client:alice'), 5000, 'the application fetched');
    expect(params).toMatchObject({ From: 'client:alice', To: '+15550003', AccountSid: sub.sid, shop: 'paris', Basket: '3' });
    expect(nodes.get('us-east')!.clientCalls.counters.forwarded).toBe(1);
    expect(nodes.get('eu-west')!.clientCalls.counters.local).toBe(1);

    const store = new CallRecordStore(h.redis, PREFIX);
    const rec = await waitFor(async () => {
      const sids = await h.redis.zrange(keys(PREFIX).accountCalls(sub.sid), 0, -1);
      return (await store.getMany(sids)).find((r) => r?.from === 'client:alice') ?? undefined;
    }, 5000, 'the call record');
    expect(rec).toMatchObject({ region: 'eu-west', from: 'client:alice', to: '+15550003' });
  });
});
