/**
 * Acceptance: the official `twilio` helper library, pointed at this server
 * through its `httpClient` option and nothing else changed, drives the API.
 * The only adaptation is the base URL: a RequestClient subclass rewrites
 * https://api.twilio.com to the local server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import RequestClient from 'twilio/lib/base/RequestClient.js';
import { startApiHarness, type ApiHarness } from './api-harness.js';

class LocalRequestClient extends RequestClient {
  constructor(private readonly base: string) {
    super();
  }
  override request<T>(opts: RequestClient.RequestOptions<T>) {
    return super.request({ ...opts, uri: opts.uri.replace(/^https:\/\/api\.twilio\.com/, this.base) });
  }
}

let h: ApiHarness;

beforeAll(async () => {
  h = await startApiHarness('it-api-twilio:');
});
afterAll(async () => {
  await h?.close();
});

describe('twilio helper library against the tenant API', () => {
  it('creates an application and a number, originates, lists, fetches, redirects and hangs up a call, reads usage', async () => {
    const client = twilio(h.account.sid, h.account.authToken, { httpClient: new LocalRequestClient(h.url) });

    const app = await client.applications.create({
      friendlyName: 'IVR',
      voiceUrl: 'http://127.0.0.1:9/voice',
      voiceMethod: 'POST',
      voiceFallbackUrl: 'http://127.0.0.1:9/fallback',
      statusCallback: 'http://127.0.0.1:9/status',
    });
    expect(app.sid).toMatch(/^AP[0-9a-f]{32}$/);
    expect(app.voiceFallbackUrl).toBe('http://127.0.0.1:9/fallback');

    const number = await client.incomingPhoneNumbers.create({ phoneNumber: '+15550001111', voiceApplicationSid: app.sid });
    expect(number.sid).toMatch(/^PN/);
    expect(number.phoneNumber).toBe('+15550001111');
    expect(number.voiceApplicationSid).toBe(app.sid);

    const call = await client.calls.create({
      to: '+15557654321',
      from: '+15550001111',
      url: 'http://127.0.0.1:9/voice',
      statusCallback: 'http://127.0.0.1:9/status',
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    });
    expect(call.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(call.status).toBe('queued');
    expect(await h.commands()).toContainEqual({ type: 'originate', callSid: call.sid });

    const listed = await client.calls.list({ to: '+15557654321', limit: 20 });
    expect(listed.map((c) => c.sid)).toEqual([call.sid]);
    const fetched = await client.calls(call.sid).fetch();
    expect(fetched.from).toBe('+15550001111');
    expect(fetched.direction).toBe('outbound-api');

    await client.calls(call.sid).update({ url: 'http://127.0.0.1:9/next', method: 'GET' });
    await client.calls(call.sid).update({ status: 'completed' });
    const cmds = await h.commands();
    expect(cmds).toContainEqual({ type: 'redirect', callSid: call.sid, url: 'http://127.0.0.1:9/next', method: 'GET' });
    expect(cmds).toContainEqual({ type: 'hangup', callSid: call.sid });

    const usage = await client.usage.records.list({ category: 'api-requests' });
    expect(usage).toHaveLength(1);
    expect(usage[0]?.category).toBe('api-requests');
    // Every request above was counted before it was answered (this list included).
    expect(Number(usage[0]?.usage)).toBeGreaterThanOrEqual(8);
    expect(usage[0]?.usageUnit).toBe('requests');
  });

  it('pages through calls with each() following next_page_uri', async () => {
    const client = twilio(h.account.sid, h.account.authToken, { httpClient: new LocalRequestClient(h.url) });
    for (let i = 0; i < 5; i++) await client.calls.create({ to: '+15559990000', from: '+15550001111', url: 'http://127.0.0.1:9/v' });
    const seen: string[] = [];
    await client.calls.each({ to: '+15559990000', pageSize: 2 }, (c) => {
      seen.push(c.sid);
    });
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    const page = await client.calls.page({ pageSize: 2 });
    expect(page.instances).toHaveLength(2);
    const next = await page.nextPage();
    expect(next?.instances).toHaveLength(2);
  });

  it('surfaces API errors as RestException with code and status', async () => {
    const client = twilio(h.account.sid, h.account.authToken, { httpClient: new LocalRequestClient(h.url) });
    await expect(client.calls.create({ to: '+15557654321', from: '+15550001111' } as never)).rejects.toMatchObject({ status: 400, code: 21205 });
    await expect(client.calls('CA00000000000000000000000000000000').fetch()).rejects.toMatchObject({ status: 404, code: 20404 });
  });
});
