/** CallRouter: Dial to numbers and SIP URIs (ringing, bridging, outcomes) with a fake dialer. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { APP, createHarness, FakeLeg, settle, tick, xml } from './runner-fakes.js';

const ACTION = 'https://app.test/dialed';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('CallRouter: Dial', () => {
  it('rings, bridges both ways on answer, unbridges the caller when the callee hangs up, and runs the action', async () => {
    const h = createHarness();
    const child = new FakeLeg('CA-child', { answered: true });
    h.dialer.plans.set('+15553334444', { after: 3000, answer: child });
    h.docs.set(APP, xml(`<Dial action="${ACTION}" timeout="20"><Number>+15553334444</Number></Dial><Say>never</Say>`));
    h.docs.set(ACTION, (p) => xml(`<Say>status ${String(p['DialCallStatus'])}</Say>`));
    const parent = new FakeLeg('CA1');
    const p = h.router.run(h.call(parent));
    await tick(3000);
    expect(parent.peer).toEqual(child.mediaEndpoint());
    expect(child.peer).toEqual(parent.mediaEndpoint());
    await tick(30_000);
    child.remoteHangup();
    const s = await settle(p);

    const req = h.dialer.requests[0]!;
    expect(req).toMatchObject({ to: '+15553334444', from: '+15550001111', timeoutSeconds: 20 });
    expect(req.parent).toBe(parent);
    expect(parent.events).toEqual(['answer', `connect:${child.port}`, 'connect:none', 'play:/tts/status completed', 'hangup']);
    expect(child.events).toEqual([`connect:${parent.port}`, 'remote-hangup']);
    expect(h.requestsTo(ACTION)[0]!.params).toMatchObject({ DialCallStatus: 'completed', DialCallSid: 'CA-child', DialCallDuration: '30' });
    expect(s.ended).toBe('completed');
  });

  it('rings all targets in parallel: the first answer wins, the others are cancelled; callerId is used as From', async () => {
    const h = createHarness();
    const winner = new FakeLeg('CA-sip', { answered: true });
    h.dialer.plans.set('+15550000001', { after: 10_000, answer: new FakeLeg('CA-late', { answered: true }) });
    h.dialer.plans.set('sip:bob@example.com', { after: 2000, answer: winner });
    h.docs.set(APP, xml(`<Dial callerId="+15559990000"><Number>+15550000001</Number><Sip>sip:bob@example.com</Sip></Dial><Say>after</Say>`));
    const parent = new FakeLeg('CA1');
    const p = h.router.run(h.call(parent));
    await tick(2000);
    expect(h.dialer.requests.map((r) => [r.to, r.from])).toEqual([['+15550000001', '+15559990000'], ['sip:bob@example.com', '+15559990000']]);
    expect(h.dialer.requests[0]!.signal.aborted).toBe(true);
    expect(h.dialer.requests[1]!.signal.aborted).toBe(false);
    expect(h.dialer.cancelled).toEqual(['+15550000001']);
    winner.remoteHangup();
    await settle(p);
    expect(parent.events).toContain('play:/tts/after');
  });

  it('rings a Client beside a Number as client:<identity> with its parameters; the Number answering first cancels the client', async () => {
    const h = createHarness();
    const winner = new FakeLeg('CA-num', { answered: true });
    h.dialer.plans.set('client:alice', { after: 10_000, answer: new FakeLeg('CA-client', { answered: true }) });
    h.dialer.plans.set('+15550000002', { after: 1500, answer: winner });
    h.docs.set(APP, xml(`<Dial action="${ACTION}"><Client><Identity>alice</Identity><Parameter name="ticket" value="42"/></Client><Number>+15550000002</Number></Dial>`));
    h.docs.set(ACTION, () => xml('<Hangup/>'));
    const parent = new FakeLeg('CA1');
    const p = h.router.run(h.call(parent));
    await tick(1500);
    expect(h.dialer.requests.map((r) => r.to)).toEqual(['client:alice', '+15550000002']);
    expect(h.dialer.requests[0]!.clientParameters).toEqual([{ name: 'ticket', value: '42' }]);
    expect(h.dialer.requests[1]!.clientParameters).toBeUndefined();
    expect(h.dialer.cancelled).toEqual(['client:alice']);
    winner.remoteHangup();
    await settle(p);
    expect(h.requestsTo(ACTION)[0]!.params).toMatchObject({ DialCallStatus: 'completed', DialCallSid: 'CA-num' });
  });

  it('a late answer from a losing target is hung up', async () => {
    const h = createHarness();
    const a = new FakeLeg('CA-a', { answered: true });
    const b = new FakeLeg('CA-b', { answered: true });
    h.dialer.plans.set('+1001', { after: 1000, answer: a });
    h.dialer.plans.set('+1002', { after: 1500, answer: b, ignoreAbort: true });
    h.docs.set(APP, xml('<Dial><Number>+1001</Number><Number>+1002</Number></Dial>'));
    const parent = new FakeLeg('CA1');
    const p = h.router.run(h.call(parent));
    await tick(1000);
    expect(h.dialer.requests[1]!.signal.aborted).toBe(true);
    await tick(500);
    expect(b.events).toEqual(['hangup']);
    expect(parent.peer?.port).toBe(a.port);
    a.remoteHangup();
    await settle(p);
  });

  it.each([
    ['busy', 'busy'],
    ['no-answer', 'no-answer'],
    ['failed', 'failed'],
  ] as const)('an unanswered Dial (%s) reports DialCallStatus=%s to the action, without DialCallSid', async (outcome, status) => {
    const h = createHarness();
    h.dialer.plans.set('+1001', { after: 1000, status: outcome });
    h.docs.set(APP, xml(`<Dial action="${ACTION}">+1001</Dial>`));
    h.docs.set(ACTION, xml('<Hangup/>'));
    const parent = new FakeLeg('CA1');
    await settle(h.router.run(h.call(parent)));
    const params = h.requestsTo(ACTION)[0]!.params;
    expect(params['DialCallStatus']).toBe(status);
    expect(params['DialCallSid']).toBeUndefined();
    expect(params['DialCallDuration']).toBeUndefined();
  });

  it('mixed outcomes of several targets: no-answer wins over busy and failed', async () => {
    const h = createHarness();
    h.dialer.plans.set('+1001', { after: 100, status: 'busy' });
    h.dialer.plans.set('+1002', { after: 200, status: 'no-answer' });
    h.dialer.plans.set('+1003', { after: 300, status: 'failed' });
    h.docs.set(APP, xml(`<Dial action="${ACTION}"><Number>+1001</Number><Number>+1002</Number><Number>+1003</Number></Dial>`));
    h.docs.set(ACTION, xml('<Hangup/>'));
    await settle(h.router.run(h.call(new FakeLeg('CA1'))));
    expect(h.requestsTo(ACTION)[0]!.params['DialCallStatus']).toBe('no-answer');
  });

  it('without action, an unanswered Dial goes on with the next verb', async () => {
    const h = createHarness();
    h.dialer.plans.set('+1001', { after: 500, status: 'busy' });
    h.docs.set(APP, xml('<Dial>+1001</Dial><Say>voicemail</Say>'));
    const parent = new FakeLeg('CA1');
    await settle(h.router.run(h.call(parent)));
    expect(parent.events).toEqual(['answer', 'play:/tts/voicemail', 'hangup']);
  });

  it('a dialer that never answers is cancelled after timeout + grace (no-answer)', async () => {
    const h = createHarness({ limits: { dialGraceMs: 1000 } });
    h.dialer.plans.set('+1001', { never: true });
    h.docs.set(APP, xml(`<Dial timeout="5" action="${ACTION}">+1001</Dial>`));
    h.docs.set(ACTION, xml('<Hangup/>'));
    const started = Date.now();
    const p = h.router.run(h.call(new FakeLeg('CA1')));
    await tick(5900);
    expect(h.requestsTo(ACTION)).toHaveLength(0);
    await tick(200);
    expect(h.requestsTo(ACTION)).toHaveLength(1);
    expect(Date.now() - started).toBe(6100);
    expect(h.requestsTo(ACTION)[0]!.params['DialCallStatus']).toBe('no-answer');
    expect(h.dialer.requests[0]!.signal.aborted).toBe(true);
    await settle(p);
  });

  it('the caller hanging up while it rings cancels the attempt; the action is told canceled but not run', async () => {
    const h = createHarness();
    h.dialer.plans.set('+1001', { after: 20_000, answer: new FakeLeg('CA-x', { answered: true }) });
    h.docs.set(APP, xml(`<Dial action="${ACTION}">+1001</Dial>`));
    h.docs.set(ACTION, xml('<Say>never</Say>'));
    const parent = new FakeLeg('CA1');
    const p = h.router.run(h.call(parent));
    await tick(4000);
    parent.remoteHangup();
    const s = await settle(p);
    expect(h.dialer.cancelled).toEqual(['+1001']);
    expect(h.requestsTo(ACTION)[0]!.params).toMatchObject({ DialCallStatus: 'canceled', CallStatus: 'completed' });
    expect(parent.plays).toHaveLength(0);
    expect(s.ended).toBe('caller-hangup');
  });

  it('the caller hanging up during the bridge hangs up the callee; the action is told completed', async () => {
    const h = createHarness();
    const child = new FakeLeg('CA-child', { answered: true });
    h.dialer.plans.set('+1001', { after: 1000, answer: child });
    h.docs.set(APP, xml(`<Dial action="${ACTION}">+1001</Dial>`));
    h.docs.set(ACTION, xml('<Say>never</Say>'));
    const parent = new FakeLeg('CA1');
    const p = h.router.run(h.call(parent));
    await tick(11_000);
    parent.remoteHangup();
    await settle(p);
    expect(child.events).toEqual([`connect:${parent.port}`, 'connect:none', 'hangup']);
    expect(h.requestsTo(ACTION)[0]!.params).toMatchObject({ DialCallStatus: 'completed', DialCallDuration: '10' });
    expect(parent.plays).toHaveLength(0);
  });

  it('timeLimit ends the bridge: the callee is hung up and the caller goes on', async () => {
    const h = createHarness();
    const child = new FakeLeg('CA-child', { answered: true });
    h.dialer.plans.set('+1001', { after: 1000, answer: child });
    h.docs.set(APP, xml('<Dial timeLimit="60">+1001</Dial><Say>time is up</Say>'));
    const parent = new FakeLeg('CA1');
    const started = Date.now();
    await settle(h.router.run(h.call(parent)));
    expect(child.events.at(-1)).toBe('hangup');
    expect(parent.events).toEqual(['answer', `connect:${child.port}`, 'connect:none', 'play:/tts/time is up', 'hangup']);
    expect(parent.plays[0]!.at - started).toBe(61_000);
  });

  it('Number sendDigits go to the callee before the bridge; a whisper url plays to the callee only', async () => {
    const h = createHarness();
    const child = new FakeLeg('CA-child', { answered: true });
    h.dialer.plans.set('+1001', { after: 1000, answer: child });
    h.docs.set(APP, xml('<Dial><Number sendDigits="1234" url="/whisper">+1001</Number></Dial>'));
    h.docs.set('https://app.test/whisper', xml('<Say>call for you</Say>'));
    const parent = new FakeLeg('CA1');
    const p = h.router.run(h.call(parent));
    await tick(1500);
    expect(child.events).toEqual(['digits:1234', 'play:/tts/call for you']);
    expect(parent.peer).toBeUndefined();
    await tick(1000);
    expect(parent.peer?.port).toBe(child.port);
    const whisper = h.requestsTo('https://app.test/whisper')[0]!;
    expect(whisper.params).toMatchObject({ CallSid: 'CA-child', ParentCallSid: 'CA1', To: '+1001', Direction: 'outbound-dial' });
    child.remoteHangup();
    await settle(p);
  });

  it('a whisper that hangs up does not connect (no-answer) and the callee is hung up', async () => {
    const h = createHarness();
    const child = new FakeLeg('CA-child', { answered: true });
    h.dialer.plans.set('+1001', { after: 1000, answer: child });
    h.docs.set(APP, xml(`<Dial action="${ACTION}"><Number url="/screen">+1001</Number></Dial>`));
    h.docs.set('https://app.test/screen', xml('<Hangup/>'));
    h.docs.set(ACTION, xml('<Say>declined</Say>'));
    const parent = new FakeLeg('CA1');
    await settle(h.router.run(h.call(parent)));
    expect(child.events).toEqual(['hangup']);
    expect(h.requestsTo(ACTION)[0]!.params).toMatchObject({ DialCallStatus: 'no-answer', DialCallSid: 'CA-child' });
    expect(parent.events).toContain('play:/tts/declined');
  });

  it('a bridge that cannot be set up fails the Dial (reported) and hangs up the callee', async () => {
    const h = createHarness();
    const child = new FakeLeg('CA-child', { answered: true });
    child.failConnect = true;
    h.dialer.plans.set('+1001', { after: 1000, answer: child });
    h.docs.set(APP, xml(`<Dial action="${ACTION}">+1001</Dial>`));
    h.docs.set(ACTION, xml('<Hangup/>'));
    const s = await settle(h.router.run(h.call(new FakeLeg('CA1'))));
    expect(h.requestsTo(ACTION)[0]!.params['DialCallStatus']).toBe('failed');
    expect(child.events.at(-1)).toBe('hangup');
    expect(s.errors.map((e) => e.code)).toEqual([12400]);
  });

  it('an API redirect during the bridge hangs up the callee, skips the action and runs the new URL', async () => {
    const h = createHarness();
    const child = new FakeLeg('CA-child', { answered: true });
    h.dialer.plans.set('+1001', { after: 1000, answer: child });
    h.docs.set(APP, xml(`<Dial action="${ACTION}">+1001</Dial>`));
    h.docs.set('https://app.test/moved', xml('<Say>moved</Say>'));
    const parent = new FakeLeg('CA1');
    const p = h.router.run(h.call(parent));
    await tick(5000);
    expect(h.router.redirect('CA1', 'https://app.test/moved', 'POST')).toBe(true);
    await settle(p);
    expect(child.events.at(-1)).toBe('hangup');
    expect(h.requestsTo(ACTION)).toHaveLength(0);
    expect(parent.events).toEqual(['answer', `connect:${child.port}`, 'connect:none', 'play:/tts/moved', 'hangup']);
  });

  it('a dialer that throws is a failed attempt, not a crash', async () => {
    const h = createHarness();
    h.dialer.dial = () => {
      throw new Error('no route');
    };
    h.docs.set(APP, xml(`<Dial action="${ACTION}">+1001</Dial>`));
    h.docs.set(ACTION, xml('<Hangup/>'));
    const s = await settle(h.router.run(h.call(new FakeLeg('CA1'))));
    expect(h.requestsTo(ACTION)[0]!.params['DialCallStatus']).toBe('failed');
    expect(s.ended).toBe('hangup');
  });
});
