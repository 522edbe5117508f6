/**
 * End to end, the issue's acceptance: the official `twilio` library, through
 * the control plane's tenant API, originates a call that really rings a SIPp
 * callee through our signaling node and rtpengine; the status callback
 * reports initiated, ringing, in-progress and completed with the duration;
 * the call is redirected and hung up through the API while live.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import twilio from 'twilio';
import RequestClient from 'twilio/lib/base/RequestClient.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAccount } from '../../../control-plane/store/accounts.js';
import { parseConfig } from '../../../infra/config.js';
import { startControlPlane, type ControlPlane } from '../../../infra/control-plane.js';
import { silentLogger } from '../../../regions/core/log.js';
import type { AccountRecord } from '../../../regions/store/schema.js';
import { isValidSignature } from '../../../signaling/webhooks/signature.js';
import { waitFor } from '../../support/wait.js';
import { runSipp, startSipp, type SippInstance } from '../../support/sipp.js';
import { CALLEE, CARRIER, SIG, startTestRegion, type TestRegion } from '../signaling/b2bua/harness.js';
import { TEST_REDIS_URL } from '../global-setup.js';
import { clearKeys } from '../../support/redis-keys.js';

const PREFIX = 'it-e2e-api:';

class LocalRequestClient extends RequestClient {
  constructor(private readonly base: string) {
    super();
  }
  override request<T>(opts: RequestClient.RequestOptions<T>) {
    return super.request({ ...opts, uri: opts.uri.replace(/^https:\/\/api\.twilio\.com/, this.base) });
  }
}

interface Hit {
  path: string;
  params: Record<string, string>;
  signature: string;
}

describe('API-originated call, end to end', () => {
  let region: TestRegion;
  let cp: ControlPlane;
  let account: AccountRecord;
  let app: ServerType;
  let appUrl: string;
  let uas: SippInstance;
  const hits: Hit[] = [];
  let placedCallSid: string | undefined;

  beforeAll(async () => {
    await clearKeys(TEST_REDIS_URL, PREFIX);
    region = await startTestRegion({ keyPrefix: PREFIX });
    const config = parseConfig({ ...region.config, nodeId: undefined, controlPlane: { port: 8080 } });
    cp = await startControlPlane(config, { operatorPassword: 'test-operator-password', port: 0 }, silentLogger);
    account = await bootstrapAccount(cp.redis, PREFIX, { friendlyName: 'e2e', homeRegion: 'us-east' });
    // The tenant's application server.
    const web = new Hono();
    web.post('*', async (c) => {
      const form = await c.req.parseBody();
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(form)) params[k] = String(v);
      hits.push({ path: new URL(c.req.url).pathname, params, signature: c.req.header('X-Twilio-Signature') ?? '' });
      return c.body('<Response><Pause length="30"/></Response>', 200, { 'Content-Type': 'text/xml' });
    });
    app = serve({ fetch: web.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => app.once('listening', r));
    appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    uas = await startSipp({ scenario: 'uas-echo.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, timeoutMs: 120_000 });
    await uas.ready;
  });
  afterAll(async () => {
    await uas?.stop(500);
    await cp?.close();
    await region?.close();
    await new Promise((r) => app?.close(r));
  });

  it('rings the SIPp callee, reports every status with the duration, follows a redirect and hangs up', async () => {
    const client = twilio(account.sid, account.authToken, { httpClient: new LocalRequestClient(cp.url) });
    const call = await client.calls.create({
      to: '+15551234567',
      from: '+15550001111',
      url: `${appUrl}/voice`,
      statusCallback: `${appUrl}/status`,
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    });
    expect(call.status).toBe('queued');
    placedCallSid = call.sid;

    // The callee answers; the call is live.
    await waitFor(async () => ((await client.calls(call.sid).fetch()).status === 'in-progress' ? true : undefined), 10_000);
    expect(region.node.calls.counts().originated).toBe(1);
    // The answered call fetched its instructions, signed with the account's token.
    const voice = await waitFor(() => hits.find((h) => h.path === '/voice' && h.params.CallSid === call.sid), 5000);
    expect(isValidSignature(account.authToken, voice.signature, `${appUrl}/voice`, voice.params)).toBe(true);

    // Redirect the live call: the new URL is fetched.
    await client.calls(call.sid).update({ url: `${appUrl}/next`, method: 'POST' });
    await waitFor(() => hits.find((h) => h.path === '/next' && h.params.CallSid === call.sid), 5000);

    await new Promise((r) => setTimeout(r, 1200));
    await client.calls(call.sid).update({ status: 'completed' });
    const done = await waitFor(async () => {
      const c = await client.calls(call.sid).fetch();
      return c.status === 'completed' ? c : undefined;
    }, 10_000);
    expect(Number(done.duration)).toBeGreaterThanOrEqual(1);

    const statuses = await waitFor(() => {
      const mine = hits.filter((h) => h.path === '/status' && h.params.CallSid === call.sid);
      return mine.length >= 4 ? mine : undefined;
    }, 5000);
    expect(statuses.map((h) => h.params.CallStatus)).toEqual(['initiated', 'ringing', 'in-progress', 'completed']);
    expect(Number(statuses[3]!.params.CallDuration)).toBeGreaterThanOrEqual(1);
    for (const h of statuses) expect(isValidSignature(account.authToken, h.signature, `${appUrl}/status`, h.params)).toBe(true);

    // Call minutes were accounted and are readable through the API.
    const usage = await client.usage.records.list({ category: 'calls-outbound' });
    expect(Number(usage[0]?.usage)).toBeGreaterThanOrEqual(1);
  });

  it('serves the operator API and /metrics beside the tenant API, each with its own credentials', async () => {
    const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    const asOperator = await fetch(`${cp.url}/v1/regions/us-east/nodes`, { headers: { Authorization: basic(cp.operator.username, cp.operator.password) } });
    expect(asOperator.status).toBe(200);
    const body = (await asOperator.json()) as { nodes: { id: string; kind: string; healthy: boolean }[] };
    // The signaling node reports itself and both media nodes it health-checks.
    expect(body.nodes.filter((n) => n.kind === 'media' && n.healthy).map((n) => n.id).sort()).toEqual(['it-media-1', 'it-media-2']);
    expect(body.nodes.some((n) => n.kind === 'signaling' && n.id === 'it-sig-1')).toBe(true);
    // Tenant credentials are not operator credentials, and the other way round.
    expect((await fetch(`${cp.url}/v1/regions`, { headers: { Authorization: basic(account.sid, account.authToken) } })).status).toBe(401);
    expect((await fetch(`${cp.url}/2010-04-01/Accounts/${account.sid}.json`, { headers: { Authorization: basic(cp.operator.username, cp.operator.password) } })).status).toBe(401);

    // The API call's media placement, with its reasons, through the operator API.
    const trace = await fetch(`${cp.url}/v1/calls/${placedCallSid}/placements`, { headers: { Authorization: basic(cp.operator.username, cp.operator.password) } });
    expect(trace.status).toBe(200);
    const placements = ((await trace.json()) as { placements: { decision: { outcome: string; nodeId: string; reasons: string[] } }[] }).placements;
    expect(placements[0]?.decision.outcome).toBe('local');
    expect(['it-media-1', 'it-media-2']).toContain(placements[0]?.decision.nodeId);
    expect(placements[0]?.decision.reasons.length).toBeGreaterThan(0);
    const unknown = await fetch(`${cp.url}/v1/calls/CA${'0'.repeat(32)}/placements`, { headers: { Authorization: basic(cp.operator.username, cp.operator.password) } });
    expect(unknown.status).toBe(404);

    await new Promise((r) => setTimeout(r, 2100)); // one metrics publish interval
    const metrics = await (await fetch(`${cp.url}/metrics`)).text();
    expect(metrics).toMatch(/^mesh_placement_decisions_total\{[^}]*outcome="local"[^}]*\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^mesh_active_calls\{[^}]*node="it-sig-1"[^}]*\} \d+$/m);
    expect(metrics).toMatch(/^mesh_call_attempts_total\{[^}]*region="us-east"[^}]*\} \d+$/m);
    expect(metrics).toMatch(/^mesh_ng_command_duration_seconds_bucket\{/m);
    // prom-client families: the node's webhook histogram (the API call fetched /voice and /next, sent 4 status callbacks)…
    const count = (re: RegExp): number => Number(re.exec(metrics)?.[1] ?? Number.NaN);
    expect(count(/^mesh_webhook_fetch_duration_seconds_count\{[^}]*node="it-sig-1"[^}]*kind="instructions",outcome="ok"\} (\d+)$/m)).toBeGreaterThanOrEqual(2);
    expect(count(/^mesh_webhook_fetch_duration_seconds_count\{[^}]*node="it-sig-1"[^}]*kind="status-callback",outcome="ok"\} (\d+)$/m)).toBeGreaterThanOrEqual(4);
    // …and process metrics of the node and of the control plane, event-loop delay among them.
    expect(metrics).toMatch(/^process_cpu_user_seconds_total\{region="us-east",node="it-sig-1"\} [\d.e+-]+$/m);
    expect(metrics).toMatch(/^nodejs_eventloop_lag_p99_seconds\{region="global",node="control-plane"\} [\d.e+-]+$/m);
  });

  it('an inbound call to a provisioned number is listed with its duration and billed as inbound minutes', async () => {
    const client = twilio(account.sid, account.authToken, { httpClient: new LocalRequestClient(cp.url) });
    await client.incomingPhoneNumbers.create({ phoneNumber: '+15559990000', voiceUrl: `${appUrl}/voice` });
    const res = await runSipp({
      scenario: 'uac-nomedia.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20000,
      service: '+15559990000',
      calls: 1,
      callDurationMs: 1500,
      timeoutMs: 30_000,
    });
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    const inbound = await waitFor(async () => {
      const list = await client.calls.list({ to: '+15559990000' });
      return list.find((c) => c.direction === 'inbound' && c.status === 'completed');
    }, 5000, 'inbound call record');
    expect(Number(inbound.duration)).toBeGreaterThanOrEqual(1);
    expect(inbound.from).toBe('carrier');
    const usage = await client.usage.records.list({ category: 'calls-inbound' });
    expect(Number(usage[0]?.usage)).toBeGreaterThanOrEqual(1);

    // The platform answered the INVITE: its INVITE→200 time is in the node's histogram.
    await new Promise((r) => setTimeout(r, 2100)); // one metrics publish interval
    const metrics = await (await fetch(`${cp.url}/metrics`)).text();
    const answered = /^mesh_invite_answer_duration_seconds_count\{region="us-east",node="it-sig-1"\} (\d+)$/m.exec(metrics)?.[1];
    expect(Number(answered)).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^mesh_invite_answer_duration_seconds_bucket\{region="us-east",node="it-sig-1",le="\+Inf"\} [1-9]\d*$/m);
  });
});
