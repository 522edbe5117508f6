import type { BencodeInput } from './bencode.js';
import type { NgAnswerParams, NgOfferParams, NgSdpParams } from './types.js';

type NgDict = Record<string, BencodeInput | undefined>;

/** Build the ng dictionary of an `offer` or `answer` (without `command`; the client adds it). */
export function sdpParamsToNg(p: NgSdpParams): NgDict {
  const d: NgDict = {
    'call-id': p.callId,
    'from-tag': p.fromTag,
    sdp: p.sdp,
    'via-branch': p.viaBranch,
    label: p.label,
    flags: p.flags,
    replace: p.replace,
    ICE: p.ice,
    direction: p.direction,
    'received-from': p.receivedFrom === undefined ? undefined : [p.receivedFrom.family, p.receivedFrom.address],
    'transport-protocol': p.transportProtocol,
    'rtcp-mux': p.rtcpMux,
    SDES: p.sdes,
    DTLS: p.dtls,
    codec: p.codec === undefined ? undefined : { ...p.codec },
    'record call': p.recordCall === undefined ? undefined : p.recordCall ? 'yes' : 'no',
    metadata: p.metadata,
  };
  // Into d, not a spread copy: a spread followed by more keys costs V8 a new hidden class per object.
  if (p.extra !== undefined) Object.assign(d, p.extra);
  return d;
}

export function offerToNg(p: NgOfferParams): NgDict {
  return sdpParamsToNg(p);
}

export function answerToNg(p: NgAnswerParams): NgDict {
  const d = sdpParamsToNg(p);
  d['to-tag'] = p.toTag;
  return d;
}
