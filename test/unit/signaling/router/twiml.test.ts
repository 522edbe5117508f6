import { describe, expect, it } from 'vitest';
import { MeshError } from '../../../../regions/core/errors.js';
import { dialectCodeOf } from '../../../../signaling/router/errors.js';
import { parseTwiml, type TwimlOptions } from '../../../../signaling/router/twiml.js';

const BASE = 'https://app.example.com/voice/start.xml?x=1';

function doc(body: string, opts: TwimlOptions = { documentUrl: BASE }) {
  return parseTwiml(`<?xml version="1.0"?><Response>${body}</Response>`, opts);
}

function invalid(body: string, opts: TwimlOptions = { documentUrl: BASE }): MeshError {
  try {
    doc(body, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(MeshError);
    expect(dialectCodeOf(e)).toBe(12200);
    return e as MeshError;
  }
  throw new Error('expected a validation error');
}

describe('parseTwiml', () => {
  it('parses every verb with its defaults', () => {
    const d = doc(
      '<Say>Hello</Say><Play>https://cdn.example.com/a.wav</Play><Pause/>' +
        '<Gather><Say>Press</Say></Gather><Record/><Dial>+15551234567</Dial>' +
        '<Enqueue>support</Enqueue><Leave/><Redirect>next</Redirect><Hangup/><Reject/>',
    );
    expect(d.verbs.map((v) => v.verb)).toEqual(['Say', 'Play', 'Pause', 'Gather', 'Record', 'Dial', 'Enqueue', 'Leave', 'Redirect', 'Hangup', 'Reject']);
    expect(d.verbs[0]).toEqual({ verb: 'Say', text: 'Hello', voice: 'man', language: 'en-US', loop: 1 });
    expect(d.verbs[1]).toEqual({ verb: 'Play', url: 'https://cdn.example.com/a.wav', digits: undefined, loop: 1 });
    expect(d.verbs[2]).toEqual({ verb: 'Pause', length: 1 });
    expect(d.verbs[3]).toMatchObject({ input: ['dtmf'], numDigits: undefined, timeout: 5, finishOnKey: '#', action: undefined, method: 'POST' });
    expect(d.verbs[4]).toMatchObject({ maxLength: 3600, finishOnKey: '1234567890*#', playBeep: true, timeout: 5, method: 'POST' });
    expect(d.verbs[5]).toMatchObject({ timeout: 30, record: 'do-not-record', targets: [{ kind: 'number', number: '+15551234567' }] });
    expect(d.verbs[6]).toMatchObject({ queue: 'support', waitUrl: undefined, waitUrlMethod: 'POST' });
    expect(d.verbs[8]).toEqual({ verb: 'Redirect', url: 'https://app.example.com/voice/next', method: 'POST' });
    expect(d.verbs[10]).toEqual({ verb: 'Reject', reason: 'rejected' });
    expect(d.documentUrl).toBe(BASE);
    expect(d.warnings).toEqual([]);
  });

  it('reads attributes and resolves relative URLs against the document URL', () => {
    const d = doc(
      '<Gather input="dtmf speech" numDigits="4" timeout="7" finishOnKey="*" action="/gathered" method="get">' +
        '<Play loop="2">../hold.wav</Play><Pause length="3"/></Gather>' +
        '<Record maxLength="20" finishOnKey="#" action="rec" recordingStatusCallback="//cb.example.com/r" playBeep="false" timeout="0"/>' +
        '<Dial timeout="12" callerId="+15550001111" action="dialed" record="true"><Number sendDigits="1w2">+15551230000</Number><Sip username="u">sip:bob@example.com</Sip></Dial>' +
        '<Dial><Queue url="whisper">sales</Queue></Dial>' +
        '<Enqueue waitUrl="wait" waitUrlMethod="GET" action="after">support line</Enqueue>' +
        '<Redirect method="GET">https://other.example.com/x</Redirect><Reject reason="busy"/>',
    );
    expect(d.verbs[0]).toEqual({
      verb: 'Gather', input: ['dtmf', 'speech'], numDigits: 4, timeout: 7, finishOnKey: '*',
      action: 'https://app.example.com/gathered', method: 'GET',
      children: [{ verb: 'Play', url: 'https://app.example.com/hold.wav', digits: undefined, loop: 2 }, { verb: 'Pause', length: 3 }],
    });
    expect(d.verbs[1]).toMatchObject({ maxLength: 20, finishOnKey: '#', action: 'https://app.example.com/voice/rec', recordingStatusCallback: 'https://cb.example.com/r', playBeep: false, timeout: 0 });
    expect(d.verbs[2]).toMatchObject({
      timeout: 12, callerId: '+15550001111', action: 'https://app.example.com/voice/dialed', record: 'record-from-answer',
      targets: [
        { kind: 'number', number: '+15551230000', sendDigits: '1w2' },
        { kind: 'sip', uri: 'sip:bob@example.com', username: 'u' },
      ],
    });
    expect(d.verbs[3]).toMatchObject({ targets: [{ kind: 'queue', name: 'sales', url: 'https://app.example.com/voice/whisper' }] });
    expect(d.verbs[4]).toMatchObject({ queue: 'support line', waitUrl: 'https://app.example.com/voice/wait', waitUrlMethod: 'GET', action: 'https://app.example.com/voice/after' });
    expect(d.verbs[5]).toEqual({ verb: 'Redirect', url: 'https://other.example.com/x', method: 'GET' });
    expect(d.verbs[6]).toEqual({ verb: 'Reject', reason: 'busy' });
  });

  it('parses <Client> alone, in the long form with <Identity> and <Parameter>, and beside Number/Sip', () => {
    const d = doc(
      '<Dial><Client>alice</Client></Dial>' +
        '<Dial timeout="15"><Client url="whisper" method="GET"><Identity>bob.smith@example</Identity><Parameter name="FirstName" value="Alice &amp; Co"/><Parameter name="ticket" value=""/></Client></Dial>' +
        '<Dial><Number>+15551230000</Number><Client> carol_1 </Client><Sip>sip:dave@example.com</Sip></Dial>',
    );
    expect(d.verbs[0]).toMatchObject({ targets: [{ kind: 'client', identity: 'alice', parameters: [], url: undefined, method: 'POST' }] });
    expect(d.verbs[1]).toMatchObject({
      timeout: 15,
      targets: [{
        kind: 'client', identity: 'bob.smith@example', url: 'https://app.example.com/voice/whisper', method: 'GET',
        parameters: [{ name: 'FirstName', value: 'Alice & Co' }, { name: 'ticket', value: '' }],
      }],
    });
    expect((d.verbs[2] as { targets: { kind: string }[] }).targets.map((t) => t.kind)).toEqual(['number', 'client', 'sip']);
    expect(d.verbs[2]).toMatchObject({ targets: [{}, { identity: 'carol_1' }, {}] });
    expect(d.warnings).toEqual([]);
  });

  it('bounds <Client>: identity format and length, parameter names, values and count', () => {
    expect(doc(`<Dial><Client>${'a'.repeat(256)}</Client></Dial>`).verbs[0]).toMatchObject({ targets: [{ identity: 'a'.repeat(256) }] });
    expect(invalid(`<Dial><Client>${'a'.repeat(257)}</Client></Dial>`).message).toMatch(/is not a client identity \(1-256 characters/);
    const many = '<Parameter name="p" value="v"/>'.repeat(17);
    expect(invalid(`<Dial><Client><Identity>a</Identity>${many}</Client></Dial>`).message).toMatch(/more than 16 <Parameter>/);
    expect(invalid(`<Dial><Client><Identity>a</Identity><Parameter name="p" value="${'v'.repeat(513)}"/></Client></Dial>`).detail).toMatchObject({ element: 'Parameter', attribute: 'value' });
    // Ten nouns at most, Client ones included.
    expect(invalid(`<Dial>${'<Client>a</Client>'.repeat(11)}</Dial>`).message).toMatch(/more than 10 targets/);
  });

  it('caps loop="0" (the dialect\'s "forever") and rejects loops over the cap', () => {
    expect(doc('<Say loop="0">x</Say>').verbs[0]).toMatchObject({ loop: 1000 });
    expect(doc('<Play loop="0">a.wav</Play>', { documentUrl: BASE, maxLoop: 50 }).verbs[0]).toMatchObject({ loop: 50 });
    const e = invalid('<Say loop="1001">x</Say>');
    expect(e.detail).toMatchObject({ element: 'Say', attribute: 'loop' });
  });

  it('speaks the text of SSML inside Say and notes the markup in warnings', () => {
    const d = doc('<Say>Hello <break time="1s"/> <emphasis>big</emphasis> <sub alias="World Wide Web">WWW</sub>\n  world</Say>');
    expect(d.verbs[0]).toMatchObject({ text: 'Hello big World Wide Web world' });
    expect(d.warnings).toEqual(['Say>break', 'Say>emphasis', 'Say>sub']);
  });

  it('accepts an empty Response and Play with only digits', () => {
    expect(doc('').verbs).toEqual([]);
    expect(doc('<Play digits="12w#"/>').verbs[0]).toEqual({ verb: 'Play', url: undefined, digits: '12w#', loop: 1 });
  });

  it('records unknown attributes as warnings, or rejects them when strict', () => {
    expect(doc('<Say foo="1">x</Say>').warnings).toEqual(['Say@foo']);
    const e = invalid('<Say foo="1">x</Say>', { documentUrl: BASE, unknownAttributes: 'reject' });
    expect(e.detail).toMatchObject({ element: 'Say', attribute: 'foo' });
  });

  it.each([
    ['unknown verb', '<Dance/>', { element: 'Dance' }],
    ['lower-case verb', '<say>x</say>', { element: 'say' }],
    ['bad loop', '<Say loop="many">x</Say>', { element: 'Say', attribute: 'loop' }],
    ['negative pause', '<Pause length="-1"/>', { element: 'Pause', attribute: 'length' }],
    ['bad method', '<Redirect method="PUT">x</Redirect>', { element: 'Redirect', attribute: 'method' }],
    ['bad finishOnKey', '<Gather finishOnKey="a"/>', { element: 'Gather', attribute: 'finishOnKey' }],
    ['two-key finishOnKey', '<Gather finishOnKey="12"/>', { element: 'Gather', attribute: 'finishOnKey' }],
    ['bad input', '<Gather input="telepathy"/>', { element: 'Gather', attribute: 'input' }],
    ['Dial inside Gather', '<Gather><Dial>123</Dial></Gather>', { element: 'Dial' }],
    ['Gather inside Gather', '<Gather><Gather/></Gather>', { element: 'Gather' }],
    ['bad playBeep', '<Record playBeep="yes"/>', { element: 'Record', attribute: 'playBeep' }],
    ['empty Dial', '<Dial/>', { element: 'Dial' }],
    ['bad Dial number', '<Dial>call mom</Dial>', { element: 'Dial' }],
    ['bad Number', '<Dial><Number>abc</Number></Dial>', { element: 'Number' }],
    ['bad Sip URI', '<Dial><Sip>http://x</Sip></Dial>', { element: 'Sip' }],
    ['empty Client', '<Dial><Client> </Client></Dial>', { element: 'Client' }],
    ['Client identity with a space', '<Dial><Client>alice smith</Client></Dial>', { element: 'Client' }],
    ['Client identity with an unwise character', '<Dial><Client>al&lt;ice</Client></Dial>', { element: 'Client' }],
    ['Client with text and Identity', '<Dial><Client>a<Identity>b</Identity></Client></Dial>', { element: 'Client' }],
    ['Client with two Identity', '<Dial><Client><Identity>a</Identity><Identity>b</Identity></Client></Dial>', { element: 'Client' }],
    ['unknown element in Client', '<Dial><Client><Number>+1555</Number></Client></Dial>', { element: 'Number' }],
    ['Parameter without a name', '<Dial><Client><Identity>a</Identity><Parameter value="v"/></Client></Dial>', { element: 'Parameter', attribute: 'name' }],
    ['Parameter with a bad name', '<Dial><Client><Identity>a</Identity><Parameter name="a b" value="v"/></Client></Dial>', { element: 'Parameter', attribute: 'name' }],
    ['Parameter with content', '<Dial><Client><Identity>a</Identity><Parameter name="a">x</Parameter></Client></Dial>', { element: 'Parameter' }],
    ['Client with Queue', '<Dial><Client>a</Client><Queue>q</Queue></Dial>', { element: 'Dial' }],
    ['Queue with others', '<Dial><Queue>q</Queue><Number>+1555</Number></Dial>', { element: 'Dial' }],
    ['unknown noun in Dial', '<Dial><Conference>c</Conference></Dial>', { element: 'Conference' }],
    ['bad record mode', '<Dial record="always">+1555</Dial>', { element: 'Dial', attribute: 'record' }],
    ['empty Enqueue', '<Enqueue/>', { element: 'Enqueue' }],
    ['bad Reject reason', '<Reject reason="nope"/>', { element: 'Reject', attribute: 'reason' }],
    ['Hangup with content', '<Hangup>now</Hangup>', { element: 'Hangup' }],
    ['non-SSML element in Say', '<Say><b>x</b></Say>', { element: 'b' }],
    ['empty Play', '<Play/>', { element: 'Play' }],
    ['javascript URL', '<Redirect>javascript:alert(1)</Redirect>', { element: 'Redirect', attribute: 'url' }],
    ['file URL', '<Play>file:///etc/passwd</Play>', { element: 'Play', attribute: 'url' }],
    ['text in Response', 'hello', { element: 'Response' }],
    ['bad voice', '<Say voice="a b">x</Say>', { element: 'Say', attribute: 'voice' }],
    ['bad language', '<Say language="english!">x</Say>', { element: 'Say', attribute: 'language' }],
  ])('rejects %s naming the element/attribute', (_label, body, where) => {
    expect(invalid(body).detail).toMatchObject(where);
  });

  it('rejects a non-Response root and relative URLs with no document URL', () => {
    expect(() => parseTwiml('<Document/>')).toThrow(/root element must be <Response>/);
    expect(() => parseTwiml('<Response><Redirect>next</Redirect></Response>')).toThrow(/no document URL/);
  });

  it('bounds verb count and Say text length', () => {
    expect(invalid('<Pause/>'.repeat(201)).message).toMatch(/more than 200 verbs/);
    expect(invalid(`<Say>${'a'.repeat(4097)}</Say>`).message).toMatch(/longer than 4096/);
  });

  it('reports malformed XML with code 12100, not 12200', () => {
    try {
      parseTwiml('<Response><Say></Response>');
      expect.unreachable();
    } catch (e) {
      expect(dialectCodeOf(e)).toBe(12100);
    }
  });
});
