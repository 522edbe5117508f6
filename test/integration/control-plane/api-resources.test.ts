/** Recordings, queues and their members, usage records — real server and Redis. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueMember } from '../../../regions/store/queues.js';
import { saveRecording, type RecordingRecord } from '../../../regions/store/recordings.js';
import { recordUsage } from '../../../regions/store/usage.js';
import { apiDate } from '../../../regions/store/schema.js';
import { startApiHarness, type ApiHarness } from './api-harness.js';

let h: ApiHarness;
const A = () => `/2010-04-01/Accounts/${h.account.sid}`;

beforeAll(async () => {
  h = await startApiHarness('it-api-resources:');
});
afterAll(async () => {
  await h?.close();
});

function recording(sid: string, callSid: string, accountSid = h.account.sid): RecordingRecord {
  const now = apiDate();
  return { sid, accountSid, callSid, status: 'completed', duration: 12, channels: 1, source: 'RecordVerb', region: 'us-east', dateCreated: now, dateUpdated: now };
}

describe('Recordings', () => {
  it('lists (also per call), fetches and deletes what the media side wrote', async () => {
    const call = (await h.req('POST', `${A()}/Calls.json`, { form: { To: '+15550000001', From: '+15550000002', Url: 'http://127.0.0.1:9/' } })).body;
    const re1 = `RE${'1'.repeat(32)}`;
    const re2 = `RE${'2'.repeat(32)}`;
    await saveRecording(h.redis, h.prefix, recording(re1, call.sid));
    await saveRecording(h.redis, h.prefix, recording(re2, `CA${'9'.repeat(32)}`));
    await saveRecording(h.redis, h.prefix, { ...recording(re1, call.sid), duration: 13 });
    const all = await h.req('GET', `${A()}/Recordings.json`);
    expect(all.body.recordings.map((r: { sid: string }) => r.sid).sort()).toEqual([re1, re2]);
    const byCall = await h.req('GET', `${A()}/Calls/${call.sid}/Recordings.json`);
    expect(byCall.body.recordings).toHaveLength(1);
    expect(byCall.body.recordings[0]).toMatchObject({ sid: re1, call_sid: call.sid, duration: '13', status: 'completed' });
    expect((await h.req('GET', `${A()}/Recordings.json?CallSid=${call.sid}`)).body.recordings).toHaveLength(1);
    expect((await h.req('GET', `${A()}/Recordings/${re2}.json`)).body.uri).toBe(`${A()}/Recordings/${re2}.json`);
    expect((await h.req('DELETE', `${A()}/Recordings/${re2}.json`)).status).toBe(204);
    expect((await h.req('GET', `${A()}/Recordings/${re2}.json`)).status).toBe(404);
  });

  it('hides another tenant\'s recording (404)', async () => {
    const sub = (await h.req('POST', '/2010-04-01/Accounts.json', { form: {} })).body;
    const re = `RE${'3'.repeat(32)}`;
    await saveRecording(h.redis, h.prefix, recording(re, `CA${'8'.repeat(32)}`, h.account.sid));
    expect((await h.req('GET', `/2010-04-01/Accounts/${sub.sid}/Recordings/${re}.json`, { auth: [sub.sid, sub.auth_token] })).status).toBe(404);
  });
});

describe('Queues and members', () => {
  it('creates, lists, fetches, updates; validates MaxSize', async () => {
    const q = await h.req('POST', `${A()}/Queues.json`, { form: { FriendlyName: 'support', MaxSize: '10' } });
    expect(q.status).toBe(201);
    expect(q.body).toMatchObject({ friendly_name: 'support', max_size: 10, current_size: 0 });
    expect(q.body.subresource_uris.members).toBe(`${A()}/Queues/${q.body.sid}/Members.json`);
    expect((await h.req('GET', `${A()}/Queues.json`)).body.queues.map((x: { sid: string }) => x.sid)).toContain(q.body.sid);
    expect((await h.req('POST', `${A()}/Queues/${q.body.sid}.json`, { form: { MaxSize: '20' } })).body.max_size).toBe(20);
    expect((await h.req('POST', `${A()}/Queues.json`, { form: { FriendlyName: 'big', MaxSize: '5001' } })).body.message).toContain('MaxSize');
    expect((await h.req('POST', `${A()}/Queues.json`, { form: {} })).body.message).toBe('Missing required parameter FriendlyName');
    expect((await h.req('DELETE', `${A()}/Queues/${q.body.sid}.json`)).status).toBe(204);
  });

  it('lists members front first, fetches Front or a CallSid, dequeues with a redirect', async () => {
    const q = (await h.req('POST', `${A()}/Queues.json`, { form: { FriendlyName: 'sales' } })).body;
    const calls: string[] = [];
    for (let i = 0; i < 3; i++) {
      const sid = (await h.req('POST', `${A()}/Calls.json`, { form: { To: '+15550000001', From: '+15550000002', Url: 'http://127.0.0.1:9/' } })).body.sid as string;
      calls.push(sid);
      await enqueueMember(h.redis, h.prefix, q.sid, sid, Date.now() - 10_000 + i);
    }
    const members = await h.req('GET', `${A()}/Queues/${q.sid}/Members.json`);
    expect(members.body.queue_members.map((m: { call_sid: string; position: number }) => [m.call_sid, m.position])).toEqual(calls.map((c, i) => [c, i + 1]));
    expect(members.body.queue_members[0].wait_time).toBeGreaterThanOrEqual(9);
    expect((await h.req('GET', `${A()}/Queues/${q.sid}.json`)).body.current_size).toBe(3);
    expect((await h.req('GET', `${A()}/Queues/${q.sid}/Members/Front.json`)).body.call_sid).toBe(calls[0]);
    expect((await h.req('GET', `${A()}/Queues/${q.sid}/Members/${calls[2]}.json`)).body.position).toBe(3);

    const dq = await h.req('POST', `${A()}/Queues/${q.sid}/Members/Front.json`, { form: { Url: 'http://127.0.0.1:9/agent', Method: 'GET' } });
    expect(dq.status).toBe(200);
    expect(dq.body.call_sid).toBe(calls[0]);
    expect(await h.commands()).toContainEqual({ type: 'redirect', callSid: calls[0], url: 'http://127.0.0.1:9/agent', method: 'GET' });
    expect((await h.req('GET', `${A()}/Queues/${q.sid}/Members/Front.json`)).body.call_sid).toBe(calls[1]);
    expect((await h.req('POST', `${A()}/Queues/${q.sid}/Members/${calls[0]}.json`, { form: { Url: 'http://127.0.0.1:9/a' } })).status).toBe(404);
    expect((await h.req('POST', `${A()}/Queues/${q.sid}/Members/Front.json`, { form: {} })).body.message).toBe('Missing required parameter Url');
    expect((await h.req('DELETE', `${A()}/Queues/${q.sid}.json`)).status).toBe(409);
  });
});

describe('Usage records', () => {
  it('sums categories by region and date, rolls subaccounts up to the parent', async () => {
    const sub = (await h.req('POST', '/2010-04-01/Accounts.json', { form: {} })).body;
    const day = Date.parse('2026-03-10T12:00:00Z');
    const ev = { unit: 'minutes', at: day } as const;
    await recordUsage(h.redis, h.prefix, { accountSid: h.account.sid, category: 'calls-outbound', region: 'us-east', quantity: 2.5, ...ev });
    await recordUsage(h.redis, h.prefix, { accountSid: sub.sid, category: 'calls-outbound', region: 'eu-west', quantity: 1, ...ev });
    await recordUsage(h.redis, h.prefix, { accountSid: sub.sid, category: 'calls-inbound', region: 'eu-west', quantity: 4, ...ev, at: day + 86_400_000 });
    await recordUsage(h.redis, h.prefix, { accountSid: sub.sid, category: 'recordings', region: 'us-east', quantity: 1, unit: 'recordings', at: day - 40 * 86_400_000 });

    const range = 'StartDate=2026-03-01&EndDate=2026-03-31';
    const all = await h.req('GET', `${A()}/Usage/Records.json?${range}`);
    const byCat = Object.fromEntries(all.body.usage_records.map((r: { category: string }) => [r.category, r]));
    expect(byCat['calls-outbound']).toMatchObject({ usage: '3.5', usage_unit: 'minutes', start_date: '2026-03-01', end_date: '2026-03-31', usage_by_region: { 'us-east': '2.5', 'eu-west': '1' } });
    expect(byCat['calls-inbound'].usage).toBe('4');
    expect(byCat['recordings'].usage).toBe('0');

    const own = await h.req('GET', `${A()}/Usage/Records.json?${range}&IncludeSubaccounts=false&Category=calls-outbound`);
    expect(own.body.usage_records).toEqual([expect.objectContaining({ category: 'calls-outbound', usage: '2.5' })]);
    const eu = await h.req('GET', `${A()}/Usage/Records.json?${range}&Region=eu-west&Category=calls-outbound`);
    expect(eu.body.usage_records[0].usage).toBe('1');
    const subView = await h.req('GET', `/2010-04-01/Accounts/${sub.sid}/Usage/Records.json?${range}&Category=calls-outbound`, { auth: [sub.sid, sub.auth_token] });
    expect(subView.body.usage_records[0].usage).toBe('1');

    const daily = await h.req('GET', `${A()}/Usage/Records/Daily.json?${range}&Category=calls-inbound`);
    expect(daily.body.usage_records).toEqual([expect.objectContaining({ start_date: '2026-03-11', end_date: '2026-03-11', usage: '4' })]);
    const monthly = await h.req('GET', `${A()}/Usage/Records/Monthly.json?StartDate=2026-01-01&EndDate=2026-03-31&Category=recordings`);
    expect(monthly.body.usage_records).toEqual([expect.objectContaining({ start_date: '2026-01-01', end_date: '2026-01-31', usage: '1' })]);
  });

  it('counts every API request before answering it (Usage/Records/Today)', async () => {
    const read = async () =>
      Number((await h.req('GET', `${A()}/Usage/Records/Today.json?Category=api-requests&IncludeSubaccounts=false`)).body.usage_records[0].usage);
    const before = await read();
    await h.req('GET', `${A()}/Calls.json`);
    await h.req('GET', `${A()}/Calls/CA${'0'.repeat(32)}.json`);
    // The two requests plus the second read itself.
    expect(await read()).toBe(before + 3);
  });

  it('validates dates', async () => {
    const r = await h.req('GET', `${A()}/Usage/Records.json?StartDate=yesterday`);
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('StartDate');
  });
});
