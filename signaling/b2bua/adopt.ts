/**
 * Taking over the answered calls of a signaling node that died: each live
 * call record in Redis (call-store.ts) is rebuilt into a Call whose two
 * dialogs come from Dialog.fromJSON, and handed to the B2BUA, so in-dialog
 * requests (BYE, re-INVITE, INFO) from either party keep working. Media is
 * untouched: the call's rtpengine session never depended on the signaling
 * process. Calls that were still being set up are not in the store (records
 * are written at answer) and are lost with the process that held them.
 */
import type { Logger } from '../../regions/core/log.js';
import { MeshError } from '../../regions/core/errors.js';
import { asCallSid } from '../../regions/core/ids.js';
import { Dialog } from '../sip/dialog/index.js';
import type { B2bua } from './b2bua.js';
import type { Call } from './call.js';
import type { CallStore, StoredCall } from './call-store.js';
import type { MediaPort } from './media-port.js';

export interface AdoptReport {
  /** Calls now served by this node. */
  adopted: number;
  /** Records that were not answered calls, or were incomplete or corrupt. */
  skipped: number;
  /** Adopted calls whose media node was down: handed to the re-anchorer. */
  reanchoring: number;
  /** Load time: from the first Redis read to the last call registered, ms. */
  ms: number;
}

/** A Call rebuilt from its record. Throws MeshError('BAD_REQUEST') naming what is missing. */
export function rebuildCall(s: StoredCall): Call {
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new MeshError('BAD_REQUEST', `call ${s.callSid}: stored record has no ${what}`);
    return v;
  };
  if (s.state !== 'answered') throw new MeshError('BAD_REQUEST', `call ${s.callSid} is ${s.state}, not answered`);
  const aDialog = Dialog.fromJSON(need(s.aDialog, 'aDialog'));
  const bDialog = Dialog.fromJSON(need(s.bDialog, 'bDialog'));
  return {
    sid: asCallSid(s.callSid),
    state: 'answered',
    a: {
      role: 'a',
      invite: undefined,
      tx: undefined,
      source: { ...need(s.aSource, 'aSource') },
      callId: s.aCallId,
      remoteTag: need(s.aRemoteTag, 'aRemoteTag'),
      localTag: need(s.aLocalTag, 'aLocalTag'),
      dialog: aDialog,
    },
    b: {
      role: 'b',
      invite: undefined,
      dest: { ...need(s.bDest, 'bDest') },
      callId: s.bCallId,
      localTag: need(s.bLocalTag, 'bLocalTag'),
      remoteTag: need(s.bRemoteTag, 'bRemoteTag'),
      tx: undefined,
      dialog: bDialog,
    },
    mediaNodeId: s.mediaNodeId,
    from: s.from,
    to: s.to,
    createdAt: s.createdAt,
    answeredAt: s.answeredAt ?? s.createdAt,
    cancelled: false,
    forwardedHome: false,
    fromEdge: undefined,
    reinvite: undefined,
    reanchoring: false,
    sdp: { fromA: s.sdp?.fromA, fromB: s.sdp?.fromB, toA: s.sdp?.toA, toB: s.sdp?.toB },
    noAnswerTimer: undefined,
  };
}

/**
 * Load every live call of `nodeId` from the store and register it with the
 * B2BUA. A call whose media node is down is re-anchored right away (in the
 * background), as the node that would have done it is gone.
 */
export async function adoptCalls(b2bua: B2bua, store: CallStore, media: MediaPort, nodeId: string, log: Logger): Promise<AdoptReport> {
  const started = Date.now();
  // The SIP address is already ours: in-dialog requests arriving while the records load wait for them (not 481).
  const release = b2bua.holdUnknownDialogs();
  try {
    const records = await store.loadActive(nodeId);
    return adoptRecords(b2bua, records, media, nodeId, log, started);
  } finally {
    release();
  }
}

function adoptRecords(b2bua: B2bua, records: StoredCall[], media: MediaPort, nodeId: string, log: Logger, started: number): AdoptReport {
  const report: AdoptReport = { adopted: 0, skipped: 0, reanchoring: 0, ms: 0 };
  for (const rec of records) {
    let call: Call;
    try {
      call = rebuildCall(rec);
      b2bua.registerAdopted(call);
    } catch (e) {
      report.skipped++;
      log.warn('call not adopted', { sid: rec.callSid, error: e as Error });
      continue;
    }
    report.adopted++;
    if (!media.isHealthy(call.mediaNodeId)) {
      report.reanchoring++;
      void b2bua.reanchorer.reanchor(call);
    }
  }
  report.ms = Date.now() - started;
  log.info('calls adopted', { nodeId, ...report });
  return report;
}
