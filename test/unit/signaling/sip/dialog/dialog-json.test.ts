import { describe, expect, it } from 'vitest';
import { Dialog, type DialogJSON } from '../../../../../signaling/sip/dialog/index.js';
import { isMeshError } from '../../../../../regions/core/errors.js';
import { BOB_CONTACT, INVITE_CSEQ, P1, P2, fromAlice, fromBob, invite, inviteResponse } from './fixtures.js';

/** What another node sees after the state went through Redis. */
function throughStore(d: Dialog): Dialog {
  return Dialog.fromJSON(JSON.parse(JSON.stringify(d)));
}

describe('Dialog JSON round trip', () => {
  it('keeps a UAC dialog, including an empty remote sequence', () => {
    const d = Dialog.fromUac(invite(), inviteResponse(200));
    const copy = throughStore(d);
    expect(copy.toJSON()).toEqual(d.toJSON());
    expect(copy.remoteSeq).toBeUndefined();
    expect(copy.routeSet).toEqual([P1, P2]);
    expect(copy.key).toBe(d.key);
    // The loaded dialog carries on where the first node stopped.
    expect(copy.createRequest('BYE').headers.get('CSeq')).toBe(`${INVITE_CSEQ + 1} BYE`);
    expect(copy.receiveRequest(fromBob('INFO', 3))).toEqual({ ok: true });
  });

  it('keeps a UAS dialog with its state, sequence numbers and local contact', () => {
    const d = Dialog.fromUas(invite(), 'bobtag1', { localContact: '<sip:bob@192.0.2.4>' });
    d.confirm();
    d.receiveRequest(fromAlice('INFO', INVITE_CSEQ + 4));
    d.createRequest('INFO');
    const copy = throughStore(d);
    expect(copy.toJSON()).toEqual(d.toJSON());
    expect(copy.state).toBe('confirmed');
    expect(copy.localContact).toBe('<sip:bob@192.0.2.4>');
    expect(copy.receiveRequest(fromAlice('INFO', INVITE_CSEQ + 3))).toMatchObject({ ok: false, status: 500 });
    expect(copy.createRequest('BYE').headers.get('CSeq')).toBe(`${d.localSeq! + 1} BYE`);
  });

  it('writes only plain data', () => {
    const j = Dialog.fromUac(invite(), inviteResponse(180)).toJSON();
    expect(j).toMatchObject({ v: 1, role: 'uac', state: 'early', remoteSeq: null, remoteTarget: BOB_CONTACT });
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });

  it('refuses invalid stored state', () => {
    const good = Dialog.fromUac(invite(), inviteResponse(200)).toJSON();
    const bad: unknown[] = [
      null,
      { ...good, v: 2 },
      { ...good, state: 'gone' },
      { ...good, localSeq: -1 },
      { ...good, localSeq: 2 ** 31 },
      { ...good, callId: '' },
      { ...good, routeSet: 'x' },
      { ...good, extra: 1 },
      { ...good, remoteTarget: 'not a uri' },
      { ...good, routeSet: ['<not a uri>'] },
    ];
    const { callId: _dropped, ...missing } = good as DialogJSON;
    bad.push(missing);
    for (const input of bad) {
      let code: string | undefined;
      try {
        Dialog.fromJSON(input);
      } catch (e) {
        if (isMeshError(e)) code = e.code;
      }
      expect(code, JSON.stringify(input)).toBe('BAD_REQUEST');
    }
  });
});
