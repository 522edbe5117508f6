/**
 * A priced call end to end (issue 14 §1): a parent sets a price override for
 * its subaccount; the subaccount reads it through the official `twilio`
 * library's Pricing v2 (override as current_price, platform as base_price);
 * the subaccount places a real call to a SIPp callee through our signaling
 * node and rtpengine that lasts 61 s, and it is priced at two minutes of the
 * override — the rate captured when the call started, not the one the parent
 * set while it was up; the parent's Usage Records `totalprice` includes it.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAccount } from '../../../control-plane/store/accounts.js';
import { parseConfig } from '../../../infra/config.js';
import { startControlPlane, type ControlPlane } from '../../../infra/control-plane.js';
import { silentLogger } from '../../../regions/core/log.js';
import type { AccountRecord } from '../../../regions/store/schema.js';
import { runSipp, startSipp, type SippInstance } from '../../support/sipp.js';
import { LocalRequestClient } from '../../support/twilio-local.js';
import { waitFor } from '../../support/wait.js';
import { CALLEE, CARRIER, SIG, startTestRegion, type TestRegion } from '../signaling/b2bua/harness.js';
import { TEST_REDIS_URL } from '../global-setup.js';
import { clearKeys } from '../../support/redis-keys.js';

const PREFIX = 'it-e2e-priced:';
const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('priced call, end to end', () => {
  let region: TestRegion;
  let cp: ControlPlane;
  let parent: AccountRecord;
  let web: ServerType;
  let appUrl: string;
  let uas: SippInstance;

  beforeAll(async () => {
    await clearKeys(TEST_REDIS_URL, PREFIX);
    region = await startTestRegion({ keyPrefix: PREFIX });
    const config = parseConfig({ ...region.config, nodeId: undefined, controlPlane: { port: 8080 } });
    cp = await startControlPlane(config, { operatorPassword: 'test-operator-password', port: 0 }, silentLogger);
    parent = await bootstrapAccount(cp.redis, PREFIX, { friendlyName: 'reseller', homeRegion: 'us-east' });
    const app = new Hono();
    // The call lasts 61 s after it is answered, then the document ends and the platform hangs up.
    app.post('/inbound', (c) => c.body('<Response><Pause length="30"/></Response>', 200, { 'Content-Type': 'text/xml' }));
    app.post('*', (c) => c.body('<Response><Pause length="61"/></Response>', 200, { 'Content-Type': 'text/xml' }));
    web = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => web.once('listening', r));
    appUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    uas = await startSipp({ scenario: 'uas-echo.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, timeoutMs: 180_000 });
    await uas.ready;
  });
  afterAll(async () => {
    await uas?.stop(500);
    await cp?.close();
    await region?.close();
    await new Promise((r) => web?.close(r));
    await clearKeys(TEST_REDIS_URL, PREFIX);
  });

  it('a 61 s call of a subaccount costs two minutes of the override its parent set, and rolls up into the parent’s totalprice', async () => {
    const asParent = twilio(parent.sid, parent.authToken, { httpClient: new LocalRequestClient(cp.url) });
    const sub = await asParent.api.v2010.accounts.create({ friendlyName: 'customer' });
    const asSub = twilio(sub.sid, sub.authToken, { httpClient: new LocalRequestClient(cp.url) });

    // The parent's override for its subaccount: +1555 at 0.05 per minute (the platform's +1 is 0.0140).
    const setPrice = (path: string, form: Record<string, string>) =>
      fetch(`${cp.url}/2010-04-01/Accounts/${sub.sid}/PriceOverrides${path}.json`, {
        method: 'POST',
        headers: { Authorization: basic(parent.sid, parent.authToken), 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { sid: string } }));
    const override = await setPrice('', { Prefix: '+1555', Price: '0.05' });
    expect(override.status).toBe(201);

    const quote = await asSub.pricing.v2.voice.numbers('+15551234567').fetch();
    expect(quote.outboundCallPrices).toEqual([expect.objectContaining({ originationPrefixes: ['ALL'], basePrice: '0.0140', currentPrice: '0.0500' })]);

    const call = await asSub.calls.create({ to: '+15551234567', from: '+15550001111', url: `${appUrl}/voice` });
    expect(call.price).toBeNull();
    await waitFor(async () => ((await asSub.calls(call.sid).fetch()).status === 'in-progress' ? true : undefined), 10_000, 'call answered');
    // The parent changes the price while the call is up: the call keeps the rate it started with.
    expect((await setPrice(`/${override.body.sid}`, { Price: '0.09' })).status).toBe(200);

    const done = await waitFor(async () => {
      const c = await asSub.calls(call.sid).fetch();
      return c.status === 'completed' ? c : undefined;
    }, 90_000, 'call completed');
    expect(Number(done.duration)).toBe(61);
    expect(done.price).toBe('-0.10000');
    expect(done.priceUnit).toBe('USD');

    // Usage: the subaccount's outbound minutes carry the price; the parent's totalprice includes it.
    const subOut = await asSub.usage.records.today.list({ category: 'calls-outbound' });
    expect(subOut[0]).toMatchObject({ usage: '2', price: '0.10' });
    const total = await asParent.usage.records.today.list({ category: 'totalprice' });
    expect(total[0]).toMatchObject({ category: 'totalprice', usage: '0.10', price: '0.10', usageUnit: 'usd' });
    // Without the subaccounts the parent itself spent nothing.
    const own = await asParent.usage.records.today.list({ category: 'totalprice', includeSubaccounts: false });
    expect(own[0]?.price).toBe('0.00');
  }, 120_000);

  it('an inbound call to a subaccount number is priced at the inbound local rate, with an override of the parent deciding', async () => {
    const asParent = twilio(parent.sid, parent.authToken, { httpClient: new LocalRequestClient(cp.url) });
    const sub = await asParent.api.v2010.accounts.create({ friendlyName: 'inbound customer' });
    const asSub = twilio(sub.sid, sub.authToken, { httpClient: new LocalRequestClient(cp.url) });
    // The operator gives the parent (top-level) a cheaper US inbound price; the subaccount inherits it.
    const put = await fetch(`${cp.url}/v1/pricing/accounts/${parent.sid}`, {
      method: 'PUT',
      headers: { Authorization: basic(cp.operator.username, cp.operator.password), 'Content-Type': 'application/json' },
      body: JSON.stringify({ entries: [{ item: 'voice-inbound-local', prefix: '+1', price: '0.0070' }] }),
    });
    expect(put.status).toBe(200);
    await asSub.incomingPhoneNumbers.create({ phoneNumber: '+15559990001', voiceUrl: `${appUrl}/inbound` });
    const res = await runSipp({
      scenario: 'uac-nomedia.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20000,
      service: '+15559990001',
      calls: 1,
      callDurationMs: 1500,
      timeoutMs: 30_000,
    });
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    const inbound = await waitFor(async () => (await asSub.calls.list({ to: '+15559990001' })).find((c) => c.status === 'completed'), 5000, 'inbound call record');
    expect(inbound.direction).toBe('inbound');
    // One started minute at the parent's 0.0070 (the platform's +1 local is 0.0085).
    expect(inbound.price).toBe('-0.00700');
    const usage = await asSub.usage.records.today.list({ category: 'calls-inbound' });
    expect(usage[0]).toMatchObject({ usage: '1', price: '0.007' });
  }, 60_000);
});
