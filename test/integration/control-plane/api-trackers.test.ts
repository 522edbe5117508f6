/**
 * Tags and trackers through the tenant API with real Redis: tags on
 * applications, numbers and calls; trackers' validation and limits; calls
 * ended through the call side's own store function (`CallRecordStore.finish`,
 * what the originator and inbound application calls use; the inbound
 * accounting path is `recordTrackedCall` after its save) counted per hour and
 * day, with subaccounts when asked; delegation to a subaccount and to an
 * authorized application that reads the tracker and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAccount } from '../../../control-plane/store/accounts.js';
import { CallRecordStore, type CallRecord } from '../../../regions/store/call-records.js';
import { keys } from '../../../regions/store/keys.js';
import { apiDate, type AccountRecord } from '../../../regions/store/schema.js';
import { newSid } from '../../../regions/store/sids.js';
import { MAX_TRACKERS_PER_ACCOUNT } from '../../../regions/store/trackers.js';
import { startApiHarness, type ApiHarness } from './api-harness.js';

let h: ApiHarness;
const A = () => `/2010-04-01/Accounts/${h.account.sid}`;
const today = new Date().toISOString().slice(0, 10);
const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const at = (day: string, hhmm: string): Date => new Date(`${day}T${hhmm}:00Z`);

beforeAll(async () => {
  h = await startApiHarness('it-api-trackers:');
});
afterAll(async () => {
  await h?.close();
});

/** A call that ran and ended, written as the call side writes it: record first, then `finish`. */
async function endedCall(o: {
  accountSid: string;
  tags?: string[];
  startedAt: Date;
  answeredAfterS?: number;
  durationS?: number;
  unanswered?: CallRecord['status'];
  pddMs?: number;
  price?: string;
}): Promise<CallRecord> {
  const store = new CallRecordStore(h.redis, h.prefix);
  const rec: CallRecord & { price?: string } = {
    sid: newSid('CA'),
    accountSid: o.accountSid,
    direction: 'outbound-api',
    from: '+15550001111',
    to: '+15550002222',
    status: 'ringing',
    region: 'us-east',
    dateCreated: apiDate(o.startedAt),
    dateUpdated: apiDate(o.startedAt),
    ...(o.tags ? { tags: o.tags } : {}),
    ...(o.price ? { price: o.price } : {}),
  };
  await store.save(rec);
  const answeredAt = o.unanswered === undefined ? o.startedAt.getTime() + (o.answeredAfterS ?? 1) * 1000 : undefined;
  const endedAt = (answeredAt ?? o.startedAt.getTime() + 5000) + (o.durationS ?? 0) * 1000;
  const done = await store.finish(rec.sid, { accountSid: o.accountSid, category: 'calls-outbound', region: 'us-east', answeredAt, endedAt, unansweredStatus: o.unanswered ?? 'completed', postDialDelayMs: o.pddMs }, (e) => {
    throw e;
  });
  return done!;
}

async function createTracker(form: Record<string, string | string[]>, path = A(), auth?: [string, string]) {
  return h.req('POST', `${path}/Trackers.json`, { form, ...(auth ? { auth } : {}) });
}

describe('Tags', () => {
  it('on applications and numbers: repeated or comma-separated, sorted, cleared by an empty value', async () => {
    const app = await h.req('POST', `${A()}/Applications.json`, { form: { FriendlyName: 'promo', VoiceUrl: 'http://127.0.0.1:9/voice', Tags: 'promo,eu' } });
    expect(app.status).toBe(201);
    expect(app.body.tags).toEqual(['eu', 'promo']);
    const num = await h.req('POST', `${A()}/IncomingPhoneNumbers.json`, { form: { PhoneNumber: '+15557770001', Tags: ['spring', 'print', 'spring'] } });
    expect(num.status).toBe(201);
    expect(num.body.tags).toEqual(['print', 'spring']);
    const cleared = await h.req('POST', `${A()}/IncomingPhoneNumbers/${num.body.sid}.json`, { form: { Tags: '' } });
    expect(cleared.body.tags).toEqual([]);
    const untouched = await h.req('POST', `${A()}/Applications/${app.body.sid}.json`, { form: { FriendlyName: 'renamed' } });
    expect(untouched.body.tags).toEqual(['eu', 'promo']);
  });

  it('refuses bad tags and more than 10, naming Tags', async () => {
    const bad = await h.req('POST', `${A()}/Applications.json`, { form: { Tags: 'Not-Lower' } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/Invalid parameter Tags: .*a-z, 0-9/);
    const many = await h.req('POST', `${A()}/Applications.json`, { form: { Tags: Array.from({ length: 11 }, (_, i) => `t${i}`).join(',') } });
    expect(many.status).toBe(400);
    expect(many.body.message).toMatch(/Invalid parameter Tags: at most 10 tags/);
    const long = await h.req('POST', `${A()}/Calls.json`, { form: { To: '+15550000001', From: '+15550000002', Url: 'http://127.0.0.1:9/', Tags: 'x'.repeat(33) } });
    expect(long.status).toBe(400);
  });

  it("an API call carries its own tags and its application's", async () => {
    const app = await h.req('POST', `${A()}/Applications.json`, { form: { VoiceUrl: 'http://127.0.0.1:9/voice', Tags: 'promo' } });
    const call = await h.req('POST', `${A()}/Calls.json`, { form: { To: '+15550000001', From: '+15550000002', ApplicationSid: app.body.sid, Tags: 'vip' } });
    expect(call.status).toBe(201);
    expect(call.body.tags).toEqual(['promo', 'vip']);
    expect((await new CallRecordStore(h.redis, h.prefix).get(call.body.sid))?.tags).toEqual(['promo', 'vip']);
    const plain = await h.req('POST', `${A()}/Calls.json`, { form: { To: '+15550000001', From: '+15550000002', Url: 'http://127.0.0.1:9/' } });
    expect(plain.body.tags).toEqual([]);
  });
});

describe('Trackers', () => {
  it('validates: tags required, known measurements, shares only with subaccounts', async () => {
    const none = await createTracker({ FriendlyName: 'x' });
    expect(none.status).toBe(400);
    expect(none.body.message).toBe('Missing required parameter Tags');
    expect((await createTracker({ Tags: '' })).body.message).toMatch(/Tags: a tracker needs at least one tag/);
    const m = await createTracker({ Tags: 'a', Measurements: 'calls,revenue' });
    expect(m.status).toBe(400);
    expect(m.body.message).toMatch(/^Invalid parameter Measurements/);
    const other = await bootstrapAccount(h.redis, h.prefix, { friendlyName: 'Other', homeRegion: 'us-east' });
    const share = await createTracker({ Tags: 'a', SharedWith: other.sid });
    expect(share.status).toBe(400);
    expect(share.body.message).toContain(`${other.sid} is not a subaccount`);
    expect((await createTracker({ Tags: 'a', IncludeSubaccounts: 'maybe' })).status).toBe(400);
  });

  it('counts exactly the calls carrying all its tags, per hour and per day, with the figures it asked for', async () => {
    const t = await createTracker({ FriendlyName: 'Spring promo', Tags: 'promo,eu' });
    expect(t.status).toBe(201);
    expect(t.body).toMatchObject({ tags: ['eu', 'promo'], include_subaccounts: false, shared: false, measurements: ['calls', 'answered', 'failed', 'minutes', 'price', 'answer-seizure-ratio', 'post-dial-delay'] });
    expect(t.body.sid).toMatch(/^TK[0-9a-f]{32}$/);
    const sid = t.body.sid as string;
    const me = h.account.sid;
    // Counted: answered 61 s (2 min) at 10:15 with 250 ms PDD and a price; answered 30 s at 10:40, 1200 ms; failed at 11:05; busy yesterday.
    await endedCall({ accountSid: me, tags: ['eu', 'promo', 'vip'], startedAt: at(today, '10:15'), durationS: 61, pddMs: 250, price: '-0.02600' });
    await endedCall({ accountSid: me, tags: ['eu', 'promo'], startedAt: at(today, '10:40'), durationS: 30, pddMs: 1200 });
    await endedCall({ accountSid: me, tags: ['eu', 'promo'], startedAt: at(today, '11:05'), unanswered: 'failed' });
    await endedCall({ accountSid: me, tags: ['eu', 'promo'], startedAt: at(yesterday, '23:30'), unanswered: 'busy', pddMs: 3000 });
    // Not counted: one tag only, untagged.
    await endedCall({ accountSid: me, tags: ['promo'], startedAt: at(today, '10:20'), durationS: 10 });
    await endedCall({ accountSid: me, startedAt: at(today, '10:21'), durationS: 10 });

    const day = await h.req('GET', `${A()}/Trackers/${sid}/Measurements.json?StartDate=${yesterday}&EndDate=${today}&Granularity=day`);
    expect(day.status).toBe(200);
    expect(day.body.buckets).toHaveLength(2);
    expect(day.body.buckets[0]).toMatchObject({ start_time: `${yesterday}T00:00:00.000Z`, calls: 1, answered: 0, failed: 0, post_dial_delay_samples: 1 });
    expect(day.body.buckets[1]).toMatchObject({ start_time: `${today}T00:00:00.000Z`, calls: 3, answered: 2, failed: 1, minutes: 3, duration: 91, price: '-0.02600', price_unit: 'USD', post_dial_delay_samples: 2 });
    expect(day.body.totals).toMatchObject({ calls: 4, answered: 2, failed: 1, minutes: 3, answer_seizure_ratio: 0.5, post_dial_delay_samples: 3 });
    expect(day.body.buckets[1].post_dial_delay_p50_ms).toBe(250); // two samples: the lower one's bin middle
    expect(day.body.totals.post_dial_delay_p95_ms).toBeGreaterThan(2000);

    const hours = await h.req('GET', `${A()}/Trackers/${sid}/Measurements.json?StartDate=${today}&Granularity=hour`);
    expect(hours.body.buckets).toHaveLength(24);
    expect(hours.body.buckets[10]).toMatchObject({ start_time: `${today}T10:00:00.000Z`, end_time: `${today}T11:00:00.000Z`, calls: 2, answered: 2, answer_seizure_ratio: 1 });
    expect(hours.body.buckets[11]).toMatchObject({ calls: 1, failed: 1, answer_seizure_ratio: 0, price: null, post_dial_delay_p50_ms: null });
    expect(hours.body.buckets[9]).toMatchObject({ calls: 0, answer_seizure_ratio: null });

    // Usage carries the tags too: Tag= reports the minutes of the calls carrying it.
    const usage = await h.req('GET', `${A()}/Usage/Records.json?Category=calls&Tag=promo`);
    expect(usage.status).toBe(200);
    expect(usage.body.usage_records).toHaveLength(1);
    expect(usage.body.usage_records[0]).toMatchObject({ category: 'calls', usage: '4', usage_unit: 'minutes' });
    expect((await h.req('GET', `${A()}/Usage/Records.json?Category=calls&Tag=nobody`)).body.usage_records[0].usage).toBe('0');
    expect((await h.req('GET', `${A()}/Usage/Records.json?Tag=Bad%20Tag`)).body.message).toMatch(/^Invalid parameter Tag/);

    // A tracker that asks for fewer figures reports only those.
    const narrow = await createTracker({ Tags: 'eu', Measurements: ['calls', 'post-dial-delay'] });
    await endedCall({ accountSid: me, tags: ['eu'], startedAt: at(today, '12:00'), durationS: 5, pddMs: 400 });
    const n = await h.req('GET', `${A()}/Trackers/${narrow.body.sid}/Measurements.json?StartDate=${today}`);
    expect(Object.keys(n.body.totals).sort()).toEqual(['calls', 'post_dial_delay_p50_ms', 'post_dial_delay_p95_ms', 'post_dial_delay_samples']);
    expect(n.body.totals.calls).toBe(1);
  });

  it("includes subaccounts' calls only when the tracker says so", async () => {
    const sub = (await h.req('POST', '/2010-04-01/Accounts.json', { form: { FriendlyName: 'Reseller sub' } })).body.sid as string;
    const withSubs = (await createTracker({ Tags: 'sub-camp', IncludeSubaccounts: 'true' })).body.sid as string;
    const ownOnly = (await createTracker({ Tags: 'sub-camp' })).body.sid as string;
    const subOwn = (await createTracker({ Tags: 'sub-camp' }, `/2010-04-01/Accounts/${sub}`)).body.sid as string;
    await endedCall({ accountSid: sub, tags: ['sub-camp'], startedAt: at(today, '08:00'), durationS: 120 });
    await endedCall({ accountSid: h.account.sid, tags: ['sub-camp'], startedAt: at(today, '08:30'), durationS: 1 });
    const calls = async (path: string, sid: string) => (await h.req('GET', `${path}/Trackers/${sid}/Measurements.json?StartDate=${today}`)).body.totals.calls;
    expect(await calls(A(), withSubs)).toBe(2);
    expect(await calls(A(), ownOnly)).toBe(1);
    expect(await calls(`/2010-04-01/Accounts/${sub}`, subOwn)).toBe(1);
  });

  it('bounds the range, the dates and the number of trackers', async () => {
    const sid = (await createTracker({ Tags: 'bounds' })).body.sid as string;
    const m = (q: string) => h.req('GET', `${A()}/Trackers/${sid}/Measurements.json?${q}`);
    expect((await m(`StartDate=${today}&EndDate=${yesterday}`)).body.message).toMatch(/EndDate: must not be before StartDate/);
    expect((await m('StartDate=2026-01-01&EndDate=2026-02-01&Granularity=hour')).body.message).toMatch(/32 days; Granularity=hour reads at most 31/);
    expect((await m('StartDate=2026-01-01&EndDate=2026-02-01&Granularity=day')).status).toBe(200);
    expect((await m('StartDate=2025-01-01&EndDate=2026-02-01&Granularity=day')).status).toBe(400);
    expect((await m('StartDate=yesterday')).status).toBe(400);
    expect((await m('Granularity=minute')).status).toBe(400);
    expect((await h.req('GET', `${A()}/Trackers/TK${'0'.repeat(32)}/Measurements.json`)).status).toBe(404);
    expect((await h.req('GET', `${A()}/Trackers/TKnot-a-sid.json`)).status).toBe(404);

    const acct = await bootstrapAccount(h.redis, h.prefix, { friendlyName: 'Limits', homeRegion: 'us-east' });
    const auth: [string, string] = [acct.sid, acct.authToken];
    for (let i = 0; i < MAX_TRACKERS_PER_ACCOUNT; i++) expect((await createTracker({ Tags: `t${i}` }, `/2010-04-01/Accounts/${acct.sid}`, auth)).status).toBe(201);
    const over = await createTracker({ Tags: 'one-more' }, `/2010-04-01/Accounts/${acct.sid}`, auth);
    expect(over.status).toBe(400);
    expect(over.body.message).toMatch(/at most 20 trackers/);
    const list = await h.req('GET', `/2010-04-01/Accounts/${acct.sid}/Trackers.json?PageSize=15`, { auth });
    expect(list.body.trackers).toHaveLength(15);
    expect(list.body.next_page_uri).not.toBeNull();
  });

  it('holds the limit under concurrent creates', async () => {
    const acct = await bootstrapAccount(h.redis, h.prefix, { friendlyName: 'Race', homeRegion: 'us-east' });
    const auth: [string, string] = [acct.sid, acct.authToken];
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => createTracker({ Tags: `r${i}` }, `/2010-04-01/Accounts/${acct.sid}`, auth)));
    const created = results.filter((r) => r.status === 201).length;
    expect(results.every((r) => r.status === 201 || r.status === 400)).toBe(true);
    expect(created).toBeGreaterThan(0);
    expect(created).toBeLessThanOrEqual(MAX_TRACKERS_PER_ACCOUNT);
    expect(await h.redis.zcard(keys(h.prefix).accountTrackers(acct.sid))).toBe(created);
  });

  it('updates its own tracker and deletes it with its buckets', async () => {
    const sid = (await createTracker({ Tags: 'gone' })).body.sid as string;
    await endedCall({ accountSid: h.account.sid, tags: ['gone'], startedAt: new Date(), durationS: 1 });
    const dayKey = keys(h.prefix).trackerDay(sid, today);
    expect(await h.redis.exists(dayKey)).toBe(1);
    expect(await h.redis.ttl(dayKey)).toBeGreaterThan(399 * 86_400);
    const up = await h.req('POST', `${A()}/Trackers/${sid}.json`, { form: { Tags: 'gone,more', Measurements: 'calls' } });
    expect(up.body).toMatchObject({ tags: ['gone', 'more'], measurements: ['calls'] });
    expect((await h.req('DELETE', `${A()}/Trackers/${sid}.json`)).status).toBe(204);
    expect(await h.redis.exists(dayKey)).toBe(0);
    expect((await h.req('GET', `${A()}/Trackers/${sid}.json`)).status).toBe(404);
  });
});

describe('Delegated trackers', () => {
  let shared: string;
  let notShared: string;

  beforeAll(async () => {
    shared = (await createTracker({ Tags: 'partner', IncludeSubaccounts: 'true' })).body.sid as string;
    notShared = (await createTracker({ Tags: 'secret' })).body.sid as string;
    await endedCall({ accountSid: h.account.sid, tags: ['partner'], startedAt: at(today, '09:00'), durationS: 90, pddMs: 700 });
  });

  it('a subaccount it is shared with reads it and its measurements, read-only, and nothing else of the owner', async () => {
    const sub: AccountRecord = (await h.req('POST', '/2010-04-01/Accounts.json', { form: { FriendlyName: 'Partner' } })).body;
    const subAcc = await h.req('GET', `/2010-04-01/Accounts/${(sub as unknown as { sid: string }).sid}.json`);
    const S = `/2010-04-01/Accounts/${subAcc.body.sid}`;
    const auth: [string, string] = [subAcc.body.sid, subAcc.body.auth_token];
    // Before the share: nothing.
    expect((await h.req('GET', `${S}/Trackers/${shared}.json`, { auth })).status).toBe(404);
    const upd = await h.req('POST', `${A()}/Trackers/${shared}.json`, { form: { SharedWith: subAcc.body.sid } });
    expect(upd.body.shared_with).toEqual([subAcc.body.sid]);

    const list = await h.req('GET', `${S}/Trackers.json`, { auth });
    expect(list.body.trackers.map((t: { sid: string }) => t.sid)).toEqual([shared]);
    expect(list.body.trackers[0]).toMatchObject({ shared: true, shared_with: [], account_sid: subAcc.body.sid });
    expect(JSON.stringify(list.body)).not.toContain(h.account.sid);
    const m = await h.req('GET', `${S}/Trackers/${shared}/Measurements.json?StartDate=${today}`, { auth });
    expect(m.status).toBe(200);
    expect(m.body.totals).toMatchObject({ calls: 1, answered: 1, minutes: 2 });
    expect(JSON.stringify(m.body)).not.toContain(h.account.sid);
    // Read-only, and only that tracker.
    expect((await h.req('POST', `${S}/Trackers/${shared}.json`, { auth, form: { Tags: 'x' } })).status).toBe(403);
    expect((await h.req('DELETE', `${S}/Trackers/${shared}.json`, { auth })).status).toBe(403);
    expect((await h.req('GET', `${S}/Trackers/${notShared}.json`, { auth })).status).toBe(404);
    expect((await h.req('GET', `${S}/Trackers/${notShared}/Measurements.json`, { auth })).status).toBe(404);
    // The owner's records stay out of reach.
    expect((await h.req('GET', `${A()}/Calls.json`, { auth })).status).toBe(404);
    expect((await h.req('GET', `${A()}/Trackers/${shared}.json`, { auth })).status).toBe(404);
    // Unshared: gone for the subaccount.
    await h.req('POST', `${A()}/Trackers/${shared}.json`, { form: { SharedWith: '' } });
    expect((await h.req('GET', `${S}/Trackers/${shared}/Measurements.json`, { auth })).status).toBe(404);
    expect((await h.req('GET', `${S}/Trackers.json`, { auth })).body.trackers).toEqual([]);
  });

  it('an authorized application with trackers:read reads the shared tracker and gets 403 on everything else', async () => {
    const dev = await bootstrapAccount(h.redis, h.prefix, { friendlyName: 'Partner developer', homeRegion: 'us-east' });
    const devAuth: [string, string] = [dev.sid, dev.authToken];
    const appSid = (await h.req('POST', `/2010-04-01/Accounts/${dev.sid}/Applications.json`, { auth: devAuth, form: { FriendlyName: 'Dashboard' } })).body.sid;
    const grant = await h.req('POST', `${A()}/Authorizations.json`, { form: { ApplicationSid: appSid, Permissions: 'trackers:read' } });
    expect(grant.status).toBe(201);
    expect(grant.body.permissions).toEqual(['trackers:read']);
    const S = `/2010-04-01/Accounts/${grant.body.subaccount_sid}`;
    await h.req('POST', `${A()}/Trackers/${shared}.json`, { form: { SharedWith: grant.body.subaccount_sid } });

    const m = await h.req('GET', `${S}/Trackers/${shared}/Measurements.json?StartDate=${today}&Granularity=hour`, { auth: devAuth });
    expect(m.status).toBe(200);
    expect(m.body.buckets[9]).toMatchObject({ calls: 1, answered: 1 });
    expect((await h.req('GET', `${S}/Trackers.json`, { auth: devAuth })).body.trackers).toHaveLength(1);

    for (const [method, path] of [
      ['GET', `${S}/Calls.json`],
      ['GET', `${S}/IncomingPhoneNumbers.json`],
      ['GET', `${S}/Applications.json`],
      ['GET', `${S}/Usage/Records.json`],
      ['GET', `${S}.json`],
      ['POST', `${S}/Trackers.json`],
    ] as const) {
      const r = await h.req(method, path, { auth: devAuth, ...(method === 'POST' ? { form: { Tags: 'x' } } : {}) });
      expect([path, r.status, r.body.code]).toEqual([path, 403, 20403]);
    }
    expect((await h.req('GET', `${S}/Trackers/${notShared}/Measurements.json`, { auth: devAuth })).status).toBe(404);
    expect((await h.req('GET', `${A()}/Trackers/${shared}/Measurements.json`, { auth: devAuth })).status).toBe(404);
  });

  it('is documented in the OpenAPI document', async () => {
    const doc = await h.req('GET', '/openapi.json', { auth: null });
    const paths = Object.keys(doc.body.paths as Record<string, unknown>);
    expect(paths).toContain('/2010-04-01/Accounts/{AccountSid}/Trackers');
    expect(paths).toContain('/2010-04-01/Accounts/{AccountSid}/Trackers/{Sid}/Measurements');
    expect(JSON.stringify(doc.body.components.schemas.Tracker)).toContain('shared_with');
  });
});
