/**
 * Re-anchoring (reanchor.ts) when the call ends while it is being moved: a
 * caller's BYE that arrives during an ng step must stop the re-anchor there.
 * Before the fix the re-anchor went on: it saved the call again over the
 * record its BYE wrote (end reason `ended` instead of `bye-from-a`: the
 * failover benchmark counted it lost) and left its session on the new node.
 * Pure sequencing logic: the B2BUA, SIP stack and media port are fakes.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../regions/core/log.js';
import { rebuildCall } from '../../../../signaling/b2bua/adopt.js';
import type { Call, LegRole } from '../../../../signaling/b2bua/call.js';
import type { B2buaCore } from '../../../../signaling/b2bua/core.js';
import type { MediaPort } from '../../../../signaling/b2bua/media-port.js';
import { Reanchorer } from '../../../../signaling/b2bua/reanchor.js';
import { createResponse, type SipRequest } from '../../../../signaling/sip/message/index.js';
import type { SipStack } from '../../../../signaling/sip/stack.js';

const dialog = (role: 'uac' | 'uas', callId: string, localTag: string, remoteTag: string) => ({
  v: 1, role, state: 'confirmed', callId, localTag, remoteTag,
  localSeq: role === 'uac' ? 1 : null, remoteSeq: role === 'uas' ? 1 : null,
  localUri: 'sip:me@127.0.10.1', remoteUri: 'sip:them@127.0.10.2', remoteTarget: 'sip:them@127.0.10.2:5070', routeSet: [], secure: false,
  localContact: '<sip:127.0.10.1:5060;transport=udp>',
});

function answeredCall(): Call {
  return rebuildCall({
    callSid: 'CA01', nodeId: 'n1', region: 'us-east', state: 'answered', from: 'carrier', to: '+15551234567',
    aCallId: 'a-call', bCallId: 'b-call', mediaNodeId: 'old', createdAt: 1000, answeredAt: 2000,
    aDialog: dialog('uas', 'a-call', 'a-local', 'a-remote'), bDialog: dialog('uac', 'b-call', 'b-local', 'b-remote'),
    aSource: { transport: 'UDP', address: '127.0.10.2', port: 5070 }, bDest: { transport: 'UDP', address: '127.0.10.3', port: 5090 },
    aRemoteTag: 'a-remote', aLocalTag: 'a-local', bLocalTag: 'b-local', bRemoteTag: 'b-remote',
    sdp: { fromA: 'v=0\r\no=a 1 1 IN IP4 127.0.10.2\r\n', fromB: 'v=0\r\no=b 1 1 IN IP4 127.0.10.3\r\n', toA: 'v=0\r\no=x 1 1 IN IP4 127.0.10.11\r\n', toB: 'v=0\r\no=x 1 1 IN IP4 127.0.10.11\r\n' },
  });
}

/** A region where the caller's BYE arrives while ng step `byeDuring` (1–4, reanchor.ts header) is in flight. */
function region(byeDuring: number) {
  const call = answeredCall();
  const persisted: { state: string; reason: string | undefined }[] = [];
  const deleted: string[] = [];
  const b2bua = {
    calls: new Map([[call.sid, call]]),
    contact: () => '<sip:127.0.10.1:5060;transport=udp>',
    persist: (c: Call, reason?: string) => persisted.push({ state: c.state, reason }),
    dialogs: {
      sendAck: () => undefined,
      sendBye: () => undefined,
      dialogOf: (c: Call, role: LegRole) => (role === 'a' ? c.a.dialog : c.b.dialog),
      destOf: (c: Call, role: LegRole) => (role === 'a' ? c.a.source : c.b.dest),
      // What in-dialog.ts does for a BYE from A: end the call (finish persists it with its reason, deletes its media).
      hangup: (c: Call, reason: string) => {
        c.state = 'ended';
        persisted.push({ state: 'ended', reason });
        deleted.push(c.mediaNodeId);
      },
    },
  } as unknown as B2buaCore;
  const stack = {
    sendRequest: (req: SipRequest, _dest: unknown, cb: { onFinal: (res: ReturnType<typeof createResponse>) => void }) => {
      queueMicrotask(() => cb.onFinal(createResponse(req, 200, 'OK', { body: Buffer.from('v=0\r\no=p 1 2 IN IP4 127.0.10.2\r\n'), contentType: 'application/sdp' })));
      return {};
    },
  } as unknown as SipStack;
  let step = 0;
  const ngStep = async (): Promise<string> => {
    step++;
    await new Promise((r) => setTimeout(r, 1));
    if (step === byeDuring) b2bua.dialogs.hangup(call, 'bye-from-a', ['b']);
    return 'v=0\r\no=new 1 1 IN IP4 127.0.10.12\r\n';
  };
  const media = {
    reacquire: () => ({ nodeId: 'new' }),
    isHealthy: () => true,
    offer: ngStep,
    answer: ngStep,
    delete: async (nodeId: string) => {
      deleted.push(nodeId);
    },
  } as unknown as MediaPort;
  return { call, persisted, deleted, reanchorer: new Reanchorer(b2bua, stack, media, silentLogger) };
}

describe('Reanchorer: the call ends while it is moved', () => {
  it('moves a call when nothing ends it (the check itself)', async () => {
    const r = region(0);
    expect((await r.reanchorer.reanchor(r.call)).outcome).toBe('moved');
    expect(r.call.mediaNodeId).toBe('new');
    expect(r.persisted.at(-1)).toEqual({ state: 'answered', reason: undefined });
  });

  for (const step of [1, 2, 3, 4]) {
    it(`a BYE during ng step ${step}: the record keeps the BYE's reason, no session is left on the new node`, async () => {
      const r = region(step);
      const res = await r.reanchorer.reanchor(r.call);
      expect(res.outcome).toBe('skipped');
      // Nothing saved after the BYE's own record.
      expect(r.persisted.at(-1)).toEqual({ state: 'ended', reason: 'bye-from-a' });
      // The new node's session is deleted, by the re-anchor (before step 2 completed) or by the call's end (after).
      expect(r.deleted).toContain('new');
    });
  }
});
