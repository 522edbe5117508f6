/**
 * CallRouter: Say/Play/Pause, Reject/Hangup/Redirect, fallback and the error
 * path, hang-ups mid-verb, API redirects, bounds, close(). Fake leg and
 * fake timers; documents served by an injected fetchDocument.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../../regions/core/log.js';
import type { GuardedRequestOptions } from '../../../../regions/net/guarded-request.js';
import type { FetchInstructionsOptions } from '../../../../signaling/router/fetch.js';
import { HostBreakers } from '../../../../signaling/router/host-breakers.js';
import { CallRouter, ERROR_SPEECH } from '../../../../signaling/router/runner.js';
import { parseTwiml } from '../../../../signaling/router/twiml.js';
import { computeSignature } from '../../../../signaling/webhooks/signature.js';
import {
  APP, createHarness, FakeDialer, FakeLeg, FakeMedia, FakeQueues, FakeRecordings, FALLBACK, settle, STATUS_CB, tick, xml,
} from './runner-fakes.js';
import { fakeGuardedRequest, type FakeFetch } from './fake-http.js';

// sendWebhook talks HTTP through guardedRequest (the destination policy's client), not the global fetch.
const fake = vi.hoisted(() => ({ handler: undefined as FakeFetch | undefined }));
vi.mock('../../../../regions/net/guarded-request.js', async (orig) => ({
  ...(await orig<object>()),
  guardedRequest: (o: GuardedRequestOptions) => fakeGuardedRequest(o, fake.handler),
}));
const setFetch = (h: FakeFetch): void => {
  fake.handler = h;
};

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('CallRouter: media verbs', () => {
  it('answers before the first Say, plays Say/Play/Pause in order with loops, and hangs up at the end', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Say loop="2" voice="alice" language="en-GB">Hello</Say><Pause length="3"/><Play>https://media.test/a.wav</Play>'));
    const leg = new FakeLeg('CA1');
    const started = Date.now();
    const s = await settle(h.router.run(h.call(leg)));

    expect(leg.events).toEqual(['answer', 'play:/tts/Hello', 'play:/tts/Hello', 'play:/media/a.wav', 'hangup']);
    expect(h.media.requests).toEqual(['speech:Hello|alice|en-GB', 'url:https://media.test/a.wav']);
    // 2 × 1 s of speech, 3 s of pause, then 2 s of audio.
    expect(leg.plays.map((p) => p.at - started)).toEqual([0, 1000, 5000]);
    expect(leg.plays.every((p) => p.result === 'played')).toBe(true);
    expect(s).toMatchObject({ callSid: 'CA1', ended: 'completed', documents: 1, verbs: 3, errors: [], callStatus: 'completed' });
    expect(h.requests[0]).toMatchObject({ url: APP, method: 'POST' });
    expect(h.requests[0]!.params).toMatchObject({ CallSid: 'CA1', CallStatus: 'ringing', From: '+15550001111', Direction: 'inbound' });
    expect(h.router.active).toBe(0);
  });

  it('does not answer an outbound (already answered) leg and reports CallStatus in-progress', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Redirect>/next</Redirect>'));
    h.docs.set('https://app.test/next', xml('<Say>hi</Say>'));
    const leg = new FakeLeg('CA1', { answered: true });
    await settle(h.router.run(h.call(leg)));
    expect(leg.events).toEqual(['play:/tts/hi', 'hangup']);
    expect(h.requests.map((r) => r.params['CallStatus'])).toEqual(['in-progress', 'in-progress']);
  });

  it('sends Play digits to the party', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Play digits="12w#"/>'));
    const leg = new FakeLeg('CA1');
    await settle(h.router.run(h.call(leg)));
    expect(leg.sentDigits).toEqual(['12w#']);
    expect(leg.plays).toHaveLength(0);
  });

  it('reports a Play whose media fails to load (11200) and goes on with the next verb', async () => {
    const h = createHarness();
    h.media.failUrls.add('https://media.test/missing.wav');
    h.docs.set(APP, xml('<Play>https://media.test/missing.wav</Play><Say>after</Say>'));
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg)));
    expect(leg.events).toEqual(['answer', 'play:/tts/after', 'hangup']);
    expect(s.ended).toBe('completed');
    expect(s.errors).toEqual([expect.objectContaining({ code: 11200, url: 'https://media.test/missing.wav' })]);
    const [report] = h.errorReports();
    expect(report).toMatchObject({ ErrorCode: '11200', ErrorUrl: 'https://media.test/missing.wav', CallSid: 'CA1' });
    expect(String(report!['ErrorMessage'])).toContain('could not load media');
  });

  it('reports failed speech synthesis and goes on', async () => {
    const h = createHarness();
    h.media.failSpeech = true;
    h.docs.set(APP, xml('<Say>x</Say><Play>https://media.test/a.wav</Play>'));
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg)));
    expect(leg.events).toEqual(['answer', 'play:/media/a.wav', 'hangup']);
    expect(s.errors.map((e) => e.code)).toEqual([12400]);
  });

  it('treats a playback the media engine refuses as an error and goes on', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Say>a</Say><Hangup/>'));
    const leg = new FakeLeg('CA1');
    leg.failPlay = true;
    const s = await settle(h.router.run(h.call(leg)));
    expect(s.ended).toBe('hangup');
    expect(s.errors.map((e) => e.code)).toEqual([12400]);
  });
});

describe('CallRouter: Reject, Hangup, Redirect, Leave', () => {
  it('rejects an unanswered call without answering it (busy → busy)', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Reject reason="busy"/><Say>never</Say>'));
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg)));
    expect(leg.events).toEqual(['reject:busy']);
    expect(s).toMatchObject({ ended: 'rejected', callStatus: 'busy', verbs: 1 });
  });

  it('Reject defaults to "rejected" and ends with no-answer', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Reject/>'));
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg)));
    expect(leg.events).toEqual(['reject:rejected']);
    expect(s.callStatus).toBe('no-answer');
  });

  it('a Reject after the call was answered hangs up', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Say>hi</Say><Reject/>'));
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg)));
    expect(leg.events).toEqual(['answer', 'play:/tts/hi', 'hangup']);
    expect(s).toMatchObject({ ended: 'rejected', callStatus: 'completed' });
  });

  it('Hangup hangs up and skips the rest of the document', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Say>bye</Say><Hangup/><Say>never</Say>'));
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg)));
    expect(leg.events).toEqual(['answer', 'play:/tts/bye', 'hangup']);
    expect(s.ended).toBe('hangup');
  });

  it('Redirect fetches the URL with its method (relative URLs resolved) and runs it; Leave outside a queue is a no-op', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Leave/><Redirect method="GET">next?x=1</Redirect><Say>never</Say>'));
    h.docs.set('https://app.test/next?x=1', xml('<Say>second</Say>'));
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg)));
    expect(h.requests.map((r) => `${r.method} ${r.url}`)).toEqual([`POST ${APP}`, 'GET https://app.test/next?x=1']);
    expect(leg.events).toEqual(['answer', 'play:/tts/second', 'hangup']);
    expect(s).toMatchObject({ documents: 2, verbs: 3 });
  });
});

describe('CallRouter: fallback and the error path', () => {
  it('runs the fallback document when the primary fails, with ErrorCode/ErrorUrl, and reports the primary error', async () => {
    const h = createHarness();
    h.docs.set(APP, { status: 500 });
    h.docs.set(FALLBACK, xml('<Say>fallback</Say>'));
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg, { fallback: true })));
    expect(leg.events).toEqual(['answer', 'play:/tts/fallback', 'hangup']);
    expect(h.requestsTo(FALLBACK)[0]!.params).toMatchObject({ ErrorCode: '11200', ErrorUrl: APP, CallSid: 'CA1' });
    expect(s.ended).toBe('completed');
    expect(h.errorReports()).toEqual([expect.objectContaining({ ErrorCode: '11200', ErrorUrl: APP })]);
  });

  it('an invalid document (unknown verb) also goes to the fallback', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Dance/>'));
    h.docs.set(FALLBACK, xml('<Say>ok</Say>'));
    const leg = new FakeLeg('CA1');
    await settle(h.router.run(h.call(leg, { fallback: true })));
    expect(h.requestsTo(FALLBACK)[0]!.params['ErrorCode']).toBe('12200');
    expect(leg.events).toContain('play:/tts/ok');
  });

  it('when both fail: spoken error, hang-up, error reported to the status callback', async () => {
    const h = createHarness();
    h.docs.set(APP, '<Response><Say>unclosed');
    h.docs.set(FALLBACK, { status: 503 });
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg, { fallback: true })));
    expect(h.media.requests).toEqual([`speech:${ERROR_SPEECH.text}|${ERROR_SPEECH.voice}|${ERROR_SPEECH.language}`]);
    expect(leg.events).toEqual(['answer', `play:/tts/${ERROR_SPEECH.text}`, 'hangup']);
    expect(leg.plays[0]!.result).toBe('played');
    expect(s).toMatchObject({ ended: 'error', documents: 0, callStatus: 'completed' });
    const reports = h.errorReports();
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ ErrorCode: '12100', ErrorUrl: APP, CallSid: 'CA1', AccountSid: 'AC1' });
    expect(String(reports[0]!['ErrorMessage'])).toContain('HTTP 503');
    expect(h.webhooks[0]).toMatchObject({ url: STATUS_CB, method: 'POST', authToken: 'token' });
  });

  it('without a fallback URL or status callback, a failed first document still speaks the error and hangs up', async () => {
    const h = createHarness();
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg, { statusCallback: false })));
    expect(s.ended).toBe('error');
    expect(s.errors[0]).toMatchObject({ code: 11205, url: APP });
    expect(leg.events).toEqual(['answer', `play:/tts/${ERROR_SPEECH.text}`, 'hangup']);
    expect(h.webhooks).toHaveLength(0);
  });

  it('a later document (an action) that cannot be had takes the same path, mid-call', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Say>first</Say><Redirect>/gone</Redirect>'));
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg, { fallback: true })));
    expect(h.requests.map((r) => r.url)).toEqual([APP, 'https://app.test/gone', FALLBACK]);
    expect(leg.events).toEqual(['answer', 'play:/tts/first', `play:/tts/${ERROR_SPEECH.text}`, 'hangup']);
    expect(s.ended).toBe('error');
    expect(h.errorReports()[0]).toMatchObject({ ErrorCode: '11205', ErrorUrl: 'https://app.test/gone' });
  });

  it('a failure to answer ends the call on the error path without a crash', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Say>x</Say>'));
    const leg = new FakeLeg('CA1');
    leg.failAnswer = true;
    const s = await settle(h.router.run(h.call(leg)));
    expect(s.ended).toBe('error');
    expect(s.errors[0]!.message).toContain('answer failed');
    expect(leg.events).toEqual(['hangup']);
  });
});

describe('CallRouter: bounds', () => {
  it('a Redirect loop without progress is an error (11215)', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Redirect>/a</Redirect>'));
    h.docs.set('https://app.test/a', xml('<Redirect>/b</Redirect>'));
    h.docs.set('https://app.test/b', xml('<Redirect>/a</Redirect>'));
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg)));
    expect(s.ended).toBe('error');
    expect(s.errors[0]!.code).toBe(11215);
    expect(h.requests.map((r) => r.url)).toEqual([APP, 'https://app.test/a', 'https://app.test/b']);
    expect(h.errorReports()[0]).toMatchObject({ ErrorCode: '11215', ErrorUrl: 'https://app.test/a' });
  });

  it('a chain of distinct redirects is bounded by maxRedirectChain', async () => {
    const h = createHarness({ limits: { maxRedirectChain: 3 } });
    for (let i = 0; i < 10; i++) h.docs.set(i === 0 ? APP : `https://app.test/r${i}`, xml(`<Redirect>/r${i + 1}</Redirect>`));
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg)));
    expect(s.ended).toBe('error');
    expect(h.requests).toHaveLength(4);
  });

  it('a redirect back to itself is fine when each pass takes time (progress), up to maxDocumentsPerCall', async () => {
    const h = createHarness({ limits: { maxDocumentsPerCall: 5 } });
    h.docs.set(APP, xml('<Pause length="1"/><Redirect/>'.replace('<Redirect/>', `<Redirect>${APP}</Redirect>`)));
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg)));
    expect(s.documents).toBe(5);
    expect(s.ended).toBe('error');
    expect(s.errors[0]!.message).toContain('more than 5 documents');
  });

  it('refuses calls beyond maxActiveCalls (busy) and a second run of the same call without touching its leg', async () => {
    const h = createHarness({ limits: { maxActiveCalls: 1 } });
    h.docs.set(APP, xml('<Pause length="10"/>'));
    const a = new FakeLeg('CA1');
    const b = new FakeLeg('CA2');
    const pa = h.router.run(h.call(a));
    await tick(0);
    const dup = await h.router.run(h.call(a));
    expect(dup.ended).toBe('refused');
    const sb = await h.router.run(h.call(b));
    expect(sb).toMatchObject({ ended: 'refused', callStatus: 'busy' });
    expect(b.events).toEqual(['reject:busy']);
    expect(h.router.active).toBe(1);
    const sa = await settle(pa);
    expect(sa.ended).toBe('completed');
    expect(a.events).toEqual(['answer', 'hangup']);
  });
});

describe('CallRouter: hang-ups at any moment', () => {
  it('the caller hanging up mid-Say stops the playback and the run', async () => {
    const h = createHarness();
    h.media.speechMs.set('long', 60_000);
    h.docs.set(APP, xml('<Say>long</Say><Say>never</Say>'));
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(5000);
    leg.remoteHangup();
    const s = await settle(p);
    expect(s).toMatchObject({ ended: 'caller-hangup', callStatus: 'completed', verbs: 1 });
    expect(leg.plays[0]!.result).toBe('aborted');
    expect(leg.events).toEqual(['answer', 'play:/tts/long', 'remote-hangup']);
    expect(s.durationMs).toBe(5000);
  });

  it('the caller hanging up while a document is fetched ends the run at once', async () => {
    const h = createHarness();
    h.docs.set(APP, { delayMs: 10_000, xml: xml('<Say>late</Say>') });
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(1000);
    leg.remoteHangup();
    const s = await settle(p);
    expect(s).toMatchObject({ ended: 'caller-hangup', callStatus: 'canceled', documents: 0 });
    expect(s.durationMs).toBe(1000);
    await tick(10_000);
    expect(leg.plays).toHaveLength(0);
  });

  it('a leg that is already over when run() starts just ends', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Say>x</Say>'));
    const leg = new FakeLeg('CA1');
    leg.remoteHangup();
    const s = await settle(h.router.run(h.call(leg)));
    expect(s.ended).toBe('caller-hangup');
    expect(leg.plays).toHaveLength(0);
  });
});

describe('CallRouter: API redirect', () => {
  it('aborts the current verb and runs the new URL; false for calls not running here', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Pause length="60"/><Say>never</Say>'));
    h.docs.set('https://app.test/moved', xml('<Say>moved</Say>'));
    const leg = new FakeLeg('CA1');
    const started = Date.now();
    const p = h.router.run(h.call(leg));
    await tick(2000);
    expect(h.router.redirect('CA-unknown', 'https://app.test/moved', 'POST')).toBe(false);
    expect(h.router.redirect('CA1', 'https://app.test/moved', 'GET')).toBe(true);
    const s = await settle(p);
    expect(h.requests.map((r) => `${r.method} ${r.url}`)).toEqual([`POST ${APP}`, 'GET https://app.test/moved']);
    expect(leg.events).toEqual(['answer', 'play:/tts/moved', 'hangup']);
    expect(leg.plays[0]!.at - started).toBe(2000);
    expect(s.ended).toBe('completed');
    expect(h.router.redirect('CA1', 'https://app.test/moved', 'GET')).toBe(false);
  });

  it('a redirect during a fetch replaces the document being fetched', async () => {
    const h = createHarness();
    h.docs.set(APP, { delayMs: 5000, xml: xml('<Say>old</Say>') });
    h.docs.set('https://app.test/moved', xml('<Say>new</Say>'));
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(100);
    expect(h.router.redirect('CA1', 'https://app.test/moved', 'POST')).toBe(true);
    await settle(p);
    expect(leg.events).toEqual(['answer', 'play:/tts/new', 'hangup']);
  });

  it('an API redirect starts a new redirect chain', async () => {
    const h = createHarness({ limits: { maxRedirectChain: 2 } });
    h.docs.set(APP, xml('<Redirect>/a</Redirect>'));
    h.docs.set('https://app.test/a', xml('<Redirect>/b</Redirect>'));
    h.docs.set('https://app.test/b', { delayMs: 1000, xml: xml('<Redirect>/c</Redirect>') });
    h.docs.set('https://app.test/api', xml('<Redirect>/x</Redirect>'));
    h.docs.set('https://app.test/x', xml('<Say>done</Say>'));
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(500);
    h.router.redirect('CA1', 'https://app.test/api', 'POST');
    const s = await settle(p);
    expect(s.ended).toBe('completed');
    expect(leg.events).toContain('play:/tts/done');
  });
});

describe('CallRouter: close()', () => {
  it('hangs up every running call, waits for them, is idempotent, and refuses new calls', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Pause length="600"/>'));
    const a = new FakeLeg('CA1');
    const b = new FakeLeg('CA2');
    const pa = h.router.run(h.call(a));
    const pb = h.router.run(h.call(b));
    await tick(1000);
    expect(h.router.active).toBe(2);
    const c1 = h.router.close();
    const c2 = h.router.close();
    expect(c2).toBe(c1);
    await settle(c1);
    expect(h.router.active).toBe(0);
    expect((await pa).ended).toBe('closed');
    expect((await pb).ended).toBe('closed');
    expect(a.events).toEqual(['answer', 'hangup']);
    const late = new FakeLeg('CA3');
    expect((await h.router.run(h.call(late))).ended).toBe('refused');
    expect(late.events).toEqual(['reject:busy']);
  });
});

describe('CallRouter: fetch options', () => {
  it('passes the app fallback, per-app timeout, auth token, shared breakers and parser limits to every fetch', async () => {
    const seen: FetchInstructionsOptions[] = [];
    const breakers = new HostBreakers();
    const router = new CallRouter({
      media: new FakeMedia(), dialer: new FakeDialer(), queues: new FakeQueues(), recordings: new FakeRecordings(), log: silentLogger, breakers,
      limits: { twiml: { maxBytes: 2048, maxLoop: 3 } },
      fetchDocument: async (o) => {
        seen.push(o);
        return { document: parseTwiml(xml(seen.length === 1 ? '<Redirect>/two</Redirect>' : '<Hangup/>'), { documentUrl: o.primary.url }), source: 'primary', ms: 0 };
      },
    });
    const leg = new FakeLeg('CA1');
    await settle(router.run({
      leg, authToken: 'secret', params: { CallSid: 'CA1' },
      app: { url: APP, method: 'GET', fallbackUrl: FALLBACK, fallbackMethod: 'GET', timeoutMs: 1500 },
    }));
    expect(seen).toHaveLength(2);
    for (const o of seen) {
      expect(o).toMatchObject({ fallback: { url: FALLBACK, method: 'GET' }, authToken: 'secret', timeoutMs: 1500, twiml: { maxBytes: 2048, maxLoop: 3 } });
      expect(o.breakers).toBe(breakers);
    }
    expect(seen.map((o) => `${o.primary.method} ${o.primary.url}`)).toEqual([`GET ${APP}`, 'POST https://app.test/two']);
  });
});

describe('CallRouter: default fetchDocument and webhook', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('fetches through fetchInstructions (signed, with fallback) and reports through sendWebhook', async () => {
    const seen: { url: string; signature: string; body: string }[] = [];
    setFetch(async (input: string | URL, init: RequestInit) => {
      const url = String(input);
      const headers = init.headers as Record<string, string>;
      seen.push({ url, signature: headers['X-Twilio-Signature'] ?? '', body: String(init.body ?? '') });
      if (url === APP) return new Response('oops', { status: 500 });
      if (url === FALLBACK) return new Response(xml('<Play>https://media.test/missing.wav</Play>'), { status: 200 });
      return new Response('', { status: 204 });
    });
    const media = new FakeMedia();
    media.failUrls.add('https://media.test/missing.wav');
    const router = new CallRouter({ media, dialer: new FakeDialer(), queues: new FakeQueues(), recordings: new FakeRecordings(), log: silentLogger });
    const h = createHarness();
    const leg = new FakeLeg('CA1');
    const s = await settle(router.run(h.call(leg, { fallback: true })));

    expect(seen.map((r) => r.url)).toEqual([APP, FALLBACK, STATUS_CB, STATUS_CB]);
    const fallbackBody = Object.fromEntries(new URLSearchParams(seen[1]!.body));
    expect(fallbackBody).toMatchObject({ ErrorCode: '11200', ErrorUrl: APP, CallSid: 'CA1' });
    expect(seen[1]!.signature).toBe(computeSignature('token', FALLBACK, fallbackBody));
    const reports = seen.slice(2).map((r) => Object.fromEntries(new URLSearchParams(r.body)));
    expect(reports.map((r) => [r['ErrorCode'], r['ErrorUrl']])).toEqual([['11200', APP], ['11200', 'https://media.test/missing.wav']]);
    expect(s.ended).toBe('completed');
  });
});
