/** CallRouter: Enqueue, wait applications, Leave, and Dial → Queue bridging between two calls of one router. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ERROR_SPEECH } from '../../../../signaling/router/runner.js';
import { APP, createHarness, FakeLeg, settle, tick, xml } from './runner-fakes.js';

const WAIT = 'https://app.test/wait';
const AFTER = 'https://app.test/after-queue';
const AGENT_APP = 'https://app.test/agent';
const AGENT_ACTION = 'https://app.test/agent-done';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function queueApp(opts: { limits?: Parameters<typeof createHarness>[0] } = {}) {
  const h = createHarness(opts.limits ?? {});
  h.docs.set(APP, xml(`<Enqueue waitUrl="${WAIT}" action="${AFTER}">support</Enqueue><Say>never</Say>`));
  h.docs.set(WAIT, xml('<Play>https://media.test/music.wav</Play>'));
  h.docs.set(AFTER, (p) => xml(`<Say>result ${String(p['QueueResult'])}</Say>`));
  return h;
}

describe('CallRouter: Enqueue and the wait application', () => {
  it('enqueues, runs the wait application again and again with queue parameters, and Leave ends it (QueueResult=leave)', async () => {
    const h = queueApp();
    let pass = 0;
    h.docs.set(WAIT, () => (++pass < 3 ? xml('<Play>https://media.test/music.wav</Play>') : xml('<Say>closing</Say><Leave/><Say>never</Say>')));
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg)));

    expect(h.queues.log).toEqual(['enqueue:support:CA1', 'leave:QU1:CA1']);
    const waits = h.requestsTo(WAIT);
    expect(waits).toHaveLength(3);
    expect(waits[0]!.params).toMatchObject({ QueueSid: 'QU1', QueuePosition: '1', CurrentQueueSize: '1', QueueTime: '0', AvgQueueTime: '0', CallSid: 'CA1' });
    expect(waits[1]!.params['QueueTime']).toBe('2');
    expect(waits[2]!.params['QueueTime']).toBe('4');
    expect(leg.events).toEqual([
      'answer', 'play:/media/music.wav', 'play:/media/music.wav', 'play:/tts/closing', 'play:/tts/result leave', 'hangup',
    ]);
    expect(h.requestsTo(AFTER)[0]!.params).toMatchObject({ QueueResult: 'leave', QueueSid: 'QU1', QueueTime: '5' });
    expect(s).toMatchObject({ ended: 'completed', documents: 5 });
    expect(h.router.waiting).toBe(0);
  });

  it('reports the position of each caller to its wait application', async () => {
    const h = queueApp();
    const a = new FakeLeg('CA1');
    const b = new FakeLeg('CA2');
    const pa = h.router.run(h.call(a));
    await tick(500);
    const pb = h.router.run(h.call(b));
    await tick(100);
    const first = h.requestsTo(WAIT).filter((r) => r.params['CallSid'] === 'CA2')[0]!;
    expect(first.params).toMatchObject({ QueuePosition: '2', CurrentQueueSize: '2' });
    a.remoteHangup();
    await settle(pa);
    await tick(2000);
    const later = h.requestsTo(WAIT).filter((r) => r.params['CallSid'] === 'CA2').at(-1)!;
    expect(later.params).toMatchObject({ QueuePosition: '1', CurrentQueueSize: '1' });
    expect(later.params['AvgQueueTime']).toBe('1');
    b.remoteHangup();
    await settle(pb);
  });

  it('a full queue gives QueueResult=queue-full at once; without action the next verb runs', async () => {
    const h = createHarness();
    h.queues.maxSize = 0;
    h.docs.set(APP, xml(`<Enqueue waitUrl="${WAIT}">support</Enqueue><Say>full</Say>`));
    const leg = new FakeLeg('CA1');
    await settle(h.router.run(h.call(leg)));
    expect(h.requestsTo(WAIT)).toHaveLength(0);
    expect(leg.events).toEqual(['answer', 'play:/tts/full', 'hangup']);
  });

  it('queue-full with an action reports it there', async () => {
    const h = queueApp();
    h.queues.maxSize = 0;
    const leg = new FakeLeg('CA1');
    await settle(h.router.run(h.call(leg)));
    expect(h.requestsTo(AFTER)[0]!.params['QueueResult']).toBe('queue-full');
    expect(leg.events).toContain('play:/tts/result queue-full');
  });

  it('a queue store failure is reported and gives QueueResult=system-error', async () => {
    const h = queueApp();
    h.queues.failEnqueue = true;
    const s = await settle(h.router.run(h.call(new FakeLeg('CA1'))));
    expect(h.requestsTo(AFTER)[0]!.params['QueueResult']).toBe('system-error');
    expect(s.errors.map((e) => e.code)).toEqual([12400]);
  });

  it('the caller hanging up while waiting leaves the queue; the action is told QueueResult=hangup but not run', async () => {
    const h = queueApp();
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(3000);
    leg.remoteHangup();
    const s = await settle(p);
    expect(h.queues.log).toEqual(['enqueue:support:CA1', 'leave:QU1:CA1']);
    expect(h.queues.size('AC1', 'support')).toBe(0);
    expect(h.requestsTo(AFTER)[0]!.params).toMatchObject({ QueueResult: 'hangup', QueueTime: '3', CallStatus: 'completed' });
    expect(leg.events).not.toContain('play:/tts/result hangup');
    expect(s.ended).toBe('caller-hangup');
    expect(h.router.waiting).toBe(0);
  });

  it('Hangup in the wait application hangs up (QueueResult=hangup)', async () => {
    const h = queueApp();
    h.docs.set(WAIT, xml('<Say>we are closed</Say><Hangup/>'));
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg)));
    expect(s.ended).toBe('hangup');
    expect(leg.events).toEqual(['answer', 'play:/tts/we are closed', 'hangup']);
    expect(h.requestsTo(AFTER)[0]!.params['QueueResult']).toBe('hangup');
    expect(h.queues.size('AC1', 'support')).toBe(0);
  });

  it('a verb not allowed in a wait application is a document error: spoken error, hang-up, report, out of the queue', async () => {
    const h = queueApp();
    h.docs.set(WAIT, xml('<Say>hold</Say><Dial>+1001</Dial>'));
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg)));
    expect(s.ended).toBe('error');
    expect(s.errors[0]).toMatchObject({ code: 12200, url: WAIT });
    expect(leg.plays.map((p) => p.file)).toEqual([`/tts/${ERROR_SPEECH.text}`]);
    expect(h.queues.size('AC1', 'support')).toBe(0);
    expect(h.errorReports()[0]).toMatchObject({ ErrorCode: '12200', ErrorUrl: WAIT });
  });

  it('a wait application that cannot be fetched takes the error path', async () => {
    const h = queueApp();
    h.docs.delete(WAIT);
    const s = await settle(h.router.run(h.call(new FakeLeg('CA1'))));
    expect(s.ended).toBe('error');
    expect(s.errors[0]).toMatchObject({ code: 11205, url: WAIT });
  });

  it('Redirect inside a wait application replaces the document; the next pass asks waitUrl again', async () => {
    const h = queueApp();
    let pass = 0;
    h.docs.set(WAIT, () => (++pass === 1 ? xml('<Redirect>/wait2</Redirect>') : xml('<Leave/>')));
    h.docs.set('https://app.test/wait2', xml('<Say>second</Say>'));
    const leg = new FakeLeg('CA1');
    await settle(h.router.run(h.call(leg)));
    expect(h.requests.map((r) => r.url)).toEqual([APP, WAIT, 'https://app.test/wait2', WAIT, AFTER]);
    expect(h.requestsTo('https://app.test/wait2')[0]!.params['QueueSid']).toBe('QU1');
  });

  it('an empty wait document does not spin: passes are spaced by queuePollMs', async () => {
    const h = queueApp({ limits: { limits: { queuePollMs: 1000 } } });
    h.docs.set(WAIT, xml(''));
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(10_000);
    expect(h.requestsTo(WAIT).length).toBeGreaterThanOrEqual(10);
    expect(h.requestsTo(WAIT).length).toBeLessThanOrEqual(11);
    leg.remoteHangup();
    await settle(p);
  });

  it('an API redirect of a waiting call stops the wait and runs the new URL (no action)', async () => {
    const h = queueApp();
    h.docs.set('https://app.test/moved', xml('<Say>moved</Say>'));
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(3000);
    expect(h.router.redirect('CA1', 'https://app.test/moved', 'POST')).toBe(true);
    const s = await settle(p);
    expect(leg.events).toEqual(['answer', 'play:/media/music.wav', 'play:/media/music.wav', 'play:/tts/moved', 'hangup']);
    expect(leg.plays[1]!.result).toBe('aborted');
    expect(h.requestsTo(AFTER)).toHaveLength(0);
    expect(h.queues.size('AC1', 'support')).toBe(0);
    expect(s.ended).toBe('completed');
  });
});

describe('CallRouter: Dial → Queue', () => {
  function agentDoc(h: ReturnType<typeof queueApp>, queue = '<Queue>support</Queue>', attrs = '') {
    h.docs.set(AGENT_APP, xml(`<Dial action="${AGENT_ACTION}" ${attrs}>${queue}</Dial>`));
    h.docs.set(AGENT_ACTION, (p) => xml(`<Say>agent ${String(p['DialCallStatus'])}</Say>`));
  }

  it('takes the front caller, stops its wait application, bridges the two; the caller gets QueueResult=bridged when it ends', async () => {
    const h = queueApp();
    agentDoc(h);
    const caller = new FakeLeg('CA1');
    const agent = new FakeLeg('CA2');
    const pc = h.router.run(h.call(caller));
    await tick(5000);
    expect(h.router.waiting).toBe(1);
    const pa = h.router.run(h.call(agent, { url: AGENT_APP }));
    await tick(0);
    expect(caller.plays.at(-1)!.result).toBe('aborted');
    expect(caller.peer?.port).toBe(agent.port);
    expect(agent.peer?.port).toBe(caller.port);
    expect(h.router.waiting).toBe(0);
    await tick(20_000);
    agent.remoteHangup();
    const [sc, sa] = await Promise.all([settle(pc), settle(pa)]);

    expect(h.queues.log).toEqual(['enqueue:support:CA1', 'dequeue:support:CA1']);
    expect(caller.events.slice(-4)).toEqual([`connect:${agent.port}`, 'connect:none', 'play:/tts/result bridged', 'hangup']);
    expect(h.requestsTo(AFTER)[0]!.params).toMatchObject({ QueueResult: 'bridged', QueueSid: 'QU1', QueueTime: '5', CallSid: 'CA1' });
    expect(h.requestsTo(AGENT_ACTION)[0]!.params).toMatchObject({
      DialCallStatus: 'completed', DialCallSid: 'CA1', DialCallDuration: '20', QueueSid: 'QU1', CallSid: 'CA2',
    });
    expect(agent.plays).toHaveLength(0);
    expect(sc.ended).toBe('completed');
    expect(sa.ended).toBe('caller-hangup');
  });

  it('the queued caller hanging up during the bridge lets the agent go on with its action', async () => {
    const h = queueApp();
    agentDoc(h);
    const caller = new FakeLeg('CA1');
    const agent = new FakeLeg('CA2');
    const pc = h.router.run(h.call(caller));
    await tick(1000);
    const pa = h.router.run(h.call(agent, { url: AGENT_APP }));
    await tick(10_000);
    caller.remoteHangup();
    await settle(Promise.all([pc, pa]));
    expect(agent.events).toEqual(['answer', `connect:${caller.port}`, 'connect:none', 'play:/tts/agent completed', 'hangup']);
    expect(h.requestsTo(AFTER)[0]!.params['QueueResult']).toBe('bridged');
  });

  it('an empty queue is waited on: a caller joining on this router is taken at once', async () => {
    const h = queueApp({ limits: { limits: { queuePollMs: 60_000 } } });
    agentDoc(h, '<Queue>support</Queue>', 'timeout="30"');
    const caller = new FakeLeg('CA1');
    const agent = new FakeLeg('CA2');
    const pa = h.router.run(h.call(agent, { url: AGENT_APP }));
    await tick(3000);
    const pc = h.router.run(h.call(caller));
    await tick(0);
    expect(agent.peer?.port).toBe(caller.port);
    caller.remoteHangup();
    await settle(Promise.all([pa, pc]));
    expect(h.requestsTo(AGENT_ACTION)[0]!.params['DialCallStatus']).toBe('completed');
  });

  it('a queue that stays empty until the Dial timeout gives no-answer', async () => {
    const h = queueApp();
    agentDoc(h, '<Queue>support</Queue>', 'timeout="10"');
    const agent = new FakeLeg('CA2');
    const started = Date.now();
    await settle(h.router.run(h.call(agent, { url: AGENT_APP })));
    expect(h.requestsTo(AGENT_ACTION)[0]!.params['DialCallStatus']).toBe('no-answer');
    expect(agent.plays[0]!.at - started).toBe(10_000);
  });

  it('the agent hanging up while waiting for a caller: canceled', async () => {
    const h = queueApp();
    agentDoc(h);
    const agent = new FakeLeg('CA2');
    const p = h.router.run(h.call(agent, { url: AGENT_APP }));
    await tick(2000);
    agent.remoteHangup();
    const s = await settle(p);
    expect(h.requestsTo(AGENT_ACTION)[0]!.params['DialCallStatus']).toBe('canceled');
    expect(s.ended).toBe('caller-hangup');
  });

  it('the <Queue url> announcement plays to the queued caller before the bridge', async () => {
    const h = queueApp();
    agentDoc(h, '<Queue url="/announce">support</Queue>');
    h.docs.set('https://app.test/announce', xml('<Say>connecting you</Say>'));
    const caller = new FakeLeg('CA1');
    const agent = new FakeLeg('CA2');
    const pc = h.router.run(h.call(caller));
    await tick(1000);
    const pa = h.router.run(h.call(agent, { url: AGENT_APP }));
    await tick(500);
    expect(caller.events.at(-1)).toBe('play:/tts/connecting you');
    expect(agent.peer).toBeUndefined();
    await tick(600);
    expect(agent.peer?.port).toBe(caller.port);
    expect(h.requestsTo('https://app.test/announce')[0]!.params).toMatchObject({ QueueSid: 'QU1', DequeingCallSid: 'CA2', CallSid: 'CA1' });
    agent.remoteHangup();
    await settle(Promise.all([pc, pa]));
  });

  it('the caller hanging up during the announcement: the agent takes the next caller', async () => {
    const h = queueApp();
    agentDoc(h, '<Queue url="/announce">support</Queue>');
    h.media.speechMs.set('connecting you', 5000);
    h.docs.set('https://app.test/announce', xml('<Say>connecting you</Say>'));
    const c1 = new FakeLeg('CA1');
    const c2 = new FakeLeg('CA3');
    const agent = new FakeLeg('CA2');
    const p1 = h.router.run(h.call(c1));
    await tick(100);
    const p2 = h.router.run(h.call(c2));
    await tick(100);
    const pa = h.router.run(h.call(agent, { url: AGENT_APP }));
    await tick(1000);
    c1.remoteHangup();
    await tick(5100);
    expect(agent.peer?.port).toBe(c2.port);
    expect(h.requestsTo(AFTER).find((r) => r.params['CallSid'] === 'CA1')!.params['QueueResult']).toBe('hangup');
    agent.remoteHangup();
    await settle(Promise.all([p1, p2, pa]));
    expect(h.queues.log).toEqual(['enqueue:support:CA1', 'enqueue:support:CA3', 'dequeue:support:CA1', 'dequeue:support:CA3']);
  });

  it('an API redirect of the queued caller during the bridge ends the bridge; the agent goes on', async () => {
    const h = queueApp();
    agentDoc(h);
    h.docs.set('https://app.test/moved', xml('<Say>moved</Say>'));
    const caller = new FakeLeg('CA1');
    const agent = new FakeLeg('CA2');
    const pc = h.router.run(h.call(caller));
    await tick(1000);
    const pa = h.router.run(h.call(agent, { url: AGENT_APP }));
    await tick(4000);
    expect(h.router.redirect('CA1', 'https://app.test/moved', 'POST')).toBe(true);
    await settle(Promise.all([pc, pa]));
    expect(caller.events.slice(-3)).toEqual(['connect:none', 'play:/tts/moved', 'hangup']);
    expect(agent.events).toContain('play:/tts/agent completed');
    expect(h.requestsTo(AFTER)).toHaveLength(0);
  });

  it('without a waitUrl the caller waits in silence and can still be dequeued', async () => {
    const h = queueApp();
    h.docs.set(APP, xml(`<Enqueue action="${AFTER}">support</Enqueue>`));
    agentDoc(h);
    const caller = new FakeLeg('CA1');
    const agent = new FakeLeg('CA2');
    const pc = h.router.run(h.call(caller));
    await tick(60_000);
    expect(caller.plays).toHaveLength(0);
    const pa = h.router.run(h.call(agent, { url: AGENT_APP }));
    await tick(0);
    expect(agent.peer?.port).toBe(caller.port);
    agent.remoteHangup();
    await settle(Promise.all([pc, pa]));
    expect(h.requestsTo(AFTER)[0]!.params['QueueResult']).toBe('bridged');
  });

  it('a dequeued call that waits on no call here (left over from a dead node) is skipped; the next one is bridged', async () => {
    const h = queueApp();
    agentDoc(h);
    await h.queues.addForeign('AC1', 'support', 'CA-elsewhere');
    const caller = new FakeLeg('CA1');
    const pc = h.router.run(h.call(caller));
    await tick(100);
    const agent = new FakeLeg('CA2');
    const pa = h.router.run(h.call(agent, { url: AGENT_APP }));
    await tick(0);
    expect(agent.peer?.port).toBe(caller.port);
    expect(h.queues.size('AC1', 'support')).toBe(0);
    agent.remoteHangup();
    await settle(Promise.all([pc, pa]));
    expect(h.requestsTo(AGENT_ACTION)[0]!.params['DialCallStatus']).toBe('completed');
  });

  it('a queue holding only a left-over call is empty to Dial: no-answer after the timeout', async () => {
    const h = queueApp();
    agentDoc(h);
    await h.queues.addForeign('AC1', 'support', 'CA-elsewhere');
    const agent = new FakeLeg('CA2');
    await settle(h.router.run(h.call(agent, { url: AGENT_APP })));
    expect(h.requestsTo(AGENT_ACTION)[0]!.params['DialCallStatus']).toBe('no-answer');
  });

  it('close() while a caller waits and an agent is bridged ends both runs', async () => {
    const h = queueApp();
    agentDoc(h);
    const c1 = new FakeLeg('CA1');
    const c2 = new FakeLeg('CA3');
    const agent = new FakeLeg('CA2');
    const runs = [h.router.run(h.call(c1)), h.router.run(h.call(c2))];
    await tick(100);
    runs.push(h.router.run(h.call(agent, { url: AGENT_APP })));
    await tick(1000);
    await settle(h.router.close());
    const ends = (await Promise.all(runs)).map((s) => s.ended);
    expect(ends).toEqual(['closed', 'closed', 'closed']);
    expect(h.router.active).toBe(0);
    expect(h.router.waiting).toBe(0);
    expect(h.queues.size('AC1', 'support')).toBe(0);
  });
});
