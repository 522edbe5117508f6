import { describe, expect, it } from 'vitest';
import { Dialog, DialogTable } from '../../../../../signaling/sip/dialog/index.js';
import { parseSipMessage, serializeSipMessage } from '../../../../../signaling/sip/message/index.js';
import type { SipRequest } from '../../../../../signaling/sip/message/types.js';
import { ALICE_CONTACT, BOB_TAG, INVITE_CSEQ, invite, inviteResponse } from './fixtures.js';

/** What the peer receives: Via added as the transaction layer would, then wire bytes. */
function overTheWire(req: SipRequest): SipRequest {
  req.headers.prepend('Via', 'SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKwire');
  const msg = parseSipMessage(serializeSipMessage(req));
  if (msg.type !== 'request') throw new Error('expected a request');
  return msg;
}

/** Both ends of one call, as two independent stacks would build them. */
function pair(): { alice: Dialog; bob: Dialog } {
  const inv = invite({ recordRoute: [] });
  const bob = Dialog.fromUas(inv, BOB_TAG, { state: 'confirmed', localContact: '<sip:bob@192.0.2.4:5060>' });
  const alice = Dialog.fromUac(inv, inviteResponse(200, { recordRoute: [] }));
  return { alice, bob };
}

describe('two ends of one dialog', () => {
  it('share one id seen from opposite sides', () => {
    const { alice, bob } = pair();
    expect(alice.id.callId).toBe(bob.id.callId);
    expect(alice.id.localTag).toBe(bob.id.remoteTag);
    expect(alice.id.remoteTag).toBe(bob.id.localTag);
  });

  it('accept each other\'s requests after a trip over the wire', () => {
    const { alice, bob } = pair();
    const aliceTable = new DialogTable();
    const bobTable = new DialogTable();
    aliceTable.add(alice);
    bobTable.add(bob);

    const ack = overTheWire(alice.createAck(INVITE_CSEQ));
    expect(bobTable.findForIncoming(ack)).toBe(bob);
    expect(bob.receiveRequest(ack)).toEqual({ ok: true });

    const reinvite = overTheWire(bob.createRequest('INVITE', { body: Buffer.from('v=0\r\n'), contentType: 'application/sdp' }));
    expect(reinvite.uri).toBe(ALICE_CONTACT);
    expect(reinvite.headers.get('Contact')).toBe('<sip:bob@192.0.2.4:5060>');
    expect(aliceTable.findForIncoming(reinvite)).toBe(alice);
    expect(alice.receiveRequest(reinvite)).toEqual({ ok: true });
    expect(alice.remoteSeq).toBe(bob.localSeq);
    expect(reinvite.body.toString()).toBe('v=0\r\n');

    const bye = overTheWire(alice.createRequest('BYE'));
    expect(bye.uri).toBe('sip:bob@192.0.2.4:5060');
    expect(bobTable.findForIncoming(bye)).toBe(bob);
    expect(bob.receiveRequest(bye)).toEqual({ ok: true });
    expect(bob.remoteSeq).toBe(INVITE_CSEQ + 1);

    // A late copy of an older request from Alice is out of order.
    const stale = overTheWire(alice.createRequest('INFO', { cseq: INVITE_CSEQ + 2 }));
    stale.headers.set('CSeq', `${INVITE_CSEQ} INFO`);
    expect(bob.receiveRequest(stale)).toMatchObject({ ok: false, status: 500 });
  });
});
