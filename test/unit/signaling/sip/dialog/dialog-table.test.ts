import { describe, expect, it } from 'vitest';
import { Dialog, DialogTable, dialogKey, dialogKeyForIncoming } from '../../../../../signaling/sip/dialog/index.js';
import { isMeshError } from '../../../../../regions/core/errors.js';
import { ALICE_TAG, BOB_TAG, CALL_ID, fromAlice, fromBob, invite, inviteResponse, responseToAlice } from './fixtures.js';

function dialogWithCallId(callId: string): Dialog {
  const inv = invite();
  inv.headers.set('Call-ID', callId);
  return Dialog.fromUas(inv, 'local1');
}

describe('dialog keys', () => {
  it('put the tags first and the Call-ID last', () => {
    expect(dialogKey('c@h', 'l', 'r')).toBe('l;r;c@h');
    expect(dialogKey('c@h', 'l', undefined)).toBe('l;;c@h');
    expect(dialogKey('a;b', 'c', 'd')).not.toBe(dialogKey('a', 'b;c', 'd'));
  });

  it('take the local tag from To on a request and from From on a response', () => {
    expect(dialogKeyForIncoming(fromBob('BYE', 1))).toBe(dialogKey(CALL_ID, ALICE_TAG, BOB_TAG));
    expect(dialogKeyForIncoming(responseToAlice(200, '1 BYE'))).toBe(dialogKey(CALL_ID, ALICE_TAG, BOB_TAG));
  });

  it('are undefined when the message cannot be in a dialog', () => {
    expect(dialogKeyForIncoming(invite())).toBeUndefined();
    expect(dialogKeyForIncoming(inviteResponse(100, { toTag: null }))).toBeUndefined();
    const noCallId = fromBob('BYE', 1);
    noCallId.headers.delete('Call-ID');
    expect(dialogKeyForIncoming(noCallId)).toBeUndefined();
  });
});

describe('DialogTable', () => {
  it('finds a UAC dialog for requests from the peer and for responses', () => {
    const table = new DialogTable();
    const d = Dialog.fromUac(invite(), inviteResponse(200));
    table.add(d);
    table.add(d);
    expect(table.size).toBe(1);
    expect(table.findForIncoming(fromBob('BYE', 1))).toBe(d);
    expect(table.findForIncoming(responseToAlice(200, '314160 BYE'))).toBe(d);
    expect(table.findForIncoming(responseToAlice(200, '314160 BYE', [], 'otherfork'))).toBeUndefined();
    expect(table.get(d.key)).toBe(d);
  });

  it('finds a UAS dialog, including one with an empty remote tag', () => {
    const table = new DialogTable();
    const d = Dialog.fromUas(invite(), 'bobtag1');
    table.add(d);
    expect(table.findForIncoming(fromAlice('BYE', 1))).toBe(d);
    expect(table.findForIncoming(fromAlice('BYE', 1, [], 'nope'))).toBeUndefined();

    const legacy = Dialog.fromUas(invite({ fromTag: null }), 'bobtag2');
    table.add(legacy);
    const bye = fromAlice('BYE', 1, [], 'bobtag2');
    bye.headers.set('From', 'Alice <sip:alice@atlanta.example.com>');
    expect(table.findForIncoming(bye)).toBe(legacy);
  });

  it('refuses a second dialog under the same key', () => {
    const table = new DialogTable();
    table.add(Dialog.fromUas(invite(), 'same'));
    let code: string | undefined;
    try {
      table.add(Dialog.fromUas(invite(), 'same'));
    } catch (e) {
      if (isMeshError(e)) code = e.code;
    }
    expect(code).toBe('CONFLICT');
  });

  it('is bounded: a full table throws SERVICE_UNAVAILABLE until a dialog leaves', () => {
    const table = new DialogTable({ maxDialogs: 2 });
    const a = dialogWithCallId('a@x');
    table.add(a);
    table.add(dialogWithCallId('b@x'));
    let err: unknown;
    try {
      table.add(dialogWithCallId('c@x'));
    } catch (e) {
      err = e;
    }
    expect(isMeshError(err, 'SERVICE_UNAVAILABLE')).toBe(true);
    expect(table.size).toBe(2);
    expect(table.delete(a)).toBe(true);
    expect(table.delete(a.key)).toBe(false);
    table.add(dialogWithCallId('c@x'));
    expect(table.size).toBe(2);
    expect([...table.values()].map((d) => d.id.callId).sort()).toEqual(['b@x', 'c@x']);
    table.clear();
    table.clear();
    expect(table.size).toBe(0);
  });

  it('defaults to 100000 dialogs and rejects a bad bound', () => {
    expect(new DialogTable().maxDialogs).toBe(100_000);
    expect(() => new DialogTable({ maxDialogs: 0 })).toThrow();
    expect(() => new DialogTable({ maxDialogs: 1.5 })).toThrow();
  });
});
