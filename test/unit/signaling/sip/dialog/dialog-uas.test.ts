import { describe, expect, it } from 'vitest';
import { Dialog } from '../../../../../signaling/sip/dialog/index.js';
import { isMeshError } from '../../../../../regions/core/errors.js';
import { getTag, parseNameAddr } from '../../../../../signaling/sip/message/index.js';
import { ALICE_CONTACT, ALICE_TAG, CALL_ID, INVITE_CSEQ, P1, P2, fromAlice, invite } from './fixtures.js';

const LOCAL_TAG = 'bobtag1';
const BOB_LOCAL_CONTACT = '<sip:bob@192.0.2.4:5060>';

function uasDialog(): Dialog {
  return Dialog.fromUas(invite(), LOCAL_TAG, { localContact: BOB_LOCAL_CONTACT });
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

describe('Dialog.fromUas (RFC 3261 §12.1.1)', () => {
  it('takes id, sequence numbers and target from the INVITE', () => {
    const d = uasDialog();
    expect(d.role).toBe('uas');
    expect(d.state).toBe('early');
    expect(d.id).toEqual({ callId: CALL_ID, localTag: LOCAL_TAG, remoteTag: ALICE_TAG });
    expect(d.remoteSeq).toBe(INVITE_CSEQ);
    expect(d.localSeq).toBeUndefined();
    expect(d.remoteTarget).toBe(ALICE_CONTACT);
    expect(parseNameAddr(d.localUri).uri).toBe('sip:bob@biloxi.example.com');
    expect(parseNameAddr(d.remoteUri).uri).toBe('sip:alice@atlanta.example.com');
    expect(parseNameAddr(d.remoteUri).params.has('tag')).toBe(false);
  });

  it('keeps the Record-Route order of the request', () => {
    expect(uasDialog().routeSet).toEqual([P2, P1]);
  });

  it('can start confirmed, and confirm() moves early to confirmed', () => {
    expect(Dialog.fromUas(invite(), LOCAL_TAG, { state: 'confirmed' }).state).toBe('confirmed');
    const d = uasDialog();
    d.confirm();
    expect(d.state).toBe('confirmed');
    d.terminate();
    expectMeshError(() => d.confirm(), 'CLOSED');
  });

  it('accepts a peer without From tag (RFC 2543) with an empty remote tag', () => {
    const d = Dialog.fromUas(invite({ fromTag: null }), LOCAL_TAG, { localContact: BOB_LOCAL_CONTACT });
    expect(d.id.remoteTag).toBe('');
    const bye = d.createRequest('BYE');
    expect(getTag(bye.headers.get('To')!)).toBeUndefined();
  });

  it('refuses an INVITE without Contact and an empty local tag', () => {
    expectMeshError(() => Dialog.fromUas(invite({ contact: null }), LOCAL_TAG), 'BAD_REQUEST');
    expectMeshError(() => Dialog.fromUas(invite(), ''), 'INTERNAL');
  });

  it('sets the secure flag for a SIPS Request-URI', () => {
    expect(Dialog.fromUas(invite({ uri: 'sips:bob@biloxi.example.com' }), LOCAL_TAG).secure).toBe(true);
    expect(uasDialog().secure).toBe(false);
  });
});

describe('requests from the UAS (RFC 3261 §12.2.1.1)', () => {
  it('picks an initial CSeq below 2**31 and then increments it', () => {
    const d = uasDialog();
    const first = d.createRequest('INFO');
    const [n, method] = first.headers.get('CSeq')!.split(' ');
    expect(method).toBe('INFO');
    const seq = Number(n);
    expect(Number.isInteger(seq) && seq >= 1 && seq < 2 ** 31).toBe(true);
    expect(d.localSeq).toBe(seq);
    expect(d.createRequest('BYE').headers.get('CSeq')).toBe(`${seq + 1} BYE`);
  });

  it('swaps From/To and routes through the route set as received', () => {
    const bye = uasDialog().createRequest('BYE');
    expect(bye.uri).toBe(ALICE_CONTACT);
    expect(bye.headers.getList('Route')).toEqual([P2, P1]);
    expect(getTag(bye.headers.get('From')!)).toBe(LOCAL_TAG);
    expect(parseNameAddr(bye.headers.get('From')!).uri).toBe('sip:bob@biloxi.example.com');
    expect(getTag(bye.headers.get('To')!)).toBe(ALICE_TAG);
    expect(parseNameAddr(bye.headers.get('To')!).uri).toBe('sip:alice@atlanta.example.com');
  });

  it('needs a local Contact for a re-INVITE', () => {
    const d = Dialog.fromUas(invite(), LOCAL_TAG);
    expectMeshError(() => d.createRequest('INVITE'), 'INTERNAL');
    expect(d.localSeq).toBeUndefined();
    d.localContact = BOB_LOCAL_CONTACT;
    expect(d.createRequest('INVITE').headers.get('Contact')).toBe(BOB_LOCAL_CONTACT);
  });

  it('refuses an ACK before any local request without an explicit CSeq', () => {
    expectMeshError(() => uasDialog().createRequest('ACK'), 'INTERNAL');
  });
});

describe('requests received by the UAS (RFC 3261 §12.2.2)', () => {
  it('accepts higher CSeq and updates the remote sequence', () => {
    const d = uasDialog();
    expect(d.receiveRequest(fromAlice('INFO', INVITE_CSEQ + 1))).toEqual({ ok: true });
    expect(d.remoteSeq).toBe(INVITE_CSEQ + 1);
  });

  it('rejects a lower CSeq with 500 and changes nothing', () => {
    const d = uasDialog();
    const r = d.receiveRequest(fromAlice('INVITE', INVITE_CSEQ - 1, [['Contact', '<sip:alice@moved.example.com>']]));
    expect(r).toEqual({ ok: false, status: 500, reason: 'CSeq Out Of Order' });
    expect(d.remoteSeq).toBe(INVITE_CSEQ);
    expect(d.remoteTarget).toBe(ALICE_CONTACT);
  });

  it('lets the ACK of the INVITE through without moving the sequence', () => {
    const d = uasDialog();
    expect(d.receiveRequest(fromAlice('INFO', INVITE_CSEQ + 3))).toEqual({ ok: true });
    expect(d.receiveRequest(fromAlice('ACK', INVITE_CSEQ))).toEqual({ ok: true });
    expect(d.remoteSeq).toBe(INVITE_CSEQ + 3);
  });

  it('takes a new remote target from a re-INVITE or UPDATE, not from INFO', () => {
    const d = uasDialog();
    d.receiveRequest(fromAlice('INFO', INVITE_CSEQ + 1, [['Contact', '<sip:alice@info.example.com>']]));
    expect(d.remoteTarget).toBe(ALICE_CONTACT);
    d.receiveRequest(fromAlice('INVITE', INVITE_CSEQ + 2, [['Contact', '<sip:alice@new.example.com>;expires=60']]));
    expect(d.remoteTarget).toBe('sip:alice@new.example.com');
    d.receiveRequest(fromAlice('UPDATE', INVITE_CSEQ + 3, [['Contact', 'sip:alice@upd.example.com']]));
    expect(d.remoteTarget).toBe('sip:alice@upd.example.com');
    expect(d.createRequest('BYE').uri).toBe('sip:alice@upd.example.com');
  });

  it('answers 481 for requests of another dialog or after termination', () => {
    const d = uasDialog();
    expect(d.receiveRequest(fromAlice('BYE', INVITE_CSEQ + 1, [], 'wrongtag'))).toMatchObject({ ok: false, status: 481 });
    const otherCall = fromAlice('BYE', INVITE_CSEQ + 1);
    otherCall.headers.set('Call-ID', 'other@x');
    expect(d.receiveRequest(otherCall)).toMatchObject({ ok: false, status: 481 });
    d.terminate();
    expect(d.receiveRequest(fromAlice('BYE', INVITE_CSEQ + 1))).toMatchObject({ ok: false, status: 481 });
  });

  it('answers 400 for a bad CSeq', () => {
    const d = uasDialog();
    expect(d.receiveRequest(fromAlice('BYE', `${INVITE_CSEQ + 1} INFO`))).toMatchObject({ ok: false, status: 400 });
    expect(d.receiveRequest(fromAlice('BYE', 'garbage'))).toMatchObject({ ok: false, status: 400 });
    expect(d.remoteSeq).toBe(INVITE_CSEQ);
  });
});
