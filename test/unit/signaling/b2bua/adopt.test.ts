import { describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../regions/core/errors.js';
import { rebuildCall } from '../../../../signaling/b2bua/adopt.js';
import type { StoredCall } from '../../../../signaling/b2bua/call-store.js';

const dialog = (role: 'uac' | 'uas', callId: string, localTag: string, remoteTag: string, remoteTarget: string) => ({
  v: 1, role, state: 'confirmed', callId, localTag, remoteTag,
  localSeq: role === 'uac' ? 1 : null, remoteSeq: role === 'uas' ? 1 : null,
  localUri: 'sip:me@127.0.10.1', remoteUri: 'sip:them@127.0.10.2', remoteTarget, routeSet: [], secure: false,
  localContact: '<sip:127.0.10.1:5060;transport=udp>',
});

const record = (over: Partial<StoredCall> = {}): StoredCall => ({
  callSid: 'CA0123', nodeId: 'n1', region: 'us-east', state: 'answered', from: 'carrier', to: '+15551234567',
  aCallId: 'a-call', bCallId: 'b-call', mediaNodeId: 'm1', createdAt: 1000, answeredAt: 2000,
  aDialog: dialog('uas', 'a-call', 'a-local', 'a-remote', 'sip:carrier@127.0.10.2:5070'),
  bDialog: dialog('uac', 'b-call', 'b-local', 'b-remote', 'sip:callee@127.0.10.3:5090'),
  aSource: { transport: 'UDP', address: '127.0.10.2', port: 5070 },
  bDest: { transport: 'UDP', address: '127.0.10.3', port: 5090 },
  aRemoteTag: 'a-remote', aLocalTag: 'a-local', bLocalTag: 'b-local', bRemoteTag: 'b-remote',
  sdp: { fromA: 'v=0 a', fromB: 'v=0 b', toA: 'v=0 to-a', toB: 'v=0 to-b' },
  ...over,
});

describe('rebuildCall', () => {
  it('rebuilds an answered call with both dialogs, tags, endpoints, media node and SDP', () => {
    const call = rebuildCall(record());
    expect(call.state).toBe('answered');
    expect(call.a.dialog?.id).toEqual({ callId: 'a-call', localTag: 'a-local', remoteTag: 'a-remote' });
    expect(call.b.dialog?.id).toEqual({ callId: 'b-call', localTag: 'b-local', remoteTag: 'b-remote' });
    expect(call.a.source).toEqual({ transport: 'UDP', address: '127.0.10.2', port: 5070 });
    expect(call.b.dest.port).toBe(5090);
    expect(call.a.tx).toBeUndefined();
    expect(call.mediaNodeId).toBe('m1');
    expect(call.sdp).toEqual({ fromA: 'v=0 a', fromB: 'v=0 b', toA: 'v=0 to-a', toB: 'v=0 to-b' });
    // The next request we send on B continues the stored CSeq (RFC 3261 §12.2.1.1).
    expect(call.b.dialog?.createRequest('BYE').headers.get('CSeq')).toBe('2 BYE');
  });

  it('refuses a call that was not answered, or a record missing what the legs need', () => {
    const refuses = (rec: StoredCall, what: RegExp): void => {
      try {
        rebuildCall(rec);
        expect.unreachable('rebuildCall accepted it');
      } catch (e) {
        expect(isMeshError(e, 'BAD_REQUEST')).toBe(true);
        expect((e as Error).message).toMatch(what);
      }
    };
    refuses(record({ state: 'proceeding' }), /not answered/);
    const { aSource: _a, ...noSource } = record();
    refuses(noSource, /aSource/);
    const { bDialog: _b, ...noDialog } = record();
    refuses(noDialog, /bDialog/);
    refuses(record({ aDialog: { v: 1 } }), /./);
  });
});
