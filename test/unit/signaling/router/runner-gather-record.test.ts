/** CallRouter: Gather and Record on a fake leg with fake timers. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { APP, createHarness, FakeLeg, settle, tick, xml } from './runner-fakes.js';

const ACTION = 'https://app.test/gathered';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function gatherApp(attrs: string, inner = '<Say>menu</Say>', after = '<Say>no input</Say>') {
  const h = createHarness();
  h.media.speechMs.set('menu', 10_000);
  h.docs.set(APP, xml(`<Gather action="${ACTION}" ${attrs}>${inner}</Gather>${after}`));
  h.docs.set(ACTION, (p) => xml(`<Say>got ${String(p['Digits'])}</Say>`));
  return h;
}

describe('CallRouter: Gather', () => {
  it('the first digit stops the prompt; numDigits ends input; action gets Digits and its document runs', async () => {
    const h = gatherApp('numDigits="3"');
    const leg = new FakeLeg('CA1');
    const started = Date.now();
    const p = h.router.run(h.call(leg));
    await tick(2000);
    leg.press('1');
    await tick(1000);
    expect(leg.plays[0]!.result).toBe('aborted');
    leg.press('23');
    const s = await settle(p);
    const req = h.requestsTo(ACTION)[0]!;
    expect(req.method).toBe('POST');
    expect(req.params).toMatchObject({ Digits: '123', FinishedOnKey: '', CallStatus: 'in-progress', CallSid: 'CA1' });
    expect(leg.events).toEqual(['answer', 'play:/tts/menu', 'play:/tts/got 123', 'hangup']);
    expect(leg.plays[1]!.at - started).toBe(3000);
    expect(s.ended).toBe('completed');
    expect(leg.digitListeners).toBe(0);
  });

  it('finishOnKey ends input and is not part of Digits', async () => {
    const h = gatherApp('');
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(500);
    leg.press('42#');
    await settle(p);
    expect(h.requestsTo(ACTION)[0]!.params).toMatchObject({ Digits: '42', FinishedOnKey: '#' });
  });

  it('waits `timeout` seconds after each digit, then submits what it has', async () => {
    const h = gatherApp('timeout="3"', '');
    const leg = new FakeLeg('CA1');
    const started = Date.now();
    const p = h.router.run(h.call(leg));
    await tick(2000);
    leg.press('7');
    await tick(2900);
    leg.press('8');
    await tick(2900);
    expect(h.requestsTo(ACTION)).toHaveLength(0);
    await tick(200);
    expect(h.requestsTo(ACTION)).toHaveLength(1);
    expect(Date.now() - started).toBe(8000);
    await settle(p);
    expect(h.requestsTo(ACTION)[0]!.params['Digits']).toBe('78');
  });

  it('no input: after the prompt and the timeout, falls through to the next verb', async () => {
    const h = gatherApp('timeout="4"');
    const leg = new FakeLeg('CA1');
    const started = Date.now();
    await settle(h.router.run(h.call(leg)));
    expect(h.requestsTo(ACTION)).toHaveLength(0);
    expect(leg.events).toEqual(['answer', 'play:/tts/menu', 'play:/tts/no input', 'hangup']);
    expect(leg.plays[0]!.result).toBe('played');
    // 10 s prompt + 4 s timeout.
    expect(leg.plays[1]!.at - started).toBe(14_000);
  });

  it('only the finish key (no digits) is no input: falls through', async () => {
    const h = gatherApp('');
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(100);
    leg.press('#');
    await settle(p);
    expect(h.requestsTo(ACTION)).toHaveLength(0);
    expect(leg.events).toContain('play:/tts/no input');
  });

  it('finishOnKey="" makes # an ordinary digit', async () => {
    const h = gatherApp('finishOnKey="" numDigits="2"');
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(100);
    leg.press('#5');
    await settle(p);
    expect(h.requestsTo(ACTION)[0]!.params['Digits']).toBe('#5');
  });

  it('without action, re-requests the current document URL', async () => {
    const h = createHarness();
    let n = 0;
    h.docs.set(APP, () => (++n === 1 ? xml('<Gather numDigits="1"/>') : xml('<Say>again</Say>')));
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(100);
    leg.press('5');
    await settle(p);
    expect(h.requestsTo(APP).map((r) => r.params['Digits'])).toEqual([undefined, '5']);
    expect(leg.events).toContain('play:/tts/again');
  });

  it('nested Play and Pause run in order and a digit during the Pause stops the rest', async () => {
    const h = gatherApp('numDigits="1"', '<Play>https://media.test/p.wav</Play><Pause length="5"/><Say>menu</Say>');
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(3000); // 2 s play, then 1 s into the pause
    leg.press('9');
    await settle(p);
    expect(leg.events).toEqual(['answer', 'play:/media/p.wav', 'play:/tts/got 9', 'hangup']);
  });

  it('digits pressed before the Gather do not count', async () => {
    const h = createHarness();
    h.docs.set(APP, xml(`<Say>intro</Say><Gather action="${ACTION}" timeout="2"/><Say>none</Say>`));
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(500);
    leg.press('1');
    await settle(p);
    expect(h.requestsTo(ACTION)).toHaveLength(0);
    expect(leg.events).toContain('play:/tts/none');
  });

  it('the caller hanging up during a Gather ends the run without an action request', async () => {
    const h = gatherApp('');
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(500);
    leg.press('1');
    leg.remoteHangup();
    const s = await settle(p);
    expect(s.ended).toBe('caller-hangup');
    expect(h.requestsTo(ACTION)).toHaveLength(0);
  });

  it('input="speech" alone does not listen for digits', async () => {
    const h = gatherApp('input="speech" timeout="1"', '');
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(100);
    expect(leg.digitListeners).toBe(0);
    await settle(p);
    expect(leg.events).toContain('play:/tts/no input');
  });
});

const REC_ACTION = 'https://app.test/recorded';
const REC_STATUS = 'https://app.test/rec-status';

describe('CallRouter: Record', () => {
  it('beeps, records until a finish key, saves, requests action and the recording status callback', async () => {
    const h = createHarness();
    h.docs.set(APP, xml(`<Record action="${REC_ACTION}" finishOnKey="#" recordingStatusCallback="${REC_STATUS}"/>`));
    h.docs.set(REC_ACTION, xml('<Say>thanks</Say>'));
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(200 + 7000);
    leg.press('5'); // not a finish key here
    await tick(800);
    leg.press('#');
    const s = await settle(p);
    expect(leg.events.slice(0, 5)).toEqual(['answer', 'play:/beep.wav', 'record:start', 'record:stop', 'play:/tts/thanks']);
    expect(h.recordings.saved).toEqual([expect.objectContaining({ callSid: 'CA1', source: 'RecordVerb' })]);
    expect(h.recordings.saved[0]!.result.durationMs).toBe(7800);
    expect(h.requestsTo(REC_ACTION)[0]!.params).toMatchObject({
      RecordingSid: 'RE1', RecordingUrl: 'https://api.test/Recordings/RE1', RecordingDuration: '8', Digits: '#',
    });
    const cb = h.webhooks.find((w) => w.url === REC_STATUS)!;
    expect(cb.method).toBe('POST');
    expect(cb.params).toMatchObject({ RecordingSid: 'RE1', RecordingStatus: 'completed', RecordingDuration: '8', CallSid: 'CA1' });
    expect(s.ended).toBe('completed');
  });

  it('stops at maxLength (no Digits) and, without action, goes on with the next verb; playBeep=false skips the beep', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Record maxLength="10" playBeep="false"/><Say>after</Say>'));
    const leg = new FakeLeg('CA1');
    await settle(h.router.run(h.call(leg)));
    expect(leg.events).toEqual(['answer', 'record:start', 'record:stop', 'play:/tts/after', 'hangup']);
    expect(h.recordings.saved[0]!.result.durationMs).toBe(10_000);
    expect(h.media.requests).not.toContain('beep');
  });

  it('a hang-up stops and saves the recording; action is told Digits=hangup and its document is not run', async () => {
    const h = createHarness();
    h.docs.set(APP, xml(`<Record action="${REC_ACTION}"/>`));
    h.docs.set(REC_ACTION, xml('<Say>never</Say>'));
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(5200);
    leg.remoteHangup();
    const s = await settle(p);
    expect(leg.recording!.stopped).toBe(true);
    expect(h.requestsTo(REC_ACTION)[0]!.params).toMatchObject({ Digits: 'hangup', RecordingDuration: '5', CallStatus: 'completed' });
    expect(leg.events).not.toContain('play:/tts/never');
    expect(s).toMatchObject({ ended: 'caller-hangup', documents: 2 });
  });

  it('a hang-up without action ends the run after saving', async () => {
    const h = createHarness();
    h.docs.set(APP, xml('<Record playBeep="false"/><Say>never</Say>'));
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(3000);
    leg.remoteHangup();
    const s = await settle(p);
    expect(h.recordings.saved).toHaveLength(1);
    expect(leg.plays).toHaveLength(0);
    expect(s.ended).toBe('caller-hangup');
  });

  it('a finish key pressed at once (nothing recorded) skips the action', async () => {
    const h = createHarness();
    h.docs.set(APP, xml(`<Record playBeep="false" action="${REC_ACTION}"/><Say>next</Say>`));
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(0);
    leg.press('1');
    await settle(p);
    expect(h.recordings.saved).toHaveLength(0);
    expect(h.requestsTo(REC_ACTION)).toHaveLength(0);
    expect(leg.events).toContain('play:/tts/next');
  });

  it('a recording store failure is reported and the document goes on', async () => {
    const h = createHarness();
    h.recordings.fail = true;
    h.docs.set(APP, xml(`<Record maxLength="2" playBeep="false" action="${REC_ACTION}"/><Say>next</Say>`));
    const leg = new FakeLeg('CA1');
    const s = await settle(h.router.run(h.call(leg)));
    expect(s.errors.map((e) => e.code)).toEqual([12400]);
    expect(h.requestsTo(REC_ACTION)).toHaveLength(0);
    expect(leg.events).toContain('play:/tts/next');
  });

  it('an API redirect during a recording keeps the recording and skips the action', async () => {
    const h = createHarness();
    h.docs.set(APP, xml(`<Record playBeep="false" action="${REC_ACTION}"/>`));
    h.docs.set('https://app.test/moved', xml('<Say>moved</Say>'));
    const leg = new FakeLeg('CA1');
    const p = h.router.run(h.call(leg));
    await tick(4000);
    h.router.redirect('CA1', 'https://app.test/moved', 'POST');
    await settle(p);
    expect(h.recordings.saved[0]!.result.durationMs).toBe(4000);
    expect(h.requestsTo(REC_ACTION)).toHaveLength(0);
    expect(leg.events).toContain('play:/tts/moved');
  });
});
