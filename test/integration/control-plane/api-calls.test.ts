/** Applications, incoming numbers and calls against the real server and Redis. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAccount } from '../../../control-plane/store/accounts.js';
import type { CallRecord } from '../../../regions/store/call-records.js';
import { keys } from '../../../regions/store/keys.js';
import type { AccountRecord } from '../../../regions/store/schema.js';
import { startApiHarness, type ApiHarness } from './api-harness.js';

let h: ApiHarness;
let other: AccountRecord;
const A = () => `/2010-04-01/Accounts/${h.account.sid}`;
const CALL = { To: '+15551110000', From: '+15552220000', Url: 'http://127.0.0.1:9/voice' };

beforeAll(async () => {
  h = await startApiHarness('it-api-calls:');
  other = await bootstrapAccount(h.redis, h.prefix, { friendlyName: 'Tenant B', homeRegion: 'us-east' });
});
afterAll(async () => {
  await h?.close();
});

async function setStatus(sid: string, status: CallRecord['status']): Promise<void> {
  const key = keys(h.prefix).call(sid);
  const rec = JSON.parse((await h.redis.get(key)) as string) as CallRecord;
  await h.redis.set(key, JSON.stringify({ ...rec, status }));
}

describe('Applications', () => {
  it('creates, lists, fetches, updates and deletes', async () => {
    const c = await h.req('POST', `${A()}/Applications.json`, {
      form: { FriendlyName: 'app', VoiceUrl: 'http://127.0.0.1:9/a', VoiceMethod: 'get', VoiceFallbackUrl: 'http://127.0.0.1:9/f', StatusCallbackMethod: 'GET' },
    });
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({ voice_url: 'http://127.0.0.1:9/a', voice_method: 'GET', voice_fallback_method: 'POST', status_callback_method: 'GET' });
    const sid = c.body.sid as string;
    expect((await h.req('GET', `${A()}/Applications.json?FriendlyName=app`)).body.applications).toHaveLength(1);
    const u = await h.req('POST', `${A()}/Applications/${sid}.json`, { form: { VoiceUrl: 'http://127.0.0.1:9/b' } });
    expect(u.body.voice_url).toBe('http://127.0.0.1:9/b');
    expect(u.body.voice_fallback_url).toBe('http://127.0.0.1:9/f');
    expect((await h.req('GET', `${A()}/Applications/${sid}.json`)).body.voice_url).toBe('http://127.0.0.1:9/b');
    expect((await h.req('GET', `/2010-04-01/Accounts/${other.sid}/Applications/${sid}.json`, { auth: [other.sid, other.authToken] })).status).toBe(404);
    expect((await h.req('DELETE', `${A()}/Applications/${sid}.json`)).status).toBe(204);
    expect((await h.req('GET', `${A()}/Applications/${sid}.json`)).status).toBe(404);
  });

  it('names the bad field', async () => {
    const r = await h.req('POST', `${A()}/Applications.json`, { form: { VoiceUrl: 'ftp://x' } });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('VoiceUrl');
    const m = await h.req('POST', `${A()}/Applications.json`, { form: { VoiceMethod: 'PUT' } });
    expect(m.body.message).toContain('VoiceMethod');
  });
});

describe('IncomingPhoneNumbers', () => {
  it('provisions an E.164 number once across all tenants (409), updates and releases it', async () => {
    const c = await h.req('POST', `${A()}/IncomingPhoneNumbers.json`, { form: { PhoneNumber: '+15553330000', VoiceUrl: 'http://127.0.0.1:9/n', HomeRegion: 'eu-west' } });
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({ phone_number: '+15553330000', home_region: 'eu-west', voice_url: 'http://127.0.0.1:9/n', voice_application_sid: null });
    expect(await h.redis.get(keys(h.prefix).numberByE164('+15553330000'))).toBe(c.body.sid);
    const dup = await h.req('POST', `/2010-04-01/Accounts/${other.sid}/IncomingPhoneNumbers.json`, { auth: [other.sid, other.authToken], form: { PhoneNumber: '+15553330000' } });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe(21422);
    const record = JSON.parse((await h.redis.get(keys(h.prefix).number(c.body.sid))) as string);
    expect(record).toMatchObject({ accountSid: h.account.sid, phoneNumber: '+15553330000', homeRegion: 'eu-west' });

    const app = (await h.req('POST', `${A()}/Applications.json`, { form: { VoiceUrl: 'http://127.0.0.1:9/a' } })).body;
    const u = await h.req('POST', `${A()}/IncomingPhoneNumbers/${c.body.sid}.json`, { form: { VoiceApplicationSid: app.sid } });
    expect(u.body.voice_application_sid).toBe(app.sid);
    const theirApp = (await h.req('POST', `/2010-04-01/Accounts/${other.sid}/Applications.json`, { auth: [other.sid, other.authToken], form: {} })).body;
    const bad = await h.req('POST', `${A()}/IncomingPhoneNumbers/${c.body.sid}.json`, { form: { VoiceApplicationSid: theirApp.sid } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('VoiceApplicationSid');

    expect((await h.req('GET', `${A()}/IncomingPhoneNumbers.json?PhoneNumber=%2B15553330000`)).body.incoming_phone_numbers).toHaveLength(1);
    expect((await h.req('DELETE', `${A()}/IncomingPhoneNumbers/${c.body.sid}.json`)).status).toBe(204);
    expect(await h.redis.get(keys(h.prefix).numberByE164('+15553330000'))).toBeNull();
    // Released: now the other tenant may take it.
    expect((await h.req('POST', `/2010-04-01/Accounts/${other.sid}/IncomingPhoneNumbers.json`, { auth: [other.sid, other.authToken], form: { PhoneNumber: '+15553330000' } })).status).toBe(201);
  });

  it('validates PhoneNumber as E.164 (code 21421)', async () => {
    for (const n of ['5551234', '+0123', '+1555abc', '']) {
      const r = await h.req('POST', `${A()}/IncomingPhoneNumbers.json`, { form: { PhoneNumber: n } });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 21421 });
      expect(r.body.message).toContain('PhoneNumber');
    }
    const missing = await h.req('POST', `${A()}/IncomingPhoneNumbers.json`, { form: {} });
    expect(missing.body.message).toBe('Missing required parameter PhoneNumber');
  });
});

describe('Calls', () => {
  it('originates: record in queued at the home region, originate command, 201', async () => {
    const r = await h.req('POST', `${A()}/Calls.json`, {
      form: { ...CALL, StatusCallback: 'http://127.0.0.1:9/s', StatusCallbackEvent: ['initiated', 'ringing'], Timeout: '25', Method: 'GET' },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ status: 'queued', direction: 'outbound-api', to: CALL.To, from: CALL.From, region: 'us-east', start_time: null });
    const rec = JSON.parse((await h.redis.get(keys(h.prefix).call(r.body.sid))) as string) as CallRecord;
    expect(rec).toMatchObject({ url: CALL.Url, method: 'GET', statusCallback: 'http://127.0.0.1:9/s', statusCallbackEvents: ['initiated', 'ringing'], timeout: 25 });
    expect(await h.commands()).toContainEqual({ type: 'originate', callSid: r.body.sid });
  });

  it('takes the URLs of an ApplicationSid, and refuses another tenant\'s application', async () => {
    const app = (await h.req('POST', `${A()}/Applications.json`, { form: { VoiceUrl: 'http://127.0.0.1:9/app', VoiceFallbackUrl: 'http://127.0.0.1:9/fb' } })).body;
    const r = await h.req('POST', `${A()}/Calls.json`, { form: { To: CALL.To, From: CALL.From, ApplicationSid: app.sid } });
    expect(r.status).toBe(201);
    const rec = JSON.parse((await h.redis.get(keys(h.prefix).call(r.body.sid))) as string) as CallRecord;
    expect(rec).toMatchObject({ applicationSid: app.sid, url: 'http://127.0.0.1:9/app', fallbackUrl: 'http://127.0.0.1:9/fb' });
    const theirs = (await h.req('POST', `/2010-04-01/Accounts/${other.sid}/Applications.json`, { auth: [other.sid, other.authToken], form: { VoiceUrl: 'http://127.0.0.1:9/z' } })).body;
    const bad = await h.req('POST', `${A()}/Calls.json`, { form: { To: CALL.To, From: CALL.From, ApplicationSid: theirs.sid } });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe(21218);
  });

  it('names the missing or bad field', async () => {
    const noUrl = await h.req('POST', `${A()}/Calls.json`, { form: { To: CALL.To, From: CALL.From } });
    expect(noUrl).toMatchObject({ status: 400, body: { code: 21205 } });
    expect(noUrl.body.message).toContain('Url');
    const noTo = await h.req('POST', `${A()}/Calls.json`, { form: { From: CALL.From, Url: CALL.Url } });
    expect(noTo.body).toMatchObject({ code: 21201, message: 'Missing required parameter To' });
    const badFrom = await h.req('POST', `${A()}/Calls.json`, { form: { ...CALL, From: 'nobody' } });
    expect(badFrom.body.code).toBe(21212);
    const badTimeout = await h.req('POST', `${A()}/Calls.json`, { form: { ...CALL, Timeout: 'soon' } });
    expect(badTimeout.body.message).toContain('Timeout');
    const badEvent = await h.req('POST', `${A()}/Calls.json`, { form: { ...CALL, StatusCallbackEvent: 'exploded' } });
    expect(badEvent.body.message).toContain('StatusCallbackEvent');
  });

  it('lists with filters and pages, fetches', async () => {
    const to = '+15554440000';
    const sids: string[] = [];
    for (let i = 0; i < 3; i++) sids.push((await h.req('POST', `${A()}/Calls.json`, { form: { ...CALL, To: to } })).body.sid);
    await setStatus(sids[0]!, 'completed');
    const byTo = await h.req('GET', `${A()}/Calls.json?To=${encodeURIComponent(to)}`);
    expect(byTo.body.calls.map((c: { sid: string }) => c.sid).sort()).toEqual([...sids].sort());
    const byStatus = await h.req('GET', `${A()}/Calls.json?To=${encodeURIComponent(to)}&Status=completed`);
    expect(byStatus.body.calls.map((c: { sid: string }) => c.sid)).toEqual([sids[0]]);
    const today = new Date().toISOString().slice(0, 10);
    expect((await h.req('GET', `${A()}/Calls.json?To=${encodeURIComponent(to)}&StartTime%3E=${today}`)).body.calls).toHaveLength(3);
    expect((await h.req('GET', `${A()}/Calls.json?To=${encodeURIComponent(to)}&StartTime%3C=2001-01-01`)).body.calls).toHaveLength(0);

    const p0 = await h.req('GET', `${A()}/Calls.json?To=${encodeURIComponent(to)}&PageSize=2`);
    expect(p0.body).toMatchObject({ page: 0, page_size: 2, start: 0, end: 1, previous_page_uri: null });
    expect(p0.body.next_page_uri).toContain('Page=1');
    expect(p0.body.next_page_uri).toContain('To=%2B15554440000');
    const p1 = await h.req('GET', p0.body.next_page_uri);
    expect(p1.body).toMatchObject({ page: 1, start: 2, end: 2, next_page_uri: null });
    expect(p1.body.previous_page_uri).toContain('Page=0');
    expect([...p0.body.calls, ...p1.body.calls].map((c: { sid: string }) => c.sid).sort()).toEqual([...sids].sort());

    const one = await h.req('GET', `${A()}/Calls/${sids[1]}.json`);
    expect(one.body.uri).toBe(`${A()}/Calls/${sids[1]}.json`);
    expect((await h.req('GET', `${A()}/Calls/CA${'0'.repeat(32)}.json`)).status).toBe(404);
  });

  it('redirects and hangs up live calls; a finished call cannot be modified', async () => {
    const sid = (await h.req('POST', `${A()}/Calls.json`, { form: CALL })).body.sid as string;
    const redirect = await h.req('POST', `${A()}/Calls/${sid}.json`, { form: { Url: 'http://127.0.0.1:9/r' } });
    expect(redirect.status).toBe(200);
    await setStatus(sid, 'in-progress');
    // canceled does nothing to an answered call; completed hangs it up.
    await h.req('POST', `${A()}/Calls/${sid}.json`, { form: { Status: 'canceled' } });
    await h.req('POST', `${A()}/Calls/${sid}.json`, { form: { Status: 'completed' } });
    const cmds = (await h.commands()).filter((c) => c.callSid === sid);
    expect(cmds).toEqual([
      { type: 'originate', callSid: sid },
      { type: 'redirect', callSid: sid, url: 'http://127.0.0.1:9/r', method: 'POST' },
      { type: 'hangup', callSid: sid },
    ]);
    await setStatus(sid, 'completed');
    const late = await h.req('POST', `${A()}/Calls/${sid}.json`, { form: { Url: 'http://127.0.0.1:9/r' } });
    expect(late.status).toBe(400);
    expect(late.body.code).toBe(21220);
    expect((await h.req('POST', `${A()}/Calls/${sid}.json`, { form: {} })).status).toBe(400);
    const bad = await h.req('POST', `${A()}/Calls/${sid}.json`, { form: { Status: 'paused' } });
    expect(bad.body.message).toContain('Status');
  });
});
