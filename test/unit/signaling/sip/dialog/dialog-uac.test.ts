import { describe, expect, it } from 'vitest';
import { Dialog } from '../../../../../signaling/sip/dialog/index.js';
import { isMeshError } from '../../../../../regions/core/errors.js';
import { getTag, parseNameAddr } from '../../../../../signaling/sip/message/index.js';
import {
  ALICE_CONTACT, ALICE_TAG, BOB_CONTACT, BOB_TAG, CALL_ID, INVITE_CSEQ, P1, P2,
  fromBob, invite, inviteResponse, responseToAlice,
} from './fixtures.js';

function uacDialog(status = 200, opts: Parameters<typeof inviteResponse>[1] = {}): Dialog {
  return Dialog.fromUac(invite(), inviteResponse(status, opts));
}

function expectMeshError(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    expect(isMeshError(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    return;
  }
  expect.fail('expected a MeshError');
}

describe('Dialog.fromUac (RFC 3261 §12.1.2)', () => {
  it('builds a confirmed dialog from a 2xx', () => {
    const d = uacDialog(200);
    expect(d.role).toBe('uac');
    expect(d.state).toBe('confirmed');
    expect(d.id).toEqual({ callId: CALL_ID, localTag: ALICE_TAG, remoteTag: BOB_TAG });
    expect(d.localSeq).toBe(INVITE_CSEQ);
    expect(d.remoteSeq).toBeUndefined();
    expect(d.remoteTarget).toBe(BOB_CONTACT);
    expect(d.secure).toBe(false);
    expect(d.localContact).toBe(`<${ALICE_CONTACT}>`);
  });

  it('keeps local and remote URIs without tags', () => {
    const d = uacDialog(200);
    const local = parseNameAddr(d.localUri);
    const remote = parseNameAddr(d.remoteUri);
    expect(local.uri).toBe('sip:alice@atlanta.example.com');
    expect(local.params.has('tag')).toBe(false);
    expect(remote.uri).toBe('sip:bob@biloxi.example.com');
    expect(remote.params.has('tag')).toBe(false);
  });

  it('reverses the Record-Route of the response into the route set', () => {
    expect(uacDialog(200).routeSet).toEqual([P1, P2]);
  });

  it('reverses a comma-joined Record-Route too', () => {
    const d = uacDialog(200, { recordRoute: [`${P2}, <sip:p3.example.com;lr>`, P1] });
    expect(d.routeSet).toEqual([P1, '<sip:p3.example.com;lr>', P2]);
  });

  it('builds an early dialog from a 1xx with a To tag', () => {
    const d = uacDialog(180);
    expect(d.state).toBe('early');
    expect(d.remoteTarget).toBe(BOB_CONTACT);
  });

  it('falls back to the Request-URI when a 1xx has no Contact', () => {
    expect(uacDialog(183, { contact: null }).remoteTarget).toBe('sip:bob@biloxi.example.com');
  });

  it('refuses responses that cannot create a dialog', () => {
    expectMeshError(() => uacDialog(100), 'INTERNAL');
    expectMeshError(() => uacDialog(486), 'INTERNAL');
    expectMeshError(() => uacDialog(180, { toTag: null }), 'BAD_REQUEST');
    expectMeshError(() => uacDialog(200, { contact: null }), 'BAD_REQUEST');
    expectMeshError(() => Dialog.fromUac(invite({ fromTag: null }), inviteResponse(200)), 'BAD_REQUEST');
  });

  it('sets the secure flag for a SIPS Request-URI', () => {
    const d = Dialog.fromUac(invite({ uri: 'sips:bob@biloxi.example.com' }), inviteResponse(200));
    expect(d.secure).toBe(true);
  });
});

describe('early → confirmed (RFC 3261 §13.2.2.4)', () => {
  it('recomputes route set and remote target from the 2xx', () => {
    const d = uacDialog(180, { recordRoute: [P1], contact: '<sip:bob@early.example.com>' });
    expect(d.routeSet).toEqual([P1]);
    d.updateFromResponse(inviteResponse(200));
    expect(d.state).toBe('confirmed');
    expect(d.routeSet).toEqual([P1, P2]);
    expect(d.remoteTarget).toBe(BOB_CONTACT);
  });

  it('confirm() with a non-2xx throws, confirm() when confirmed is a no-op', () => {
    const d = uacDialog(180);
    expectMeshError(() => d.confirm(inviteResponse(180)), 'INTERNAL');
    d.confirm(inviteResponse(200, { recordRoute: [] }));
    expect(d.routeSet).toEqual([]);
    d.confirm(inviteResponse(200));
    expect(d.routeSet).toEqual([]);
  });

  it('a 1xx with a new Contact updates the early target', () => {
    const d = uacDialog(180);
    d.updateFromResponse(inviteResponse(183, { contact: '<sip:bob@media.example.com>' }));
    expect(d.state).toBe('early');
    expect(d.remoteTarget).toBe('sip:bob@media.example.com');
  });

  it('a 2xx of another fork does not belong to this dialog', () => {
    const d = uacDialog(180);
    expectMeshError(() => d.updateFromResponse(inviteResponse(200, { toTag: 'other' })), 'TRANSACTION_DOES_NOT_EXIST');
    expect(d.state).toBe('early');
  });
});

describe('requests from the UAC (RFC 3261 §12.2.1.1)', () => {
  it('builds a BYE with loose routing', () => {
    const d = uacDialog(200);
    const bye = d.createRequest('BYE');
    expect(bye.method).toBe('BYE');
    expect(bye.uri).toBe(BOB_CONTACT);
    expect(bye.headers.getList('Route')).toEqual([P1, P2]);
    expect(bye.headers.get('CSeq')).toBe(`${INVITE_CSEQ + 1} BYE`);
    expect(bye.headers.get('Call-ID')).toBe(CALL_ID);
    expect(bye.headers.get('Max-Forwards')).toBe('70');
    expect(getTag(bye.headers.get('From')!)).toBe(ALICE_TAG);
    expect(parseNameAddr(bye.headers.get('From')!).uri).toBe('sip:alice@atlanta.example.com');
    expect(getTag(bye.headers.get('To')!)).toBe(BOB_TAG);
    expect(parseNameAddr(bye.headers.get('To')!).uri).toBe('sip:bob@biloxi.example.com');
    expect(bye.headers.has('Via')).toBe(false);
    expect(bye.headers.has('Contact')).toBe(false);
    expect(bye.headers.get('Content-Length')).toBe('0');
    expect(bye.body.length).toBe(0);
    expect(d.nextHopUri()).toBe('sip:p1.atlanta.example.com;lr');
    expect(d.localSeq).toBe(INVITE_CSEQ + 1);
  });

  it('increments CSeq for each request and adds Contact and body to a re-INVITE', () => {
    const d = uacDialog(200);
    d.createRequest('INFO');
    const reinvite = d.createRequest('INVITE', { body: Buffer.from('v=0\r\n'), contentType: 'application/sdp' });
    expect(reinvite.headers.get('CSeq')).toBe(`${INVITE_CSEQ + 2} INVITE`);
    expect(reinvite.headers.get('Contact')).toBe(`<${ALICE_CONTACT}>`);
    expect(reinvite.headers.get('Content-Type')).toBe('application/sdp');
    expect(reinvite.headers.get('Content-Length')).toBe('5');
    expect(reinvite.body.toString()).toBe('v=0\r\n');
    expect(d.createRequest('UPDATE').headers.get('Contact')).toBe(`<${ALICE_CONTACT}>`);
  });

  it('builds the ACK for a 2xx with the INVITE CSeq number (RFC 3261 §13.2.2.4)', () => {
    const d = uacDialog(200);
    const ack = d.createAck(INVITE_CSEQ);
    expect(ack.method).toBe('ACK');
    expect(ack.uri).toBe(BOB_CONTACT);
    expect(ack.headers.get('CSeq')).toBe(`${INVITE_CSEQ} ACK`);
    expect(ack.headers.getList('Route')).toEqual([P1, P2]);
    expect(ack.headers.has('Contact')).toBe(false);
    expect(d.localSeq).toBe(INVITE_CSEQ);
    expect(d.createRequest('BYE').headers.get('CSeq')).toBe(`${INVITE_CSEQ + 1} BYE`);
  });

  it('builds an ACK with an answer body', () => {
    const ack = uacDialog(200).createAck(INVITE_CSEQ, Buffer.from('v=0\r\n'), 'application/sdp');
    expect(ack.headers.get('Content-Type')).toBe('application/sdp');
    expect(ack.body.toString()).toBe('v=0\r\n');
  });

  it('uses an explicit CSeq when higher, refuses one not above the current', () => {
    const d = uacDialog(200);
    expect(d.createRequest('INFO', { cseq: INVITE_CSEQ + 10 }).headers.get('CSeq')).toBe(`${INVITE_CSEQ + 10} INFO`);
    expect(d.localSeq).toBe(INVITE_CSEQ + 10);
    expectMeshError(() => d.createRequest('INFO', { cseq: INVITE_CSEQ + 10 }), 'INTERNAL');
    expect(d.localSeq).toBe(INVITE_CSEQ + 10);
  });

  it('refuses to pass the 2**31 CSeq limit', () => {
    const d = uacDialog(200);
    d.createRequest('INFO', { cseq: 2 ** 31 - 1 });
    expectMeshError(() => d.createRequest('INFO'), 'INTERNAL');
  });

  it('lets extra headers replace Contact but not the dialog identity', () => {
    const d = uacDialog(200);
    const r = d.createRequest('INVITE', { headers: [['Contact', '<sip:alice@198.51.100.1>'], ['Subject', 'hi']] });
    expect(r.headers.getAll('Contact')).toEqual(['<sip:alice@198.51.100.1>']);
    expect(r.headers.get('Subject')).toBe('hi');
    const seq = d.localSeq;
    expectMeshError(() => d.createRequest('INFO', { headers: [['call-id', 'x']] }), 'BAD_REQUEST');
    expectMeshError(() => d.createRequest('INFO', { headers: [['Route', '<sip:x;lr>']] }), 'BAD_REQUEST');
    expect(d.localSeq).toBe(seq);
  });

  it('requires a Content-Type for a body and a token for a method', () => {
    const d = uacDialog(200);
    expectMeshError(() => d.createRequest('INFO', { body: Buffer.from('x') }), 'BAD_REQUEST');
    expectMeshError(() => d.createRequest('BAD METHOD'), 'BAD_REQUEST');
  });

  it('refuses requests once terminated', () => {
    const d = uacDialog(200);
    d.terminate();
    d.terminate();
    expect(d.state).toBe('terminated');
    expectMeshError(() => d.createRequest('BYE'), 'CLOSED');
  });
});

describe('target refresh by response (RFC 3261 §12.2.1.2)', () => {
  it('a 2xx to a re-INVITE replaces the remote target', () => {
    const d = uacDialog(200);
    d.createRequest('INVITE');
    d.updateFromResponse(responseToAlice(200, `${INVITE_CSEQ + 1} INVITE`, [['Contact', '<sip:bob@192.0.2.99>']]));
    expect(d.remoteTarget).toBe('sip:bob@192.0.2.99');
    expect(d.createRequest('BYE').uri).toBe('sip:bob@192.0.2.99');
  });

  it('a 2xx to UPDATE refreshes, a 2xx to INFO or a 4xx to re-INVITE does not', () => {
    const d = uacDialog(200);
    d.updateFromResponse(responseToAlice(200, '5 INFO', [['Contact', '<sip:bob@info.example.com>']]));
    expect(d.remoteTarget).toBe(BOB_CONTACT);
    d.updateFromResponse(responseToAlice(488, '6 INVITE', [['Contact', '<sip:bob@fail.example.com>']]));
    expect(d.remoteTarget).toBe(BOB_CONTACT);
    d.updateFromResponse(responseToAlice(200, '7 UPDATE', [['Contact', '<sip:bob@update.example.com>']]));
    expect(d.remoteTarget).toBe('sip:bob@update.example.com');
  });
});

describe('requests received by the UAC (RFC 3261 §12.2.2)', () => {
  it('accepts the first request at any CSeq and then enforces order', () => {
    const d = uacDialog(200);
    expect(d.receiveRequest(fromBob('INFO', 5))).toEqual({ ok: true });
    expect(d.remoteSeq).toBe(5);
    expect(d.receiveRequest(fromBob('INFO', 4))).toEqual({ ok: false, status: 500, reason: 'CSeq Out Of Order' });
    expect(d.remoteSeq).toBe(5);
    expect(d.receiveRequest(fromBob('BYE', 6))).toEqual({ ok: true });
    expect(d.remoteSeq).toBe(6);
  });
});
