/**
 * One registry of calls per signaling node: a call the B2BUA relays, an
 * inbound call answered by an application and an API-originated call
 * together fill `sip.maxCalls` = 3, so the next INVITE gets 503 with
 * Retry-After, and the load the node announces to discovery counts all
 * three. Real rtpengine, Redis and SIPp.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantApp } from '../../../../control-plane/api/app.js';
import { RedisCallControl } from '../../../../control-plane/api/call-control.js';
import { startHttpServer, type RunningServer } from '../../../../control-plane/api/server.js';
import { bootstrapAccount } from '../../../../control-plane/store/accounts.js';
import { nodeMetricsSnapshot } from '../../../../infra/node-metrics.js';
import type { AccountRecord } from '../../../../regions/store/schema.js';
import { RtpParty } from '../../../support/rtp-party.js';
import { clearKeys } from '../../../support/redis-keys.js';
import { runSipp, startSipp, type SippInstance, type SippResult } from '../../../support/sipp.js';
import { waitFor } from '../../../support/wait.js';
import { CALLEE, CARRIER, SIG, startTestRegion, type TestRegion } from '../b2bua/harness.js';
import { TEST_REDIS_URL } from '../../global-setup.js';

const PREFIX = 'it-registry:';
const CALLER_IP = '127.0.19.2';
const PARTY_IP = '127.0.19.3';
const APP_NUMBER = '+15550003001';

describe('one call registry per signaling node', () => {
  let region: TestRegion;
  let api: RunningServer;
  let web: ServerType;
  let appUrl: string;
  let account: AccountRecord;
  let uas: SippInstance;

  beforeAll(async () => {
    await clearKeys(TEST_REDIS_URL, PREFIX);
    region = await startTestRegion({ keyPrefix: PREFIX, maxCalls: 3 });
    const app = new Hono();
    // Every application holds its call long enough for the three to overlap.
    app.all('*', (c) => c.body('<Response><Pause length="8"/></Response>', 200, { 'Content-Type': 'text/xml' }));
    web = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => web.once('listening', r));
    appUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}/hold`;
    const tenant = createTenantApp({
      redis: region.node.redis,
      keyPrefix: PREFIX,
      defaultRegion: 'us-east',
      regions: ['us-east'],
      callControl: new RedisCallControl(region.node.redis, PREFIX),
    });
    api = await startHttpServer(tenant, { hostname: '127.0.0.1', port: 0 });
    account = await bootstrapAccount(region.node.redis, PREFIX, { friendlyName: 'registry', homeRegion: 'us-east' });
    uas = await startSipp({ scenario: 'uas-echo.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22100, timeoutMs: 120_000 });
    await uas.ready;
  });

  afterAll(async () => {
    await uas?.stop(500);
    await api?.close();
    await region?.close();
    await new Promise((r) => web?.close(r));
  });

  async function post(path: string, form: Record<string, string>): Promise<{ status: number; body: any }> {
    const res = await fetch(`${api.url}/2010-04-01/Accounts/${account.sid}${path}`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(`${account.sid}:${account.authToken}`).toString('base64')}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, body: await res.json() };
  }

  it('a B2BUA call, an application call and an API call fill maxCalls together; the next INVITE gets 503; discovery hears 3', async () => {
    const application = await post('/Applications.json', { VoiceUrl: appUrl });
    expect(application.status).toBe(201);
    expect((await post('/IncomingPhoneNumbers.json', { PhoneNumber: APP_NUMBER, VoiceApplicationSid: application.body.sid })).status).toBe(201);

    // 1. A call the B2BUA relays to the echoing callee (the caller plays 7 s of audio).
    const bridged: Promise<SippResult> = runSipp({
      scenario: 'uac-basic.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER.address,
      localPort: 5310,
      mediaPort: 22200,
      service: '+15551230001',
      calls: 1,
      timeoutMs: 60_000,
    });
    // 2. An inbound call to the application number.
    const party = await RtpParty.bind(PARTY_IP);
    const inbound: Promise<SippResult> = runSipp({
      scenario: 'uac-app.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CALLER_IP,
      localPort: 5311,
      mediaPort: 22300,
      service: APP_NUMBER,
      calls: 1,
      keys: { rtpaddr: party.address, rtpport: String(party.port) },
      timeoutMs: 60_000,
    });
    // 3. An API-originated call, answered by the echoing callee, running the application.
    const originated = await post('/Calls.json', { To: '+15551230002', From: '+15550000009', Url: appUrl });
    expect(originated.status).toBe(201);

    const counts = await waitFor(() => {
      const c = region.node.calls.counts();
      return c.b2bua === 1 && c['inbound-app'] === 1 && c.originated === 1 ? c : undefined;
    }, 15_000, 'one call of each kind');
    expect(counts).toEqual({ b2bua: 1, 'inbound-app': 1, originated: 1 });
    expect(region.node.calls.size).toBe(3);
    expect(nodeMetricsSnapshot(region.node).activeCalls).toBe(3);

    // The node is full: the next INVITE is refused before anything is allocated.
    const fourth = await runSipp({
      scenario: 'uac-expect-503.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CALLER_IP,
      localPort: 5312,
      mediaPort: 22400,
      service: APP_NUMBER,
      calls: 1,
      timeoutMs: 20_000,
    });
    expect(fourth.successfulCalls, fourth.errorsTail).toBe(1);

    // The load announced to discovery is the registry's count.
    region.node.discovery.refresh();
    const announced = await waitFor(async () => {
      const list = await region.node.discovery.mesh.discovery.list({ service: 'signaling' });
      const me = list.find((i) => i.id === region.node.nodeId);
      return me?.meta?.['activeCalls'] === '3' ? me : undefined;
    }, 5000, 'signaling node announced with 3 calls');
    expect(announced.meta?.['activeCalls']).toBe('3');

    const [b, i] = await Promise.all([bridged, inbound]);
    party.close();
    expect(b.successfulCalls, b.errorsTail).toBe(1);
    expect(i.successfulCalls, i.errorsTail).toBe(1);
    await waitFor(() => (region.node.calls.size === 0 ? true : undefined), 20_000, 'every call ended');
  });
});
